package hashtable

import (
	"iter"
	"math"
	"math/bits"
	"reflect"
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
// must not be copied after first use.
type Sync[K comparable, V any] struct {
	hash     func(k0, k1 uint64, key K) uint64
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
	k0, k1 uint64
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

// syncTable is a Swiss table whose control words and slots may be read
// while a writer (holding the shard's lock) changes them.
type syncTable[K comparable, V any] struct {
	ctrl  []atomic.Uint64
	slots []atomic.Pointer[syncEntry[K, V]]
	mask  uint64
}

// syncEntry is a key and its current value. The key never changes; the
// value is replaced atomically, without a lock: in word, as its bits, when
// V is a small type without pointers (see inlineValue), else in box, which
// points to an immutable copy.
type syncEntry[K comparable, V any] struct {
	key  K
	word atomic.Uint64
	box  atomic.Pointer[V]
}

// syncEntryBox allocates an entry together with the first value its box
// points to: one allocation per insertion.
type syncEntryBox[K comparable, V any] struct {
	e syncEntry[K, V]
	v V
}

// inlineValue reports whether V fits in a syncEntry's word: at most 8
// bytes and no pointers.
func inlineValue[V any]() bool {
	switch reflect.TypeFor[V]().Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64:
		return true
	}
	return false
}

// newEntry returns an entry holding key and val, not yet published.
func (s *Sync[K, V]) newEntry(key K, val V) *syncEntry[K, V] {
	if s.inline {
		e := &syncEntry[K, V]{key: key}
		e.word.Store(wordOf(val))
		return e
	}
	b := &syncEntryBox[K, V]{e: syncEntry[K, V]{key: key}, v: val}
	b.e.box.Store(&b.v)
	return &b.e
}

// value returns e's current value.
func (s *Sync[K, V]) value(e *syncEntry[K, V]) V {
	if s.inline {
		w := e.word.Load()
		return *(*V)(unsafe.Pointer(&w))
	}
	return *e.box.Load()
}

// set replaces e's value with val.
func (s *Sync[K, V]) set(e *syncEntry[K, V], val V) {
	if s.inline {
		e.word.Store(wordOf(val))
		return
	}
	e.box.Store(&val)
}

// wordOf returns the bits of a value that inlineValue accepts.
func wordOf[V any](v V) uint64 {
	var w uint64
	*(*V)(unsafe.Pointer(&w)) = v
	return w
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
	n := shardCount(c.shards)
	s := &Sync[K, V]{
		hash:     hash,
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
	s.rebuild.Lock()
	defer s.rebuild.Unlock()
	if st := s.state.Load(); st != nil {
		return st
	}
	s.hash = defaultHasher[K]()
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
		k0: k0, k1: k1,
		shift:  64 - uint(bits.Len(uint(n-1))),
		shards: make([]syncShard[K, V], n),
	}
	for i := range st.shards {
		st.shards[i].setTable(newSyncTable[K, V](syncGroupsFor(per)))
	}
	return st
}

// syncGroupsFor returns the groups a shard table needs for n entries.
func syncGroupsFor(n int) int {
	g := (n + 6) / 7
	if g <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(g-1))
}

func newSyncTable[K comparable, V any](groups int) *syncTable[K, V] {
	t := &syncTable[K, V]{
		ctrl:  make([]atomic.Uint64, groups),
		slots: make([]atomic.Pointer[syncEntry[K, V]], groups*groupSlots),
		mask:  uint64(groups - 1),
	}
	for i := range t.ctrl {
		t.ctrl[i].Store(allEmpty)
	}
	return t
}

// setTable makes t, not yet published, the shard's table, and resets the
// counters for it. The caller holds mu or owns the shard alone.
func (sh *syncShard[K, V]) setTable(t *syncTable[K, V]) {
	sh.used, sh.deleted, sh.probeSum, sh.maxProbe = 0, 0, 0, 0
	sh.growthLeft = growthLimit(len(t.ctrl))
	sh.tab.Store(t)
}

