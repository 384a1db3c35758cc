package main

// A certificate authority made on the spot, so that the tour needs no
// files and no internet. It makes what the tour's TLS sections show:
// a root, an intermediate, leaf certificates for a DNS name, and stapled
// OCSP answers. A real service loads its certificates from files
// (tls.LoadX509KeyPair) and its roots with tlsutil.LoadRoots.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/ocsp"
)

// A tourCA is a certificate authority that lives in memory.
type tourCA struct {
	Cert  *x509.Certificate
	key   crypto.Signer
	chain []*x509.Certificate // Cert and its issuers below the root
}

// newRootCA makes a self-signed root named name.
func newRootCA(name string) (*tourCA, error) {
	return issueCA(nil, name)
}

// intermediate makes a CA named name issued by ca.
func (ca *tourCA) intermediate(name string) (*tourCA, error) {
	return issueCA(ca, name)
}

func issueCA(parent *tourCA, name string) (*tourCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: CA key: %w", err)
	}
	tmpl, err := template(name)
	if err != nil {
		return nil, err
	}
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	issuer, issuerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		issuer, issuerKey = parent.Cert, parent.key
	}
	cert, err := sign(tmpl, issuer, key.Public(), issuerKey)
	if err != nil {
		return nil, err
	}
	ca := &tourCA{Cert: cert, key: key}
	if parent != nil {
		ca.chain = append([]*x509.Certificate{cert}, parent.chain...)
	}
	return ca, nil
}

// leaf makes a server certificate for dnsName issued by ca, with its
// chain up to (not including) the root, ready for a tls.Config.
func (ca *tourCA) leaf(dnsName string) (*x509.Certificate, tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("pki: leaf key: %w", err)
	}
	tmpl, err := template(dnsName)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	tmpl.DNSNames = []string{dnsName}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	cert, err := sign(tmpl, ca.Cert, key.Public(), ca.key)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	tc := tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
	for _, c := range ca.chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return cert, tc, nil
}

// pool returns a pool holding ca alone, to trust it as a root.
func (ca *tourCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// ocsp returns an OCSP response about leaf, issued by ca, saying status
// (ocsp.Good or ocsp.Revoked), valid for a day: what a server staples.
func (ca *tourCA) ocsp(leaf *x509.Certificate, status int) ([]byte, error) {
	now := time.Now().Truncate(time.Second)
	r := ocsp.Response{
		Status:       status,
		SerialNumber: leaf.SerialNumber,
		ProducedAt:   now.Add(-time.Hour),
		ThisUpdate:   now.Add(-time.Hour),
		NextUpdate:   now.Add(24 * time.Hour),
	}
	if status == ocsp.Revoked {
		r.RevokedAt, r.RevocationReason = now.Add(-time.Hour), ocsp.KeyCompromise
	}
	der, err := ocsp.CreateResponse(ca.Cert, ca.Cert, r, ca.key)
	if err != nil {
		return nil, fmt.Errorf("pki: OCSP response: %w", err)
	}
	return der, nil
}

// template is what every certificate of the tour shares: a random serial,
// and a validity from an hour ago to a day from now.
func template(name string) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("pki: serial: %w", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
	}, nil
}

func sign(tmpl, issuer *x509.Certificate, pub crypto.PublicKey, issuerKey crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, pub, issuerKey)
	if err != nil {
		return nil, fmt.Errorf("pki: sign %q: %w", tmpl.Subject.CommonName, err)
	}
	return x509.ParseCertificate(der)
}
