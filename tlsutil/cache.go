package tlsutil

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
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

// chainKey identifies a verification: the pool (by identity: a CertPool can
// only grow, and growing cannot invalidate a chain built from it) and the
// exact certificates the peer sent, in order.
type chainKey struct {
	roots *x509.CertPool
	sum   [32]byte
}

var chainMemo memo[chainKey, [][]*x509.Certificate]

var serverAuth = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}

// verifyCached builds the chains from chain[0] to roots, reusing an earlier
// result for the same certificates and pool when all of its certificates
// are still within their validity at now.
func verifyCached(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) ([][]*x509.Certificate, error) {
	key := chainKey{roots: roots, sum: sumCerts(chain)}
	if chains, ok := chainMemo.get(key); ok {
		if valid := validAt(chains, now); len(valid) > 0 {
			return valid, nil
		}
	}
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: serverAuth}
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
	chainMemo.put(key, chains)
	return chains, nil
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