// find returns the entry stored under key in t, or nil. It is safe to call
// while a writer changes t: a key present for the whole call is found, and
// the probe ends because a group that has no empty slot never gets one back
// while the table is current (see doc.go).
func (t *syncTable[K, V]) find(h uint64, key K) *syncEntry[K, V] {
	_, e := t.lookup(h, key)
	return e
}

// lookup returns key's slot and entry, or nil and nil.
func (t *syncTable[K, V]) lookup(h uint64, key K) (*atomic.Pointer[syncEntry[K, V]], *syncEntry[K, V]) {
	tag := h & 0x7f
	p := (h >> 7) & t.mask
	for i := uint64(1); ; i++ {
		c := t.ctrl[p].Load()
		for b := matchTag(c, tag); b != 0; b = b.rest() {
			sl := &t.slots[p*groupSlots+uint64(b.first())]
			if e := sl.Load(); e != nil && e.key == key {
				return sl, e
			}
		}
		if matchEmpty(c) != 0 {
			return nil, nil
		}
		p = (p + i) & t.mask
	}
}

// Get returns the value stored under key and whether it was present. It
// takes no lock.
func (s *Sync[K, V]) Get(key K) (V, bool) {
	st := s.load()
	h := s.hash(st.k0, st.k1, key)
	if e := st.shards[h>>st.shift].tab.Load().find(h, key); e != nil {
		return s.value(e), true
	}
	var zero V
	return zero, false
}

// GetBytes is Get for a key given as bytes, for string-like key types; it
// does not allocate. For other key types it reports false. The map's hash
// function sees a key that aliases b and must not retain it.
func (s *Sync[K, V]) GetBytes(b []byte) (V, bool) {
	if s.load(); !s.str { // s.str is set before the first state is published
		var zero V
		return zero, false
	}
	str := unsafe.String(unsafe.SliceData(b), len(b))
	return s.Get(*(*K)(unsafe.Pointer(&str)))
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
		h = s.hash(st.k0, st.k1, key)
	}
}

// Put stores val under key, replacing any previous value. Replacing the
// value of a present key takes no lock (and allocates nothing when V is a
// number or a bool); inserting a key locks its shard.
func (s *Sync[K, V]) Put(key K, val V) {
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
	if e := sh.tab.Load().find(h, key); e != nil {
		if replace {
			s.set(e, val)
			return val, true, st, false
		}
		return s.value(e), true, st, false
	}
	return val, false, st, s.insert(st, sh, h, s.newEntry(key, val))
}

// getEntry returns the current state, key's hash under its seed and key's
// entry, or nil. It takes no lock.
func (s *Sync[K, V]) getEntry(key K) (*syncState[K, V], uint64, *syncEntry[K, V]) {
	st := s.load()
	h := s.hash(st.k0, st.k1, key)
	return st, h, st.shards[h>>st.shift].tab.Load().find(h, key)
}

// insert adds e, whose key is absent, to the shard, growing its table
// first if it is full. It reports whether the probe lengths show a flood
// that calls for a re-seed. The caller holds the shard's lock.
func (s *Sync[K, V]) insert(st *syncState[K, V], sh *syncShard[K, V], h uint64, e *syncEntry[K, V]) bool {
	for {
		t := sh.tab.Load()
		tag := h & 0x7f
		p := (h >> 7) & t.mask
		var c uint64
		var b bitset
		d := 0
		for i := uint64(1); ; i++ {
			c = t.ctrl[p].Load()
			if b = matchEmptyOrDeleted(c); b != 0 {
				break
			}
			d++
			p = (p + i) & t.mask
		}
		j := b.first()
		if ctrlAt(c, j) == ctrlEmpty {
			if sh.growthLeft == 0 {
				s.grow(st, sh)
				continue
			}
			sh.growthLeft--
		} else {
			sh.deleted--
		}
		// Slot first, then the control byte that makes readers look at it.
		t.slots[p*groupSlots+uint64(j)].Store(e)
		t.ctrl[p].Store(setCtrl(c, j, uint8(tag)))
		sh.used++
		sh.probeSum += d
		sh.maxProbe = max(sh.maxProbe, d)
		if d > floodProbe && sh.probeSum > floodMean*sh.used+floodSlack && !s.fixed && sh.used >= sh.reseedFloor {
			sh.reseedFloor = 2 * sh.used
			return true
		}
		return false
	}
}

