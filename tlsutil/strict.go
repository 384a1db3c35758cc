package tlsutil

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"
)

// The Strict rules, in two sets, each read top to bottom:
//
//   - structureRules: RFC 5280's rules for how a certificate is built (key
//     usage, basic constraints, criticality, key identifiers, serials,
//     name constraints and their cost). They hold for every certificate,
//     a TLS server's or a TLS client's.
//   - serverRules: the CA/Browser Forum Baseline Requirements and RFC 6125,
//     which govern TLS server certificates only (common name, DNS name
//     syntax and public-suffix wildcards, serverAuth EKU, key sizes,
//     validity). A client's certificate is not judged by them: corporate
//     and mesh client certificates routinely break them, lawfully.
//
// The trust anchor itself is never judged (trusting it is a local
// decision, RFC 5280 section 6.1), except that its name constraints count
// towards the comparison budget, since the path builder checks them.

// strictCheck applies the Strict rules to a candidate chain (leaf first,
// trust anchor last). client says the leaf is a TLS client's.
func strictCheck(chain []*x509.Certificate, client bool, fail failFunc) *VerifyError {
	if e := structureRules(chain, fail); e != nil {
		return e
	}
	if client {
		return nil
	}
	return serverRules(chain, fail)
}

// maxConstraintComparisons bounds the work of checking a leaf's names
// against name constraints: rustls-webpki's budget, and crypto/x509's
// default before Go 1.26 (VerifyOptions.MaxConstraintComparisions).
const maxConstraintComparisons = 250_000

// maxSerialOctets is the longest serial number RFC 5280 section 4.1.2.2
// allows a conforming CA to issue.
const maxSerialOctets = 20

// Extensions whose presence or criticality the Strict rules check.
var (
	oidBasicConstraints  = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidNameConstraints   = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidPolicyConstraints = asn1.ObjectIdentifier{2, 5, 29, 36}
	oidSubjectAltName    = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidExtKeyUsage       = asn1.ObjectIdentifier{2, 5, 29, 37}
)

