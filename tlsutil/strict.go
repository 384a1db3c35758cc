package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"net"
	"strings"
	"time"
)

// maxLeafValidity is the longest subscriber certificate validity the
// CA/Browser Forum Baseline Requirements allow (section 6.3.2, for
// certificates issued on or after 2020-09-01).
const maxLeafValidity = 398 * 24 * time.Hour

// maxSerialOctets is the longest serial number RFC 5280 section 4.1.2.2
// allows a conforming CA to issue.
const maxSerialOctets = 20

// strictCheck applies the Strict rules to a verified chain (leaf first,
// trust anchor last). The trust anchor itself is not judged: trusting it is
// a local decision, as RFC 5280 section 6.1 treats it.
func strictCheck(chain []*x509.Certificate, fail failFunc) *VerifyError {
	leaf := chain[0]

	// BR 7.1.2.7.8 and RFC 5280 4.2.1.9: a server certificate is not a CA.
	if leaf.BasicConstraintsValid && leaf.IsCA {
		return fail(LeafIsCA, leaf, nil, "the leaf has basicConstraints cA=TRUE; a server certificate must not be a CA (CA/B Forum BR 7.1.2.7.8)")
	}

	// BR 7.1.2.7.10: extKeyUsage is present and contains id-kp-serverAuth
	// (crypto/x509 accepts a leaf without the extension).
	if !hasEKU(leaf, x509.ExtKeyUsageServerAuth) {
		return fail(MissingServerAuth, leaf, nil, "the leaf's extended key usages are %s; the extension must be present and list serverAuth (CA/B Forum BR 7.1.2.7.10)", ekuList(leaf))
	}

	// BR 6.1.5: RSA of at least 2048 bits (modulus a multiple of 8 bits),
	// ECDSA on P-256, P-384 or P-521, nothing else.
	for _, c := range chain[:max(1, len(chain)-1)] {
		if why := keyProblem(c); why != "" {
			return fail(WeakKey, c, nil, "%s %q: %s (CA/B Forum BR 6.1.5)", describeRole(chain, c), nameOf(c.Subject.String(), c), why)
		}
	}

	// RFC 5280 4.2.1.6 (preferred name syntax of RFC 1034), RFC 6125 6.4.3
	// and 7.2 (wildcards), BR 7.1.4.2.1 (no underscores, no IP addresses).
	for _, n := range leaf.DNSNames {
		if why := dnsNameProblem(n); why != "" {
			return fail(BadDNSName, leaf, nil, "DNS SAN %q: %s", n, why)
		}
	}

	// BR 6.3.2: validity counts both ends, hence the extra second.
	if life := leaf.NotAfter.Sub(leaf.NotBefore) + time.Second; life > maxLeafValidity {
		return fail(ValidityTooLong, leaf, nil, "the leaf is valid for %d days (%s to %s); at most 398 are allowed (CA/B Forum BR 6.3.2)",
			int((life+24*time.Hour-1)/(24*time.Hour)), leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}

	// RFC 5280 4.1.2.2 and BR 7.1: positive, at most 20 octets.
	for _, c := range chain[:max(1, len(chain)-1)] {
		if why := serialProblem(c); why != "" {
			return fail(BadSerial, c, nil, "%s %q: %s (RFC 5280 4.1.2.2)", describeRole(chain, c), nameOf(c.Subject.String(), c), why)
		}
	}
	return nil
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

// dnsNameProblem says why n is not a valid dNSName SAN, or "".
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
