package tlsutil

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/testpki"
)

// pki is the certificate authority shared by the matrix: a root, an
// intermediate under it, and an unrelated root.
type pki struct {
	root, inter, other *testpki.CA
}

var (
	pkiOnce sync.Once
	pkiVal  *pki
)

func sharedPKI(t testing.TB) *pki {
	pkiOnce.Do(func() {
		root := testpki.NewRoot(t)
		pkiVal = &pki{root: root, inter: root.Intermediate(t), other: testpki.NewRoot(t, testpki.CommonName("unrelated root"))}
	})
	return pkiVal
}

// tcase is one row of the verification matrix. The peer serves cert's key
// with chain (cert.Chain when nil) and staple; v (with Name) verifies.
type tcase struct {
	name   string
	cert   *testpki.Cert
	chain  []*x509.Certificate
	staple []byte
	v      Verifier
	want   Reason
	msgs   []string
}

func matrix(t *testing.T) []tcase {
	p := sharedPKI(t)
	roots := p.root.Pool()
	v := func(mod func(*Verifier)) Verifier {
		x := Verifier{Roots: roots, Name: "localhost"}
		if mod != nil {
			mod(&x)
		}
		return x
	}
	good := p.inter.Leaf(t)
	must := p.inter.Leaf(t, testpki.MustStaple())
	now := time.Now()

	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	weakInter := p.root.IntermediateWithKey(t, p224, testpki.CommonName("P-224 intermediate"))
	responder := p.inter.Leaf(t, testpki.EKU(x509.ExtKeyUsageOCSPSigning), testpki.DNS("ocsp.test"))
	notResponder := p.inter.Leaf(t, testpki.DNS("not-ocsp.test"))
	constrained := p.root.Intermediate(t, testpki.PermittedDNS("allowed.test"))
	expiredInter := p.root.Intermediate(t, testpki.Expired(), testpki.CommonName("expired intermediate"))
	revokedByCRL := p.inter.Leaf(t)
	bigSerial := new(big.Int).Lsh(big.NewInt(1), 160)

	var random Pin
	if _, err := rand.Read(random[:]); err != nil {
		t.Fatal(err)
	}

	cases := []tcase{
		{name: "good", cert: good, v: v(nil)},
		{name: "good/ip", cert: good, v: v(func(x *Verifier) { x.Name = "127.0.0.1" })},
		{name: "good/name-case-insensitive", cert: good, v: v(func(x *Verifier) { x.Name = "LocalHost" })},
		{name: "good/root-only-leaf", cert: p.root.Leaf(t), v: v(nil)},
		{name: "expired", cert: p.inter.Leaf(t, testpki.Expired()), v: v(nil), want: Expired, msgs: []string{"the leaf", "expired at"}},
		{name: "expired/intermediate", cert: expiredInter.Leaf(t), v: v(nil), want: Expired, msgs: []string{"expired intermediate"}},
		{name: "not-yet-valid", cert: p.inter.Leaf(t, testpki.NotYetValid()), v: v(nil), want: NotYetValid, msgs: []string{"is valid from"}},
		{name: "wrong-name", cert: good, v: v(func(x *Verifier) { x.Name = "other.test" }), want: NameMismatch,
			msgs: []string{`covers "DNS:localhost", "IP:127.0.0.1", not "other.test"`}},
		{name: "wildcard/one-label", cert: p.inter.Leaf(t, testpki.DNS("*.example.test")), v: v(func(x *Verifier) { x.Name = "a.example.test" })},
		{name: "wildcard/two-labels", cert: p.inter.Leaf(t, testpki.DNS("*.example.test")), v: v(func(x *Verifier) { x.Name = "a.b.example.test" }),
			want: NameMismatch, msgs: []string{"matches exactly one label"}},
		{name: "wildcard/apex", cert: p.inter.Leaf(t, testpki.DNS("*.example.test")), v: v(func(x *Verifier) { x.Name = "example.test" }), want: NameMismatch},
		{name: "ip-vs-dns/ip-name-dns-san", cert: p.inter.Leaf(t, testpki.DNS("localhost", "127.0.0.1")), v: v(func(x *Verifier) { x.Name = "127.0.0.1" }),
			want: NameMismatch, msgs: []string{"only against IP SANs"}},
		{name: "ip-vs-dns/dns-name-ip-san", cert: p.inter.Leaf(t, testpki.IPs(net.IPv4(127, 0, 0, 1))), v: v(nil),
			want: NameMismatch, msgs: []string{"no DNS SAN"}},
		{name: "ip/v6", cert: p.inter.Leaf(t, testpki.IPs(net.IPv6loopback)), v: v(func(x *Verifier) { x.Name = "[::1]" })},
		{name: "no-cn-fallback", cert: p.inter.Leaf(t, testpki.CommonName("cn.test"), testpki.DNS("san.test")), v: v(func(x *Verifier) { x.Name = "cn.test" }),
			want: NameMismatch},
		{name: "unknown-root", cert: good, v: v(func(x *Verifier) { x.Roots = p.other.Pool() }), want: UnknownAuthority,
			msgs: []string{`the issuer "CN=sturdy test root,O=sturdy test PKI" of "CN=sturdy test intermediate,O=sturdy test PKI" is not trusted`, "Verifier.Roots"}},
		{name: "self-signed", cert: testpki.SelfSigned(t), v: v(nil), want: UnknownAuthority, msgs: []string{"is self-signed"}},
		{name: "missing-intermediate", cert: good, chain: good.Chain[:1], v: v(nil), want: UnknownAuthority,
			msgs: []string{"an intermediate seems missing", "sturdy test intermediate"}},
		{name: "wrong-intermediate", cert: good, chain: []*x509.Certificate{good.Cert, constrained.Cert}, v: v(nil), want: UnknownAuthority,
			msgs: []string{"do not link to the leaf"}},
		{name: "no-server-auth", cert: p.inter.Leaf(t, testpki.NoServerAuth()), v: v(nil), want: MissingServerAuth, msgs: []string{"clientAuth"}},
		{name: "name-constraints", cert: constrained.Leaf(t), v: v(nil), want: NameConstraints},

		{name: "pin/leaf", cert: good, v: v(func(x *Verifier) { x.Pins = []Pin{PinOf(good.Cert)} })},
		{name: "pin/intermediate", cert: good, v: v(func(x *Verifier) { x.Pins = []Pin{PinOf(p.inter.Cert)} })},
		{name: "pin/root", cert: good, v: v(func(x *Verifier) { x.Pins = []Pin{PinOf(p.root.Cert)} })},
		{name: "pin/backup", cert: good, v: v(func(x *Verifier) { x.Pins = []Pin{random, PinOf(good.Cert)} })},
		{name: "pin/mismatch", cert: good, v: v(func(x *Verifier) { x.Pins = []Pin{random} }), want: PinMismatch,
			msgs: []string{PinOf(good.Cert).String(), random.String()}},

		{name: "ocsp/good", cert: good, staple: p.inter.OCSP(t, good.Cert, testpki.OCSPGood), v: v(func(x *Verifier) { x.Revocation = RevocationRequireStaple })},
		{name: "ocsp/revoked", cert: good, staple: p.inter.OCSP(t, good.Cert, testpki.OCSPRevoked), v: v(func(x *Verifier) { x.Revocation = RevocationIfStapled }),
			want: Revoked, msgs: []string{"keyCompromise"}},
		{name: "ocsp/revoked-policy-off", cert: good, staple: p.inter.OCSP(t, good.Cert, testpki.OCSPRevoked), v: v(nil)},
		{name: "ocsp/expired", cert: good, staple: p.inter.OCSP(t, good.Cert, testpki.OCSPExpired), v: v(func(x *Verifier) { x.Revocation = RevocationIfStapled }),
			want: StapleExpired},
		{name: "ocsp/unknown", cert: good, staple: p.inter.OCSP(t, good.Cert, testpki.OCSPUnknown), v: v(func(x *Verifier) { x.Revocation = RevocationIfStapled }),
			want: BadStaple, msgs: []string{`status "unknown"`}},
		{name: "ocsp/bad-signature", cert: good, staple: p.other.OCSP(t, good.Cert, testpki.OCSPGood), v: v(func(x *Verifier) { x.Revocation = RevocationIfStapled }),
			want: BadStaple, msgs: []string{"not signed by the issuer"}},
		{name: "ocsp/garbage", cert: good, staple: []byte("not an OCSP response"), v: v(func(x *Verifier) { x.Revocation = RevocationIfStapled }),
			want: BadStaple},
		{name: "ocsp/other-cert", cert: good, staple: p.inter.OCSP(t, must.Cert, testpki.OCSPGood), v: v(func(x *Verifier) { x.Revocation = RevocationIfStapled }),
			want: BadStaple},
		{name: "ocsp/missing-if-stapled", cert: good, v: v(func(x *Verifier) { x.Revocation = RevocationIfStapled })},
		{name: "ocsp/missing-required", cert: good, v: v(func(x *Verifier) { x.Revocation = RevocationRequireStaple }), want: StapleMissing},
		{name: "ocsp/must-staple-missing", cert: must, v: v(nil), want: StapleMissing, msgs: []string{"must-staple"}},
		{name: "ocsp/must-staple-good", cert: must, staple: p.inter.OCSP(t, must.Cert, testpki.OCSPGood), v: v(nil)},
		{name: "ocsp/must-staple-revoked", cert: must, staple: p.inter.OCSP(t, must.Cert, testpki.OCSPRevoked), v: v(nil), want: Revoked},
		{name: "ocsp/delegated", cert: good, staple: p.inter.OCSPBy(t, responder, good.Cert, testpki.OCSPGood), v: v(func(x *Verifier) { x.Revocation = RevocationIfStapled })},
		{name: "ocsp/delegated-revoked", cert: good, staple: p.inter.OCSPBy(t, responder, good.Cert, testpki.OCSPRevoked),
			v: v(func(x *Verifier) { x.Revocation = RevocationIfStapled }), want: Revoked},
		{name: "ocsp/delegated-without-eku", cert: good, staple: p.inter.OCSPBy(t, notResponder, good.Cert, testpki.OCSPGood),
			v: v(func(x *Verifier) { x.Revocation = RevocationIfStapled }), want: BadStaple, msgs: []string{"OCSPSigning"}},

		{name: "crl/not-listed", cert: good, v: v(func(x *Verifier) { x.CRL = CRLs(p.inter.CRL(t, now.Add(time.Hour), revokedByCRL.Cert)) })},
		{name: "crl/revoked", cert: revokedByCRL, v: v(func(x *Verifier) { x.CRL = CRLs(p.inter.CRL(t, now.Add(time.Hour), revokedByCRL.Cert)) }),
			want: Revoked, msgs: []string{"listed in the CRL"}},
		{name: "crl/stale", cert: good, v: v(func(x *Verifier) { x.CRL = CRLs(p.inter.CRL(t, now.Add(-time.Minute))) }), want: BadCRL, msgs: []string{"stale"}},
		{name: "crl/wrong-signer", cert: good, v: v(func(x *Verifier) {
			bad := p.other.CRL(t, now.Add(time.Hour))
			x.CRL = func(*x509.Certificate) (*x509.RevocationList, error) { return bad, nil }
		}), want: BadCRL},
		{name: "crl/checker-error", cert: good, v: v(func(x *Verifier) {
			x.CRL = func(*x509.Certificate) (*x509.RevocationList, error) { return nil, errors.New("CRL store offline") }
		}), want: BadCRL, msgs: []string{"CRL store offline"}},
	}

	strict := func(x *Verifier) { x.Strict = true }
	withCRL := func(rl *x509.RevocationList, strictToo bool) func(*Verifier) {
		return func(x *Verifier) { x.CRL, x.Strict = CRLs(rl), strictToo }
	}
	noNumber := p.inter.RawCRL(t, now.Add(time.Hour), testpki.CRLNumberAbsent)
	criticalNumber := p.inter.RawCRL(t, now.Add(time.Hour), testpki.CRLNumberCritical)
	noCRLSign := p.root.Intermediate(t, testpki.Mutate(func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature }))
	noCRLSignLeaf := noCRLSign.Leaf(t)
	expiresAt := now.Add(-time.Hour).Truncate(time.Second)
	cases = append(cases,
		tcase{name: "crl/raw-numbered", cert: good, v: v(withCRL(p.inter.RawCRL(t, now.Add(time.Hour), testpki.CRLNumberPresent), true))},
		tcase{name: "strict/crl-without-number", cert: good, v: v(withCRL(noNumber, true)), want: BadCRL, msgs: []string{"no CRL number", "5.2.3"}},
		tcase{name: "lax/crl-without-number", cert: good, v: v(withCRL(noNumber, false))},
		tcase{name: "strict/crl-critical-number", cert: good, v: v(withCRL(criticalNumber, true)), want: BadCRL, msgs: []string{"critical", "5.2.3"}},
		tcase{name: "lax/crl-critical-number", cert: good, v: v(withCRL(criticalNumber, false))},
		tcase{name: "crl/issuer-without-crlsign", cert: noCRLSignLeaf, v: v(withCRL(noCRLSign.RawCRL(t, now.Add(time.Hour), testpki.CRLNumberPresent), false)),
			want: BadCRL, msgs: []string{"lacks cRLSign"}},
		tcase{name: "expired/sub-second", cert: p.inter.Leaf(t, testpki.Validity(now.Add(-48*time.Hour), expiresAt)),
			v:    v(func(x *Verifier) { x.Now = func() time.Time { return expiresAt.Add(500 * time.Millisecond) } }),
			want: Expired, msgs: []string{"expired at " + expiresAt.UTC().Format(time.RFC3339Nano) + ", it is now " + expiresAt.Add(500*time.Millisecond).UTC().Format(time.RFC3339Nano)}},
	)
	// 600 names against 500 constraints: 300,000 comparisons.
	var constraints, manyNames []string
	for i := range 500 {
		constraints = append(constraints, fmt.Sprintf("d%d.example.test", i))
	}
	for i := range 600 {
		manyNames = append(manyNames, fmt.Sprintf("h%d.d0.example.test", i))
	}
	budgetInter := p.root.Intermediate(t, testpki.PermittedDNS(constraints...))
	type rule struct {
		name string
		cert *testpki.Cert
		want Reason
		msg  string
	}
	rules := []rule{
		{"leaf-is-ca", p.inter.Leaf(t, testpki.IsCA()), LeafIsCA, "RFC 5280 4.2.1.9"},
		{"no-eku", p.inter.Leaf(t, testpki.EKU()), MissingServerAuth, "BR 7.1.2.7.10"},
		{"rsa-1024", p.inter.LeafWithKey(t, rsa1024), WeakKey, "1024 bits"},
		{"ed25519", p.inter.LeafWithKey(t, edKey), WeakKey, "Ed25519"},
		{"p224-intermediate", weakInter.Leaf(t), WeakKey, "P-224"},
		{"underscore", p.inter.Leaf(t, testpki.DNS("localhost", "under_score.example.test")), BadDNSName, "underscore"},
		{"inner-wildcard", p.inter.Leaf(t, testpki.DNS("localhost", "f*o.example.test")), BadDNSName, "left-most label"},
		{"tld-wildcard", p.inter.Leaf(t, testpki.DNS("localhost", "*.test")), BadDNSName, "top-level"},
		{"ip-in-dns", p.inter.Leaf(t, testpki.DNS("localhost", "10.0.0.1")), BadDNSName, "IP address"},
		{"validity-201-days", p.inter.Leaf(t, testpki.Validity(now.Add(-time.Hour), now.Add(-time.Hour+200*24*time.Hour))), ValidityTooLong, "at most 200 days (CA/B Forum BR 6.3.2, ballot SC081v3)"},
		{"serial-zero", p.inter.Leaf(t, testpki.Serial(big.NewInt(0))), BadSerial, "not positive"},
		{"serial-21-octets", p.inter.Leaf(t, testpki.Serial(bigSerial)), BadSerial, "21 octets"},
		{"cn-not-in-sans", p.inter.Leaf(t, testpki.CommonName("other.example.test")), BadCommonName, "BR 7.1.4.3"},
		{"any-eku", p.inter.Leaf(t, testpki.EKU(x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageAny)), BadEKU, "anyExtendedKeyUsage"},
		{"critical-eku", p.inter.Leaf(t, testpki.Critical(oidExtKeyUsage, true)), BadEKU, "critical"},
		{"pc-not-critical", p.root.Intermediate(t, testpki.Mutate(func(c *x509.Certificate) {
			c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: oidPolicyConstraints, Value: []byte{0x30, 0x03, 0x81, 0x01, 0x00}})
		})).Leaf(t), BadCriticality, "policyConstraints not marked critical"},
		{"bc-not-critical", p.root.Intermediate(t, testpki.Critical(oidBasicConstraints, false)).Leaf(t), BadCriticality, "basicConstraints not marked critical"},
		{"leaf-without-aki", p.inter.Leaf(t, testpki.NoAuthorityKeyID()), MissingKeyID, "authorityKeyIdentifier"},
		{"ca-without-ski", p.root.Intermediate(t, testpki.NoSubjectKeyID()).Leaf(t, testpki.Mutate(func(c *x509.Certificate) { c.AuthorityKeyId = []byte{1, 2, 3} })),
			MissingKeyID, "subjectKeyIdentifier"},
		{"leaf-keycertsign", p.inter.Leaf(t, testpki.Mutate(func(c *x509.Certificate) { c.KeyUsage |= x509.KeyUsageCertSign })), BadKeyUsage, "keyCertSign"},
		{"ca-empty-subject", p.root.Intermediate(t, testpki.Mutate(func(c *x509.Certificate) { c.Subject = pkix.Name{} })).Leaf(t), BadSubject, "empty subject"},
		{"leaf-name-constraints", p.inter.Leaf(t, testpki.Mutate(func(c *x509.Certificate) { c.PermittedDNSDomains = []string{"localhost"} })),
			BadNameConstraints, "4.2.1.10"},
		{"san-critical-with-subject", p.inter.Leaf(t, testpki.Critical(oidSubjectAltName, true)), BadCriticality, "beside a non-empty subject"},
		{"san-not-critical-empty-subject", p.inter.Leaf(t, testpki.Mutate(func(c *x509.Certificate) { c.Subject = pkix.Name{} }), testpki.Critical(oidSubjectAltName, false)),
			BadCriticality, "empty subject"},
	}
	for _, r := range []struct {
		rule
		host string
	}{
		{rule{"nc-leading-period", p.root.Intermediate(t, testpki.PermittedDNS(".example.test")).Leaf(t, testpki.DNS("www.example.test")), BadNameConstraints, "leading period"}, "www.example.test"},
		{rule{"nc-work-bound", budgetInter.Leaf(t, testpki.DNS(manyNames...)), TooManyConstraints, "250000"}, manyNames[0]},
	} {
		named := func(x *Verifier) { x.Name = r.host }
		cases = append(cases,
			tcase{name: "strict/" + r.name, cert: r.cert, v: v(func(x *Verifier) { named(x); strict(x) }), want: r.want, msgs: []string{r.msg}},
			tcase{name: "lax/" + r.name, cert: r.cert, v: v(named)})
	}
	// A wildcard directly on an ICANN suffix is refused; one on a suffix
	// of the private section, registered by its owner, is not (BR 3.2.2.6,
	// as Chromium reads it).
	for _, ps := range []struct {
		wildcard, name, msg string
		want                Reason
	}{
		{"*.co.uk", "shop.co.uk", `the ICANN public suffix "co.uk"`, BadDNSName},
		{"*.com", "example.com", "top-level domain", BadDNSName},
		{"*.s3.amazonaws.com", "bucket.s3.amazonaws.com", "", 0},
		{"*.github.io", "someone.github.io", "", 0},
	} {
		leaf := p.inter.Leaf(t, testpki.DNS(ps.wildcard))
		named := func(x *Verifier) { x.Name = ps.name }
		var msgs []string
		if ps.msg != "" {
			msgs = []string{ps.msg}
		}
		cases = append(cases,
			tcase{name: "strict/public-suffix-wildcard/" + ps.wildcard, cert: leaf, v: v(func(x *Verifier) { named(x); strict(x) }), want: ps.want, msgs: msgs},
			tcase{name: "lax/public-suffix-wildcard/" + ps.wildcard, cert: leaf, v: v(named)})
	}
	// Below the bound the same constraints pass.
	cases = append(cases, tcase{name: "strict/nc-within-bound", cert: budgetInter.Leaf(t, testpki.DNS(manyNames[:100]...)),
		v: v(func(x *Verifier) { x.Name = manyNames[0]; strict(x) })})
	cases = append(cases, tcase{name: "strict/good", cert: good, v: v(strict)})
	// A non-critical nameConstraints is accepted: real public CAs have
	// them (the corpus's udctest.ads.vt.edu chain), and the constraints
	// are enforced all the same.
	cases = append(cases, tcase{name: "strict/nc-not-critical",
		cert: p.root.Intermediate(t, testpki.PermittedDNS("localhost"), testpki.Critical(oidNameConstraints, false)).Leaf(t, testpki.DNS("localhost")), v: v(strict)})
	cases = append(cases, tcase{name: "strict/validity-200-days",
		cert: p.inter.Leaf(t, testpki.Validity(now.Add(-time.Hour), now.Add(-time.Hour+200*24*time.Hour-time.Second))), v: v(strict)})
	for _, r := range rules {
		cases = append(cases,
			tcase{name: "strict/" + r.name, cert: r.cert, v: v(strict), want: r.want, msgs: []string{r.msg}},
			// Without Strict, crypto/x509's rules alone accept the chain.
			tcase{name: "lax/" + r.name, cert: r.cert, v: v(nil)})
	}
	return cases
}