// structureRules are the RFC 5280 rules, for every role.
func structureRules(chain []*x509.Certificate, fail failFunc) *VerifyError {
	leaf := chain[0]
	// The certificates judged: all but the anchor (the leaf even when it is
	// itself the trust anchor), and the CAs among them.
	judged := chain[:max(1, len(chain)-1)]
	cas := judged[1:]

	// RFC 5280 4.2.1.10, 6.1: the leaf's names are checked against the
	// constraints of every CA of the path, the trust anchor's included.
	if n := constraintComparisons(leaf, chain); n > maxConstraintComparisons {
		return fail(TooManyConstraints, leaf, nil, "checking the leaf's %d names against the name constraints of its chain (trust anchor included) takes more than %d comparisons; refused (bound of rustls-webpki)",
			leafNameCount(leaf), maxConstraintComparisons)
	}

	// RFC 5280 4.2.1.9 (and CA/B Forum BR 7.1.2.7.8): an end entity is
	// not a CA.
	if leaf.BasicConstraintsValid && leaf.IsCA {
		return fail(LeafIsCA, leaf, nil, "the leaf has basicConstraints cA=TRUE; an end-entity certificate must not be a CA (RFC 5280 4.2.1.9)")
	}
	// RFC 5280 4.2.1.3: keyCertSign is for CA certificates only.
	if leaf.KeyUsage&x509.KeyUsageCertSign != 0 {
		return fail(BadKeyUsage, leaf, nil, "the leaf's key usage includes keyCertSign, which only a CA may have (RFC 5280 4.2.1.3)")
	}
	// RFC 5280 4.2.1.10: name constraints belong in CA certificates only.
	if _, ok := extension(leaf, oidNameConstraints); ok {
		return fail(BadNameConstraints, leaf, nil, "the leaf carries name constraints, which only a CA certificate may (RFC 5280 4.2.1.10)")
	}

	// RFC 5280 4.2.1.6: subjectAltName is critical exactly when the
	// subject is empty.
	for _, c := range judged {
		critical, ok := extension(c, oidSubjectAltName)
		if !ok {
			continue
		}
		empty := len(c.Subject.Names) == 0
		if critical && !empty {
			return fail(BadCriticality, c, nil, "%s %q marks subjectAltName critical beside a non-empty subject; it must not (RFC 5280 4.2.1.6)",
				describeRole(chain, c), nameOf(c))
		}
		if !critical && empty {
			return fail(BadCriticality, c, nil, "%s has an empty subject and a subjectAltName not marked critical; it must be (RFC 5280 4.2.1.6)",
				describeRole(chain, c))
		}
	}

	// RFC 5280 4.1.2.2: positive, at most 20 octets.
	for _, c := range judged {
		if why := serialProblem(c); why != "" {
			return fail(BadSerial, c, nil, "%s %q: %s (RFC 5280 4.1.2.2)", describeRole(chain, c), nameOf(c), why)
		}
	}

	// RFC 5280 4.2.1.1: every certificate but a self-signed one names its
	// issuer's key; 4.2.1.2: every CA names its own.
	for _, c := range judged {
		if len(c.AuthorityKeyId) == 0 && !selfSigned(c) {
			return fail(MissingKeyID, c, nil, "%s %q has no authorityKeyIdentifier; only a self-signed certificate may omit it (RFC 5280 4.2.1.1)",
				describeRole(chain, c), nameOf(c))
		}
	}
	for _, c := range cas {
		if len(c.SubjectKeyId) == 0 {
			return fail(MissingKeyID, c, nil, "the CA %s %q has no subjectKeyIdentifier (RFC 5280 4.2.1.2)",
				describeRole(chain, c), nameOf(c))
		}
	}

	for _, c := range cas {
		role, name := describeRole(chain, c), nameOf(c)
		// RFC 5280 4.1.2.6: a CA's subject is its name for path building.
		if len(c.Subject.Names) == 0 {
			return fail(BadSubject, c, nil, "the CA %s has an empty subject; a CA must have a name (RFC 5280 4.1.2.6)", role)
		}
		// RFC 5280 4.2.1.9, 4.2.1.11: these are critical in a CA. So is
		// nameConstraints (4.2.1.10), but the Baseline Requirements long
		// let publicly trusted CAs mark it non-critical (for verifiers that
		// did not know the extension), and real chains do: Go's own
		// test chain of udctest.ads.vt.edu has one. Criticality only
		// matters to a verifier that ignores the extension, and this one
		// enforces it (crypto/x509 does), so it is not judged.
		for _, x := range []struct {
			id      asn1.ObjectIdentifier
			name, s string
		}{
			{oidBasicConstraints, "basicConstraints", "4.2.1.9"},
			{oidPolicyConstraints, "policyConstraints", "4.2.1.11"},
		} {
			if critical, ok := extension(c, x.id); ok && !critical {
				return fail(BadCriticality, c, nil, "the CA %s %q has %s not marked critical; it must be (RFC 5280 %s)", role, name, x.name, x.s)
			}
		}
		// RFC 5280 4.2.1.10: a dNSName constraint is a host name, which
		// cannot start with a period (crypto/x509 reads one as "subdomains
		// only", a form RFC 5280 defines for URIs and e-mail only). E-mail
		// constraints are left to crypto/x509, which reads them as RFC 5280
		// does.
		for _, d := range append(append([]string(nil), c.PermittedDNSDomains...), c.ExcludedDNSDomains...) {
			if strings.HasPrefix(d, ".") {
				return fail(BadNameConstraints, c, nil, "the CA %s %q has the DNS name constraint %q with a leading period, which is not a valid dNSName constraint (RFC 5280 4.2.1.10)",
					role, name, d)
			}
		}
	}
	return nil
}

// serverRules are the rules for a TLS server's certificate: the CA/B
// Forum Baseline Requirements and RFC 6125.
func serverRules(chain []*x509.Certificate, fail failFunc) *VerifyError {
	leaf := chain[0]
	judged := chain[:max(1, len(chain)-1)]

	// BR 7.1.2.7.10: extKeyUsage is present, lists id-kp-serverAuth and
	// not anyExtendedKeyUsage, and (BR 7.1.2.7.6) is not critical.
	// crypto/x509 accepts a leaf without the extension.
	if !hasEKU(leaf, x509.ExtKeyUsageServerAuth) {
		return fail(MissingServerAuth, leaf, nil, "the leaf's extended key usages are %s; the extension must be present and list serverAuth (CA/B Forum BR 7.1.2.7.10)", ekuList(leaf))
	}
	if hasEKU(leaf, x509.ExtKeyUsageAny) {
		return fail(BadEKU, leaf, nil, "the leaf lists anyExtendedKeyUsage beside serverAuth; a server certificate must not (CA/B Forum BR 7.1.2.7.10)")
	}
	if critical, _ := extension(leaf, oidExtKeyUsage); critical {
		return fail(BadEKU, leaf, nil, "the leaf's extendedKeyUsage extension is marked critical; it must not be (CA/B Forum BR 7.1.2.7.6)")
	}

	// BR 7.1.4.3: a common name, if present, repeats one of the SANs
	// exactly: byte for byte for a DNS name, in the address's canonical
	// text form (RFC 5952 for IPv6) for an IP address.
	if cn := leaf.Subject.CommonName; cn != "" && !commonNameInSANs(leaf, cn) {
		return fail(BadCommonName, leaf, nil, "the leaf's common name %q does not repeat exactly one of its SANs (%s) (CA/B Forum BR 7.1.4.3)",
			cn, sanList(leaf))
	}

	// BR 6.1.5: RSA of at least 2048 bits (modulus a multiple of 8 bits),
	// ECDSA on P-256, P-384 or P-521, nothing else.
	for _, c := range judged {
		if why := keyProblem(c); why != "" {
			return fail(WeakKey, c, nil, "%s %q: %s (CA/B Forum BR 6.1.5)", describeRole(chain, c), nameOf(c), why)
		}
	}

	// RFC 5280 4.2.1.6 (preferred name syntax of RFC 1034), RFC 6125 6.4.3
	// and 7.2 (wildcards), BR 7.1.4.2.1 (no underscores, no IP addresses)
	// and BR 3.2.2.6 (no wildcard on an ICANN public suffix).
	for _, n := range leaf.DNSNames {
		if why := dnsNameProblem(n); why != "" {
			return fail(BadDNSName, leaf, nil, "DNS SAN %q: %s", n, why)
		}
	}

	// BR 6.3.2: the limit in force on the leaf's notBefore date.
	if lim, ok := validityLimitAt(leaf.NotBefore); ok && !lim.allows(leaf.NotBefore, leaf.NotAfter) {
		return fail(ValidityTooLong, leaf, nil, "the leaf is valid for %d days (%s to %s); a server certificate issued on or after %s may be valid for at most %s (%s)",
			validityDays(leaf), leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339),
			lim.since.Format(time.DateOnly), lim.text(), lim.source)
	}
	return nil
}

