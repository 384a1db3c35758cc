package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Verifier checks a TLS peer the way this package promises: a chain to a
// trusted root at the current time, the expected name, the pins, the
// revocation policy and, optionally, the web-PKI rules crypto/x509 does not
// apply. It checks a server by default, and a client's certificate on a
// server with Client set. Its VerifyConnection method is meant for
// tls.Config.VerifyConnection; on a client, in a config whose
// InsecureSkipVerify is true (ClientConfig and Dialer set both), so that
// the Verifier, not crypto/tls, does the whole verification: on full
// handshakes, on resumed sessions and behind HTTPS proxies alike.
//
// The whole policy is judged per candidate chain. crypto/x509 may build
// several chains from the same certificates (a cross-signed intermediate
// leads to two roots), and which one comes first depends on the order the
// peer sends its intermediates in. So the Verifier accepts when one chain
// passes every check (chain, name, Strict rules, pins, revocation) and,
// when none does, reports the failure of the chain that passed the most.
//
// The zero Verifier verifies a server against the system roots, the
// connection's ServerName and the current time, with no pins and no
// revocation check. A Verifier must not be modified while in use; it is
// safe for concurrent use otherwise.
type Verifier struct {
	// Roots are the trusted root CAs. nil means the system roots for a
	// server's certificate; with Client set, nil refuses every client
	// (NoClientRoots): client certificates are verified only against
	// roots the user chose.
	Roots *x509.CertPool

	// Name is the name to verify: a DNS name, or an IP literal (IPv6 with
	// or without brackets), which is matched against IP SANs only. ""
	// means the connection's ServerName. The common name is never used
	// (RFC 6125 section 6.4.4, and what crypto/x509 does since Go 1.15).
	// With AllowNames set, Name is not used.
	//
	// Set Name when the name to verify differs from the address dialed
	// (curl's --connect-to), and when a tls.Config dials an IP literal
	// without a Dialer: crypto/tls does not pass an IP ServerName to
	// VerifyConnection (it is not sent as SNI), so the Verifier cannot
	// learn it otherwise and refuses with NoName.
	//
	// With Client set, the connection's ServerName is never used, and a
	// non-empty Name is the one name the client's certificate must hold.
	Name string

	// Pins, when not empty, must be matched by the public key of some
	// certificate of the verified chain (leaf, intermediate or root). List
	// a backup pin next to the current one so a key rotation does not
	// lock clients out.
	Pins []Pin

	// Revocation says what to do with the OCSP response the server staples.
	// A leaf with the must-staple extension (RFC 7633) is always treated as
	// RevocationRequireStaple. A crypto/tls server receives no staple from
	// its clients, so with Client use CRL instead (RevocationRequireStaple
	// would refuse every client).
	Revocation RevocationPolicy

	// Strict adds the rules that crypto/x509 does not check: RFC 5280's
	// structure rules for every certificate, and for a server's leaf the
	// CA/Browser Forum Baseline Requirements (not applied with Client set).
	// See the package documentation for the list and where each comes
	// from.
	Strict bool

	// Now returns the time to verify at. nil means time.Now.
	Now func() time.Time

	// Client makes the Verifier check a TLS client's certificate, on a
	// server whose tls.Config has ClientAuth tls.RequireAnyClientCert and
	// VerifyConnection set to this Verifier's (MutualServerConfig makes
	// one): the leaf must allow clientAuth instead of serverAuth, no name
	// is checked unless AllowNames (or Name) asks for one, Roots (or
	// GetRoots) must be set, and Strict applies only the RFC 5280
	// structure rules.
	Client bool

	// AllowNames, when not empty, are the names the peer's certificate may
	// hold, in either role, instead of Name or the ServerName; one must
	// match. An entry is a DNS name (matched against DNS SANs, which may
	// be wildcards), an IP literal (IP SANs), or a URI (URI SANs, exactly).
	// A SPIFFE ID such as "spiffe://example.org/ns/prod/sa/api" matches
	// exactly, and a bare trust domain such as "spiffe://example.org"
	// matches every ID in it; a leaf matched by its SPIFFE ID must be an
	// X.509-SVID (exactly one URI SAN, not a CA), else it fails with
	// BadSVID. An entry that is none of these fails every verification
	// with BadAllowNames: all entries are checked before any is matched.
	AllowNames []string

	// GetRoots, when set, is called at every verification and its result
	// is used instead of Roots. It lets the roots change while the
	// Verifier is in use, for example with Reloader.Roots. A nil result
	// means the system roots (with Client, NoClientRoots).
	GetRoots func() *x509.CertPool

	// CRL, when set, is asked for the current CRL of each issuer of the
	// verified chain (the leaf's issuer and every intermediate's). A nil
	// list means "none known for this issuer" and passes; an error fails
	// the verification with BadCRL. The list must be signed by the issuer
	// (whose key usage, if present, must include cRLSign) and not be past
	// its NextUpdate, and must be the issuer's complete list (a delta CRL,
	// one with an issuing distribution point, or one with an unknown
	// critical extension fails with BadCRL); a certificate whose serial it
	// lists fails with Revoked. Under Strict it must also carry a
	// non-critical CRL number (RFC 5280 5.2.3). The Verifier never
	// downloads CRLs itself: the caller decides where they come from and
	// how often.
	CRL func(issuer *x509.Certificate) (*x509.RevocationList, error)
}