// TestMatrixVerifyChain runs every case through VerifyChain.
func TestMatrixVerifyChain(t *testing.T) {
	for _, tc := range matrix(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			chain := tc.chain
			if chain == nil {
				chain = tc.cert.Chain
			}
			v := tc.v
			chains, err := v.VerifyChain(chain, tc.staple)
			wantReason(t, err, tc.want, tc.msgs...)
			if err == nil && (len(chains) == 0 || chains[0][0] != chain[0]) {
				t.Fatalf("verified chains %v do not start at the leaf", chains)
			}
		})
	}
}

// TestMatrixHandshake runs every case through a real TLS handshake, with
// the Dialer as client and the Verifier inside VerifyConnection, in TLS 1.3
// and TLS 1.2.
func TestMatrixHandshake(t *testing.T) {
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			t.Parallel()
			for _, tc := range matrix(t) {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tcert := tc.cert.TLS()
					if tc.chain != nil {
						tcert.Certificate = nil
						for _, c := range tc.chain {
							tcert.Certificate = append(tcert.Certificate, c.Raw)
						}
					}
					tcert.OCSPStaple = tc.staple
					srv := serve(t, &tls.Config{Certificates: []tls.Certificate{tcert}, MaxVersion: version})
					v := tc.v
					d := &Dialer{Verifier: &v}
					ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
					defer cancel()
					c, err := d.DialContext(ctx, "tcp", srv.Addr)
					wantReason(t, err, tc.want, tc.msgs...)
					if err != nil {
						var ve *VerifyError
						errors.As(err, &ve)
						if ve.Addr != srv.Addr {
							t.Fatalf("VerifyError.Addr = %q, want %q", ve.Addr, srv.Addr)
						}
						return
					}
					defer c.Close()
					readOne(t, c)
					if got := c.(*tls.Conn).ConnectionState().Version; got != version {
						t.Fatalf("version %x, want %x", got, version)
					}
				})
			}
		})
	}
}