// grow publishes a new table for the shard: the same size without
// tombstones when they are a good share of the load limit, else twice the
// size. The old table is left as it was for readers still probing it.
func (s *Sync[K, V]) grow(st *syncState[K, V], sh *syncShard[K, V]) {
	old := sh.tab.Load()
	groups := len(old.ctrl)
	if sh.deleted == 0 || sh.used > growthLimit(groups)*3/4 {
		groups *= 2
	}
	s.fill(st, sh, newSyncTable[K, V](groups), old.appendEntries(nil))
}

// fill places entries, whose keys are distinct, into the empty table t not
// yet published, then publishes it as the shard's table.
func (s *Sync[K, V]) fill(st *syncState[K, V], sh *syncShard[K, V], t *syncTable[K, V], entries []*syncEntry[K, V]) {
	used, probeSum, maxProbe := 0, 0, 0
	for _, e := range entries {
		h := s.hash(st.k0, st.k1, e.key)
		p := (h >> 7) & t.mask
		d := 0
		for i := uint64(1); ; i++ {
			c := t.ctrl[p].Load()
			if b := matchEmpty(c); b != 0 {
				j := b.first()
				t.slots[p*groupSlots+uint64(j)].Store(e)
				t.ctrl[p].Store(setCtrl(c, j, uint8(h&0x7f)))
				break
			}
			d++
			p = (p + i) & t.mask
		}
		used++
		probeSum += d
		maxProbe = max(maxProbe, d)
	}
	sh.setTable(t)
	sh.used, sh.probeSum, sh.maxProbe = used, probeSum, maxProbe
	sh.growthLeft -= used
}

// appendEntries appends the table's entries to buf.
func (t *syncTable[K, V]) appendEntries(buf []*syncEntry[K, V]) []*syncEntry[K, V] {
	for g := range t.ctrl {
		for b := matchFull(t.ctrl[g].Load()); b != 0; b = b.rest() {
			if e := t.slots[g*groupSlots+int(b.first())].Load(); e != nil {
				buf = append(buf, e)
			}
		}
	}
	return buf
}

// Delete removes key and reports whether it was present.
func (s *Sync[K, V]) Delete(key K) bool {
	st, h, e := s.getEntry(key)
	if e == nil {
		return false // absent keys take no lock
	}
	_, sh, h := s.lock(st, h, key)
	defer sh.mu.Unlock()
	t := sh.tab.Load()
	tag := h & 0x7f
	p := (h >> 7) & t.mask
	for i := uint64(1); ; i++ {
		c := t.ctrl[p].Load()
		for b := matchTag(c, tag); b != 0; b = b.rest() {
			j := b.first()
			sl := &t.slots[p*groupSlots+uint64(j)]
			if e := sl.Load(); e == nil || e.key != key {
				continue
			}
			// A group with an empty slot never made a probe move on, so
			// its freed slot can be empty again; otherwise it stays a
			// tombstone. Control byte first: readers that still see the
			// tag find the old entry or nil, both correct.
			if matchEmpty(c) != 0 {
				t.ctrl[p].Store(setCtrl(c, j, ctrlEmpty))
				sh.growthLeft++
			} else {
				t.ctrl[p].Store(setCtrl(c, j, ctrlDeleted))
				sh.deleted++
			}
			sl.Store(nil)
			sh.used--
			sh.probeSum -= int(i - 1)
			return true
		}
		if matchEmpty(c) != 0 {
			return false
		}
		p = (p + i) & t.mask
	}
}

