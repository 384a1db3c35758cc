package tlsutil

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Reason says why a Verifier refused a peer, for programs that branch on it.
// A Reason is also an error value, so errors.Is(err, tlsutil.Expired) is true
// for any error wrapping a *VerifyError with that Reason.
type Reason int

// The reasons a Verifier refuses a peer. The Strict rules have their own
// reasons (those marked Strict below, "server" for the rules applied to a
// server's certificate only; MissingServerAuth and BadCRL are shared with
// checks made in every mode).
const (
	// UnknownAuthority: no chain from the leaf to a trusted root could be
	// built (unknown root, self-signed leaf, missing intermediate, bad
	// signature).
	UnknownAuthority Reason = iota + 1
	// NameMismatch: the leaf does not cover the name being verified.
	NameMismatch
	// Expired: a certificate of the chain is past its NotAfter.
	Expired
	// NotYetValid: a certificate of the chain is before its NotBefore.
	NotYetValid
	// PinMismatch: no certificate of the verified chain matches a pin.
	PinMismatch
	// Revoked: an OCSP staple or a CRL says the certificate is revoked.
	Revoked
	// StapleMissing: revocation policy (or a must-staple leaf) demands an
	// OCSP staple and the peer sent none.
	StapleMissing
	// StapleExpired: the stapled OCSP response is past its NextUpdate, has
	// none, or is not yet valid.
	StapleExpired
	// BadStaple: the stapled OCSP response does not parse, is not signed by
	// the issuer or its delegated responder, is about another certificate,
	// or has status "unknown".
	BadStaple
	// BadCRL: the CRL the caller's checker returned is not signed by the
	// issuer (or the issuer may not sign CRLs), is stale, is not a complete
	// list, or (Strict) lacks a non-critical CRL number; or the checker
	// failed.
	BadCRL
	// NoCertificate: the peer sent no certificate.
	NoCertificate
	// NoName: there is no name to verify: Verifier.Name and the
	// connection's ServerName are both empty.
	NoName
	// MissingServerAuth: the leaf's extended key usage does not allow TLS
	// server authentication (under Strict, for a server, the EKU extension
	// must be present and list serverAuth).
	MissingServerAuth
	// NameConstraints: a CA of the chain is not allowed to issue for a name
	// in the leaf.
	NameConstraints
	// BadChain: the chain is invalid for another reason crypto/x509 reports
	// (a CA certificate without CA rights, too many intermediates, an
	// insecure signature algorithm, an unsupported critical extension), or
	// VerifyChain was given a nil certificate.
	BadChain
	// LeafIsCA (Strict): the leaf has basicConstraints cA=TRUE.
	LeafIsCA
	// WeakKey (Strict, server): an RSA key under 2048 bits, an ECDSA key on
	// another curve than P-256, P-384 or P-521, or another key type.
	WeakKey
	// BadDNSName (Strict, server): a DNS SAN is not a valid host name, has
	// a wildcard other than a whole left-most label, or a wildcard directly
	// on a top-level domain or an ICANN public suffix.
	BadDNSName
	// ValidityTooLong (Strict, server): the leaf is valid for longer than
	// the Baseline Requirements allowed on its notBefore date (398 days
	// from 2020-09-01, 200 from 2026-03-15, ...; see the package
	// documentation).
	ValidityTooLong
	// BadSerial (Strict): a serial number that is not positive or is longer
	// than 20 octets.
	BadSerial
	// BadCommonName (Strict, server): the leaf's subject common name does
	// not repeat one of its SANs exactly.
	BadCommonName
	// BadEKU (Strict, server): the leaf lists anyExtendedKeyUsage, or its
	// extendedKeyUsage extension is marked critical.
	BadEKU
	// BadCriticality (Strict): an extension is marked critical, or not,
	// against RFC 5280: basicConstraints or policyConstraints of a CA not
	// critical; subjectAltName critical beside a non-empty subject, or not
	// critical beside an empty one.
	BadCriticality
	// MissingKeyID (Strict): a certificate other than a self-signed one has
	// no authorityKeyIdentifier, or a CA has no subjectKeyIdentifier.
	MissingKeyID
	// BadKeyUsage (Strict): the leaf's key usage includes keyCertSign.
	BadKeyUsage
	// BadSubject (Strict): a CA certificate has an empty subject.
	BadSubject
	// BadNameConstraints (Strict): a leaf carries name constraints, or a CA
	// has a DNS name constraint with a leading period.
	BadNameConstraints
	// TooManyConstraints (Strict): checking the leaf's names against the
	// name constraints of its chain, the trust anchor's included, would
	// take more than 250,000 comparisons (the bound of rustls-webpki and of
	// earlier Go releases).
	TooManyConstraints
	// MissingClientAuth: with Verifier.Client, the leaf's extended key
	// usage does not allow TLS client authentication.
	MissingClientAuth
	// NameNotAllowed: the leaf holds none of Verifier.AllowNames.
	NameNotAllowed
	// BadSVID: the leaf has a SPIFFE ID and AllowNames asks for one, but it
	// is not an X.509-SVID: not exactly one URI SAN, a malformed SPIFFE ID,
	// a CA certificate, or keyCertSign or cRLSign in its key usage.
	BadSVID
	// BadAllowNames: an entry of Verifier.AllowNames is neither a DNS name,
	// an IP literal nor a URI (a SPIFFE ID or trust domain must be valid).
	// The Verifier is misconfigured; every peer is refused.
	BadAllowNames
	// NoClientRoots: a Verifier with Client set has no roots the user
	// chose (Roots is nil, or GetRoots returned nil). Client certificates
	// are never verified against the system roots, which would accept any
	// publicly trusted certificate that allows clientAuth; every client is
	// refused until Verifier.Roots is set.
	NoClientRoots
)