func TestVerifyChainEdgeCases(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	leaf := p.inter.Leaf(t)
	v := &Verifier{Roots: p.root.Pool()}
	_, err := v.VerifyChain(nil, nil)
	wantReason(t, err, NoCertificate)
	_, err = v.VerifyChain(leaf.Chain, nil)
	wantReason(t, err, NoName, "set Verifier.Name")

	// The clock is the Verifier's.
	v = &Verifier{Roots: p.root.Pool(), Name: "localhost", Now: func() time.Time { return leaf.Cert.NotAfter.Add(time.Second) }}
	_, err = v.VerifyChain(leaf.Chain, nil)
	wantReason(t, err, Expired)

	// Intermediates in any order, extra certificates ignored.
	v = &Verifier{Roots: p.root.Pool(), Name: "localhost"}
	other := p.other.Leaf(t)
	if _, err := v.VerifyChain([]*x509.Certificate{leaf.Cert, other.Cert, p.inter.Cert}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyErrorFields checks what a program can read from a VerifyError.
func TestVerifyErrorFields(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	leaf := p.inter.Leaf(t)
	var other Pin
	v := &Verifier{Roots: p.root.Pool(), Name: "localhost", Pins: []Pin{other}}
	_, err := v.VerifyChain(leaf.Chain, nil)
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("%T", err)
	}
	if len(ve.PinsSeen) != 3 || ve.PinsSeen[0] != PinOf(leaf.Cert) || len(ve.PinsWanted) != 1 {
		t.Fatalf("pins seen %v wanted %v", ve.PinsSeen, ve.PinsWanted)
	}
	if len(ve.Verified) != 3 || len(ve.Chain) != 2 || ve.Name != "localhost" {
		t.Fatalf("verified %d chain %d name %q", len(ve.Verified), len(ve.Chain), ve.Name)
	}
	if got := strings.Join(ve.Names, ","); got != "DNS:localhost,IP:127.0.0.1" {
		t.Fatalf("names %q", got)
	}
	msg := err.Error()
	for _, want := range []string{"tlsutil: public key pin mismatch", "chain sent by the peer", "[1] subject", "issued by", "valid"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("message lacks %q: %s", want, msg)
		}
	}

	// The crypto/x509 cause is reachable with errors.As.
	v = &Verifier{Roots: p.other.Pool(), Name: "localhost"}
	_, err = v.VerifyChain(leaf.Chain, nil)
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		t.Fatalf("errors.As(UnknownAuthorityError) false for %v", err)
	}
	if errors.Is(err, Expired) {
		t.Fatal("errors.Is matched another reason")
	}
}

