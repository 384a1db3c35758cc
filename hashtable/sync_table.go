package hashtable

import (
	"math/bits"
	"sync/atomic"
	"unsafe"
)

// syncTable is a Swiss table whose control words and slots may be read
// while a writer (holding the shard's lock) changes them.
type syncTable[K comparable, V any] struct {
	ctrl  []atomic.Uint64
	slots []atomic.Pointer[syncEntry[K, V]]
	mask  uint64
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
//
// It is lookup without the position: the lock-free read path, kept short.
// A string key whose length and data pointer equal the entry's is equal
// without comparing bytes (str says K is a string type).
func (t *syncTable[K, V]) find(h uint64, key K, str bool) *syncEntry[K, V] {
	tag := h & 0x7f
	p := (h >> 7) & t.mask
	for i := uint64(1); ; i++ {
		c := t.ctrl[p].Load()
		for b := matchTag(c, tag); b != 0; b = b.rest() {
			e := t.slots[p*groupSlots+uint64(b.first())].Load()
			if e != nil && (str && *(*[2]uintptr)(unsafe.Pointer(&e.key)) == *(*[2]uintptr)(unsafe.Pointer(&key)) || e.key == key) {
				return e
			}
		}
		if matchEmpty(c) != 0 {
			return nil
		}
		p = (p + i) & t.mask
	}
}

// lookup returns the group p and slot j that hold key's entry e, and how
// many groups past key's home group p is; e is nil if key is absent.
func (t *syncTable[K, V]) lookup(h uint64, key K) (p uint64, j uintptr, dist int, e *syncEntry[K, V]) {
	tag := h & 0x7f
	p = (h >> 7) & t.mask
	for i := uint64(1); ; i++ {
		c := t.ctrl[p].Load()
		for b := matchTag(c, tag); b != 0; b = b.rest() {
			j = b.first()
			if e = t.slots[p*groupSlots+uint64(j)].Load(); e != nil && e.key == key {
				return p, j, int(i - 1), e
			}
		}
		if matchEmpty(c) != 0 {
			return 0, 0, 0, nil
		}
		p = (p + i) & t.mask
	}
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
		h := hashKey(s.path, s.hash, st.k0, st.k1, e.key)
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
