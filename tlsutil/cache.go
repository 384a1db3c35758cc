package tlsutil

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"reflect"
	"sync"
	"time"
)

// The signature checks of a verification (chain building, OCSP response)
// are pure functions of their inputs, so their results are memoized by
// content: a resumed session or a reconnect to the same server then costs
// a hash and a few comparisons, not public-key operations. Everything that
// depends on time (validity windows, OCSP freshness) and on the name, pins
// and policy is checked again on every call.
//
// Chain building is memoized only when nothing but signatures and dates
// decides it. crypto/x509 also runs the constraint functions of roots added
// with CertPool.AddCertWithConstraint (distrust switches, date-based
// distrust rules), whose verdict may change from one call to the next, and
// with nil Roots it may hand the chain to the platform's verifier or to
// fallback roots that carry such constraints; a pool from
// x509.SystemCertPool on macOS and Windows also goes to the platform's
// verifier, which applies its own distrust rules. So chains are built
// afresh, every time, with nil Roots, with such a system pool, and with a
// pool that holds any constrained root.
//
// The caches are package-wide (a Verifier is a plain struct that can be
// copied) and bounded; when full, an arbitrary entry is dropped.

const cacheSize = 512

type memo[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

// memoEnabled is switched off only by benchmarks that measure the cost
// of a verification from scratch.
var memoEnabled = true

func (c *memo[K, V]) get(k K) (V, bool) {
	if !memoEnabled {
		var zero V
		return zero, false
	}
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	return v, ok
}

func (c *memo[K, V]) put(k K, v V) {
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[K]V)
	}
	if len(c.m) >= cacheSize {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = v
	c.mu.Unlock()
}

// chainKey identifies a verification: the pool (by identity and size: a
// CertPool only grows, and a root added to it may open a new chain), the
// extended key usage asked for, and the exact certificates the peer sent,
// in order.
type chainKey struct {
	roots *x509.CertPool
	size  int
	usage x509.ExtKeyUsage
	sum   [32]byte
}

var chainMemo memo[chainKey, [][]*x509.Certificate]

var (
	serverAuth = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	clientAuth = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
)

// buildChains returns every chain crypto/x509 builds from chain[0], through
// the other certificates of chain, to roots, for usage. An earlier result
// for the same certificates, pool and usage is reused, keeping the chains
// whose every certificate is still valid at now, when the pool may be
// memoized (see poolMemoizable).
func buildChains(chain []*x509.Certificate, roots *x509.CertPool, usage x509.ExtKeyUsage, now time.Time) ([][]*x509.Certificate, error) {
	var key chainKey
	size, memoize := poolMemoizable(roots)
	if memoize {
		key = chainKey{roots: roots, size: size, usage: usage, sum: sumCerts(chain)}
		if chains, ok := chainMemo.get(key); ok {
			if valid := validAt(chains, now); len(valid) > 0 {
				return valid, nil
			}
		}
	}
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: serverAuth}
	if usage == x509.ExtKeyUsageClientAuth {
		opts.KeyUsages = clientAuth
	}
	if len(chain) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range chain[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	chains, err := chain[0].Verify(opts)
	if err != nil {
		return nil, err
	}
	if memoize {
		chainMemo.put(key, chains)
	}
	return chains, nil
}

// poolState is what poolMemoizable learned about a pool of a given size.
type poolState struct {
	size        int
	constrained bool
}

var poolMemo memo[*x509.CertPool, poolState]

// The fields of x509.CertPool that say whether a root was added with a
// constraint. crypto/x509 has no method for it, so they are read through
// reflect (read only, no unsafe). If they are not where expected (a
// future Go release), every pool counts as constrained: chains are then
// built afresh each time, slower but never skipping a constraint.
// TestPoolInspection notices such a change.
var (
	lazyCertsField, constraintField, systemPoolField []int
	poolInspectable                                  bool
)

func init() {
	pool := reflect.TypeFor[x509.CertPool]()
	f, ok := pool.FieldByName("lazyCerts")
	if !ok || f.Type.Kind() != reflect.Slice || f.Type.Elem().Kind() != reflect.Struct {
		return
	}
	g, ok := f.Type.Elem().FieldByName("constraint")
	if !ok || g.Type != reflect.TypeFor[func([]*x509.Certificate) error]() {
		return
	}
	sp, ok := pool.FieldByName("systemPool")
	if !ok || sp.Type.Kind() != reflect.Bool {
		return
	}
	lazyCertsField, constraintField, systemPoolField, poolInspectable = f.Index, g.Index, sp.Index, true
}

// poolMemoizable returns the number of certificates in roots and whether
// chains built to it may be memoized: roots is not nil, is not handed to
// the platform's verifier, and holds no root with a constraint function.
func poolMemoizable(roots *x509.CertPool) (int, bool) {
	if roots == nil || !poolInspectable {
		return 0, false
	}
	pool := reflect.ValueOf(roots).Elem()
	if pool.FieldByIndex(systemPoolField).Bool() {
		return 0, false
	}
	certs := pool.FieldByIndex(lazyCertsField)
	n := certs.Len()
	// A pool only grows, and crypto/x509 ignores a certificate added twice,
	// so a pool's constraints are known once its size is.
	if st, ok := poolMemo.get(roots); ok && st.size == n {
		return n, !st.constrained
	}
	constrained := false
	for i := range n {
		if !certs.Index(i).FieldByIndex(constraintField).IsNil() {
			constrained = true
			break
		}
	}
	poolMemo.put(roots, poolState{size: n, constrained: constrained})
	return n, !constrained
}

// validAt returns the chains whose every certificate is valid at now.
func validAt(chains [][]*x509.Certificate, now time.Time) [][]*x509.Certificate {
	var out [][]*x509.Certificate
	for i, ch := range chains {
		if chainValidAt(ch, now) {
			if out != nil {
				out = append(out, ch)
			}
			continue
		}
		if out == nil {
			out = append(make([][]*x509.Certificate, 0, len(chains)), chains[:i]...)
		}
	}
	if out == nil {
		return chains
	}
	return out
}

func chainValidAt(ch []*x509.Certificate, now time.Time) bool {
	for _, c := range ch {
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			return false
		}
	}
	return true
}

func sumCerts(chain []*x509.Certificate) [32]byte {
	h := sha256.New()
	var n [8]byte
	for _, c := range chain {
		binary.BigEndian.PutUint64(n[:], uint64(len(c.Raw)))
		h.Write(n[:])
		h.Write(c.Raw)
	}
	var s [32]byte
	h.Sum(s[:0])
	return s
}
