// Package testpki is an in-memory certificate authority for sturdy's tests.
//
// It issues every good and bad certificate the tests of tlsutil, bio and the
// examples need: root and intermediate CAs, leaves with chosen DNS and IP
// names, wildcard leaves, expired and not-yet-valid leaves, a leaf without
// the serverAuth extended key usage, self-signed leaves, name-constrained
// intermediates, RSA-2048 and ECDSA P-256 keys, OCSP responses (good,
// revoked, unknown, expired) signed by the issuer, a leaf carrying the
// TLS-feature (must-staple) extension, and PEM files for outside peers such
// as openssl and Python.
//
// Every constructor takes a TB (a *testing.T or *testing.B will do) and
// fails the test on error, so a test reads as a list of the certificates it
// needs. Programs outside tests, such as the examples, pass Standalone.
// Nothing here is meant for production: keys are generated fresh each time
// and never protected.
package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net"
	"sync/atomic"
	"time"
)

// TB is the part of testing.TB that testpki uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Standalone is a TB for programs that are not tests: Fatalf panics with
// the message. Issuing from the in-memory CA fails only when the system's
// random source does.
var Standalone TB = standalone{}

type standalone struct{}

func (standalone) Helper() {}

func (standalone) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// KeyType selects the key algorithm of a generated certificate.
type KeyType int

const (
	// ECDSAP256 is an ECDSA key on the NIST P-256 curve (the default).
	ECDSAP256 KeyType = iota
	// RSA2048 is a 2048-bit RSA key.
	RSA2048
)

// oidTLSFeature is id-pe-tlsfeature from RFC 7633.
var oidTLSFeature = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}

// mustStapleValue is the DER of the TLS feature list {status_request(5)}.
var mustStapleValue = []byte{0x30, 0x03, 0x02, 0x01, 0x05}

// serials gives every certificate of a test run a distinct serial number,
// so OCSP responses and pins never confuse two certificates.
var serials atomic.Int64

// config is what the options set; each constructor starts from its own
// defaults.
type config struct {
	commonName  string
	dns         []string
	ips         []net.IP
	keyType     KeyType
	notBefore   time.Time
	notAfter    time.Time
	ekus        []x509.ExtKeyUsage
	ekuSet      bool
	mustStaple  bool
	permitted   []string
	serial      *big.Int
	isCA        bool
	ocspServer  []string
	crlDistrib  []string
	validitySet bool
	// Malformations for the tests of strict verifiers (strict_extra.go).
	mutate   []func(*x509.Certificate)
	critical []criticality
	noAKI    bool
	noSKI    bool
}

// Option adjusts a certificate before it is issued.
type Option func(*config)

// DNS sets the DNS subject alternative names. A leaf issued without DNS or
// IPs gets "localhost" and 127.0.0.1.
func DNS(names ...string) Option {
	return func(c *config) { c.dns = append([]string(nil), names...) }
}

// IPs sets the IP subject alternative names.
func IPs(ips ...net.IP) Option {
	return func(c *config) { c.ips = append([]net.IP(nil), ips...) }
}

// CommonName sets the subject common name.
func CommonName(s string) Option { return func(c *config) { c.commonName = s } }

// Key selects the key algorithm.
func Key(k KeyType) Option { return func(c *config) { c.keyType = k } }

// Validity sets the validity window.
func Validity(notBefore, notAfter time.Time) Option {
	return func(c *config) { c.notBefore, c.notAfter, c.validitySet = notBefore, notAfter, true }
}

// Expired makes a certificate whose validity ended a day ago.
func Expired() Option {
	now := time.Now()
	return Validity(now.Add(-30*24*time.Hour), now.Add(-24*time.Hour))
}

// NotYetValid makes a certificate whose validity starts in a day.
func NotYetValid() Option {
	now := time.Now()
	return Validity(now.Add(24*time.Hour), now.Add(30*24*time.Hour))
}

// EKU replaces the extended key usages. EKU() with no argument issues a
// certificate without the extension at all.
func EKU(ekus ...x509.ExtKeyUsage) Option {
	return func(c *config) { c.ekus, c.ekuSet = append([]x509.ExtKeyUsage(nil), ekus...), true }
}

