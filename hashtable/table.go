package hashtable

import "unsafe"

// Table geometry. A table never grows past maxTableGroups by doubling; a
// full table of that size splits in two instead (see doc.go), so one growth
// step rehashes at most maxTableGroups*groupSlots entries.
const (
	maxTableGroups = 128
	maxTableSlots  = maxTableGroups * groupSlots
	maxTableLimit  = maxTableSlots * 7 / 8
)

// Flood detection thresholds. Under a random hash at load at most 7/8 an
// insertion probes more than floodProbe groups past its home group rarely,
// and the mean displacement of a table's entries stays well below a third
// of a group; floodMean entries' worth of displacement per entry plus
// floodSlack is far outside what a random hash produces.
const (
	floodProbe = 4
	floodMean  = 2
	floodSlack = 64
)

type slot[K comparable, V any] struct {
	key K
	val V
}

// table is one open-addressing Swiss table: a power of two of groups of
// eight slots. The control words of all groups form one dense array apart
// from the slots (as in Abseil's layout, not Go's builtin map, which puts
// each control word beside its slots): eight bytes per eight slots, so the
// control words of a million-entry map fit in the processor's cache and a
// lookup of an absent key, or an insertion, rarely waits for memory.
type table[K comparable, V any] struct {
	ctrl  []uint64     // one control word per group
	slots []slot[K, V] // groupSlots per group: group g owns slots[8g:8g+8]
	mask  uint64       // len(ctrl) - 1

	used       int // full slots
	deleted    int // tombstones
	growthLeft int // empty slots that may still be filled before a rehash

	probeSum int // sum over entries of groups probed past the home group
	maxProbe int // longest such probe since the table was built

	localDepth uint8  // top hash bits shared by the table's keys
	prefix     uint64 // the value of those bits
	gen        uint32 // bumped when groups are abandoned or the table is retired
	sideShift  uint8  // side bits are hash bits 63-sideShift down to 57-sideShift

	// nil, or per slot: the sideBits of its key's hash, with sideAway if
	// it is not in its home group. Last, to keep the fields lookups read
	// together at the start.
	side []uint8
}

func growthLimit(groups int) int { return groups * groupSlots * 7 / 8 }

// Side bytes. A split must know one more hash bit of every entry, and
// where its home group is; rehashing every entry with SipHash for that
// costs more than the rest of the split. So each slot keeps, in a byte
// apart from the slots, the 7 hash bits that follow the directory bits at
// depth sideShift (the bits the next 7 splits of the table use), and
// sideAway when the entry sits past its home group. A split reads the bit
// it needs there and moves entries that sit in their home group without
// hashing them; it hashes only displaced entries, and every entry once the
// 7 bits are used up.
//
// Tables made by splits keep side bytes, and so does a map's single table
// (which doubles by rehashing, so the bytes only serve its first split).
// The tables of a map laid out for many entries up front (WithCapacity,
// Compact, re-seeding) do not: their insertions skip the side store, which
// costs a cache miss per insertion at a million entries, and their first
// split hashes every entry.
const sideAway = 0x80

// sideBits returns the side byte of hash h in a table with the given
// sideShift, for an entry in its home group.
func sideBits(h uint64, shift uint8) uint8 { return uint8((h << shift) >> 57) }

func newTable[K comparable, V any](groups int, depth uint8, prefix uint64, sideShift uint8, side bool) *table[K, V] {
	t := &table[K, V]{localDepth: depth, prefix: prefix, sideShift: sideShift}
	t.alloc(groups, side)
	return t
}

// alloc gives t a fresh, empty array of the given number of groups.
func (t *table[K, V]) alloc(groups int, side bool) {
	t.ctrl = make([]uint64, groups)
	for i := range t.ctrl {
		t.ctrl[i] = allEmpty
	}
	t.slots = make([]slot[K, V], groups*groupSlots)
	t.side = nil
	if side {
		// One byte more than needed puts side arrays in a larger size
		// class than the control words of the same table, so that these
		// stay packed on as few pages as before.
		t.side = make([]uint8, groups*groupSlots, groups*groupSlots+1)
	}
	t.mask = uint64(groups - 1)
	t.used, t.deleted = 0, 0
	t.growthLeft = growthLimit(groups)
	t.probeSum, t.maxProbe = 0, 0
}

// insertNew places an entry known to be absent into a table known to have
// room, during rebuilds. It returns nothing: the table's counters are
// updated in place.
func (t *table[K, V]) insertNew(h uint64, key K, val V) {
	t.place((h>>7)&t.mask, uint8(h&0x7f), sideBits(h, t.sideShift), key, val)
}

