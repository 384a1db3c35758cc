package tlsutil

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// allowedName is a parsed entry of Verifier.AllowNames.
type allowedName struct {
	raw string
	ip  net.IP   // an IP literal
	uri *url.URL // a URI other than a SPIFFE one
	// A SPIFFE ID, or with an empty path a whole trust domain.
	spiffeDomain, spiffePath string
	spiffe                   bool
	dns                      string // a DNS name
}

// parseAllowName parses an AllowNames entry.
func parseAllowName(s string) (allowedName, error) {
	a := allowedName{raw: s}
	if host := strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"); net.ParseIP(host) != nil {
		a.ip = net.ParseIP(host)
		return a, nil
	}
	if strings.Contains(s, ":") {
		if strings.HasPrefix(strings.ToLower(s), "spiffe:") {
			td, path, err := parseSPIFFEID(s, true)
			if err != nil {
				return a, err
			}
			a.spiffe, a.spiffeDomain, a.spiffePath = true, td, path
			return a, nil
		}
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || !u.IsAbs() {
			return a, fmt.Errorf("%q is not an absolute URI", s)
		}
		a.uri = u
		return a, nil
	}
	if why := hostnameProblem(s); why != "" {
		return a, fmt.Errorf("%q is not a DNS name: %s", s, why)
	}
	a.dns = s
	return a, nil
}

// hostnameProblem says why s cannot be a DNS name to match, or "".
func hostnameProblem(s string) string {
	if s == "" {
		return "it is empty"
	}
	if strings.Contains(s, "*") {
		return "a wildcard belongs in the certificate, not in the name asked for"
	}
	for _, l := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if l == "" {
			return "it has an empty label"
		}
		for i := 0; i < len(l); i++ {
			ch := l[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				return fmt.Sprintf("character %q is not a letter, digit, hyphen or underscore", ch)
			}
		}
	}
	return ""
}

// The SPIFFE ID limits (SPIFFE-ID.md, sections 2.1 and 2.3): 2048 bytes for
// the whole ID, 255 for the trust domain.
const (
	maxSPIFFEID    = 2048
	maxTrustDomain = 255
)

// parseSPIFFEID splits a SPIFFE ID (https://github.com/spiffe/spiffe,
// standards/SPIFFE-ID.md) into its trust domain and path. With domainOK a
// bare trust domain ("spiffe://example.org", path "") is accepted too.
func parseSPIFFEID(s string, domainOK bool) (trustDomain, path string, err error) {
	bad := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("%q is not a SPIFFE ID: %s (SPIFFE-ID 2)", s, why)
	}
	if len(s) > maxSPIFFEID {
		return bad(fmt.Sprintf("%d bytes, at most %d are allowed", len(s), maxSPIFFEID))
	}
	rest, ok := strings.CutPrefix(s, "spiffe://")
	if !ok {
		return bad(`it must start with "spiffe://" in lower case`)
	}
	td, path, _ := strings.Cut(rest, "/")
	if len(rest) > len(td) {
		path = "/" + path
	}
	if td == "" {
		return bad("the trust domain is empty")
	}
	if len(td) > maxTrustDomain {
		return bad(fmt.Sprintf("a trust domain of %d bytes, at most %d are allowed", len(td), maxTrustDomain))
	}
	for i := 0; i < len(td); i++ {
		ch := td[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.' || ch == '_') {
			return bad(fmt.Sprintf("character %q in the trust domain (lower-case letters, digits, '-', '.', '_' only; no port, user or query)", ch))
		}
	}
	if path == "" {
		if !domainOK {
			return bad("it names a trust domain, not a workload (no path)")
		}
		return td, "", nil
	}
	for _, seg := range strings.Split(path[1:], "/") {
		switch seg {
		case "":
			return bad("the path has an empty segment or a trailing slash")
		case ".", "..":
			return bad("the path has a '.' or '..' segment")
		}
		for i := 0; i < len(seg); i++ {
			ch := seg[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.' || ch == '_') {
				return bad(fmt.Sprintf("character %q in the path (letters, digits, '-', '.', '_' only)", ch))
			}
		}
	}
	return td, path, nil
}

// checkAllowNames passes when leaf holds one of v.AllowNames: a DNS SAN
// covering a DNS entry (wildcards as VerifyHostname reads them), an IP SAN
// equal to an IP entry, a URI SAN equal to a URI entry, or an X.509-SVID
// whose SPIFFE ID equals a SPIFFE entry or lies in a trust domain entry.
// Every entry is parsed before any is matched, so that a bad entry fails
// every verification, as documented, not only those no earlier entry
// matched.
func (v *Verifier) checkAllowNames(leaf *x509.Certificate, fail failFunc) *VerifyError {
	allowed := make([]allowedName, 0, len(v.AllowNames))
	for _, s := range v.AllowNames {
		a, err := parseAllowName(s)
		if err != nil {
			return fail(BadAllowNames, nil, err, "Verifier.AllowNames: %v", err)
		}
		allowed = append(allowed, a)
	}
	var spiffe []allowedName
	for _, a := range allowed {
		switch {
		case a.spiffe:
			spiffe = append(spiffe, a)
		case a.ip != nil:
			for _, ip := range leaf.IPAddresses {
				if ip.Equal(a.ip) {
					return nil
				}
			}
		case a.uri != nil:
			for _, u := range leaf.URIs {
				if u.String() == a.uri.String() {
					return nil
				}
			}
		default:
			if len(leaf.DNSNames) > 0 && leaf.VerifyHostname(a.dns) == nil {
				return nil
			}
		}
	}
	if len(spiffe) > 0 {
		if e := checkSVID(leaf, fail); e != nil || svidMatched(leaf, spiffe) {
			return e
		}
	}
	return fail(NameNotAllowed, leaf, nil, "the certificate holds %s, none of the allowed names %s",
		sanList(leaf), strings.Join(quoteAll(v.AllowNames), ", "))
}

