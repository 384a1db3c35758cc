package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/sturdy-go/sturdy/internal/testpki"
)

func TestDescribe(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	leaf := p.inter.Leaf(t)
	srv := serveCert(t, leaf, p.inter.OCSP(t, leaf.Cert, testpki.OCSPGood), func(c *tls.Config) { c.NextProtos = []string{"h2"} })
	cfg := ClientConfig(&Verifier{Roots: p.root.Pool(), Revocation: RevocationRequireStaple})
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
	cfg.NextProtos = []string{"h2"}
	d := &Dialer{Config: cfg}
	dial := func() string {
		c, err := d.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		readOne(t, c)
		return Describe(c.(*tls.Conn).ConnectionState())
	}
	full := dial()
	for _, want := range []string{
		"TLS 1.3, cipher TLS_",
		"ALPN: h2",
		"session: full handshake",
		`[0] subject: "CN=localhost"`,
		`issuer:  "CN=sturdy test intermediate,O=sturdy test PKI"`,
		`names:   "DNS:localhost", "IP:127.0.0.1"`,
		"pin " + PinOf(leaf.Cert).String(),
		`[1] subject: "CN=sturdy test intermediate,O=sturdy test PKI"`,
		"OCSP: good (this update",
		"signature checked",
	} {
		if !strings.Contains(full, want) {
			t.Fatalf("Describe lacks %q:\n%s", want, full)
		}
	}
	if resumed := dial(); !strings.Contains(resumed, "session: resumed") || !strings.Contains(resumed, "OCSP: good") {
		t.Fatalf("resumed connection:\n%s", resumed)
	}

	for _, tc := range []struct {
		cs   tls.ConnectionState
		want string
	}{
		{tls.ConnectionState{}, "certificates: none sent"},
		{tls.ConnectionState{}, "OCSP: no response stapled"},
		{tls.ConnectionState{}, "ALPN: none"},
		{tls.ConnectionState{PeerCertificates: leaf.Chain, OCSPResponse: []byte("junk")}, "OCSP: unusable response stapled"},
		{tls.ConnectionState{PeerCertificates: leaf.Chain[:1], OCSPResponse: p.inter.OCSP(t, leaf.Cert, testpki.OCSPRevoked)}, "revoked (this update"},
		{tls.ConnectionState{PeerCertificates: leaf.Chain[:1], OCSPResponse: p.inter.OCSP(t, leaf.Cert, testpki.OCSPRevoked)}, "signature not checked"},
		{tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{append(leaf.Chain, p.root.Cert)}}, `verified chain: "CN=localhost" -> "CN=sturdy test intermediate,O=sturdy test PKI" -> "CN=sturdy test root,O=sturdy test PKI"`},
	} {
		if got := Describe(tc.cs); !strings.Contains(got, tc.want) {
			t.Fatalf("Describe lacks %q:\n%s", tc.want, got)
		}
	}
}
