package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"

	"github.com/sturdy-go/sturdy/internal/testpki"
)

// The tests of this file come from an adversarial review of the mutual-TLS
// code and from trying the package as a new user: each failed before its
// fix.

// TestVerifyChainNilCertificate: a nil certificate anywhere in the chain
// is a typed error, not a panic in the chain memo.
func TestVerifyChainNilCertificate(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	leaf := p.inter.Leaf(t)
	for _, chain := range [][]*x509.Certificate{
		{nil},
		{leaf.Cert, nil},
		{nil, leaf.Chain[1]},
	} {
		for _, v := range []Verifier{
			{Roots: p.root.Pool(), Name: "localhost"},
			{Roots: p.root.Pool(), Name: "localhost", Strict: true},
			{Roots: p.root.Pool(), Client: true},
		} {
			_, err := v.VerifyChain(chain, nil)
			wantReason(t, err, BadChain, "is nil")
		}
	}
}

// evil is what a hostile peer writes into every string of its
// certificates that reaches a message: a line break with a forged log
// line, and a terminal escape.
const evil = "x\n2026/01/01 00:00:00 forged log line \x1b[31mred\x1b[0m\x7f"

// TestPeerStringsQuoted feeds control bytes through every field of a
// certificate that reaches a message (subject, issuer, common name, DNS
// and e-mail SANs, AIA "CA issuers" URLs) and checks that no message, nor
// Describe, carries one raw.
func TestPeerStringsQuoted(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	evilInter := p.root.Intermediate(t, testpki.CommonName("inter "+evil), testpki.Mutate(func(c *x509.Certificate) {
		c.Subject.Organization = []string{"org " + evil}
	}))
	names := testpki.Mutate(func(c *x509.Certificate) {
		c.Subject = pkix.Name{CommonName: "cn " + evil, OrganizationalUnit: []string{"ou " + evil}}
		c.DNSNames = []string{"localhost", "dns" + evil}
		c.EmailAddresses = []string{"mail" + evil + "@example.org"}
		c.IssuingCertificateURL = []string{"http://ca.example/" + evil}
	})
	leaf := evilInter.Leaf(t, names)
	expired := evilInter.Leaf(t, names, testpki.Expired())
	selfSigned := testpki.SelfSigned(t, names)

	cases := []struct {
		name  string
		v     Verifier
		chain []*x509.Certificate
		want  Reason
	}{
		{"unknown-authority/aia", Verifier{Roots: p.other.Pool(), Name: "localhost"}, leaf.Chain[:1], UnknownAuthority},
		{"unknown-authority/intermediate-sent", Verifier{Roots: p.other.Pool(), Name: "localhost"}, leaf.Chain, UnknownAuthority},
		{"unknown-authority/self-signed", Verifier{Roots: p.other.Pool(), Name: "localhost"}, selfSigned.Chain, UnknownAuthority},
		{"name-mismatch", Verifier{Roots: p.root.Pool(), Name: "other.example"}, leaf.Chain, NameMismatch},
		{"strict-dns-name", Verifier{Roots: p.root.Pool(), Name: "localhost", Strict: true}, leaf.Chain, BadCommonName},
		{"not-allowed", Verifier{Roots: p.root.Pool(), Client: true, AllowNames: []string{"other.example"}}, leaf.Chain, NameNotAllowed},
		{"expired", Verifier{Roots: p.root.Pool(), Name: "localhost"}, expired.Chain, Expired},
	}
	for _, c := range cases {
		_, err := c.v.VerifyChain(c.chain, nil)
		wantReason(t, err, c.want)
		if i := strings.IndexFunc(err.Error(), isControl); i >= 0 {
			t.Errorf("%s: the message has a raw control character at %d:\n%s", c.name, i, err)
		}
	}
	// The strict DNS name rule, alone: a leaf whose CN repeats the evil
	// SAN passes the CN rule and meets the DNS rule.
	dnsOnly := evilInter.Leaf(t, testpki.Mutate(func(c *x509.Certificate) {
		c.Subject = pkix.Name{}
		c.DNSNames = []string{"localhost", "dns" + evil}
	}), testpki.Critical(oidSubjectAltName, true))
	_, err := (&Verifier{Roots: p.root.Pool(), Name: "localhost", Strict: true}).VerifyChain(dnsOnly.Chain, nil)
	wantReason(t, err, BadDNSName)
	if strings.IndexFunc(err.Error(), isControl) >= 0 {
		t.Errorf("strict DNS rule: raw control character:\n%s", err)
	}

	d := Describe(tls.ConnectionState{PeerCertificates: leaf.Chain, ServerName: "sni" + evil})
	for _, line := range strings.Split(strings.TrimSuffix(d, "\n"), "\n") {
		if strings.IndexFunc(line, isControl) >= 0 {
			t.Errorf("Describe: raw control character in %q", line)
		}
	}
	if n := strings.Count(d, "\n"); n > 16 {
		t.Errorf("Describe has %d lines: a peer string broke a line\n%s", n, d)
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// TestClientRequiresRoots: client certificates are never verified against
// the system roots, which would accept any publicly trusted certificate
// that allows clientAuth; with no roots chosen, every client is refused
// with a message that says to set Verifier.Roots.
func TestClientRequiresRoots(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	client := p.inter.Leaf(t, testpki.EKU(x509.ExtKeyUsageClientAuth))
	cs := tls.ConnectionState{PeerCertificates: client.Chain}
	for name, verify := range map[string]func(tls.ConnectionState) error{
		"MutualServerConfig(nil, nil)":         MutualServerConfig(nil, nil).VerifyConnection,
		"MutualServerConfig(nil, &Verifier{})": MutualServerConfig(nil, &Verifier{}).VerifyConnection,
		"Verifier{Client}":                     (&Verifier{Client: true}).VerifyConnection,
		"Verifier{Client, GetRoots nil}": (&Verifier{Client: true, Roots: p.root.Pool(),
			GetRoots: func() *x509.CertPool { return nil }}).VerifyConnection,
	} {
		err := verify(cs)
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.Reason != NoClientRoots || !strings.Contains(err.Error(), "set Verifier.Roots") {
			t.Errorf("%s: got %v, want NoClientRoots saying to set Verifier.Roots", name, err)
		}
	}
	// With roots chosen, the same client passes.
	if err := MutualServerConfig(nil, &Verifier{Roots: p.root.Pool()}).VerifyConnection(cs); err != nil {
		t.Fatal(err)
	}
}

// TestDialerRunsWrappedVerifyConnection: a check the user wraps around
// ClientConfig's VerifyConnection runs when a Dialer dials with the
// config, as it does with tls.Dial, and sees the name dialed even for an
// IP literal.
func TestDialerRunsWrappedVerifyConnection(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	srv := serveCert(t, p.inter.Leaf(t), nil, nil)
	cfg := ClientConfig(&Verifier{Roots: p.root.Pool()})
	inner := cfg.VerifyConnection
	refuse := errors.New("the user's extra check refuses")
	calls := 0
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		calls++
		if err := inner(cs); err != nil {
			return err
		}
		return refuse
	}
	c, err := (&Dialer{Config: cfg}).Dial("tcp", srv.Addr)
	if err == nil {
		c.Close()
		t.Fatal("the Dialer skipped the wrapped VerifyConnection: dial succeeded")
	}
	if !errors.Is(err, refuse) {
		t.Fatalf("got %v, want the user's check's error", err)
	}
	if calls != 1 {
		t.Fatalf("the wrapped VerifyConnection ran %d times, want 1", calls)
	}
	// tls.Dial with the same config agrees (given the name, which
	// crypto/tls does not pass on for an IP literal).
	named := cfg.Clone()
	named.ServerName = "localhost"
	_, err = tls.Dial("tcp", srv.Addr, named)
	if !errors.Is(err, refuse) && (err == nil || !strings.Contains(err.Error(), refuse.Error())) {
		t.Fatalf("tls.Dial: got %v, want the user's check's error", err)
	}
}

// rawURILeaf issues a leaf whose only SAN is the URI uri, written as is
// (crypto/x509 would lower-case the scheme of a url.URL).
func rawURILeaf(t *testing.T, ca *testpki.CA, uri string) *testpki.Cert {
	t.Helper()
	gn, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(uri)})
	if err != nil {
		t.Fatal(err)
	}
	san, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: gn})
	if err != nil {
		t.Fatal(err)
	}
	return ca.Leaf(t, testpki.EKU(x509.ExtKeyUsageClientAuth), testpki.Mutate(func(c *x509.Certificate) {
		c.DNSNames, c.IPAddresses, c.URIs = nil, nil, nil
		c.Subject = pkix.Name{CommonName: "workload"}
		c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: oidSubjectAltName, Value: san})
	}))
}