// place is insertNew for an entry whose home group, tag and side bits are
// known.
func (t *table[K, V]) place(p uint64, tag, side uint8, key K, val V) {
	for i := uint64(1); ; i++ {
		c := &t.ctrl[p]
		if b := matchEmptyOrDeleted(*c); b != 0 {
			j := b.first()
			wasEmpty := ctrlAt(*c, j) == ctrlEmpty
			*c = setCtrl(*c, j, tag)
			k := p*groupSlots + uint64(j)
			t.slots[k] = slot[K, V]{key, val}
			if t.side != nil {
				if i > 1 {
					side |= sideAway
				}
				t.side[k] = side
			}
			if wasEmpty {
				t.growthLeft--
			} else {
				t.deleted--
			}
			t.used++
			d := int(i - 1)
			t.probeSum += d
			t.maxProbe = max(t.maxProbe, d)
			return
		}
		p = (p + i) & t.mask
	}
}

// clear empties t in place, keeping its arrays.
func (t *table[K, V]) clear() {
	clear(t.slots)
	for i := range t.ctrl {
		t.ctrl[i] = allEmpty
	}
	t.used, t.deleted = 0, 0
	t.growthLeft = growthLimit(len(t.ctrl))
	t.probeSum, t.maxProbe = 0, 0
}

// dropTombstones rehashes t within its own arrays, turning every tombstone
// back into an empty slot. Each entry moves to the first free slot of its
// probe sequence; an entry not yet placed is marked ctrlDeleted during the
// pass, so a displaced entry swaps into its target and the pass continues
// with the one it displaced.
func (t *table[K, V]) dropTombstones(hash func(K) uint64) {
	for i := range t.ctrl {
		t.ctrl[i] = markForRehash(t.ctrl[i])
	}
	t.probeSum, t.maxProbe = 0, 0
	for g := range t.ctrl {
		for s := uintptr(0); s < groupSlots; s++ {
			if ctrlAt(t.ctrl[g], s) != ctrlDeleted {
				continue
			}
			src := &t.slots[g*groupSlots+int(s)]
			for {
				h := hash(src.key)
				tag := uint8(h & 0x7f)
				p := (h >> 7) & t.mask
				d := uint64(0)
				var b bitset
				for {
					if b = matchEmptyOrDeleted(t.ctrl[p]); b != 0 {
						break
					}
					d++
					p = (p + d) & t.mask
				}
				t.probeSum += int(d)
				t.maxProbe = max(t.maxProbe, int(d))
				sd := sideBits(h, t.sideShift)
				if d > 0 {
					sd |= sideAway
				}
				if p == uint64(g) {
					// The entry's first free slot is in its own group: stay.
					t.ctrl[g] = setCtrl(t.ctrl[g], s, tag)
					if t.side != nil {
						t.side[g*groupSlots+int(s)] = sd
					}
					break
				}
				j := b.first()
				dst := &t.slots[p*groupSlots+uint64(j)]
				if t.side != nil {
					t.side[p*groupSlots+uint64(j)] = sd
				}
				if ctrlAt(t.ctrl[p], j) == ctrlEmpty {
					*dst = *src
					*src = slot[K, V]{}
					t.ctrl[p] = setCtrl(t.ctrl[p], j, tag)
					t.ctrl[g] = setCtrl(t.ctrl[g], s, ctrlEmpty)
					break
				}
				// The target holds an entry still waiting to be placed:
				// swap and place the one that now sits here.
				*dst, *src = *src, *dst
				t.ctrl[p] = setCtrl(t.ctrl[p], j, tag)
			}
		}
	}
	t.deleted = 0
	t.growthLeft = growthLimit(len(t.ctrl)) - t.used
}

// hotTable is what a lookup reads of a table, kept in an array beside the
// directory so that a lookup goes from the directory straight to the
// control word, without first loading the table (in a large map, the
// table structs are themselves a cache miss away).
type hotTable[K comparable, V any] struct {
	ctrl  *uint64     // &t.ctrl[0]
	slots *slot[K, V] // &t.slots[0]
	mask  uint64
}

func hotOf[K comparable, V any](t *table[K, V]) hotTable[K, V] {
	return hotTable[K, V]{&t.ctrl[0], &t.slots[0], t.mask}
}

// ctrlAt returns the control word of group p <= mask.
func (h *hotTable[K, V]) ctrlAt(p uint64) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(h.ctrl), p*8))
}

// slot returns slot i < (mask+1)*groupSlots.
func (h *hotTable[K, V]) slot(i uint64) *slot[K, V] {
	return (*slot[K, V])(unsafe.Add(unsafe.Pointer(h.slots), uintptr(i)*unsafe.Sizeof(slot[K, V]{})))
}