// checkSVID applies the X.509-SVID rules (SPIFFE X509-SVID.md, sections 2,
// 4.1 and 4.3) to a leaf that has a SPIFFE URI SAN; a leaf without one
// passes, to be refused as holding no allowed name. The URI SANs are read
// as written in the certificate: crypto/x509's parsed URLs have their
// scheme lower-cased, and "SPIFFE://" is no SPIFFE ID.
func checkSVID(leaf *x509.Certificate, fail failFunc) *VerifyError {
	uris := rawURISANs(leaf)
	hasSPIFFE := false
	for _, u := range uris {
		if len(u) >= len("spiffe:") && strings.EqualFold(u[:len("spiffe:")], "spiffe:") {
			hasSPIFFE = true
		}
	}
	if !hasSPIFFE {
		return nil
	}
	if len(uris) != 1 {
		return fail(BadSVID, leaf, nil, "the leaf has %d URI SANs (%s); an X.509-SVID has exactly one (SPIFFE X509-SVID 2)", len(uris), sanList(leaf))
	}
	if _, _, err := parseSPIFFEID(uris[0], false); err != nil {
		return fail(BadSVID, leaf, err, "the leaf's URI SAN: %v", err)
	}
	if leaf.BasicConstraintsValid && leaf.IsCA {
		return fail(BadSVID, leaf, nil, "the leaf is a CA (basicConstraints cA=TRUE); a leaf X.509-SVID must not be (SPIFFE X509-SVID 4.1)")
	}
	if leaf.KeyUsage&(x509.KeyUsageCertSign|x509.KeyUsageCRLSign) != 0 {
		return fail(BadSVID, leaf, nil, "the leaf's key usage includes keyCertSign or cRLSign; a leaf X.509-SVID must not (SPIFFE X509-SVID 4.3)")
	}
	return nil
}

// svidMatched reports whether leaf's one SPIFFE ID (checkSVID passed) is
// allowed by an entry of spiffe.
func svidMatched(leaf *x509.Certificate, spiffe []allowedName) bool {
	uris := rawURISANs(leaf)
	if len(uris) != 1 {
		return false
	}
	td, path, err := parseSPIFFEID(uris[0], false)
	if err != nil {
		return false
	}
	for _, a := range spiffe {
		if a.spiffeDomain == td && (a.spiffePath == "" || a.spiffePath == path) {
			return true
		}
	}
	return false
}

// rawURISANs returns the uniformResourceIdentifier entries of c's
// subjectAltName extension as the certificate spells them. crypto/x509
// parsed the extension already, so a malformed one cannot reach here;
// what does not decode is skipped.
func rawURISANs(c *x509.Certificate) []string {
	var out []string
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidSubjectAltName) {
			continue
		}
		var seq asn1.RawValue
		if rest, err := asn1.Unmarshal(e.Value, &seq); err != nil || len(rest) > 0 {
			return nil
		}
		b := seq.Bytes
		for len(b) > 0 {
			var gn asn1.RawValue
			rest, err := asn1.Unmarshal(b, &gn)
			if err != nil {
				return out
			}
			b = rest
			// uniformResourceIdentifier [6] IA5String (RFC 5280 4.2.1.6).
			if gn.Class == asn1.ClassContextSpecific && gn.Tag == 6 && !gn.IsCompound {
				out = append(out, string(gn.Bytes))
			}
		}
	}
	return out
}

// sans lists the DNS, IP, URI and e-mail SANs of c as "DNS:x", "IP:y",
// "URI:z" and "email:w", as peer data: quote them before they reach a
// message (sanList does).
func sans(c *x509.Certificate) []string {
	out := make([]string, 0, len(c.DNSNames)+len(c.IPAddresses)+len(c.URIs)+len(c.EmailAddresses))
	for _, n := range c.DNSNames {
		out = append(out, "DNS:"+n)
	}
	for _, ip := range c.IPAddresses {
		out = append(out, "IP:"+ip.String())
	}
	for _, u := range c.URIs {
		out = append(out, "URI:"+u.String())
	}
	for _, m := range c.EmailAddresses {
		out = append(out, "email:"+m)
	}
	return out
}
