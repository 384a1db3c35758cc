package tlsutil

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"time"

	"golang.org/x/crypto/ocsp"
)

// RevocationPolicy says what a Verifier does with the OCSP response a server
// staples in the handshake (RFC 6066 status_request).
//
// The Verifier never fetches OCSP responses or CRLs over the network: a
// fetch in the middle of a handshake adds an unbounded delay to every
// connection, leaks to the CA which site is being visited, and fails open
// or closed in ways a library cannot choose for its caller (responders are
// often unreachable, which is why browsers gave up on live OCSP). Stapling
// moves the fetch to the server, and Verifier.CRL lets the caller bring
// CRLs fetched on its own schedule.
type RevocationPolicy int

const (
	// RevocationOff ignores any staple (the default), unless the leaf
	// carries must-staple.
	RevocationOff RevocationPolicy = iota
	// RevocationIfStapled checks a stapled response when there is one:
	// revoked, expired, badly signed or "unknown" fails; no staple passes.
	RevocationIfStapled
	// RevocationRequireStaple is RevocationIfStapled that also fails with
	// StapleMissing when the server staples nothing.
	RevocationRequireStaple
)

// String returns the constant's name.
func (p RevocationPolicy) String() string {
	switch p {
	case RevocationOff:
		return "RevocationOff"
	case RevocationIfStapled:
		return "RevocationIfStapled"
	case RevocationRequireStaple:
		return "RevocationRequireStaple"
	}
	return fmt.Sprintf("RevocationPolicy(%d)", int(p))
}

// oidTLSFeature is id-pe-tlsfeature (RFC 7633); statusRequest is the TLS
// extension number of status_request (RFC 6066).
var oidTLSFeature = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}

const statusRequest = 5

// MustStaple reports whether c carries the TLS feature extension asking
// for status_request (RFC 7633), known as OCSP must-staple.
func MustStaple(c *x509.Certificate) bool {
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(oidTLSFeature) {
			continue
		}
		var features []int
		if rest, err := asn1.Unmarshal(ext.Value, &features); err != nil || len(rest) > 0 {
			// A feature list we cannot read: err on the safe side.
			return true
		}
		for _, f := range features {
			if f == statusRequest {
				return true
			}
		}
	}
	return false
}

// ocspSkew tolerates clocks that disagree a little about ThisUpdate.
const ocspSkew = 5 * time.Minute

func (v *Verifier) checkRevocation(chain []*x509.Certificate, staple []byte, now time.Time, fail failFunc) *VerifyError {
	leaf := chain[0]
	issuer := leaf
	if len(chain) > 1 {
		issuer = chain[1]
	}
	policy := v.Revocation
	must := MustStaple(leaf)
	if must {
		policy = RevocationRequireStaple
	}
	if policy != RevocationOff {
		if len(staple) == 0 {
			if policy == RevocationRequireStaple {
				why := "the policy is RevocationRequireStaple"
				if must {
					why = "the leaf has the must-staple extension (RFC 7633)"
				}
				return fail(StapleMissing, leaf, nil, "the server stapled no OCSP response and %s; enable stapling on the server", why)
			}
		} else if e := checkStaple(leaf, issuer, staple, now, fail); e != nil {
			return e
		}
	}
	if v.CRL != nil {
		for i := 0; i+1 < len(chain); i++ {
			if e := v.checkCRL(chain, chain[i], chain[i+1], now, fail); e != nil {
				return e
			}
		}
	}
	return nil
}

// ocspKey identifies a staple checked against an issuer for a serial.
type ocspKey [32]byte

type ocspResult struct {
	resp *ocsp.Response
	err  error
}

var ocspMemo memo[ocspKey, ocspResult]

// parseStaple parses and authenticates an OCSP response about leaf: it must
// be signed by issuer, or by a responder certificate that issuer signed
// for OCSP signing (RFC 6960 4.2.2.2). The result is memoized.
func parseStaple(leaf, issuer *x509.Certificate, staple []byte) (*ocsp.Response, error) {
	h := sha256.New()
	h.Write(staple)
	h.Write(issuer.Raw)
	h.Write(leaf.SerialNumber.Bytes())
	var key ocspKey
	h.Sum(key[:0])
	if r, ok := ocspMemo.get(key); ok {
		return r.resp, r.err
	}
	resp, err := authenticateStaple(leaf, issuer, staple)
	ocspMemo.put(key, ocspResult{resp, err})
	return resp, err
}

func authenticateStaple(leaf, issuer *x509.Certificate, staple []byte) (*ocsp.Response, error) {
	resp, err := verifyStapleSignature(leaf, issuer, staple)
	if err != nil {
		return nil, err
	}
	// Signed by the right party; now make sure the answer is about this
	// issuer's certificate, not only about a certificate with its serial.
	if err := checkCertIDIssuer(resp.TBSResponseData, resp.IssuerHash, leaf.SerialNumber, issuer); err != nil {
		return nil, err
	}
	return resp, nil
}

