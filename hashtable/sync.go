package hashtable

import (
	"iter"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Sync is a concurrent map from K to V: a power-of-two number of shards,
// each a Map behind its own sync.RWMutex, picked by the top bits of the
// key's hash. One hash per operation picks the shard and probes inside it.
// Readers of different shards never contend; readers of one shard share
// its read lock.
//
// All shards share one seed, so re-seeding (on flood detection, Clear and
// Compact, unless the seed is fixed) locks every shard in turn, rehashes
// every entry and moves it to its new shard: an O(n) pause, which a random
// hash never triggers outside Clear and Compact.
//
// Sync is safe for concurrent use. It never calls user code (the hash
// function aside) while holding a lock: Range and All call their callback
// with no lock held. A Sync must not be copied after first use.
type Sync[K comparable, V any] struct {
	hash    func(k0, k1 uint64, key K) uint64
	seed    atomic.Pointer[syncSeed]
	shards  []syncShard[K, V]
	shift   uint // 64 - log2(len(shards))
	fixed   bool
	str     bool
	reseeds atomic.Uint64
	rebuild sync.Mutex // serialises whole-map rebuilds
}

type syncSeed struct{ k0, k1 uint64 }

type syncShard[K comparable, V any] struct {
	mu   sync.RWMutex
	seed *syncSeed // the seed m is hashed under; guarded by mu
	m    Map[K, V]
	_    [64]byte // keep neighbouring shards' locks off one cache line
}

// NewSync returns an empty concurrent map keyed by SipHash-2-4 under a
// random seed (or the one given by WithSeed). WithCapacity sizes it for n
// entries in total and WithShards sets the shard count.
func NewSync[K Key, V any](opts ...Option) *Sync[K, V] {
	return newSync[K, V](sipHasher[K](), buildConfig(opts))
}

// NewSyncFunc is NewSync with the hash function of NewFunc.
func NewSyncFunc[K comparable, V any](hash func(k0, k1 uint64, key K) uint64, opts ...Option) *Sync[K, V] {
	if hash == nil {
		hash = defaultHasher[K]()
	}
	return newSync[K, V](hash, buildConfig(opts))
}

func newSync[K comparable, V any](hash func(k0, k1 uint64, key K) uint64, c config) *Sync[K, V] {
	n := c.shards
	if n <= 0 {
		n = max(16, 8*runtime.GOMAXPROCS(0))
	}
	b := uint(bits.Len(uint(n - 1)))
	s := &Sync[K, V]{
		hash:   hash,
		shards: make([]syncShard[K, V], 1<<b),
		shift:  64 - b,
		fixed:  c.fixed,
		str:    isStringKey[K](),
	}
	sd := &syncSeed{c.k0, c.k1}
	if !c.fixed {
		sd.k0, sd.k1 = newSeed()
	}
	per := c.capacity >> b
	for i := range s.shards {
		sh := &s.shards[i]
		sh.seed = sd
		sh.m.hash = hash
		sh.m.k0, sh.m.k1 = sd.k0, sd.k1
		sh.m.fixed = c.fixed
		sh.m.external = true
		sh.m.stringKey = s.str
		sh.m.skip = b
		sh.m.capHint = per
		sh.m.layout(per)
	}
	s.seed.Store(sd)
	return s
}

// lock hashes key under the current seed and locks its shard, for writing
// if write is set. It retries when a rebuild re-seeded the map between the
// hash and the lock.
func (s *Sync[K, V]) lock(key K, write bool) (*syncShard[K, V], uint64) {
	for {
		sd := s.seed.Load()
		h := s.hash(sd.k0, sd.k1, key)
		sh := &s.shards[h>>s.shift]
		if write {
			sh.mu.Lock()
		} else {
			sh.mu.RLock()
		}
		if sh.seed == sd {
			return sh, h
		}
		if write {
			sh.mu.Unlock()
		} else {
			sh.mu.RUnlock()
		}
	}
}

// Get returns the value stored under key and whether it was present.
func (s *Sync[K, V]) Get(key K) (V, bool) {
	sh, h := s.lock(key, false)
	t, g, j, _, ok := sh.m.find(h, key)
	var v V
	if ok {
		v = t.slots[g*groupSlots+uint64(j)].val
	}
	sh.mu.RUnlock()
	return v, ok
}

// GetBytes is Get for a key given as bytes, for string-like key types; it
// does not allocate. For other key types it reports false.
func (s *Sync[K, V]) GetBytes(b []byte) (V, bool) {
	if !s.str {
		var zero V
		return zero, false
	}
	str := unsafe.String(unsafe.SliceData(b), len(b))
	return s.Get(*(*K)(unsafe.Pointer(&str)))
}

// Put stores val under key, replacing any previous value.
func (s *Sync[K, V]) Put(key K, val V) {
	sh, h := s.lock(key, true)
	for !sh.m.put(h, key, val) {
	}
	s.unlockAfterWrite(sh)
}

// LoadOrStore returns the value stored under key and true if key is
// present; otherwise it stores val and returns val and false.
func (s *Sync[K, V]) LoadOrStore(key K, val V) (actual V, loaded bool) {
	sh, h := s.lock(key, true)
	if t, g, j, _, ok := sh.m.find(h, key); ok {
		actual = t.slots[g*groupSlots+uint64(j)].val
		sh.mu.Unlock()
		return actual, true
	}
	for !sh.m.put(h, key, val) {
	}
	s.unlockAfterWrite(sh)
	return val, false
}

// Delete removes key and reports whether it was present.
func (s *Sync[K, V]) Delete(key K) bool {
	sh, h := s.lock(key, true)
	ok := sh.m.delete(h, key)
	sh.mu.Unlock()
	return ok
}

// unlockAfterWrite releases a shard after an insertion and, if the shard
// detected a flood, re-seeds the whole map once no lock is held.
func (s *Sync[K, V]) unlockAfterWrite(sh *syncShard[K, V]) {
	flooded, sd := sh.m.flooded, sh.seed
	sh.m.flooded = false
	sh.mu.Unlock()
	if flooded {
		s.rebuildAll(sd, true)
	}
}

// Len returns the number of entries. Under concurrent writes it is a sum
// of per-shard counts taken one shard at a time.
func (s *Sync[K, V]) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		n += sh.m.used
		sh.mu.RUnlock()
	}
	return n
}