// VerifyConnection verifies the peer of a finished handshake: the
// certificates it sent (cs.PeerCertificates, which on a resumed session are
// those of the original handshake) and its OCSP staple, against the name
// Verifier.Name or, when empty, cs.ServerName (for a server; see Client and
// AllowNames). It does not rely on cs.VerifiedChains, so it holds whether
// crypto/tls verified or not. The error is a *VerifyError.
func (v *Verifier) VerifyConnection(cs tls.ConnectionState) error {
	_, err := v.verify(cs.PeerCertificates, cs.OCSPResponse, cs.ServerName, false)
	return err
}

// VerifyChain applies exactly the checks of VerifyConnection to a chain
// given by hand (leaf first, then the intermediates the peer would send, in
// any order) and an optional DER OCSP response, verifying the name
// Verifier.Name. It returns every candidate chain that passed all the
// checks, each from the leaf to a trusted root, or a *VerifyError (with
// Reason BadChain for a nil certificate in chain).
func (v *Verifier) VerifyChain(chain []*x509.Certificate, ocspStaple []byte) ([][]*x509.Certificate, error) {
	chains, err := v.verify(chain, ocspStaple, "", true)
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
	return func(cs tls.ConnectionState) error {
		n := name
		if n == "" {
			n = cs.ServerName
		}
		_, err := v.verify(cs.PeerCertificates, cs.OCSPResponse, n, false)
		return err
	}
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

// The stages of the per-chain policy, in the order they are checked; a
// failure at a later stage got further.
const (
	stageStrict = iota
	stagePins
	stageRevocation
)

// verify runs every check: the chain (crypto/x509 builds the candidates),
// the name, then per candidate chain the Strict rules, the pins and
// revocation. connName is the connection's name, used when Verifier.Name
// is empty (a server's only). It returns the chains that passed: all of
// them with all set, else the first.
func (v *Verifier) verify(chain []*x509.Certificate, staple []byte, connName string, all bool) ([][]*x509.Certificate, error) {
	now := v.now()
	name := ""
	switch {
	case len(v.AllowNames) > 0:
	case v.Name != "":
		name = v.Name
	case !v.Client:
		name = connName
	}
	var verified []*x509.Certificate
	fail := func(r Reason, cert *x509.Certificate, err error, format string, args ...any) *VerifyError {
		e := &VerifyError{
			Reason: r, Detail: fmt.Sprintf(format, args...), Name: name, Chain: chain,
			Verified: append([]*x509.Certificate(nil), verified...), // a copy: the memo keeps chains
			Cert:     cert, Time: now, Err: err,
		}
		if len(chain) > 0 && chain[0] != nil {
			e.Names = sans(chain[0])
		}
		return e
	}
	if len(chain) == 0 {
		return nil, fail(NoCertificate, nil, nil, "the peer sent no certificate")
	}
	for i, c := range chain {
		if c == nil {
			return nil, fail(BadChain, nil, nil, "certificate [%d] of the chain is nil", i)
		}
	}
	leaf := chain[0]
	if name == "" && !v.Client && len(v.AllowNames) == 0 {
		return nil, fail(NoName, nil, nil,
			"neither Verifier.Name nor the connection's ServerName is set (crypto/tls leaves ServerName empty for an IP address: set Verifier.Name to it)")
	}
	roots := v.roots()
	if v.Client && roots == nil {
		// The system roots would accept any publicly trusted certificate
		// that allows clientAuth, as many public server certificates do.
		return nil, fail(NoClientRoots, nil, nil,
			"client certificates are verified only against roots you choose, and Verifier.Roots is nil (or GetRoots returned nil); set Verifier.Roots to the CAs that issue your clients' certificates (LoadRoots reads PEM files)")
	}
	if v.Strict {
		// Before any chain is built: the count is cheap, the work is not.
		// The trust anchor's constraints count too, per candidate chain,
		// once the chains are built (structureRules).
		if n := constraintComparisons(leaf, chain); n > maxConstraintComparisons {
			return nil, fail(TooManyConstraints, leaf, nil, "checking the leaf's %d names against the name constraints of the certificates sent takes more than %d comparisons; refused unchecked (bound of rustls-webpki)",
				leafNameCount(leaf), maxConstraintComparisons)
		}
	}

	usage := x509.ExtKeyUsageServerAuth
	if v.Client {
		usage = x509.ExtKeyUsageClientAuth
	}
	chains, err := buildChains(chain, roots, usage, now)
	if err != nil {
		return nil, v.chainError(chain, roots, now, err, fail)
	}
	verified = chains[0]

	switch {
	case len(v.AllowNames) > 0:
		if e := v.checkAllowNames(leaf, fail); e != nil {
			return nil, e
		}
	case name != "":
		if err := leaf.VerifyHostname(name); err != nil {
			return nil, fail(NameMismatch, leaf, err, "%s", nameHint(leaf, name))
		}
	}

	var (
		best      *VerifyError
		bestStage = -1
		passed    [][]*x509.Certificate
		pinsSeen  []Pin
	)
	for i, ch := range chains {
		verified = ch
		stage, e := v.checkChain(ch, staple, now, fail, &pinsSeen)
		if e == nil {
			if !all {
				return chains[i : i+1], nil
			}
			passed = append(passed, ch)
			continue
		}
		if stage > bestStage {
			best, bestStage = e, stage
		}
	}
	if passed != nil {
		return passed, nil
	}
	if best.Reason == PinMismatch {
		// Every chain that reached the pins failed them: show all the
		// pins seen, not only those of one chain.
		best.PinsSeen = pinsSeen
		best.Detail = fmt.Sprintf("the verified chains have the pins %s; wanted one of %s", pinList(pinsSeen), pinList(v.Pins))
	}
	return nil, best
}

// checkChain judges one candidate chain: Strict rules, pins, revocation.
// It returns the stage that failed and its error, or nil. The pins of a
// chain that fails them are added to seen.
func (v *Verifier) checkChain(ch []*x509.Certificate, staple []byte, now time.Time, fail failFunc, seen *[]Pin) (int, *VerifyError) {
	if v.Strict {
		if e := strictCheck(ch, v.Client, fail); e != nil {
			return stageStrict, e
		}
	}
	if len(v.Pins) > 0 {
		if e := v.checkPins(ch, fail, seen); e != nil {
			return stagePins, e
		}
	}
	if e := v.checkRevocation(ch, staple, now, fail); e != nil {
		return stageRevocation, e
	}
	return 0, nil
}

type failFunc func(r Reason, cert *x509.Certificate, err error, format string, args ...any) *VerifyError

// chainError turns a crypto/x509 verification error into a VerifyError
// that says which certificate failed and what to do.
func (v *Verifier) chainError(chain []*x509.Certificate, roots *x509.CertPool, now time.Time, err error, fail failFunc) *VerifyError {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return fail(UnknownAuthority, ua.Cert, err, "%s", explainUnknown(chain, roots, v.Client))
	case errors.As(err, &ci):
		c := ci.Cert
		switch ci.Reason {
		case x509.Expired:
			which := describeRole(chain, c)
			if now.Before(c.NotBefore) {
				at, nowS := timePair(c.NotBefore, now)
				return fail(NotYetValid, c, err, "%s %q is valid from %s, it is now %s (check the clock of both sides)",
					which, nameOf(c), at, nowS)
			}
			at, nowS := timePair(c.NotAfter, now)
			return fail(Expired, c, err, "%s %q expired at %s, it is now %s",
				which, nameOf(c), at, nowS)
		case x509.IncompatibleUsage:
			if v.Client {
				return fail(MissingClientAuth, c, err, "the extended key usages of the leaf (%s) or of a CA of its chain do not allow clientAuth",
					ekuList(chain[0]))
			}
			return fail(MissingServerAuth, c, err, "the extended key usages of the leaf (%s) or of a CA of its chain do not allow serverAuth",
				ekuList(chain[0]))
		case x509.CANotAuthorizedForThisName:
			return fail(NameConstraints, c, err, "%s", ci.Detail)
		}
		return fail(BadChain, c, err, "%s", ci.Error())
	}
	return fail(BadChain, nil, err, "%s", err.Error())
}

// checkPins passes when a certificate of ch matches a pin; when none does,
// it adds ch's pins to seen.
func (v *Verifier) checkPins(ch []*x509.Certificate, fail failFunc, seen *[]Pin) *VerifyError {
	var mine [4]Pin
	own := mine[:0]
	for _, c := range ch {
		p := PinOf(c)
		for _, w := range v.Pins {
			if p == w {
				return nil
			}
		}
		own = append(own, p)
	}
	for _, p := range own {
		if !containsPin(*seen, p) {
			*seen = append(*seen, p)
		}
	}
	e := fail(PinMismatch, ch[0], nil, "the verified chain has the pins %s; wanted one of %s",
		pinList(own), pinList(v.Pins))
	e.PinsSeen, e.PinsWanted = append([]Pin(nil), own...), append([]Pin(nil), v.Pins...)
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