func TestReasonStrings(t *testing.T) {
	t.Parallel()
	seen := map[string]Reason{}
	for r := UnknownAuthority; r <= BadAllowNames; r++ {
		s := r.String()
		if strings.HasPrefix(s, "Reason(") {
			t.Fatalf("reason %d has no text", int(r))
		}
		if prev, ok := seen[s]; ok {
			t.Fatalf("reasons %d and %d share %q", prev, r, s)
		}
		seen[s] = r
	}
	if got := Reason(99).String(); got != "Reason(99)" {
		t.Fatalf("unknown reason prints %q", got)
	}
	if got := Expired.Error(); got != "certificate expired" {
		t.Fatalf("Expired.Error() = %q", got)
	}
}

// TestCacheRespectsTime proves that a memoized chain is not trusted past
// its certificates' validity.
func TestCacheRespectsTime(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	leaf := p.inter.Leaf(t)
	at := time.Now()
	v := &Verifier{Roots: p.root.Pool(), Name: "localhost", Now: func() time.Time { return at }}
	if _, err := v.VerifyChain(leaf.Chain, nil); err != nil {
		t.Fatal(err)
	}
	v.Now = func() time.Time { return leaf.Cert.NotAfter.Add(time.Minute) }
	_, err := v.VerifyChain(leaf.Chain, nil)
	wantReason(t, err, Expired)
	// And a staple memoized as good still expires.
	staple := p.inter.OCSP(t, leaf.Cert, testpki.OCSPGood)
	v = &Verifier{Roots: p.root.Pool(), Name: "localhost", Revocation: RevocationIfStapled}
	if _, err := v.VerifyChain(leaf.Chain, staple); err != nil {
		t.Fatal(err)
	}
	v.Now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	_, err = v.VerifyChain(leaf.Chain, staple)
	wantReason(t, err, StapleExpired)
}

