package main

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/tlsutil"
	"golang.org/x/crypto/ocsp"
)

// TestPKI checks that the tour's certificates verify as a client would
// verify them, and that the OCSP answers parse with the right status.
func TestPKI(t *testing.T) {
	root, err := newRootCA("test root")
	if err != nil {
		t.Fatal(err)
	}
	inter, err := root.intermediate("test intermediate")
	if err != nil {
		t.Fatal(err)
	}
	leaf, tc, err := inter.leaf("api.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(tc.Certificate) != 2 || tc.Leaf != leaf {
		t.Fatalf("tls.Certificate has %d certificates, want leaf and intermediate", len(tc.Certificate))
	}
	inters := x509.NewCertPool()
	inters.AddCert(inter.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "api.test", Roots: root.pool(), Intermediates: inters}); err != nil {
		t.Fatalf("leaf does not verify: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.test", Roots: root.pool(), Intermediates: inters}); err == nil {
		t.Fatal("leaf verifies for another name")
	}
	for _, status := range []int{ocsp.Good, ocsp.Revoked} {
		der, err := inter.ocsp(leaf, status)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ocsp.ParseResponseForCert(der, leaf, inter.Cert)
		if err != nil || r.Status != status || r.NextUpdate.Before(time.Now()) {
			t.Fatalf("OCSP status %d: %+v, %v", status, r, err)
		}
	}
	// What the tlsutil section asks of them: chain, name, a pin on the
	// intermediate and a stapled OCSP answer.
	good, err := inter.ocsp(leaf, ocsp.Good)
	if err != nil {
		t.Fatal(err)
	}
	v := &tlsutil.Verifier{Roots: root.pool(), Name: "api.test", Pins: []tlsutil.Pin{tlsutil.PinOf(inter.Cert)}, Revocation: tlsutil.RevocationRequireStaple}
	if _, err := v.VerifyChain([]*x509.Certificate{leaf, inter.Cert}, good); err != nil {
		t.Fatalf("tlsutil refuses the tour's chain: %v", err)
	}
	revoked, err := inter.ocsp(leaf, ocsp.Revoked)
	if err != nil {
		t.Fatal(err)
	}
	var ve *tlsutil.VerifyError
	if _, err := v.VerifyChain([]*x509.Certificate{leaf, inter.Cert}, revoked); !errors.As(err, &ve) || ve.Reason != tlsutil.Revoked {
		t.Fatalf("revoked staple: %v, want Reason Revoked", err)
	}
	// A root's leaf has no intermediates to send.
	_, rc, err := root.leaf("bio.test")
	if err != nil || len(rc.Certificate) != 1 {
		t.Fatalf("root leaf: %d certificates, %v", len(rc.Certificate), err)
	}
}