// NoServerAuth issues a leaf whose only extended key usage is clientAuth.
func NoServerAuth() Option { return EKU(x509.ExtKeyUsageClientAuth) }

// MustStaple adds the TLS feature extension asking for status_request
// (RFC 7633), known as must-staple.
func MustStaple() Option { return func(c *config) { c.mustStaple = true } }

// PermittedDNS adds name constraints to a CA: it may only issue for these
// DNS domains and their subdomains.
func PermittedDNS(domains ...string) Option {
	return func(c *config) { c.permitted = append([]string(nil), domains...) }
}

// Serial sets the serial number.
func Serial(n *big.Int) Option { return func(c *config) { c.serial = new(big.Int).Set(n) } }

// IsCA marks a leaf as a CA (basic constraints CA:TRUE), which web-PKI
// rules forbid for a server certificate.
func IsCA() Option { return func(c *config) { c.isCA = true } }

// OCSPServer sets the authority information access OCSP URL.
func OCSPServer(url string) Option {
	return func(c *config) { c.ocspServer = append(c.ocspServer, url) }
}

// CRLDistribution sets a CRL distribution point URL.
func CRLDistribution(url string) Option {
	return func(c *config) { c.crlDistrib = append(c.crlDistrib, url) }
}

// CA is a certificate authority: a root when Parent is nil, otherwise an
// intermediate issued by Parent.
type CA struct {
	Cert   *x509.Certificate
	Key    crypto.Signer
	Parent *CA
}

// Cert is an issued end-entity certificate with its key.
type Cert struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Chain is the leaf followed by its intermediates, without the root:
	// what a server sends.
	Chain []*x509.Certificate
}

func newConfig(opts []Option) *config {
	c := &config{}
	for _, o := range opts {
		o(c)
	}
	if c.serial == nil {
		c.serial = big.NewInt(1000 + serials.Add(1))
	}
	return c
}

func (c *config) window(defaultLife time.Duration) (time.Time, time.Time) {
	if c.validitySet {
		return c.notBefore, c.notAfter
	}
	now := time.Now()
	return now.Add(-time.Hour), now.Add(defaultLife)
}

func newKey(t TB, k KeyType) crypto.Signer {
	t.Helper()
	var (
		key crypto.Signer
		err error
	)
	switch k {
	case RSA2048:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case ECDSAP256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		t.Fatalf("testpki: unknown key type %d", k)
	}
	if err != nil {
		t.Fatalf("testpki: generate key: %v", err)
	}
	return key
}

// issue signs tmpl with the issuer (or self-signs when issuer is nil),
// after applying the malformations c asks for.
func issue(t TB, c *config, tmpl *x509.Certificate, key crypto.Signer, issuer *CA) *x509.Certificate {
	t.Helper()
	for _, m := range c.mutate {
		m(tmpl)
	}
	if c.noSKI && tmpl.IsCA {
		// crypto/x509 adds a subjectKeyIdentifier to every CA template;
		// a CA written as a basicConstraints extension gets none.
		tmpl.IsCA, tmpl.BasicConstraintsValid = false, false
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: oidBasicConstraints, Critical: true, Value: caBasicConstraints})
	}
	parent, signer := tmpl, key
	if issuer != nil {
		parent, signer = issuer.Cert, issuer.Key
		if c.noAKI {
			// crypto/x509 copies the parent's subjectKeyIdentifier into
			// the authorityKeyIdentifier; a parent without one gives none.
			p := *parent
			p.SubjectKeyId = nil
			parent = &p
		}
	}
	cert := create(t, tmpl, parent, key, signer)
	if len(c.critical) > 0 {
		// Re-issue with the extensions crypto/x509 produced, criticality
		// changed: ExtraExtensions replace the ones it would produce.
		for _, want := range c.critical {
			for _, e := range cert.Extensions {
				if e.Id.Equal(want.id) {
					tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: e.Id, Critical: want.critical, Value: e.Value})
				}
			}
		}
		cert = create(t, tmpl, parent, key, signer)
	}
	return cert
}

func create(t TB, tmpl, parent *x509.Certificate, key, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatalf("testpki: create certificate %q: %v", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testpki: parse certificate %q: %v", tmpl.Subject.CommonName, err)
	}
	return cert
}

