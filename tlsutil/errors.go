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
// reasons (LeafIsCA, WeakKey, BadDNSName, ValidityTooLong, BadSerial;
// MissingServerAuth is shared with the rule crypto/x509 applies itself).
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
	// issuer, is stale, or the checker failed.
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
)

var reasonText = map[Reason]string{
	UnknownAuthority:  "certificate signed by unknown authority",
	NameMismatch:      "certificate name mismatch",
	Expired:           "certificate expired",
	NotYetValid:       "certificate not yet valid",
	PinMismatch:       "public key pin mismatch",
	Revoked:           "certificate revoked",
	StapleMissing:     "OCSP staple missing",
	StapleExpired:     "OCSP staple expired",
	BadStaple:         "bad OCSP staple",
	BadCRL:            "bad CRL",
	NoCertificate:     "no certificate",
	NoName:            "no name to verify",
	MissingServerAuth: "certificate not valid for TLS server authentication",
	NameConstraints:   "name not permitted by CA name constraints",
	BadChain:          "invalid certificate chain",
	LeafIsCA:          "leaf certificate is a CA (strict)",
	WeakKey:           "weak or disallowed key (strict)",
	BadDNSName:        "malformed DNS name in certificate (strict)",
	ValidityTooLong:   "certificate validity too long (strict)",
	BadSerial:         "bad serial number (strict)",
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
	// Name is the name that was verified (DNS name or IP literal).
	Name string
	// Addr is the address dialed, when a Dialer made the connection.
	Addr string
	// Names are the names the leaf covers: its DNS and IP SANs.
	Names []string
	// Chain is the chain the peer sent, leaf first.
	Chain []*x509.Certificate
	// Verified is the chain built to a trusted root, when one was.
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
	Expired: true, NotYetValid: true, NameMismatch: true, MissingServerAuth: true, NameConstraints: true,
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

// sans lists the DNS and IP SANs of c as "DNS:x" and "IP:y".
func sans(c *x509.Certificate) []string {
	out := make([]string, 0, len(c.DNSNames)+len(c.IPAddresses))
	for _, n := range c.DNSNames {
		out = append(out, "DNS:"+n)
	}
	for _, ip := range c.IPAddresses {
		out = append(out, "IP:"+ip.String())
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
