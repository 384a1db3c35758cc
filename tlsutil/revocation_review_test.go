package tlsutil

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/testpki"
	"golang.org/x/crypto/ocsp"
)

// A stapled response signed by the leaf's real issuer, whose CertID names
// another CA with a certificate of the same serial number, says nothing
// about this leaf: it must not pass as "good" (RFC 6960 4.1.1).
func TestStapleForAnotherIssuersSerialIsRefused(t *testing.T) {
	t.Parallel()
	root := testpki.NewRoot(t)
	inter := root.Intermediate(t)
	leaf := inter.Leaf(t)
	other := root.Intermediate(t, testpki.CommonName("another CA"))
	now := time.Now().Truncate(time.Second)
	der, err := ocsp.CreateResponse(other.Cert, inter.Cert, ocsp.Response{
		Status:       ocsp.Good,
		SerialNumber: leaf.Cert.SerialNumber,
		ThisUpdate:   now.Add(-time.Hour),
		NextUpdate:   now.Add(time.Hour),
	}, inter.Key)
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Roots: root.Pool(), Name: "localhost", Revocation: RevocationRequireStaple}
	_, err = v.VerifyChain(leaf.Chain, der)
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Reason != BadStaple || !strings.Contains(err.Error(), "another issuer") {
		t.Fatalf("err = %v, want BadStaple naming another issuer", err)
	}
	// The same answer with the right CertID passes.
	if _, err := v.VerifyChain(leaf.Chain, inter.OCSP(t, leaf.Cert, testpki.OCSPGood)); err != nil {
		t.Fatalf("a good staple from the issuer: %v", err)
	}
}

func crl(t *testing.T, ca *testpki.CA, number int64, ext []pkix.Extension, revoked ...*x509.Certificate) *x509.RevocationList {
	t.Helper()
	tmpl := &x509.RevocationList{
		Number:          big.NewInt(number),
		ThisUpdate:      time.Now().Add(-time.Hour),
		NextUpdate:      time.Now().Add(time.Hour),
		ExtraExtensions: ext,
	}
	for _, c := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{
			SerialNumber: c.SerialNumber, RevocationTime: time.Now().Add(-time.Minute),
		})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return rl
}

// A certificate revoked in the second of two lists for its issuer must
// not pass because the first list does not name it; partial and delta
// CRLs cannot stand for the complete list.
func TestCRLsAreCompleteOrRefused(t *testing.T) {
	t.Parallel()
	root := testpki.NewRoot(t)
	inter := root.Intermediate(t)
	leaf := inter.Leaf(t)
	idp := pkix.Extension{Id: oidIssuingDistribution, Critical: true, Value: []byte{0x30, 0x00}}
	delta := pkix.Extension{Id: oidDeltaCRLIndicator, Critical: true, Value: []byte{0x02, 0x01, 0x01}}
	unknown := pkix.Extension{Id: []int{1, 2, 3, 4}, Critical: true, Value: []byte{0x05, 0x00}}

	tests := []struct {
		name   string
		lists  []*x509.RevocationList
		reason Reason
		want   string
	}{
		{"complete list naming the leaf", []*x509.RevocationList{crl(t, inter, 1, nil, leaf.Cert)}, Revoked, "listed in the CRL"},
		{"two lists for one issuer", []*x509.RevocationList{crl(t, inter, 1, nil), crl(t, inter, 2, nil, leaf.Cert)}, BadCRL, "more than one list"},
		{"a shard", []*x509.RevocationList{crl(t, inter, 1, []pkix.Extension{idp})}, BadCRL, "issuing distribution point"},
		{"a delta", []*x509.RevocationList{crl(t, inter, 1, []pkix.Extension{delta})}, BadCRL, "delta CRL"},
		{"unknown critical extension", []*x509.RevocationList{crl(t, inter, 1, []pkix.Extension{unknown})}, BadCRL, "critical extension 1.2.3.4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &Verifier{Roots: root.Pool(), Name: "localhost", CRL: CRLs(tc.lists...)}
			_, err := v.VerifyChain(leaf.Chain, nil)
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.Reason != tc.reason || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want reason %v mentioning %q", err, tc.reason, tc.want)
			}
		})
	}
	v := &Verifier{Roots: root.Pool(), Name: "localhost", CRL: CRLs(crl(t, inter, 1, nil))}
	if _, err := v.VerifyChain(leaf.Chain, nil); err != nil {
		t.Fatalf("a complete CRL that does not name the leaf: %v", err)
	}
}
