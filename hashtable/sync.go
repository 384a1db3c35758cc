package hashtable

import (
	"iter"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Sync is a concurrent map from K to V. Reads take no lock and write no
// shared memory; so does replacing the value of a present key. Inserting
// and deleting a key lock one shard.
//
// The keys are spread over a power-of-two number of shards by the top bits
// of their hash. Each shard is one Swiss table, the layout of Map's tables,
// whose control words are read and written atomically and whose slots hold
// atomic pointers to entries. An entry's key never changes; its value is
// replaced atomically in place (as its bits when V is a number or a bool,
// else as a pointer to an immutable copy). A Get loads the map's state,
// hashes the key once, loads the shard's current table and probes it:
// nothing it does makes another core's cache line bounce. A Put or
// LoadOrStore of a present key finds its entry the same way and, for Put,
// stores the new value into it. Inserting a key or deleting one locks the
// shard's mutex and writes the slot before its control byte on insertion,
// the control byte before the slot on deletion. A table is never modified
// after it is replaced: a shard grows (doubles, or drops its tombstones) by
// building a new table and publishing it, so a reader still probing the
// old one finds everything that was present when it started.
//
// All shards share one seed. Re-seeding (on flood detection, at most once
// per doubling of the map; on Clear and Compact, unless the seed is fixed)
// locks every shard, rehashes every entry into new shards and publishes
// them as a new state: an O(n) pause for inserts and deletes, which a
// random hash never triggers outside Clear and Compact. Readers are never
// paused; one that started before the new state was published finishes on
// the old one.
//
// Sync is safe for concurrent use. It never calls user code (the hash
// function aside) while holding a lock: Range and All call their callback
// with no lock held. A hash function that panics leaves the map as it was
// before the operation, with no lock held. The zero Sync is an empty map
// ready to use, hashed as by NewSyncFunc with a nil hash function. A Sync
// must not be copied after first use. A nil *Sync reads like a nil builtin
// map: Len is 0, Get finds nothing, All produces nothing.
//
// A Sync prints like a builtin map, as Map does, and never shows its seed.
type Sync[K comparable, V any] struct {
	hash     func(k0, k1 uint64, key K) uint64
	path     hashPath // how operations hash their key (see Map)
	state    atomic.Pointer[syncState[K, V]]
	shardCap int // per-shard capacity hint from WithCapacity
	fixed    bool
	str      bool
	inline   bool // V is kept in syncEntry.word
	reseeds  atomic.Uint64
	rebuild  sync.Mutex // serialises whole-map rebuilds
	// reseedFloor: no flood re-seed before the map holds this many
	// entries. Guarded by rebuild.
	reseedFloor int
}

// syncState is a seed and the shards hashed under it. It is immutable once
// published, apart from each shard's own synchronised fields.
type syncState[K comparable, V any] struct {
	seed
	shift  uint // 64 - log2(len(shards))
	shards []syncShard[K, V]
}

type syncShard[K comparable, V any] struct {
	// tab is the only field readers touch; it is kept off the cache line
	// that writers dirty on every insertion.
	tab atomic.Pointer[syncTable[K, V]]
	_   [56]byte

	mu sync.Mutex
	// The fields below are guarded by mu.
	retired     bool // the state was replaced: writers must start over
	used        int  // full slots
	deleted     int  // tombstones
	growthLeft  int  // empty slots that may still be filled
	probeSum    int  // sum over entries of groups probed past the home group
	maxProbe    int
	reseedFloor int // no flood re-seed before used reaches this
	_           [64]byte
}

// NewSync returns an empty concurrent map keyed by SipHash-2-4 (or
// SipHash-1-3 with WithSipHash13) under a random seed (or the one given by
// WithSeed). WithCapacity sizes it for n entries in total and WithShards
// sets the shard count.
func NewSync[K Key, V any](opts ...Option) *Sync[K, V] {
	c := buildConfig(opts)
	return newSync[K, V](sipHasher[K](c.sip13), sipPath[K](c.sip13), c)
}

// NewSyncFunc is NewSync with the hash function of NewFunc.
func NewSyncFunc[K comparable, V any](hash func(k0, k1 uint64, key K) uint64, opts ...Option) *Sync[K, V] {
	c := buildConfig(opts)
	path := pathFunc
	if hash == nil {
		hash, path = defaultHasher[K](c.sip13), sipPath[K](c.sip13)
	}
	return newSync[K, V](hash, path, c)
}

func newSync[K comparable, V any](hash func(k0, k1 uint64, key K) uint64, path hashPath, c config) *Sync[K, V] {
	n := shardCount(c.shards)
	s := &Sync[K, V]{
		hash:     hash,
		path:     path,
		shardCap: shardCapacity(c.capacity, n),
		fixed:    c.fixed,
		str:      isStringKey[K](),
		inline:   inlineValue[V](),
	}
	k0, k1 := c.k0, c.k1
	if !c.fixed {
		k0, k1 = newSeed()
	}
	s.state.Store(s.newState(k0, k1, n, s.shardCap))
	return s
}

// shardCapacity sizes each of n shards for capacity entries in total. Keys
// do not spread evenly: the fullest of n shards gets several standard
// deviations more than capacity/n, so each shard gets that much room on top
// of an eighth, and the first capacity insertions grow no shard.
func shardCapacity(capacity, n int) int {
	if capacity <= 0 {
		return 0
	}
	mean := capacity / n
	return mean + mean/8 + 4*int(math.Sqrt(float64(mean))) + 8
}

// shardCount is the number of shards for WithShards(n): n rounded up to a
// power of two, or by default at least 16 and 8 per GOMAXPROCS.
func shardCount(n int) int {
	if n <= 0 {
		n = max(16, 8*runtime.GOMAXPROCS(0))
	}
	return 1 << bits.Len(uint(n-1))
}

// load returns the current state, making a zero Sync usable on first use.
func (s *Sync[K, V]) load() *syncState[K, V] {
	if st := s.state.Load(); st != nil {
		return st
	}
	return s.loadSlow()
}

// loadSlow is load's first use of a zero Sync, apart so that load inlines.
func (s *Sync[K, V]) loadSlow() *syncState[K, V] {
	s.rebuild.Lock()
	defer s.rebuild.Unlock()
	if st := s.state.Load(); st != nil {
		return st
	}
	s.hash = defaultHasher[K](false)
	s.path = sipPath[K](false)
	s.str = isStringKey[K]()
	s.inline = inlineValue[V]()
	k0, k1 := newSeed()
	st := s.newState(k0, k1, shardCount(0), 0)
	s.state.Store(st)
	return st
}

// newState returns n empty shards, each sized for per entries.
func (s *Sync[K, V]) newState(k0, k1 uint64, n, per int) *syncState[K, V] {
	st := &syncState[K, V]{
		seed:   makeSeed(k0, k1),
		shift:  64 - uint(bits.Len(uint(n-1))),
		shards: make([]syncShard[K, V], n),
	}
	for i := range st.shards {
		st.shards[i].setTable(newSyncTable[K, V](syncGroupsFor(per)))
	}
	return st
}

// Get returns the value stored under key and whether it was present. It
// takes no lock.
func (s *Sync[K, V]) Get(key K) (V, bool) {
	if s == nil {
		var zero V
		return zero, false
	}
	st := s.state.Load() // load, inline
	if st == nil {
		st = s.loadSlow()
	}
	// hashKey, inline: the common paths call SipHash directly.
	var h uint64
	switch s.path {
	case pathString24:
		p := *(*string)(unsafe.Pointer(&key))
		if useSipVec {
			h = sipVec24(st.k0, st.k1, unsafe.StringData(p), len(p))
		} else {
			h = sip24(st.k0, st.k1, unsafe.StringData(p), len(p))
		}
	case pathString13:
		p := *(*string)(unsafe.Pointer(&key))
		if useSipVec {
			h = sipVec13(st.k0, st.k1, unsafe.StringData(p), len(p))
		} else {
			h = sip13(st.k0, st.k1, unsafe.StringData(p), len(p))
		}
	case pathUint24:
		h = HashUint64(st.k0, st.k1, *(*uint64)(unsafe.Pointer(&key)))
	case pathUint13:
		h = hashUint64_13(st.k0, st.k1, *(*uint64)(unsafe.Pointer(&key)))
	default:
		h = s.hash(st.k0, st.k1, key)
	}
	// find's common cases, inline, as in Map.Get: a hit on the first tag
	// match of the home group, compared without a call, and a miss that
	// ends in the home group.
	t := st.shards[h>>st.shift].tab.Load()
	p := (h >> 7) & t.mask
	c := t.ctrl[p].Load()
	if b := matchTag(c, h&0x7f); b != 0 {
		e := t.slots[p*groupSlots+uint64(b.first())].Load()
		if e != nil && (s.str && *(*[2]uintptr)(unsafe.Pointer(&e.key)) == *(*[2]uintptr)(unsafe.Pointer(&key)) || !s.str && e.key == key) {
			return s.value(e), true
		}
	} else if matchEmpty(c) != 0 {
		var zero V
		return zero, false
	}
	if e := t.find(h, key, s.str); e != nil {
		return s.value(e), true
	}
	var zero V
	return zero, false
}

// GetBytesSync is GetBytes for a Sync: Get for a key given as bytes, in a
// map whose key type's underlying type is string, without allocating. The
// map's hash function sees a key that aliases b and must not retain it.
func GetBytesSync[K ~string, V any](s *Sync[K, V], b []byte) (V, bool) {
	return s.Get(K(unsafe.String(unsafe.SliceData(b), len(b))))
}

// getEntry returns the current state, key's hash under its seed and key's
// entry, or nil. It takes no lock.
func (s *Sync[K, V]) getEntry(key K) (*syncState[K, V], uint64, *syncEntry[K, V]) {
	st := s.load()
	h := hashKey(s.path, s.hash, st.k0, st.k1, key)
	return st, h, st.shards[h>>st.shift].tab.Load().find(h, key, s.str)
}

// Put stores val under key, replacing any previous value. Replacing the
// value of a present key takes no lock (and allocates nothing when V is a
// number or a bool); inserting a key locks its shard.
func (s *Sync[K, V]) Put(key K, val V) {
	if s == nil {
		panic(errNilPutSync)
	}
	st, h, e := s.getEntry(key)
	if e != nil {
		s.set(e, val)
		return
	}
	if _, _, st, flood := s.store(st, h, key, val, true); flood {
		s.rebuildAll(st, true)
	}
}

// LoadOrStore returns the value stored under key and true if key is
// present; otherwise it stores val and returns val and false.
func (s *Sync[K, V]) LoadOrStore(key K, val V) (actual V, loaded bool) {
	st, h, e := s.getEntry(key)
	if e != nil {
		return s.value(e), true // the common case of a present key takes no lock
	}
	actual, loaded, st, flood := s.store(st, h, key, val, false)
	if flood {
		s.rebuildAll(st, true)
	}
	return actual, loaded
}

// store locks key's shard (st and h are the state and hash a lock-free
// lookup just used) and inserts key with val if absent. If key is present
// it replaces its value when replace is set, and returns the value it
// holds. It reports the state it worked on and whether the insertion found
// a flood that calls for a re-seed. The lock is released even if the hash
// function panics.
func (s *Sync[K, V]) store(st *syncState[K, V], h uint64, key K, val V, replace bool) (actual V, loaded bool, _ *syncState[K, V], flood bool) {
	st, sh, h := s.lock(st, h, key)
	defer sh.mu.Unlock()
	if e := sh.tab.Load().find(h, key, s.str); e != nil {
		if replace {
			s.set(e, val)
			return val, true, st, false
		}
		return s.value(e), true, st, false
	}
	return val, false, st, s.insert(st, sh, h, s.newEntry(key, val))
}

// lock locks key's shard, given the state st and hash h computed for key
// a moment ago. If a rebuild retired the shard in between, it starts over
// on the current state, hashing key again.
func (s *Sync[K, V]) lock(st *syncState[K, V], h uint64, key K) (*syncState[K, V], *syncShard[K, V], uint64) {
	for {
		sh := &st.shards[h>>st.shift]
		sh.mu.Lock()
		if !sh.retired {
			return st, sh, h
		}
		sh.mu.Unlock()
		st = s.load()
		h = hashKey(s.path, s.hash, st.k0, st.k1, key)
	}
}

// Delete removes key and reports whether it was present; on a nil *Sync it
// does nothing and reports false.
func (s *Sync[K, V]) Delete(key K) bool {
	if s == nil {
		return false // as delete does on a nil builtin map
	}
	st, h, e := s.getEntry(key)
	if e == nil {
		return false // absent keys take no lock
	}
	_, sh, h := s.lock(st, h, key)
	defer sh.mu.Unlock()
	t := sh.tab.Load()
	p, j, dist, e := t.lookup(h, key)
	if e == nil {
		return false // deleted by another writer before we took the lock
	}
	// A group with an empty slot never made a probe move on, so its freed
	// slot can be empty again; otherwise it stays a tombstone. Control
	// byte first: readers that still see the tag find the old entry or
	// nil, both correct.
	c := t.ctrl[p].Load()
	if matchEmpty(c) != 0 {
		t.ctrl[p].Store(setCtrl(c, j, ctrlEmpty))
		sh.growthLeft++
	} else {
		t.ctrl[p].Store(setCtrl(c, j, ctrlDeleted))
		sh.deleted++
	}
	t.slots[p*groupSlots+uint64(j)].Store(nil)
	sh.used--
	sh.probeSum -= dist
	return true
}

// Len returns the number of entries (0 for a nil *Sync). Under concurrent
// writes it is a sum of per-shard counts taken one shard at a time.
func (s *Sync[K, V]) Len() int {
	if s == nil {
		return 0
	}
	n := 0
	st := s.load()
	for i := range st.shards {
		sh := &st.shards[i]
		sh.mu.Lock()
		n += sh.used
		sh.mu.Unlock()
	}
	return n
}

// Range calls f for each entry until f returns false. It goes through the
// shards of the map as it was when Range began: it copies one shard's
// entries under that shard's lock and calls f with no lock held, so f may
// use the map. No key is produced twice, and a key present for the whole
// call is produced once; a key stored or deleted concurrently (also by f)
// may be produced with any value it had during the call, or not at all.
func (s *Sync[K, V]) Range(f func(key K, val V) bool) {
	if s == nil {
		return
	}
	st := s.load()
	var buf []*syncEntry[K, V]
	for i := range st.shards {
		sh := &st.shards[i]
		sh.mu.Lock()
		buf = sh.tab.Load().appendEntries(buf[:0])
		sh.mu.Unlock()
		for _, e := range buf {
			if !f(e.key, s.value(e)) {
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

// Stats returns the statistics of all shards combined, each shard read
// under its own lock. Each shard is one table.
func (s *Sync[K, V]) Stats() Stats {
	if s == nil {
		return Stats{}
	}
	out := Stats{Reseeds: s.reseeds.Load(), FixedSeed: s.fixed}
	probes := 0
	st := s.load()
	for i := range st.shards {
		sh := &st.shards[i]
		sh.mu.Lock()
		out.Len += sh.used
		out.Capacity += len(sh.tab.Load().slots)
		out.Tables++
		out.Tombstones += sh.deleted
		out.MaxProbe = max(out.MaxProbe, sh.maxProbe)
		probes += sh.probeSum
		sh.mu.Unlock()
	}
	if out.Len > 0 {
		out.MeanProbe = 1 + float64(probes)/float64(out.Len)
	}
	return out
}