// validityLimit is the longest validity a rule allows a server leaf issued
// on or after since: days days, or months months when months is set.
type validityLimit struct {
	since  time.Time
	days   int
	months int
	source string
}

// validityLimits is the dated table of the Baseline Requirements' limit on
// a subscriber certificate's validity (BR 6.3.2 and the ballots that
// changed it), newest last. A leaf is judged by the row in force on its
// notBefore date; one issued before the first row is not limited.
var validityLimits = []validityLimit{
	{since: date(2012, 7, 1), months: 60, source: "CA/B Forum BR 1.0 section 9.4"},
	{since: date(2015, 4, 1), months: 39, source: "CA/B Forum BR 6.3.2"},
	{since: date(2018, 3, 1), days: 825, source: "CA/B Forum BR 6.3.2, ballot 193"},
	{since: date(2020, 9, 1), days: 398, source: "CA/B Forum BR 6.3.2, ballot SC31"},
	{since: date(2026, 3, 15), days: 200, source: "CA/B Forum BR 6.3.2, ballot SC081v3"},
	{since: date(2027, 3, 15), days: 100, source: "CA/B Forum BR 6.3.2, ballot SC081v3"},
	{since: date(2029, 3, 15), days: 47, source: "CA/B Forum BR 6.3.2, ballot SC081v3"},
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// validityLimitAt returns the row of validityLimits in force at notBefore.
func validityLimitAt(notBefore time.Time) (validityLimit, bool) {
	for i := len(validityLimits) - 1; i >= 0; i-- {
		if !notBefore.Before(validityLimits[i].since) {
			return validityLimits[i], true
		}
	}
	return validityLimit{}, false
}

// allows reports whether a validity from notBefore to notAfter is within
// the limit. BR 6.3.2 counts both ends, hence the extra second.
func (l validityLimit) allows(notBefore, notAfter time.Time) bool {
	if l.months > 0 {
		return !notAfter.After(notBefore.AddDate(0, l.months, 0))
	}
	return notAfter.Sub(notBefore)+time.Second <= time.Duration(l.days)*24*time.Hour
}

func (l validityLimit) text() string {
	if l.months > 0 {
		return fmt.Sprintf("%d months", l.months)
	}
	return fmt.Sprintf("%d days", l.days)
}

// validityDays is the leaf's validity in whole days, rounded up, both ends
// counted.
func validityDays(c *x509.Certificate) int {
	life := c.NotAfter.Sub(c.NotBefore) + time.Second
	return int((life + 24*time.Hour - 1) / (24 * time.Hour))
}

// extension returns c's extension id, if present.
func extension(c *x509.Certificate, id asn1.ObjectIdentifier) (critical, present bool) {
	for _, e := range c.Extensions {
		if e.Id.Equal(id) {
			return e.Critical, true
		}
	}
	return false, false
}

func leafNameCount(leaf *x509.Certificate) int {
	return len(leaf.DNSNames) + len(leaf.IPAddresses) + len(leaf.URIs) + len(leaf.EmailAddresses)
}

// constraintComparisons counts the comparisons of leaf's names against the
// name constraints of every certificate in certs, as a path builder would
// make them at most. It stops counting past the budget.
func constraintComparisons(leaf *x509.Certificate, certs []*x509.Certificate) int {
	names := leafNameCount(leaf)
	total := 0
	for _, c := range certs {
		n := len(c.PermittedDNSDomains) + len(c.ExcludedDNSDomains) +
			len(c.PermittedIPRanges) + len(c.ExcludedIPRanges) +
			len(c.PermittedURIDomains) + len(c.ExcludedURIDomains) +
			len(c.PermittedEmailAddresses) + len(c.ExcludedEmailAddresses)
		total += names * n
		if total > maxConstraintComparisons {
			break
		}
	}
	return total
}

// selfSigned reports whether c is signed by its own key.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// commonNameInSANs reports whether cn repeats a DNS SAN of c byte for byte,
// or is the canonical text form of an IP SAN of c.
func commonNameInSANs(c *x509.Certificate, cn string) bool {
	for _, d := range c.DNSNames {
		if d == cn {
			return true
		}
	}
	for _, ip := range c.IPAddresses {
		if ip.String() == cn {
			return true
		}
	}
	return false
}

func hasEKU(c *x509.Certificate, u x509.ExtKeyUsage) bool {
	for _, x := range c.ExtKeyUsage {
		if x == u {
			return true
		}
	}
	return false
}

func keyProblem(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		if bits < 2048 {
			return fmt.Sprintf("RSA key of %d bits, at least 2048 are required", bits)
		}
		if bits%8 != 0 {
			return fmt.Sprintf("RSA modulus of %d bits is not a multiple of 8", bits)
		}
		return ""
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return ""
		}
		return fmt.Sprintf("ECDSA key on %s, only P-256, P-384 and P-521 are allowed", k.Curve.Params().Name)
	}
	return fmt.Sprintf("%s key, only RSA and ECDSA are allowed", c.PublicKeyAlgorithm)
}

