package testpki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

func verify(ca *CA, c *Cert, name string) error {
	inter := x509.NewCertPool()
	for _, x := range c.Chain[1:] {
		inter.AddCert(x)
	}
	_, err := c.Cert.Verify(x509.VerifyOptions{
		Roots:         rootOf(ca).Pool(),
		Intermediates: inter,
		DNSName:       name,
	})
	return err
}

func isHostname(err error) bool {
	var e x509.HostnameError
	return errors.As(err, &e)
}

func isInvalid(err error) bool {
	var e x509.CertificateInvalidError
	return errors.As(err, &e)
}

func isUnknown(err error) bool {
	var e x509.UnknownAuthorityError
	return errors.As(err, &e)
}

func rootOf(ca *CA) *CA {
	for ca.Parent != nil {
		ca = ca.Parent
	}
	return ca
}

func TestChainsVerify(t *testing.T) {
	t.Parallel()
	root := NewRoot(t)
	inter := root.Intermediate(t)
	constrained := root.Intermediate(t, PermittedDNS("allowed.test"))
	untrusted := NewRoot(t, CommonName("untrusted root"))

	tests := []struct {
		name    string
		ca      *CA
		leaf    *Cert
		host    string
		trusted *CA              // root to verify against; nil means rootOf(ca)
		wantErr func(error) bool // nil: must verify
	}{
		{"leaf from root", root, root.Leaf(t), "localhost", nil, nil},
		{"leaf from intermediate", inter, inter.Leaf(t, DNS("a.example.test")), "a.example.test", nil, nil},
		{"ip literal", root, root.Leaf(t, IPs(net.ParseIP("::1"))), "::1", nil, nil},
		{"wildcard", inter, inter.Leaf(t, DNS("*.example.test")), "www.example.test", nil, nil},
		{"wildcard one label only", inter, inter.Leaf(t, DNS("*.example.test")), "a.b.example.test", nil, isHostname},
		{"wrong name", root, root.Leaf(t, DNS("other.test")), "localhost", nil, isHostname},
		{"expired", root, root.Leaf(t, Expired()), "localhost", nil, isInvalid},
		{"not yet valid", root, root.Leaf(t, NotYetValid()), "localhost", nil, isInvalid},
		{"no serverAuth", root, root.Leaf(t, NoServerAuth()), "localhost", nil, isInvalid},
		{"untrusted root", untrusted, untrusted.Leaf(t), "localhost", root, isUnknown},
		{"name constraint allows", constrained, constrained.Leaf(t, DNS("x.allowed.test")), "x.allowed.test", nil, nil},
		{"name constraint refuses", constrained, constrained.Leaf(t, DNS("evil.test")), "evil.test", nil, isInvalid},
		{"rsa leaf", root, root.Leaf(t, Key(RSA2048)), "localhost", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trusted := tc.trusted
			if trusted == nil {
				trusted = tc.ca
			}
			err := verify(trusted, tc.leaf, tc.host)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("verify: %v", err)
			case tc.wantErr != nil && !tc.wantErr(err):
				t.Fatalf("verify: err = %v (%T), not the expected kind", err, err)
			}
		})
	}
}

func TestMissingIntermediateFails(t *testing.T) {
	t.Parallel()
	root := NewRoot(t)
	leaf := root.Intermediate(t).Leaf(t)
	_, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: root.Pool(), DNSName: "localhost"})
	if !isUnknown(err) {
		t.Fatalf("verify without the intermediate: err = %v, want UnknownAuthorityError", err)
	}
	if got := len(leaf.Chain); got != 2 {
		t.Fatalf("chain length = %d, want leaf + intermediate", got)
	}
}