func TestMustStaple(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	if MustStaple(p.inter.Leaf(t).Cert) {
		t.Fatal("plain leaf reported as must-staple")
	}
	if !MustStaple(p.inter.Leaf(t, testpki.MustStaple()).Cert) {
		t.Fatal("must-staple leaf not detected")
	}
}

func TestRevocationPolicyString(t *testing.T) {
	t.Parallel()
	for p, want := range map[RevocationPolicy]string{RevocationOff: "RevocationOff", RevocationIfStapled: "RevocationIfStapled",
		RevocationRequireStaple: "RevocationRequireStaple", 7: "RevocationPolicy(7)"} {
		if got := p.String(); got != want {
			t.Fatalf("%d: %q, want %q", int(p), got, want)
		}
	}
}

// TestExplainBounded: a peer sending many impostor intermediates with the
// right subject costs a bounded number of signature checks.
func TestExplainBounded(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	leaf := p.inter.Leaf(t)
	chain := []*x509.Certificate{leaf.Cert}
	for i := 0; i < maxExplainChecks+20; i++ {
		chain = append(chain, p.other.Intermediate(t).Cert) // same subject as p.inter, other key
	}
	// crypto/x509 gives up first, with its own bound.
	v := &Verifier{Roots: p.root.Pool(), Name: "localhost"}
	_, err := v.VerifyChain(chain, nil)
	wantReason(t, err, BadChain, "signature check attempts limit", fmt.Sprintf("and %d more", len(chain)-maxChainShown))
	if n := len(err.Error()); n > 4000 {
		t.Fatalf("message of %d bytes", n)
	}
	// The diagnosis is bounded too.
	if got := explainUnknown(chain, nil, false); !strings.Contains(got, "do not link to the leaf") {
		t.Fatalf("explanation: %s", got)
	}
}
