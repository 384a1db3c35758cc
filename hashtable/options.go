package hashtable

// Option configures a Map or a Sync at construction.
type Option func(*config)

type config struct {
	fixed    bool
	sip13    bool
	k0, k1   uint64
	capacity int
	shards   int
}

// maxCapacityHint keeps size arithmetic far from overflow; a hint this large
// could not be allocated anyway.
const maxCapacityHint = 1 << 40

// WithSeed fixes the 128-bit SipHash key to (k0, k1) instead of drawing a
// random one from crypto/rand. A map with a fixed seed hashes identically in
// every process, which makes it reproducible in tests and lets processes
// agree on a sharding; it never re-seeds, not on Clear, Compact or growth
// and not when it detects flooding. A fixed seed that an attacker knows lets
// them craft colliding keys: the map then stays correct and its memory
// stays bounded, but operations slow down.
func WithSeed(k0, k1 uint64) Option {
	return func(c *config) {
		c.fixed = true
		c.k0, c.k1 = k0, k1
	}
}

// WithSipHash13 hashes keys with SipHash-1-3 instead of SipHash-2-4, in
// maps made by New, NewSync, and NewFunc or NewSyncFunc with a nil hash.
//
// SipHash-1-3 runs one compression round per 8 bytes of key and three
// finalization rounds, where SipHash-2-4 runs two and four: a 20-byte key
// takes 6 rounds instead of 10, about 55 fewer instructions of some 200,
// and a hit in a small map runs 268 instructions instead of 311 (counted
// with callgrind, the benchmark's loop included). In large maps it gains
// more than its instruction count suggests (see the package
// documentation). The price is a
// thinner safety margin, not a known attack: SipHash-2-4 is the variant
// its authors recommend, SipHash-1-3 has fewer rounds between an attacker
// and the seed, and no practical attack on either is published. Rust's
// standard library (the default hasher of HashMap) and Python since 3.11
// (its str and bytes hash) chose SipHash-1-3 for this use, where an
// attacker sees timings, never hash values. Choose it when lookups of short
// keys dominate and the seed stays secret; keep the default when hash
// values may be exposed (Hash and HashUint64 remain SipHash-2-4), or
// when a stronger margin matters more than a few nanoseconds.
func WithSipHash13() Option {
	return func(c *config) { c.sip13 = true }
}

// WithCapacity sizes the map for n entries up front, so that the first n
// insertions do not grow it. n <= 0 means the smallest map. The memory is
// allocated at once, as by make(map[K]V, n): do not pass an untrusted n.
func WithCapacity(n int) Option {
	return func(c *config) {
		c.capacity = min(max(n, 0), maxCapacityHint)
	}
}

// WithShards sets the number of shards of a Sync, rounded up to a power of
// two (at most 1<<16). It is ignored by New and NewFunc. Unset or n <= 0: a
// power of two at least 8 times GOMAXPROCS, and at least 16.
func WithShards(n int) Option {
	return func(c *config) {
		c.shards = min(max(n, 0), 1<<16)
	}
}

func buildConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}
