//lint:file-ignore SA1019 x509.CreateRevocationList cannot write the malformed CRLs (no or a critical CRL number) this file exists for, so they are marshaled with the old pkix types.

package testpki

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/url"
	"time"
)

// Malformations for the tests of strict verifiers: certificates that
// crypto/x509 accepts and the web-PKI rules forbid.

var (
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidCRLNumber        = asn1.ObjectIdentifier{2, 5, 29, 20}
	// caBasicConstraints is the DER of basicConstraints {cA TRUE}.
	caBasicConstraints = []byte{0x30, 0x03, 0x01, 0x01, 0xff}
)

type criticality struct {
	id       asn1.ObjectIdentifier
	critical bool
}

// Mutate changes the certificate template after the other options, just
// before it is signed.
func Mutate(f func(*x509.Certificate)) Option {
	return func(c *config) { c.mutate = append(c.mutate, f) }
}

// Critical marks the extension id, as crypto/x509 would produce it, as
// critical or not.
func Critical(id asn1.ObjectIdentifier, critical bool) Option {
	return func(c *config) { c.critical = append(c.critical, criticality{id, critical}) }
}

// NoAuthorityKeyID issues a certificate without authorityKeyIdentifier.
func NoAuthorityKeyID() Option { return func(c *config) { c.noAKI = true } }

// NoSubjectKeyID issues a CA certificate without subjectKeyIdentifier.
func NoSubjectKeyID() Option { return func(c *config) { c.noSKI = true } }

// URIs sets the URI subject alternative names (SPIFFE IDs, for example),
// parsed with url.Parse. A leaf given URIs and no DNS or IPs gets no
// default names and, without CommonName, an empty subject, as X.509-SVIDs
// usually have.
func URIs(uris ...string) Option {
	return func(c *config) {
		c.mutate = append(c.mutate, func(tmpl *x509.Certificate) {
			if len(c.dns) == 0 && len(c.ips) == 0 && !tmpl.IsCA {
				tmpl.DNSNames, tmpl.IPAddresses = nil, nil
				if c.commonName == "" {
					tmpl.Subject = pkix.Name{}
				}
			}
			tmpl.URIs = nil
			for _, s := range uris {
				u, err := url.Parse(s)
				if err != nil {
					panic("testpki: URIs: " + err.Error())
				}
				tmpl.URIs = append(tmpl.URIs, u)
			}
		})
	}
}

// CRLNumber says how RawCRL writes the CRL number extension.
type CRLNumber int

const (
	// CRLNumberPresent writes a non-critical CRL number, as RFC 5280 5.2.3
	// requires.
	CRLNumberPresent CRLNumber = iota
	// CRLNumberAbsent writes none.
	CRLNumberAbsent
	// CRLNumberCritical marks it critical.
	CRLNumberCritical
)

// RawCRL returns a CRL signed by ca (an ECDSA CA) listing revoked, written
// by hand so that its CRL number can be absent or critical, which
// x509.CreateRevocationList does not allow.
func (ca *CA) RawCRL(t TB, nextUpdate time.Time, number CRLNumber, revoked ...*x509.Certificate) *x509.RevocationList {
	t.Helper()
	var issuer pkix.RDNSequence
	if _, err := asn1.Unmarshal(ca.Cert.RawSubject, &issuer); err != nil {
		t.Fatalf("testpki: RawCRL: issuer: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	tbs := pkix.TBSCertificateList{
		Version:    1,
		Signature:  pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}}, // ecdsa-with-SHA256
		Issuer:     issuer,
		ThisUpdate: now.Add(-time.Hour),
		NextUpdate: nextUpdate.UTC(),
	}
	for _, c := range revoked {
		tbs.RevokedCertificates = append(tbs.RevokedCertificates, pkix.RevokedCertificate{SerialNumber: c.SerialNumber, RevocationTime: now.Add(-time.Hour)})
	}
	if number != CRLNumberAbsent {
		v, err := asn1.Marshal(big.NewInt(serials.Add(1)))
		if err != nil {
			t.Fatalf("testpki: RawCRL: %v", err)
		}
		tbs.Extensions = append(tbs.Extensions, pkix.Extension{Id: oidCRLNumber, Critical: number == CRLNumberCritical, Value: v})
	}
	tbsDER, err := asn1.Marshal(tbs)
	if err != nil {
		t.Fatalf("testpki: RawCRL: %v", err)
	}
	digest := sha256.Sum256(tbsDER)
	sig, err := ca.Key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("testpki: RawCRL: sign: %v", err)
	}
	der, err := asn1.Marshal(pkix.CertificateList{
		TBSCertList:        tbs,
		SignatureAlgorithm: tbs.Signature,
		SignatureValue:     asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
	if err != nil {
		t.Fatalf("testpki: RawCRL: %v", err)
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("testpki: RawCRL: parse: %v", err)
	}
	return rl
}