// Range calls f for each entry until f returns false. It copies one
// shard's entries under that shard's read lock and calls f with no lock
// held, so f may use the map; each shard is seen as it was when Range
// reached it, and the whole is not one atomic snapshot. An entry moved by a
// concurrent re-seed may be missed or seen twice.
func (s *Sync[K, V]) Range(f func(key K, val V) bool) {
	var buf []slot[K, V]
	for i := range s.shards {
		sh := &s.shards[i]
		buf = buf[:0]
		sh.mu.RLock()
		sh.m.forEachTable(func(t *table[K, V]) {
			buf = t.appendEntries(buf)
		})
		sh.mu.RUnlock()
		for j := range buf {
			if !f(buf[j].key, buf[j].val) {
				return
			}
		}
		clear(buf)
	}
}

// All returns an iterator over the entries, with the semantics of Range.
func (s *Sync[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) { s.Range(yield) }
}

// Clear removes every entry and draws a new seed unless it is fixed.
func (s *Sync[K, V]) Clear() {
	s.rebuild.Lock()
	defer s.rebuild.Unlock()
	s.lockAll()
	sd := s.seed.Load()
	if !s.fixed {
		k0, k1 := newSeed()
		sd = &syncSeed{k0, k1}
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.m.Clear()
		sh.m.k0, sh.m.k1 = sd.k0, sd.k1
		sh.seed = sd
	}
	s.seed.Store(sd)
	s.unlockAll()
}

// Compact rebuilds every shard at the smallest size that holds its entries
// and re-seeds unless the seed is fixed.
func (s *Sync[K, V]) Compact() {
	s.rebuildAll(nil, false)
}

// rebuildAll rehashes every entry into fresh shards under a new seed (the
// same one if it is fixed). With old set it is a flood response and does
// nothing if another rebuild already replaced the seed old.
func (s *Sync[K, V]) rebuildAll(old *syncSeed, flood bool) {
	s.rebuild.Lock()
	defer s.rebuild.Unlock()
	if old != nil && s.seed.Load() != old {
		return
	}
	s.lockAll()
	defer s.unlockAll()
	var entries []slot[K, V]
	for i := range s.shards {
		sh := &s.shards[i]
		sh.m.forEachTable(func(t *table[K, V]) {
			entries = t.appendEntries(entries)
		})
	}
	sd := s.seed.Load()
	if !s.fixed {
		k0, k1 := newSeed()
		sd = &syncSeed{k0, k1}
	}
	per := len(entries) >> (64 - s.shift)
	for i := range s.shards {
		sh := &s.shards[i]
		sh.m.k0, sh.m.k1 = sd.k0, sd.k1
		sh.m.layout(max(per, sh.m.capHint))
		sh.m.flooded = false
		sh.seed = sd
	}
	for _, e := range entries {
		h := s.hash(sd.k0, sd.k1, e.key)
		m := &s.shards[h>>s.shift].m
		for !m.put(h, e.key, e.val) {
		}
	}
	for i := range s.shards {
		m := &s.shards[i].m
		m.flooded = false
		m.reseedFloor = 2 * m.used
	}
	s.seed.Store(sd)
	if flood && !s.fixed {
		s.reseeds.Add(1)
	}
}

func (s *Sync[K, V]) lockAll() {
	for i := range s.shards {
		s.shards[i].mu.Lock()
	}
}

func (s *Sync[K, V]) unlockAll() {
	for i := range s.shards {
		s.shards[i].mu.Unlock()
	}
}

// Stats returns the statistics of all shards combined, each shard read
// under its own lock.
func (s *Sync[K, V]) Stats() Stats {
	out := Stats{Reseeds: s.reseeds.Load(), FixedSeed: s.fixed}
	probes := 0.0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		st := sh.m.Stats()
		sh.mu.RUnlock()
		out.Len += st.Len
		out.Capacity += st.Capacity
		out.Tables += st.Tables
		out.Tombstones += st.Tombstones
		out.MaxProbe = max(out.MaxProbe, st.MaxProbe)
		probes += st.MeanProbe * float64(st.Len)
	}
	if out.Len > 0 {
		out.MeanProbe = probes / float64(out.Len)
	}
	return out
}