func caTemplate(c *config, defaultName string) *x509.Certificate {
	name := c.commonName
	if name == "" {
		name = defaultName
	}
	nb, na := c.window(10 * 365 * 24 * time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber:          c.serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"sturdy test PKI"}},
		NotBefore:             nb,
		NotAfter:              na,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		PermittedDNSDomains:   c.permitted,
	}
	if len(c.permitted) > 0 {
		tmpl.PermittedDNSDomainsCritical = true
	}
	return tmpl
}

// NewRoot makes a self-signed root CA valid for ten years.
func NewRoot(t TB, opts ...Option) *CA {
	t.Helper()
	c := newConfig(opts)
	key := newKey(t, c.keyType)
	tmpl := caTemplate(c, "sturdy test root")
	return &CA{Cert: issue(t, c, tmpl, key, nil), Key: key}
}

// Intermediate makes a CA issued by ca.
func (ca *CA) Intermediate(t TB, opts ...Option) *CA {
	t.Helper()
	c := newConfig(opts)
	key := newKey(t, c.keyType)
	tmpl := caTemplate(c, "sturdy test intermediate")
	return &CA{Cert: issue(t, c, tmpl, key, ca), Key: key, Parent: ca}
}

// Pool returns a pool holding only this CA's certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Chain returns this CA and its issuers up to the root, root last.
func (ca *CA) Chain() []*x509.Certificate {
	var chain []*x509.Certificate
	for c := ca; c != nil; c = c.Parent {
		chain = append(chain, c.Cert)
	}
	return chain
}

// intermediates returns the CA certificates a server sends after a leaf
// issued by ca: ca and its parents, without the root.
func (ca *CA) intermediates() []*x509.Certificate {
	chain := ca.Chain()
	return chain[:len(chain)-1]
}

func leafTemplate(c *config) *x509.Certificate {
	dns, ips := c.dns, c.ips
	if len(dns) == 0 && len(ips) == 0 {
		dns, ips = []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	name := c.commonName
	if name == "" {
		name = "sturdy test leaf"
		if len(dns) > 0 {
			name = dns[0]
		}
	}
	ekus := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	if c.ekuSet {
		ekus = c.ekus
	}
	nb, na := c.window(90 * 24 * time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber:          c.serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             nb,
		NotAfter:              na,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           ekus,
		BasicConstraintsValid: true,
		IsCA:                  c.isCA,
		DNSNames:              dns,
		IPAddresses:           ips,
		OCSPServer:            c.ocspServer,
		CRLDistributionPoints: c.crlDistrib,
	}
	if c.keyType == RSA2048 {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if c.isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	if c.mustStaple {
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: oidTLSFeature, Value: mustStapleValue})
	}
	return tmpl
}

// Leaf issues an end-entity certificate. Without options it is valid for
// 90 days for "localhost" and 127.0.0.1, with the serverAuth and clientAuth
// extended key usages and an ECDSA P-256 key. A wildcard leaf is
// Leaf(t, DNS("*.example.test")).
func (ca *CA) Leaf(t TB, opts ...Option) *Cert {
	t.Helper()
	c := newConfig(opts)
	key := newKey(t, c.keyType)
	leaf := issue(t, c, leafTemplate(c), key, ca)
	return &Cert{Cert: leaf, Key: key, Chain: append([]*x509.Certificate{leaf}, ca.intermediates()...)}
}

// SelfSigned issues a self-signed end-entity certificate (not a CA).
func SelfSigned(t TB, opts ...Option) *Cert {
	t.Helper()
	c := newConfig(opts)
	key := newKey(t, c.keyType)
	leaf := issue(t, c, leafTemplate(c), key, nil)
	return &Cert{Cert: leaf, Key: key, Chain: []*x509.Certificate{leaf}}
}

// TLS returns the certificate as a server or client sends it: the leaf and
// its intermediates, with the private key.
func (c *Cert) TLS() tls.Certificate {
	tc := tls.Certificate{PrivateKey: c.Key, Leaf: c.Cert}
	for _, x := range c.Chain {
		tc.Certificate = append(tc.Certificate, x.Raw)
	}
	return tc
}
