package tlsutil

import (
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// Reason says why a Verifier refused a peer, for programs that branch on it.
// A Reason is also an error value, so errors.Is(err, tlsutil.Expired) is true
// for any error wrapping a *VerifyError with that Reason.
type Reason int

// The reasons a Verifier refuses a peer. The Strict rules have their own
// reasons (those marked Strict below; MissingServerAuth, MissingClientAuth
// and BadCRL are shared with checks made in every mode).
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
	// server authentication (under Strict, the EKU extension must be present
	// and list serverAuth).
	MissingServerAuth
	// NameConstraints: a CA of the chain is not allowed to issue for a name
	// in the leaf.
	NameConstraints
	// BadChain: the chain is invalid for another reason crypto/x509 reports
	// (a CA certificate without CA rights, too many intermediates, an
	// insecure signature algorithm, an unsupported critical extension).
	BadChain
	// LeafIsCA (Strict): the leaf has basicConstraints cA=TRUE.
	LeafIsCA
	// WeakKey (Strict): an RSA key under 2048 bits, an ECDSA key on another
	// curve than P-256, P-384 or P-521, or another key type.
	WeakKey
	// BadDNSName (Strict): a DNS SAN is not a valid host name or has a
	// wildcard other than a whole left-most label.
	BadDNSName
	// ValidityTooLong (Strict): the leaf is valid for more than 398 days.
	ValidityTooLong
	// BadSerial (Strict): a serial number that is not positive or is longer
	// than 20 octets.
	BadSerial
	// BadCommonName (Strict): the leaf's subject common name is not one of
	// its SANs.
	BadCommonName
	// BadEKU (Strict): the leaf lists anyExtendedKeyUsage, or its
	// extendedKeyUsage extension is marked critical.
	BadEKU
	// BadCriticality (Strict): an extension is marked critical, or not,
	// against RFC 5280: basicConstraints, nameConstraints or
	// policyConstraints of a CA not critical; subjectAltName critical beside
	// a non-empty subject, or not critical beside an empty one.
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
	// name constraints of the certificates sent would take more than
	// 250,000 comparisons (the bound of rustls-webpki and of earlier Go
	// releases).
	TooManyConstraints
	// MissingClientAuth: with Verifier.Client, the leaf's extended key
	// usage does not allow TLS client authentication (under Strict, the EKU
	// extension must be present and list clientAuth).
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
	// Names are the names the leaf covers: its DNS, IP and URI SANs.
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
	return b.String()
}

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

// certLine describes a certificate in one line: subject, issuer, validity.
func certLine(c *x509.Certificate) string {
	return fmt.Sprintf("subject %q issued by %q, valid %s to %s",
		nameOf(c.Subject.String(), c), c.Issuer.String(),
		c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
}

// nameOf returns s, or a description built from the SANs when the subject
// is empty (as in many modern leaves).
func nameOf(s string, c *x509.Certificate) string {
	if s != "" {
		return s
	}
	if n := sans(c); len(n) > 0 {
		return "(empty; SANs " + strings.Join(n, ", ") + ")"
	}
	return "(empty)"
}

// sans lists the DNS, IP and URI SANs of c as "DNS:x", "IP:y" and "URI:z".
func sans(c *x509.Certificate) []string {
	out := make([]string, 0, len(c.DNSNames)+len(c.IPAddresses)+len(c.URIs))
	for _, n := range c.DNSNames {
		out = append(out, "DNS:"+n)
	}
	for _, ip := range c.IPAddresses {
		out = append(out, "IP:"+ip.String())
	}
	for _, u := range c.URIs {
		out = append(out, "URI:"+u.String())
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