// verifyStapleSignature parses the response's answer about leaf and checks
// that issuer, or a responder issuer delegated, signed it.
func verifyStapleSignature(leaf, issuer *x509.Certificate, staple []byte) (*ocsp.Response, error) {
	// Parsed without issuer, then authenticated here: x/crypto/ocsp does
	// not require the OCSPSigning usage of a delegated responder, and
	// rejects responses that embed the issuer's own certificate.
	resp, err := ocsp.ParseResponseForCert(staple, leaf, nil)
	if err != nil {
		return nil, err
	}
	if resp.Certificate == nil || bytes.Equal(resp.Certificate.Raw, issuer.Raw) {
		if err := resp.CheckSignatureFrom(issuer); err != nil {
			return nil, fmt.Errorf("not signed by the issuer %q: %w", issuer.Subject, err)
		}
		return resp, nil
	}
	rc := resp.Certificate
	if err := rc.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("responder certificate %q is not issued by %q: %w", rc.Subject, issuer.Subject, err)
	}
	if !hasEKU(rc, x509.ExtKeyUsageOCSPSigning) {
		return nil, fmt.Errorf("responder certificate %q lacks the OCSPSigning extended key usage", rc.Subject)
	}
	if err := resp.CheckSignatureFrom(rc); err != nil {
		return nil, fmt.Errorf("not signed by the responder %q: %w", rc.Subject, err)
	}
	return resp, nil
}

