package tlsutil

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"time"
)

// Verifier checks a TLS server the way this package promises: a chain to a
// trusted root at the current time, the expected name, the pins, the
// revocation policy and, optionally, the web-PKI rules crypto/x509 does not
// apply. Its VerifyConnection method is meant for tls.Config.VerifyConnection
// in a config whose InsecureSkipVerify is true (ClientConfig and Dialer set
// both), so that the Verifier, not crypto/tls, does the whole verification:
// on full handshakes, on resumed sessions and behind HTTPS proxies alike.
//
// The zero Verifier verifies against the system roots, the connection's
// ServerName and the current time, with no pins and no revocation check.
// A Verifier must not be modified while in use; it is safe for concurrent
// use otherwise.
type Verifier struct {
	// Roots are the trusted root CAs. nil means the system roots.
	Roots *x509.CertPool

	// Name is the name to verify: a DNS name, or an IP literal (IPv6 with
	// or without brackets), which is matched against IP SANs only. ""
	// means the connection's ServerName. The common name is never used
	// (RFC 6125 section 6.4.4, and what crypto/x509 does since Go 1.15).
	//
	// Set Name when the name to verify differs from the address dialed
	// (curl's --connect-to), and when a tls.Config dials an IP literal
	// without a Dialer: crypto/tls does not pass an IP ServerName to
	// VerifyConnection (it is not sent as SNI), so the Verifier cannot
	// learn it otherwise and refuses with NoName.
	Name string

	// Pins, when not empty, must be matched by the public key of some
	// certificate of the verified chain (leaf, intermediate or root). List
	// a backup pin next to the current one so a key rotation does not
	// lock clients out.
	Pins []Pin

	// Revocation says what to do with the OCSP response the server staples.
	// A leaf with the must-staple extension (RFC 7633) is always treated as
	// RevocationRequireStaple.
	Revocation RevocationPolicy

	// Strict adds the web-PKI rules that crypto/x509 does not check; see
	// the package documentation for the list and where each comes from.
	Strict bool

	// Now returns the time to verify at. nil means time.Now.
	Now func() time.Time

	// GetRoots, when set, is called at every verification and its result
	// is used instead of Roots. It lets the roots change while the
	// Verifier is in use, for example with Reloader.Roots. A nil result
	// means the system roots.
	GetRoots func() *x509.CertPool

	// CRL, when set, is asked for the current CRL of each issuer of the
	// verified chain (the leaf's issuer and every intermediate's). A nil
	// list means "none known for this issuer" and passes; an error fails
	// the verification with BadCRL. The list must be signed by the issuer
	// and not be past its NextUpdate, and must be the issuer's complete
	// list (a delta CRL, one with an issuing distribution point, or one
	// with an unknown critical extension fails with BadCRL); a certificate
	// whose serial it lists fails with Revoked. The Verifier never
	// downloads CRLs itself: the
	// caller decides where they come from and how often.
	CRL func(issuer *x509.Certificate) (*x509.RevocationList, error)
}

// VerifyConnection verifies the peer of a finished handshake: the
// certificates it sent (cs.PeerCertificates, which on a resumed session are
// those of the original handshake) and its OCSP staple, against the name
// Verifier.Name or, when empty, cs.ServerName. It does not rely on
// cs.VerifiedChains, so it holds whether crypto/tls verified or not.
// The error is a *VerifyError.
func (v *Verifier) VerifyConnection(cs tls.ConnectionState) error {
	name := v.Name
	if name == "" {
		name = cs.ServerName
	}
	_, err := v.verify(cs.PeerCertificates, cs.OCSPResponse, name)
	return err
}