var reasonText = map[Reason]string{
	UnknownAuthority:   "certificate signed by unknown authority",
	NameMismatch:       "certificate name mismatch",
	Expired:            "certificate expired",
	NotYetValid:        "certificate not yet valid",
	PinMismatch:        "public key pin mismatch",
	Revoked:            "certificate revoked",
	StapleMissing:      "OCSP staple missing",
	StapleExpired:      "OCSP staple expired",
	BadStaple:          "bad OCSP staple",
	BadCRL:             "bad CRL",
	NoCertificate:      "no certificate",
	NoName:             "no name to verify",
	MissingServerAuth:  "certificate not valid for TLS server authentication",
	NameConstraints:    "name not permitted by CA name constraints",
	BadChain:           "invalid certificate chain",
	LeafIsCA:           "leaf certificate is a CA (strict)",
	WeakKey:            "weak or disallowed key (strict)",
	BadDNSName:         "malformed DNS name in certificate (strict)",
	ValidityTooLong:    "certificate validity too long (strict)",
	BadSerial:          "bad serial number (strict)",
	BadCommonName:      "common name not among the subject alternative names (strict)",
	BadEKU:             "bad extended key usage (strict)",
	BadCriticality:     "extension criticality against RFC 5280 (strict)",
	MissingKeyID:       "missing key identifier (strict)",
	BadKeyUsage:        "bad key usage (strict)",
	BadSubject:         "empty CA subject (strict)",
	BadNameConstraints: "bad name constraints (strict)",
	TooManyConstraints: "too many name constraint comparisons (strict)",
	MissingClientAuth:  "certificate not valid for TLS client authentication",
	NameNotAllowed:     "certificate holds no allowed name",
	BadSVID:            "not a valid X.509-SVID",
	BadAllowNames:      "invalid Verifier.AllowNames entry",
	NoClientRoots:      "no roots set for client certificates",
}