// TestSPIFFEIDsAsWritten: the scheme of a SPIFFE ID is "spiffe" in lower
// case as the certificate writes it (Go's URL parser lower-cases it), an
// ID is at most 2048 bytes and a trust domain at most 255 (SPIFFE-ID 2.1,
// 2.3), in certificates and in AllowNames alike.
func TestSPIFFEIDsAsWritten(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	longTD := strings.Repeat("a", 256) + ".org"
	longPath := "/" + strings.Repeat("p", 2048)
	allow := func(names ...string) Verifier {
		return Verifier{Roots: p.root.Pool(), Client: true, AllowNames: names}
	}
	cases := []struct {
		name string
		leaf *testpki.Cert
		v    Verifier
		want Reason
		msg  string
	}{
		{"lower-case", rawURILeaf(t, p.inter, "spiffe://example.org/api"), allow("spiffe://example.org"), 0, ""},
		{"upper-case-scheme", rawURILeaf(t, p.inter, "SPIFFE://example.org/api"), allow("spiffe://example.org"), BadSVID, "lower case"},
		{"mixed-case-scheme", rawURILeaf(t, p.inter, "Spiffe://example.org/api"), allow("spiffe://example.org/api"), BadSVID, "lower case"},
		{"id-too-long", rawURILeaf(t, p.inter, "spiffe://example.org"+longPath), allow("spiffe://example.org"), BadSVID, "at most 2048"},
		{"trust-domain-too-long", rawURILeaf(t, p.inter, "spiffe://"+longTD+"/api"), allow("spiffe://example.org"), BadSVID, "at most 255"},
		{"allow-upper-case", rawURILeaf(t, p.inter, "spiffe://example.org/api"), allow("SPIFFE://example.org"), BadAllowNames, "lower case"},
		{"allow-trust-domain-too-long", rawURILeaf(t, p.inter, "spiffe://example.org/api"), allow("spiffe://example.org", "spiffe://"+longTD), BadAllowNames, "at most 255"},
	}
	for _, c := range cases {
		_, err := c.v.VerifyChain(c.leaf.Chain, nil)
		t.Run(c.name, func(t *testing.T) { wantReason(t, err, c.want, c.msg) })
	}
}