// VerifyChain applies exactly the checks of VerifyConnection to a chain
// given by hand (leaf first, then the intermediates the peer would send, in
// any order) and an optional DER OCSP response, verifying the name
// Verifier.Name. It returns the verified chains, each from the leaf to a
// trusted root, or a *VerifyError.
func (v *Verifier) VerifyChain(chain []*x509.Certificate, ocspStaple []byte) ([][]*x509.Certificate, error) {
	chains, err := v.verify(chain, ocspStaple, v.Name)
	if err != nil {
		return nil, err
	}
	// The memo keeps chains; the caller gets slices of its own.
	out := make([][]*x509.Certificate, len(chains))
	for i, ch := range chains {
		out[i] = append([]*x509.Certificate(nil), ch...)
	}
	return out, nil
}

// verifyFor returns a VerifyConnection function for a Dialer, which knows
// the name it dialed even when crypto/tls hides it (an IP literal): the
// name verified is Verifier.Name, else name, else the connection's
// ServerName.
func (v *Verifier) verifyFor(name string) func(tls.ConnectionState) error {
	if v.Name != "" {
		name = v.Name
	}
	return func(cs tls.ConnectionState) error {
		n := name
		if n == "" {
			n = cs.ServerName
		}
		_, err := v.verify(cs.PeerCertificates, cs.OCSPResponse, n)
		return err
	}
}

// hook returns VerifyConnection as a closure that a Dialer can recognize
// (see verifierOf), so that a config from Profile.Client given to a Dialer
// is verified once, by the right Verifier, with the dialed name. It is
// not inlined: an inlined copy of the closure would have its own code
// pointer, and verifierOf compares code pointers.
//
//go:noinline
func (v *Verifier) hook() func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if cs.ServerName == probeName && cs.PeerCertificates == nil {
			return &verifierProbe{v}
		}
		return v.VerifyConnection(cs)
	}
}

// probeName cannot occur in a handshake: SNI host names have no NUL.
const probeName = "\x00tlsutil-probe"

type verifierProbe struct{ v *Verifier }

func (p *verifierProbe) Error() string { return "tlsutil: verifier probe" }

var hookPC = reflect.ValueOf((&Verifier{}).hook()).Pointer()

// verifierOf returns the Verifier behind f when f was made by hook, else
// nil. Other functions are never called.
func verifierOf(f func(tls.ConnectionState) error) *Verifier {
	if f == nil || reflect.ValueOf(f).Pointer() != hookPC {
		return nil
	}
	if p, ok := f(tls.ConnectionState{ServerName: probeName}).(*verifierProbe); ok {
		return p.v
	}
	return nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) roots() *x509.CertPool {
	if v.GetRoots != nil {
		return v.GetRoots()
	}
	return v.Roots
}

// verify runs every check in a fixed order: chain, name, Strict rules, pins,
// revocation. The first failure is returned.
func (v *Verifier) verify(chain []*x509.Certificate, staple []byte, name string) ([][]*x509.Certificate, error) {
	now := v.now()
	var verified []*x509.Certificate
	fail := func(r Reason, cert *x509.Certificate, err error, format string, args ...any) *VerifyError {
		e := &VerifyError{
			Reason: r, Detail: fmt.Sprintf(format, args...), Name: name, Chain: chain,
			Verified: append([]*x509.Certificate(nil), verified...), // a copy: the memo keeps chains
			Cert:     cert, Time: now, Err: err,
		}
		if len(chain) > 0 {
			e.Names = sans(chain[0])
		}
		return e
	}
	if len(chain) == 0 {
		return nil, fail(NoCertificate, nil, nil, "the peer sent no certificate")
	}
	leaf := chain[0]
	if name == "" {
		return nil, fail(NoName, nil, nil,
			"neither Verifier.Name nor the connection's ServerName is set (crypto/tls leaves ServerName empty for an IP address: set Verifier.Name to it)")
	}

	roots := v.roots()
	chains, err := verifyCached(chain, roots, now)
	if err != nil {
		return nil, v.chainError(chain, roots, now, err, fail)
	}
	verified = chains[0]

	if err := leaf.VerifyHostname(name); err != nil {
		return nil, fail(NameMismatch, leaf, err, "%s", nameHint(leaf, name))
	}

	if v.Strict {
		if e := strictCheck(chains[0], fail); e != nil {
			return nil, e
		}
	}

	if len(v.Pins) > 0 {
		if e := v.checkPins(chains, fail); e != nil {
			return nil, e
		}
	}

	if e := v.checkRevocation(chains[0], staple, now, fail); e != nil {
		return nil, e
	}
	return chains, nil
}