// String returns a short lower-case description, such as
// "certificate expired".
func (r Reason) String() string {
	if s, ok := reasonText[r]; ok {
		return s
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Error makes a Reason usable as an errors.Is target. It is String, so a
// Reason prints the same as an error or a value.
func (r Reason) Error() string { return r.String() }

// VerifyError is the error a Verifier returns. Every field but Reason and
// Detail is optional and set when it applies; Error formats all of them
// into one line a person can act on.
//
// It matches its Reason with errors.Is and unwraps to the underlying cause
// (a crypto/x509 error such as x509.UnknownAuthorityError, an OCSP parse
// error), so errors.As reaches it too.
type VerifyError struct {
	Reason Reason
	// Detail says what exactly failed and, where there is one, what to do.
	Detail string
	// Name is the name that was verified (DNS name or IP literal); empty
	// when none was (a client certificate, or AllowNames).
	Name string
	// Addr is the address dialed, when a Dialer made the connection.
	Addr string
	// Names are the names the leaf holds: its DNS, IP, URI and e-mail
	// SANs, as "DNS:x", "IP:y", "URI:z" and "email:w". They are the
	// peer's data, unquoted; Error quotes them.
	Names []string
	// Chain is the chain the peer sent, leaf first.
	Chain []*x509.Certificate
	// Verified is the chain built to a trusted root, when one was: of the
	// candidate chains, the one that passed the most checks.
	Verified []*x509.Certificate
	// Cert is the certificate at fault, when the error is about one.
	Cert *x509.Certificate
	// PinsSeen are the pins of the verified chain; PinsWanted the
	// Verifier's Pins (for PinMismatch).
	PinsSeen, PinsWanted []Pin
	// Time is the time the chain was verified at.
	Time time.Time
	// Err is the underlying cause, if any.
	Err error
}

// maxChainShown bounds how many certificates an error message lists: a
// real chain has two to four, a hostile peer may send hundreds.
const maxChainShown = 8

// Error returns "tlsutil: <reason>: <detail>" followed by the chain the peer
// sent, with subjects, issuers and validity.
func (e *VerifyError) Error() string {
	var b strings.Builder
	b.WriteString("tlsutil: ")
	b.WriteString(e.Reason.String())
	if e.Addr != "" {
		b.WriteString(" (peer ")
		b.WriteString(e.Addr)
		b.WriteString(")")
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil && !detailSuffices[e.Reason] && !strings.Contains(e.Detail, e.Err.Error()) {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if len(e.Chain) > 0 {
		b.WriteString("; chain sent by the peer: ")
		for i, c := range e.Chain {
			if i == maxChainShown {
				fmt.Fprintf(&b, " and %d more", len(e.Chain)-i)
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "[%d] %s", i, certLine(c))
		}
	}
	return escapeControls(b.String())
}

// escapeControls writes any control character left in a message (from an
// underlying error's text, say) as a Go escape: every peer string is
// quoted already, and this keeps the message one line whatever a library
// below says.
func escapeControls(s string) string {
	if strings.IndexFunc(s, controlRune) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if controlRune(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func controlRune(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// detailSuffices lists the reasons whose Detail already says all that the
// underlying crypto/x509 error would repeat.
var detailSuffices = map[Reason]bool{
	Expired: true, NotYetValid: true, NameMismatch: true, MissingServerAuth: true, MissingClientAuth: true, NameConstraints: true,
}

// Is reports whether target is e's Reason.
func (e *VerifyError) Is(target error) bool {
	r, ok := target.(Reason)
	return ok && r == e.Reason
}

// Unwrap returns the underlying cause.
func (e *VerifyError) Unwrap() error { return e.Err }

// The words of the messages. Every string a peer controls (subjects,
// issuers, SANs, URLs in its certificates) is quoted with %q before it
// reaches a message, so a peer cannot write a line break, a forged log
// line or a terminal escape into the log of the side that refused it.

// certLine describes a certificate in one line: subject, issuer, validity.
func certLine(c *x509.Certificate) string {
	if c == nil {
		return "(nil certificate)"
	}
	return fmt.Sprintf("subject %q issued by %q, valid %s to %s",
		nameOf(c), c.Issuer.String(),
		c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
}

// nameOf returns c's subject, or a description built from its SANs when
// the subject is empty (as in many modern leaves). Quote the result.
func nameOf(c *x509.Certificate) string {
	if s := c.Subject.String(); s != "" {
		return s
	}
	if n := sans(c); len(n) > 0 {
		return "(empty; SANs " + strings.Join(n, ", ") + ")"
	}
	return "(empty)"
}

// sanList lists c's SANs for a message, each quoted.
func sanList(c *x509.Certificate) string {
	if s := sans(c); len(s) > 0 {
		return strings.Join(quoteAll(s), ", ")
	}
	return "no subject alternative name"
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

func pinList(ps []Pin) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
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

// timePair formats a certificate time and the current time, to the second,
// or with their fractions when they fall in the same second (a certificate
// that expired half a second ago).
func timePair(at, now time.Time) (string, string) {
	layout := time.RFC3339
	if at.Truncate(time.Second).Equal(now.Truncate(time.Second)) {
		layout = time.RFC3339Nano
	}
	return at.UTC().Format(layout), now.UTC().Format(layout)
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

// ekuList names c's extended key usages (OIDs for unknown ones).
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

// maxExplainChecks bounds the signature checks explainUnknown makes.
const maxExplainChecks = 100

// explainUnknown follows issuer links from the leaf through the
// certificates the peer sent and says where the chain stops: at a root
// that is not trusted (say so first, and how to trust it), or at a
// certificate whose issuer is missing (an intermediate the peer did not
// send, or a private root the user did not trust). client says the peer
// is a TLS client.
func explainUnknown(chain []*x509.Certificate, roots *x509.CertPool, client bool) string {
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
	rootsName := "the trusted roots (Verifier.Roots)"
	if roots == nil {
		rootsName = "the system roots"
	}
	const howToTrust = "to trust it, add it to Verifier.Roots (LoadRoots reads PEM files and directories)"
	peer := "server"
	if client {
		peer = "client"
	}
	switch {
	case selfSigned(cur) && cur == chain[0]:
		fmt.Fprintf(&b, "the peer's certificate %q is self-signed and not among %s; %s, only if you trust this very certificate",
			nameOf(cur), rootsName, howToTrust)
	case selfSigned(cur):
		fmt.Fprintf(&b, "the chain ends at the root %q, which is not trusted: it is not among %s; if it is your private CA, %s",
			nameOf(cur), rootsName, howToTrust)
	case bytes.Equal(cur.RawIssuer, cur.RawSubject):
		fmt.Fprintf(&b, "the chain ends at the self-issued %q, which is not trusted: it is not among %s and its signature is not its own; if it is your private CA, %s",
			nameOf(cur), rootsName, howToTrust)
	case len(cur.IssuingCertificateURL) == 0:
		// No AIA "CA issuers" link: a public CA always publishes one
		// (CA/B Forum BR 7.1.2.7.7), a private CA seldom does. The likely
		// cause is a private root the user has not trusted.
		fmt.Fprintf(&b, "the issuer %q of %q is not trusted: it is not among %s and the peer did not send it; if it is your private CA, %s; otherwise the %s should send its full chain (an intermediate seems missing)",
			cur.Issuer.String(), nameOf(cur), rootsName, howToTrust, peer)
	default:
		fmt.Fprintf(&b, "the chain stops at %q: its issuer %q was not sent by the peer and is not among %s; an intermediate seems missing (the %s should send its full chain); the issuer's certificate is published at %s (not fetched); if %q is a private root, %s",
			nameOf(cur), cur.Issuer.String(), rootsName, peer, strings.Join(quoteAll(cur.IssuingCertificateURL), ", "), cur.Issuer.String(), howToTrust)
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
	if len(sans(leaf)) == 0 {
		return fmt.Sprintf("the certificate has no subject alternative names, so it covers no name (its common name %q is not used, RFC 6125); expected %q",
			leaf.Subject.CommonName, name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the certificate covers %s, not %q", sanList(leaf), name)
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
		b.WriteString("; the certificate has no DNS SAN, so a DNS name cannot match")
	}
	return b.String()
}