// TestUntrustedRootMessages: a chain from a private CA the user did not
// trust says first that the root is not trusted, and how to trust it.
func TestUntrustedRootMessages(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	leaf := p.inter.Leaf(t)
	untrusted := Verifier{Roots: p.other.Pool(), Name: "localhost"}
	detail := func(chain []*x509.Certificate, v Verifier) string {
		t.Helper()
		_, err := v.VerifyChain(chain, nil)
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.Reason != UnknownAuthority {
			t.Fatalf("got %v, want UnknownAuthority", err)
		}
		return ve.Detail
	}
	for _, c := range []struct {
		name   string
		chain  []*x509.Certificate
		v      Verifier
		prefix string
		msgs   []string
	}{
		// The server sent its intermediate; the private root is not
		// trusted (and, as usual, not sent).
		{"private-root-not-sent", leaf.Chain, untrusted,
			`the issuer "CN=sturdy test root,O=sturdy test PKI" of "CN=sturdy test intermediate,O=sturdy test PKI" is not trusted`,
			[]string{"Verifier.Roots", "LoadRoots"}},
		// The server sent the root too.
		{"private-root-sent", append(append([]*x509.Certificate(nil), leaf.Chain...), p.root.Cert), untrusted,
			`the chain ends at the root "CN=sturdy test root,O=sturdy test PKI", which is not trusted`,
			[]string{"Verifier.Roots", "LoadRoots"}},
		// A client's chain says the client should send it, not the server.
		{"client", leaf.Chain[:1], Verifier{Roots: p.other.Pool(), Client: true},
			`the issuer "CN=sturdy test intermediate,O=sturdy test PKI" of "CN=localhost" is not trusted`,
			[]string{"the client should send its full chain"}},
	} {
		d := detail(c.chain, c.v)
		if !strings.HasPrefix(d, c.prefix) {
			t.Errorf("%s: the message starts\n  %s\nwant\n  %s", c.name, d, c.prefix)
		}
		for _, m := range c.msgs {
			if !strings.Contains(d, m) {
				t.Errorf("%s: the message lacks %q: %s", c.name, m, d)
			}
		}
	}
	// A leaf that names where its issuer is published (as every public
	// CA's does) is missing an intermediate, most likely.
	public := p.inter.Leaf(t, testpki.Mutate(func(c *x509.Certificate) {
		c.IssuingCertificateURL = []string{"http://ca.example/inter.crt"}
	}))
	d := detail(public.Chain[:1], Verifier{Roots: p.root.Pool(), Name: "localhost"})
	if !strings.Contains(d, "an intermediate seems missing") || !strings.Contains(d, `"http://ca.example/inter.crt"`) {
		t.Errorf("missing intermediate with AIA: %s", d)
	}
}

// TestAllowNamesValidatedFirst: an invalid AllowNames entry fails every
// verification, also for a peer that an earlier entry matches, so the
// typo cannot stay hidden.
func TestAllowNamesValidatedFirst(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	leaf := p.inter.Leaf(t)
	for _, allow := range [][]string{
		{"localhost", "not a name!"},
		{"127.0.0.1", "spiffe://Example.org"},
		{"localhost", "*.example.org"},
	} {
		_, err := (&Verifier{Roots: p.root.Pool(), AllowNames: allow}).VerifyChain(leaf.Chain, nil)
		wantReason(t, err, BadAllowNames)
	}
}