func TestKeysAndExtensions(t *testing.T) {
	t.Parallel()
	root := NewRoot(t, Key(RSA2048))
	if _, ok := root.Key.(*rsa.PrivateKey); !ok {
		t.Fatalf("root key is %T, want RSA", root.Key)
	}
	if n := root.Key.(*rsa.PrivateKey).N.BitLen(); n != 2048 {
		t.Fatalf("RSA key has %d bits, want 2048", n)
	}
	leaf := root.Leaf(t, MustStaple(), Serial(big.NewInt(424242)), OCSPServer("http://ocsp.test"), CRLDistribution("http://crl.test"))
	if _, ok := leaf.Key.(*ecdsa.PrivateKey); !ok {
		t.Fatalf("default leaf key is %T, want ECDSA", leaf.Key)
	}
	var found bool
	for _, e := range leaf.Cert.Extensions {
		if e.Id.Equal(oidTLSFeature) {
			found = bytes.Equal(e.Value, mustStapleValue)
		}
	}
	if !found {
		t.Fatal("must-staple leaf lacks the TLS feature extension")
	}
	if leaf.Cert.SerialNumber.Int64() != 424242 {
		t.Fatalf("serial = %v", leaf.Cert.SerialNumber)
	}
	if leaf.Cert.OCSPServer[0] != "http://ocsp.test" || leaf.Cert.CRLDistributionPoints[0] != "http://crl.test" {
		t.Fatalf("AIA/CRL = %v %v", leaf.Cert.OCSPServer, leaf.Cert.CRLDistributionPoints)
	}
	if caLeaf := root.Leaf(t, IsCA()); !caLeaf.Cert.IsCA {
		t.Fatal("IsCA leaf is not a CA")
	}
	if noEKU := root.Leaf(t, EKU()); len(noEKU.Cert.ExtKeyUsage) != 0 {
		t.Fatalf("EKU() leaf has %v", noEKU.Cert.ExtKeyUsage)
	}
	self := SelfSigned(t, DNS("self.test"))
	if err := self.Cert.CheckSignature(self.Cert.SignatureAlgorithm, self.Cert.RawTBSCertificate, self.Cert.Signature); err != nil {
		t.Fatalf("self-signed leaf does not verify itself: %v", err)
	}
	if self.Cert.IsCA {
		t.Fatal("self-signed leaf is a CA")
	}
	if a, b := root.Leaf(t), root.Leaf(t); a.Cert.SerialNumber.Cmp(b.Cert.SerialNumber) == 0 {
		t.Fatal("two leaves share a serial number")
	}
}

func TestOCSP(t *testing.T) {
	t.Parallel()
	root := NewRoot(t)
	inter := root.Intermediate(t)
	leaf := inter.Leaf(t)
	now := time.Now()
	for _, s := range []OCSPStatus{OCSPGood, OCSPRevoked, OCSPUnknown, OCSPExpired} {
		t.Run(s.String(), func(t *testing.T) {
			resp, err := ocsp.ParseResponseForCert(inter.OCSP(t, leaf.Cert, s), leaf.Cert, inter.Cert)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			want := map[OCSPStatus]int{OCSPGood: ocsp.Good, OCSPRevoked: ocsp.Revoked, OCSPUnknown: ocsp.Unknown, OCSPExpired: ocsp.Good}[s]
			if resp.Status != want {
				t.Fatalf("status = %d, want %d", resp.Status, want)
			}
			if expired := resp.NextUpdate.Before(now); expired != (s == OCSPExpired) {
				t.Fatalf("NextUpdate %v: expired = %v", resp.NextUpdate, expired)
			}
		})
	}
	// Signed by the wrong CA: the signature check fails.
	if _, err := ocsp.ParseResponseForCert(root.OCSP(t, leaf.Cert, OCSPGood), leaf.Cert, inter.Cert); err == nil {
		t.Fatal("response signed by the root verified against the intermediate")
	}
}

func TestPEMFilesLoad(t *testing.T) {
	t.Parallel()
	root := NewRoot(t)
	inter := root.Intermediate(t)
	leaf := inter.Leaf(t, Key(RSA2048))
	dir := t.TempDir()
	certFile, keyFile := leaf.WritePEM(t, dir)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("LoadX509KeyPair: %v", err)
	}
	if len(pair.Certificate) != 2 {
		t.Fatalf("loaded %d certificates, want leaf + intermediate", len(pair.Certificate))
	}
	chain, err := os.ReadFile(leaf.WriteIntermediatesPEM(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := pem.Decode(chain); b == nil || !bytes.Equal(b.Bytes, inter.Cert.Raw) {
		t.Fatal("intermediates file does not hold the intermediate")
	}
	if root.Leaf(t).WriteIntermediatesPEM(t, dir) != "" {
		t.Fatal("a leaf issued by the root has intermediates")
	}
	bundle, err := os.ReadFile(WriteCAPEM(t, dir, root, inter))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for rest := bundle; ; n++ {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
	}
	if n != 2 {
		t.Fatalf("CA bundle holds %d blocks, want 2", n)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(PEM(root.Cert)) {
		t.Fatal("PEM output does not parse")
	}
}

func TestTLSHandshake(t *testing.T) {
	t.Parallel()
	root := NewRoot(t)
	leaf := root.Intermediate(t).Leaf(t)
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	srv := tls.Server(s, &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}})
	done := make(chan error, 1)
	go func() { done <- srv.Handshake() }()
	cli := tls.Client(c, &tls.Config{RootCAs: root.Pool(), ServerName: "localhost"})
	if err := cli.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
}

func TestStandalone(t *testing.T) {
	root := NewRoot(Standalone)
	if leaf := root.Leaf(Standalone); leaf.Cert.CheckSignatureFrom(root.Cert) != nil {
		t.Fatal("standalone leaf not signed by its root")
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "unknown key type") {
			t.Fatalf("Standalone.Fatalf did not panic with the message: %v", r)
		}
	}()
	NewRoot(Standalone, Key(KeyType(99)))
}
