package testpki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Additions for the tlsutil tests: keys testpki does not generate (for the
// web-PKI key rules), CRLs, and OCSP responses signed by a delegated
// responder.

// LeafWithKey issues a leaf like Leaf, for the given key instead of a
// generated one (an RSA-1024, P-224 or Ed25519 key, say).
func (ca *CA) LeafWithKey(t testing.TB, key crypto.Signer, opts ...Option) *Cert {
	t.Helper()
	c := newConfig(opts)
	leaf := issue(t, c, leafTemplate(c), key, ca)
	return &Cert{Cert: leaf, Key: key, Chain: append([]*x509.Certificate{leaf}, ca.intermediates()...)}
}

// IntermediateWithKey makes a CA issued by ca for the given key.
func (ca *CA) IntermediateWithKey(t testing.TB, key crypto.Signer, opts ...Option) *CA {
	t.Helper()
	c := newConfig(opts)
	tmpl := caTemplate(c, "sturdy test intermediate")
	return &CA{Cert: issue(t, c, tmpl, key, ca), Key: key, Parent: ca}
}

// CRL returns a CRL signed by ca, issued an hour ago, whose NextUpdate is
// nextUpdate, listing the serial numbers of revoked.
func (ca *CA) CRL(t testing.TB, nextUpdate time.Time, revoked ...*x509.Certificate) *x509.RevocationList {
	t.Helper()
	now := time.Now()
	tmpl := &x509.RevocationList{
		Number:     big.NewInt(serials.Add(1)),
		ThisUpdate: now.Add(-time.Hour),
		NextUpdate: nextUpdate,
	}
	for _, c := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{
			SerialNumber:   c.SerialNumber,
			RevocationTime: now.Add(-time.Hour),
			ReasonCode:     ocsp.KeyCompromise,
		})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		t.Fatalf("testpki: create CRL: %v", err)
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("testpki: parse CRL: %v", err)
	}
	return rl
}

// OCSPBy returns a good or revoked OCSP response about leaf (issued by ca)
// signed by responder, a delegated responder that ca issued; the response
// embeds the responder's certificate, as RFC 6960 4.2.2.2 requires.
func (ca *CA) OCSPBy(t testing.TB, responder *Cert, leaf *x509.Certificate, s OCSPStatus) []byte {
	t.Helper()
	now := time.Now().Truncate(time.Second)
	tmpl := ocsp.Response{
		Status:       ocsp.Good,
		SerialNumber: leaf.SerialNumber,
		ThisUpdate:   now.Add(-time.Hour),
		NextUpdate:   now.Add(24 * time.Hour),
		Certificate:  responder.Cert,
	}
	if s == OCSPRevoked {
		tmpl.Status = ocsp.Revoked
		tmpl.RevokedAt = now.Add(-time.Hour)
		tmpl.RevocationReason = ocsp.KeyCompromise
	}
	der, err := ocsp.CreateResponse(ca.Cert, responder.Cert, tmpl, responder.Key)
	if err != nil {
		t.Fatalf("testpki: create delegated OCSP response: %v", err)
	}
	return der
}