// dnsNameProblem says why n is not a valid dNSName SAN of a server
// certificate, or "".
func dnsNameProblem(n string) string {
	if n == "" {
		return "empty name"
	}
	if len(n) > 253 {
		return fmt.Sprintf("%d characters, at most 253 are allowed (RFC 1034)", len(n))
	}
	if net.ParseIP(n) != nil {
		return "an IP address in a DNS SAN; it belongs in an IP SAN (CA/B Forum BR 7.1.4.2.1)"
	}
	if strings.HasSuffix(n, ".") {
		return "trailing dot; a SAN holds the name without it (RFC 5280 4.2.1.6)"
	}
	labels := strings.Split(n, ".")
	for i, l := range labels {
		switch {
		case l == "":
			return "empty label (RFC 1034)"
		case l == "*" && i == 0:
			if len(labels) < 3 {
				return "wildcard directly above a top-level domain (RFC 6125 7.2)"
			}
			continue
		case strings.Contains(l, "*"):
			return "a wildcard is allowed only as the whole left-most label (RFC 6125 6.4.3, CA/B Forum BR 7.1.4.2.1)"
		case len(l) > 63:
			return fmt.Sprintf("label of %d characters, at most 63 are allowed (RFC 1034)", len(l))
		case strings.Contains(l, "_"):
			return "underscore in a host name (CA/B Forum BR 7.1.4.2.1, ballot SC12)"
		case l[0] == '-' || l[len(l)-1] == '-':
			return "label starts or ends with a hyphen (RFC 1034 preferred name syntax)"
		}
		for j := 0; j < len(l); j++ {
			ch := l[j]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-') {
				return fmt.Sprintf("character %q is not a letter, digit or hyphen (RFC 1034 preferred name syntax)", ch)
			}
		}
	}
	// BR 3.2.2.6 lets a CA issue a wildcard directly under a suffix its
	// owner registered in the private section of the Public Suffix List
	// (*.s3.amazonaws.com, to Amazon), as Chromium accepts; a wildcard
	// directly under an ICANN suffix (*.co.uk) would cover every
	// registrant under it.
	if rest, ok := strings.CutPrefix(n, "*."); ok {
		lower := strings.ToLower(rest)
		if suffix, icann := publicsuffix.PublicSuffix(lower); suffix == lower && icann {
			return fmt.Sprintf("a wildcard on the ICANN public suffix %q would cover every registrant under it (CA/B Forum BR 3.2.2.6; the Public Suffix List)", rest)
		}
	}
	return ""
}

func serialProblem(c *x509.Certificate) string {
	s := c.SerialNumber
	if s == nil || s.Sign() <= 0 {
		return fmt.Sprintf("serial number %v is not positive", s)
	}
	// DER encodes a positive integer in BitLen/8+1 octets (a leading zero
	// octet keeps the sign bit clear).
	if octets := s.BitLen()/8 + 1; octets > maxSerialOctets {
		return fmt.Sprintf("serial number is %d octets, at most %d are allowed", octets, maxSerialOctets)
	}
	return ""
}