type failFunc func(r Reason, cert *x509.Certificate, err error, format string, args ...any) *VerifyError

// chainError turns a crypto/x509 verification error into a VerifyError
// that says which certificate failed and what to do.
func (v *Verifier) chainError(chain []*x509.Certificate, roots *x509.CertPool, now time.Time, err error, fail failFunc) *VerifyError {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return fail(UnknownAuthority, ua.Cert, err, "%s", explainUnknown(chain, roots))
	case errors.As(err, &ci):
		c := ci.Cert
		switch ci.Reason {
		case x509.Expired:
			which := describeRole(chain, c)
			if now.Before(c.NotBefore) {
				return fail(NotYetValid, c, err, "%s %q is valid from %s, it is now %s (check the clock of both sides)",
					which, nameOf(c.Subject.String(), c), c.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
			}
			return fail(Expired, c, err, "%s %q expired at %s, it is now %s",
				which, nameOf(c.Subject.String(), c), c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		case x509.IncompatibleUsage:
			return fail(MissingServerAuth, c, err, "the leaf's extended key usages are %s, which does not include serverAuth",
				ekuList(chain[0]))
		case x509.CANotAuthorizedForThisName:
			return fail(NameConstraints, c, err, "%s", ci.Detail)
		}
		return fail(BadChain, c, err, "%s", ci.Error())
	}
	return fail(BadChain, nil, err, "%s", err.Error())
}

// describeRole says whether c is the leaf or which certificate of chain.
func describeRole(chain []*x509.Certificate, c *x509.Certificate) string {
	for i, x := range chain {
		if x == c || bytes.Equal(x.Raw, c.Raw) {
			if i == 0 {
				return "the leaf"
			}
			return fmt.Sprintf("certificate [%d] of the chain", i)
		}
	}
	return "the root"
}

// maxExplainChecks bounds the signature checks explainUnknown makes.
const maxExplainChecks = 100

// explainUnknown follows issuer links from the leaf through the
// certificates the peer sent and says where the chain stops, and whether an
// intermediate seems to be missing.
func explainUnknown(chain []*x509.Certificate, roots *x509.CertPool) string {
	used := make([]bool, len(chain))
	used[0] = true
	cur := chain[0]
	// A hostile peer could send many certificates with the same subject;
	// bound the signature checks as crypto/x509 bounds its own.
	budget := maxExplainChecks
	for {
		next := -1
		for i, c := range chain {
			if used[i] || !bytes.Equal(c.RawSubject, cur.RawIssuer) || budget == 0 {
				continue
			}
			budget--
			if cur.CheckSignatureFrom(c) == nil {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		used[next] = true
		cur = chain[next]
	}
	var b strings.Builder
	rootsName := "the trusted roots"
	if roots == nil {
		rootsName = "the system roots"
	}
	selfSigned := bytes.Equal(cur.RawIssuer, cur.RawSubject) &&
		cur.CheckSignature(cur.SignatureAlgorithm, cur.RawTBSCertificate, cur.Signature) == nil
	switch {
	case selfSigned && cur == chain[0]:
		fmt.Fprintf(&b, "the peer's certificate %q is self-signed and not among %s; add it to the roots only if you trust it",
			nameOf(cur.Subject.String(), cur), rootsName)
	case selfSigned:
		fmt.Fprintf(&b, "the chain ends at the self-signed %q, which is not among %s; add it to the roots if it is your CA",
			nameOf(cur.Subject.String(), cur), rootsName)
	default:
		fmt.Fprintf(&b, "the chain stops at %q: its issuer %q was not sent by the peer and is not among %s",
			nameOf(cur.Subject.String(), cur), cur.Issuer.String(), rootsName)
		fmt.Fprintf(&b, "; an intermediate seems missing (the server should send its full chain) unless %q is a root you forgot to trust", cur.Issuer.String())
		if len(cur.IssuingCertificateURL) > 0 {
			fmt.Fprintf(&b, "; the issuer's certificate is published at %s (not fetched)", strings.Join(cur.IssuingCertificateURL, ", "))
		}
	}
	unused := 0
	for _, u := range used {
		if !u {
			unused++
		}
	}
	if unused > 0 {
		fmt.Fprintf(&b, "; %d certificate(s) sent by the peer do not link to the leaf (wrong or misordered intermediates)", unused)
	}
	return b.String()
}

// nameHint explains a name mismatch: what the leaf covers, what was
// expected, and the likely cause.
func nameHint(leaf *x509.Certificate, name string) string {
	covers := sans(leaf)
	var b strings.Builder
	if len(covers) == 0 {
		fmt.Fprintf(&b, "the certificate has no subject alternative names, so it covers no name (its common name %q is not used, RFC 6125); expected %q",
			leaf.Subject.CommonName, name)
		return b.String()
	}
	fmt.Fprintf(&b, "the certificate covers %s, not %q", strings.Join(covers, ", "), name)
	host := strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	if ip := net.ParseIP(host); ip != nil {
		if len(leaf.IPAddresses) == 0 {
			b.WriteString("; an IP address is matched only against IP SANs, and this certificate has none")
		}
		return b.String()
	}
	for _, d := range leaf.DNSNames {
		if strings.HasPrefix(d, "*.") && strings.HasSuffix(strings.ToLower(name), strings.ToLower(d[1:])) {
			fmt.Fprintf(&b, "; the wildcard %q matches exactly one label, so it does not cover %q", d, name)
			break
		}
	}
	if len(leaf.DNSNames) == 0 {
		b.WriteString("; the certificate has only IP SANs, so a DNS name cannot match")
	}
	return b.String()
}

var ekuNames = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:             "any",
	x509.ExtKeyUsageServerAuth:      "serverAuth",
	x509.ExtKeyUsageClientAuth:      "clientAuth",
	x509.ExtKeyUsageCodeSigning:     "codeSigning",
	x509.ExtKeyUsageEmailProtection: "emailProtection",
	x509.ExtKeyUsageTimeStamping:    "timeStamping",
	x509.ExtKeyUsageOCSPSigning:     "OCSPSigning",
}

func ekuList(c *x509.Certificate) string {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return "absent"
	}
	var s []string
	for _, u := range c.ExtKeyUsage {
		if n, ok := ekuNames[u]; ok {
			s = append(s, n)
		} else {
			s = append(s, fmt.Sprintf("EKU(%d)", int(u)))
		}
	}
	for _, o := range c.UnknownExtKeyUsage {
		s = append(s, o.String())
	}
	return strings.Join(s, ", ")
}

// checkPins passes when any certificate of any verified chain matches a pin.
func (v *Verifier) checkPins(chains [][]*x509.Certificate, fail failFunc) *VerifyError {
	var seen []Pin
	for _, ch := range chains {
		for _, c := range ch {
			p := PinOf(c)
			for _, w := range v.Pins {
				if p == w {
					return nil
				}
			}
			if !containsPin(seen, p) {
				seen = append(seen, p)
			}
		}
	}
	e := fail(PinMismatch, chains[0][0], nil, "the verified chain has the pins %s; wanted one of %s",
		pinList(seen), pinList(v.Pins))
	e.PinsSeen, e.PinsWanted = seen, append([]Pin(nil), v.Pins...)
	return e
}

func containsPin(ps []Pin, p Pin) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}
