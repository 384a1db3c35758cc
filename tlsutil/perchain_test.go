package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"math/big"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/testpki"
)

// crossSigned is one intermediate key and subject certified by two roots:
// ia by r1, ib by r2, and a leaf that chains through either.
type crossSigned struct {
	r1, r2 *testpki.CA
	ia, ib *testpki.CA
	leaf   *testpki.Cert
	roots  *x509.CertPool
}

func newCrossSigned(t *testing.T, iaOpts ...testpki.Option) *crossSigned {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x := &crossSigned{
		r1: testpki.NewRoot(t, testpki.CommonName("cross root one")),
		r2: testpki.NewRoot(t, testpki.CommonName("cross root two")),
	}
	x.ia = x.r1.IntermediateWithKey(t, key, append([]testpki.Option{testpki.CommonName("cross intermediate")}, iaOpts...)...)
	x.ib = x.r2.IntermediateWithKey(t, key, testpki.CommonName("cross intermediate"))
	x.leaf = x.ia.Leaf(t)
	x.roots = x509.NewCertPool()
	x.roots.AddCert(x.r1.Cert)
	x.roots.AddCert(x.r2.Cert)
	return x
}

// TestPolicyPerCandidateChain: the peer's order of intermediates decides
// which chain crypto/x509 returns first; the verdict must not depend on it.
func TestPolicyPerCandidateChain(t *testing.T) {
	t.Parallel()
	x := newCrossSigned(t)
	badSerial := newCrossSigned(t, testpki.Serial(new(big.Int).Lsh(big.NewInt(1), 168)))
	revokedIa := CRLs(x.r1.CRL(t, time.Now().Add(24*time.Hour), x.ia.Cert))
	orders := func(x *crossSigned) map[string][]*x509.Certificate {
		return map[string][]*x509.Certificate{
			"ia-first": {x.leaf.Cert, x.ia.Cert, x.ib.Cert},
			"ib-first": {x.leaf.Cert, x.ib.Cert, x.ia.Cert},
		}
	}
	cases := []struct {
		name string
		x    *crossSigned
		v    Verifier
		want Reason
	}{
		// The only path through the pinned root is revoked.
		{"pinned-path-revoked", x, Verifier{Pins: []Pin{PinOf(x.r1.Cert)}, CRL: revokedIa}, Revoked},
		// Without a pin the path through r2 is valid and unrevoked.
		{"other-path-valid", x, Verifier{CRL: revokedIa}, 0},
		// A pin on r2 picks the unrevoked path.
		{"pin-on-valid-path", x, Verifier{Pins: []Pin{PinOf(x.r2.Cert)}, CRL: revokedIa}, 0},
		// The pinned path breaks a Strict rule; the other is not pinned.
		// The chain that got furthest (through r2, to the pins) is reported.
		{"pinned-path-strict", badSerial, Verifier{Strict: true, Pins: []Pin{PinOf(badSerial.r1.Cert)}}, PinMismatch},
		{"strict-other-path", badSerial, Verifier{Strict: true}, 0},
	}
	for _, tc := range cases {
		for order, chain := range orders(tc.x) {
			t.Run(tc.name+"/"+order, func(t *testing.T) {
				v := tc.v
				v.Roots, v.Name = tc.x.roots, "localhost"
				chains, err := v.VerifyChain(chain, nil)
				wantReason(t, err, tc.want)
				if err != nil {
					return
				}
				for _, ch := range chains {
					if _, err := (&Verifier{Roots: tc.x.roots, Name: "localhost", Pins: v.Pins, CRL: v.CRL, Strict: v.Strict}).VerifyChain(ch[:len(ch)-1], nil); err != nil {
						t.Fatalf("a returned chain does not pass on its own: %v", err)
					}
				}
			})
		}
	}
}

// TestMemoRespectsPoolConstraints: a root added with a constraint is asked
// at every verification, memo or not, as crypto/x509 asks it.
func TestMemoRespectsPoolConstraints(t *testing.T) {
	t.Parallel()
	root := testpki.NewRoot(t)
	leaf := root.Intermediate(t).Leaf(t)
	var distrust atomic.Bool
	var calls atomic.Int64
	pool := x509.NewCertPool()
	pool.AddCertWithConstraint(root.Cert, func([]*x509.Certificate) error {
		calls.Add(1)
		if distrust.Load() {
			return errors.New("distrusted")
		}
		return nil
	})
	v := &Verifier{Roots: pool, Name: "localhost"}
	for i := range 3 {
		if _, err := v.VerifyChain(leaf.Chain, nil); err != nil {
			t.Fatalf("verification %d: %v", i, err)
		}
	}
	if calls.Load() < 3 {
		t.Fatalf("the constraint ran %d times in 3 verifications", calls.Load())
	}
	distrust.Store(true)
	_, err := v.VerifyChain(leaf.Chain, nil)
	wantReason(t, err, UnknownAuthority)
	distrust.Store(false)
	if _, err := v.VerifyChain(leaf.Chain, nil); err != nil {
		t.Fatal(err)
	}
}

// TestMemoSeesPoolGrowth: a root added to a pool in use opens a new chain,
// which a pin may need.
func TestMemoSeesPoolGrowth(t *testing.T) {
	t.Parallel()
	x := newCrossSigned(t)
	pool := x509.NewCertPool()
	pool.AddCert(x.r2.Cert)
	v := &Verifier{Roots: pool, Name: "localhost", Pins: []Pin{PinOf(x.r1.Cert)}}
	chain := []*x509.Certificate{x.leaf.Cert, x.ia.Cert, x.ib.Cert}
	_, err := v.VerifyChain(chain, nil)
	wantReason(t, err, PinMismatch)
	pool.AddCert(x.r1.Cert)
	if _, err := v.VerifyChain(chain, nil); err != nil {
		t.Fatalf("after adding the pinned root: %v", err)
	}
}

// TestPoolInspection: the memo's reading of x509.CertPool still works on
// this Go release (if it did not, chains would never be memoized).
func TestPoolInspection(t *testing.T) {
	if !poolInspectable {
		t.Fatal("crypto/x509.CertPool's fields moved: update poolMemoizable")
	}
	root := testpki.NewRoot(t)
	plain := root.Pool()
	if n, ok := poolMemoizable(plain); !ok || n != 1 {
		t.Fatalf("plain pool: %d, %v", n, ok)
	}
	constrained := x509.NewCertPool()
	constrained.AddCert(testpki.NewRoot(t).Cert)
	constrained.AddCertWithConstraint(root.Cert, func([]*x509.Certificate) error { return nil })
	if n, ok := poolMemoizable(constrained); ok || n != 2 {
		t.Fatalf("constrained pool: %d, %v", n, ok)
	}
	if _, ok := poolMemoizable(nil); ok {
		t.Fatal("the system roots must not be memoized")
	}
	// A system pool goes to the platform's verifier on macOS and Windows
	// (which then must not be memoized), and is a plain pool elsewhere.
	if sys, err := x509.SystemCertPool(); err == nil {
		_, ok := poolMemoizable(sys)
		if platform := runtime.GOOS == "darwin" || runtime.GOOS == "windows" || runtime.GOOS == "ios"; ok == platform {
			t.Fatalf("system pool on %s: memoizable=%v", runtime.GOOS, ok)
		}
	}
}
