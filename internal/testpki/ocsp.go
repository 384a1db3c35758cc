package testpki

import (
	"crypto/x509"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSPStatus is the answer an OCSP response gives about a certificate.
type OCSPStatus int

const (
	// OCSPGood says the certificate is not revoked.
	OCSPGood OCSPStatus = iota
	// OCSPRevoked says the certificate was revoked an hour ago.
	OCSPRevoked
	// OCSPUnknown says the responder does not know the certificate.
	OCSPUnknown
	// OCSPExpired is a good response whose NextUpdate has passed.
	OCSPExpired
)

// String names the status as OCSP does.
func (s OCSPStatus) String() string {
	switch s {
	case OCSPGood:
		return "good"
	case OCSPRevoked:
		return "revoked"
	case OCSPUnknown:
		return "unknown"
	case OCSPExpired:
		return "expired"
	}
	return "OCSPStatus(?)"
}

// OCSP returns a DER OCSP response about leaf, signed directly by ca, which
// must be leaf's issuer for the response to verify.
func (ca *CA) OCSP(t TB, leaf *x509.Certificate, s OCSPStatus) []byte {
	t.Helper()
	now := time.Now().Truncate(time.Second)
	tmpl := ocsp.Response{
		SerialNumber: leaf.SerialNumber,
		ThisUpdate:   now.Add(-time.Hour),
		NextUpdate:   now.Add(24 * time.Hour),
		ProducedAt:   now.Add(-time.Hour),
	}
	switch s {
	case OCSPGood:
		tmpl.Status = ocsp.Good
	case OCSPRevoked:
		tmpl.Status = ocsp.Revoked
		tmpl.RevokedAt = now.Add(-time.Hour)
		tmpl.RevocationReason = ocsp.KeyCompromise
	case OCSPUnknown:
		tmpl.Status = ocsp.Unknown
	case OCSPExpired:
		tmpl.Status = ocsp.Good
		tmpl.ThisUpdate = now.Add(-72 * time.Hour)
		tmpl.ProducedAt = tmpl.ThisUpdate
		tmpl.NextUpdate = now.Add(-24 * time.Hour)
	default:
		t.Fatalf("testpki: unknown OCSP status %d", s)
	}
	der, err := ocsp.CreateResponse(ca.Cert, ca.Cert, tmpl, ca.Key)
	if err != nil {
		t.Fatalf("testpki: create OCSP response: %v", err)
	}
	return der
}