// Len returns the number of entries. Under concurrent writes it is a sum
// of per-shard counts taken one shard at a time.
func (s *Sync[K, V]) Len() int {
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

// Clear removes every entry and draws a new seed unless it is fixed.
func (s *Sync[K, V]) Clear() {
	s.load()
	s.rebuild.Lock()
	defer s.rebuild.Unlock()
	old := s.state.Load()
	retire(old)
	k0, k1 := old.k0, old.k1
	if !s.fixed {
		k0, k1 = newSeed()
	}
	s.state.Store(s.newState(k0, k1, len(old.shards), s.shardCap))
	s.reseedFloor = 0
	unlockAll(old)
}

// Compact rebuilds every shard at the smallest size that holds its entries
// (but not below the WithCapacity hint) and re-seeds unless the seed is
// fixed.
func (s *Sync[K, V]) Compact() {
	s.rebuildAll(nil, false)
}

// rebuildAll rehashes every entry into fresh shards under a new seed (the
// same one if it is fixed) and publishes them. With old set it is a flood
// response and does nothing if another rebuild already replaced old.
func (s *Sync[K, V]) rebuildAll(old *syncState[K, V], flood bool) {
	s.load()
	s.rebuild.Lock()
	defer s.rebuild.Unlock()
	cur := s.state.Load()
	if old != nil && cur != old {
		return
	}
	lockAll(cur)
	defer unlockAll(cur)
	total := 0
	for i := range cur.shards {
		total += cur.shards[i].used
	}
	if flood {
		// One re-seed per doubling of the whole map, as for Map: shards
		// signal floods one by one, and a hash that ignores the seed must
		// not buy a full rebuild per shard.
		if total < s.reseedFloor {
			return
		}
		s.reseedFloor = 2 * total
	}
	entries := make([]*syncEntry[K, V], 0, total)
	for i := range cur.shards {
		entries = cur.shards[i].tab.Load().appendEntries(entries)
	}
	k0, k1 := cur.k0, cur.k1
	if !s.fixed {
		k0, k1 = newSeed()
	}
	// Bucket the entries by their new shard, then build each shard's
	// table at the size its share needs.
	n := len(cur.shards)
	shift := 64 - uint(bits.Len(uint(n-1)))
	parts := make([][]*syncEntry[K, V], n)
	for _, e := range entries {
		i := s.hash(k0, k1, e.key) >> shift
		parts[i] = append(parts[i], e)
	}
	st := &syncState[K, V]{k0: k0, k1: k1, shift: shift, shards: make([]syncShard[K, V], n)}
	for i := range st.shards {
		sh := &st.shards[i]
		s.fill(st, sh, newSyncTable[K, V](syncGroupsFor(max(len(parts[i]), s.shardCap))), parts[i])
		sh.reseedFloor = 2 * sh.used
	}
	// Only now, with the new state complete (a hash that panicked above
	// left the old one in place), retire the old shards and publish.
	for i := range cur.shards {
		cur.shards[i].retired = true
	}
	s.state.Store(st)
	if flood && !s.fixed {
		s.reseeds.Add(1)
	}
}

// retire locks every shard of st and marks it retired, so that writers
// that reach it afterwards start over on the state that replaces it.
func retire[K comparable, V any](st *syncState[K, V]) {
	lockAll(st)
	for i := range st.shards {
		st.shards[i].retired = true
	}
}

func lockAll[K comparable, V any](st *syncState[K, V]) {
	for i := range st.shards {
		st.shards[i].mu.Lock()
	}
}

func unlockAll[K comparable, V any](st *syncState[K, V]) {
	for i := range st.shards {
		st.shards[i].mu.Unlock()
	}
}

// Stats returns the statistics of all shards combined, each shard read
// under its own lock. Each shard is one table.
func (s *Sync[K, V]) Stats() Stats {
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