func checkStaple(leaf, issuer *x509.Certificate, staple []byte, now time.Time, fail failFunc) *VerifyError {
	resp, err := parseStaple(leaf, issuer, staple)
	if err != nil {
		return fail(BadStaple, leaf, err, "the stapled OCSP response is unusable")
	}
	if rc := resp.Certificate; rc != nil && !bytes.Equal(rc.Raw, issuer.Raw) && (now.Before(rc.NotBefore) || now.After(rc.NotAfter)) {
		return fail(BadStaple, leaf, nil, "the OCSP responder certificate %q is valid only from %s to %s",
			rc.Subject, rc.NotBefore.UTC().Format(time.RFC3339), rc.NotAfter.UTC().Format(time.RFC3339))
	}
	switch resp.Status {
	case ocsp.Good:
	case ocsp.Revoked:
		return fail(Revoked, leaf, nil, "the stapled OCSP response says the leaf (serial %s) was revoked at %s, reason %s",
			leaf.SerialNumber, resp.RevokedAt.UTC().Format(time.RFC3339), crlReason(resp.RevocationReason))
	default:
		return fail(BadStaple, leaf, nil, "the stapled OCSP response has status %q for the leaf (serial %s)",
			ocspStatus(resp.Status), leaf.SerialNumber)
	}
	if resp.ThisUpdate.After(now.Add(ocspSkew)) {
		return fail(StapleExpired, leaf, nil, "the stapled OCSP response is not valid before %s (thisUpdate), it is now %s",
			resp.ThisUpdate.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if resp.NextUpdate.IsZero() {
		return fail(StapleExpired, leaf, nil, "the stapled OCSP response has no nextUpdate, so its freshness cannot be judged")
	}
	if now.After(resp.NextUpdate) {
		return fail(StapleExpired, leaf, nil, "the stapled OCSP response expired at %s (nextUpdate), it is now %s; the server is stapling a stale response",
			resp.NextUpdate.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

func ocspStatus(s int) string {
	switch s {
	case ocsp.Good:
		return "good"
	case ocsp.Revoked:
		return "revoked"
	case ocsp.Unknown:
		return "unknown"
	}
	return fmt.Sprintf("status(%d)", s)
}

var crlReasons = []string{
	ocsp.Unspecified:          "unspecified",
	ocsp.KeyCompromise:        "keyCompromise",
	ocsp.CACompromise:         "cACompromise",
	ocsp.AffiliationChanged:   "affiliationChanged",
	ocsp.Superseded:           "superseded",
	ocsp.CessationOfOperation: "cessationOfOperation",
	ocsp.CertificateHold:      "certificateHold",
	ocsp.RemoveFromCRL:        "removeFromCRL",
	ocsp.PrivilegeWithdrawn:   "privilegeWithdrawn",
	ocsp.AACompromise:         "aACompromise",
}

func crlReason(r int) string {
	if r >= 0 && r < len(crlReasons) && crlReasons[r] != "" {
		return crlReasons[r]
	}
	return fmt.Sprintf("reason(%d)", r)
}

// checkCRL asks the caller's checker for issuer's CRL and looks up cert.
func (v *Verifier) checkCRL(chain []*x509.Certificate, cert, issuer *x509.Certificate, now time.Time, fail failFunc) *VerifyError {
	role := describeRole(chain, cert)
	rl, err := v.CRL(issuer)
	if err != nil {
		return fail(BadCRL, cert, err, "the CRL checker failed for issuer %q", issuer.Subject)
	}
	if rl == nil {
		return nil
	}
	if err := rl.CheckSignatureFrom(issuer); err != nil {
		if issuer.KeyUsage != 0 && issuer.KeyUsage&x509.KeyUsageCRLSign == 0 {
			return fail(BadCRL, cert, err, "the CRL given for %q cannot be trusted: the issuer's key usage lacks cRLSign, so it may not sign CRLs (RFC 5280 4.2.1.3)", issuer.Subject)
		}
		if issuer.BasicConstraintsValid && !issuer.IsCA {
			return fail(BadCRL, cert, err, "the CRL given for %q cannot be trusted: the issuer is not a CA (basicConstraints cA=FALSE)", issuer.Subject)
		}
		return fail(BadCRL, cert, err, "the CRL given for %q is not signed by it", issuer.Subject)
	}
	if why := partialCRL(rl); why != "" {
		return fail(BadCRL, cert, nil, "the CRL given for %q %s; give the issuer's one complete CRL", issuer.Subject, why)
	}
	if v.Strict {
		// RFC 5280 5.2.3: conforming CRL issuers include a CRL number and
		// mark it non-critical.
		critical, ok := crlExtension(rl, oidCRLNumber)
		switch {
		case !ok:
			return fail(BadCRL, cert, nil, "the CRL given for %q has no CRL number; a conforming CRL must (RFC 5280 5.2.3, Strict)", issuer.Subject)
		case critical:
			return fail(BadCRL, cert, nil, "the CRL given for %q marks its CRL number critical; it must not (RFC 5280 5.2.3, Strict)", issuer.Subject)
		}
	}
	if !rl.NextUpdate.IsZero() && now.After(rl.NextUpdate) {
		return fail(BadCRL, cert, nil, "the CRL of %q is stale: its nextUpdate was %s, it is now %s; refresh it",
			issuer.Subject, rl.NextUpdate.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	for _, e := range rl.RevokedCertificateEntries {
		if e.SerialNumber != nil && e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return fail(Revoked, cert, nil, "%s (serial %s) is listed in the CRL of %q, revoked at %s, reason %s",
				role, cert.SerialNumber, issuer.Subject, e.RevocationTime.UTC().Format(time.RFC3339), crlReason(e.ReasonCode))
		}
	}
	return nil
}

// Extensions that make a CRL cover less than all of its issuer's
// certificates (RFC 5280 5.2.4, 5.2.5), and those this package reads.
var (
	oidDeltaCRLIndicator      = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidIssuingDistribution    = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidCRLNumber              = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidAuthorityKeyIdentifier = asn1.ObjectIdentifier{2, 5, 29, 35}
)

// partialCRL says why rl cannot stand for its issuer's complete list of
// revoked certificates, or "" when it can. A delta CRL lists only changes;
// a CRL with an issuing distribution point may be one shard of several, or
// cover only some certificates or reasons. Trusting either as complete
// would pass a certificate revoked in another list, so they are refused,
// as is any critical extension this package does not process (RFC 5280
// 5.2: a CRL with an unrecognized critical extension must not be used).
func partialCRL(rl *x509.RevocationList) string {
	for _, e := range rl.Extensions {
		switch {
		case e.Id.Equal(oidDeltaCRLIndicator):
			return "is a delta CRL, which lists only changes"
		case e.Id.Equal(oidIssuingDistribution):
			return "has an issuing distribution point: it may be one shard or a partial list, which this package cannot tell complete"
		case e.Critical && !e.Id.Equal(oidCRLNumber) && !e.Id.Equal(oidAuthorityKeyIdentifier):
			return fmt.Sprintf("has a critical extension %v this package does not process", e.Id)
		}
	}
	return ""
}

func crlExtension(rl *x509.RevocationList, id asn1.ObjectIdentifier) (critical, present bool) {
	for _, e := range rl.Extensions {
		if e.Id.Equal(id) {
			return e.Critical, true
		}
	}
	return false, false
}

// CRLs returns a checker for Verifier.CRL that serves the given lists,
// choosing for each issuer the list whose issuer name and authority key
// identifier match it. Lists are checked again at every verification
// (signature, nextUpdate, completeness), so a stale list fails instead of
// passing. Give one complete CRL per issuer: when two lists match the same
// issuer (shards, or an old and a new list), the checker fails rather than
// pick one, since a certificate revoked in the other would pass.
func CRLs(lists ...*x509.RevocationList) func(issuer *x509.Certificate) (*x509.RevocationList, error) {
	ls := append([]*x509.RevocationList(nil), lists...)
	return func(issuer *x509.Certificate) (*x509.RevocationList, error) {
		var found *x509.RevocationList
		for _, l := range ls {
			if l == nil || !bytes.Equal(l.RawIssuer, issuer.RawSubject) {
				continue
			}
			if len(l.AuthorityKeyId) > 0 && len(issuer.SubjectKeyId) > 0 && !bytes.Equal(l.AuthorityKeyId, issuer.SubjectKeyId) {
				continue
			}
			if found != nil {
				return nil, fmt.Errorf("tlsutil: CRLs: more than one list for issuer %q; give its one complete CRL", issuer.Subject)
			}
			found = l
		}
		return found, nil
	}
}
