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

// group is eight slots and the control word that tags them, together in
// memory (the layout of Go's builtin map): a lookup that finds its tag in
// the control word usually finds the slot on the same or the next cache
// line, which the processor fetches with it.
type group[K comparable, V any] struct {
	ctrl  uint64
	slots [groupSlots]slot[K, V]
}

// table is one open-addressing Swiss table: a power of two of groups of
// eight slots. Slot k of the table is slot k%8 of group k/8.
type table[K comparable, V any] struct {
	groups []group[K, V]
	mask   uint64 // len(groups) - 1

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
	t.groups = make([]group[K, V], groups)
	for i := range t.groups {
		t.groups[i].ctrl = allEmpty
	}
	t.side = nil
	if side {
		t.side = make([]uint8, groups*groupSlots)
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
		if i > t.mask+1 {
			// Every group is full, which only a concurrent write does.
			panic(errConcurrentWrites)
		}
		gr := &t.groups[p]
		if b := matchEmptyOrDeleted(gr.ctrl); b != 0 {
			j := b.first()
			wasEmpty := ctrlAt(gr.ctrl, j) == ctrlEmpty
			gr.ctrl = setCtrl(gr.ctrl, j, tag)
			gr.slots[j] = slot[K, V]{key, val}
			k := p*groupSlots + uint64(j)
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
	clear(t.groups)
	for i := range t.groups {
		t.groups[i].ctrl = allEmpty
	}
	t.used, t.deleted = 0, 0
	t.growthLeft = growthLimit(len(t.groups))
	t.probeSum, t.maxProbe = 0, 0
}

// dropTombstones rehashes t within its own arrays, turning every tombstone
// back into an empty slot. Each entry moves to the first free slot of its
// probe sequence; an entry not yet placed is marked ctrlDeleted during the
// pass, so a displaced entry swaps into its target and the pass continues
// with the one it displaced.
func (t *table[K, V]) dropTombstones(hash func(K) uint64) {
	for i := range t.groups {
		t.groups[i].ctrl = markForRehash(t.groups[i].ctrl)
	}
	t.probeSum, t.maxProbe = 0, 0
	for g := range t.groups {
		home := &t.groups[g]
		for s := uintptr(0); s < groupSlots; s++ {
			if ctrlAt(home.ctrl, s) != ctrlDeleted {
				continue
			}
			src := &home.slots[s]
			for {
				h := hash(src.key)
				tag := uint8(h & 0x7f)
				p := (h >> 7) & t.mask
				d := uint64(0)
				var b bitset
				for {
					if b = matchEmptyOrDeleted(t.groups[p].ctrl); b != 0 {
						break
					}
					if d > t.mask {
						panic(errConcurrentWrites) // as in place
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
					home.ctrl = setCtrl(home.ctrl, s, tag)
					if t.side != nil {
						t.side[g*groupSlots+int(s)] = sd
					}
					break
				}
				j := b.first()
				dg := &t.groups[p]
				dst := &dg.slots[j]
				if t.side != nil {
					t.side[p*groupSlots+uint64(j)] = sd
				}
				if ctrlAt(dg.ctrl, j) == ctrlEmpty {
					*dst = *src
					*src = slot[K, V]{}
					dg.ctrl = setCtrl(dg.ctrl, j, tag)
					home.ctrl = setCtrl(home.ctrl, s, ctrlEmpty)
					break
				}
				// The target holds an entry still waiting to be placed:
				// swap and place the one that now sits here.
				*dst, *src = *src, *dst
				dg.ctrl = setCtrl(dg.ctrl, j, tag)
			}
		}
	}
	t.deleted = 0
	t.growthLeft = growthLimit(len(t.groups)) - t.used
}

// hotTable is what a lookup reads of a table, kept in an array beside the
// directory so that a lookup goes from the directory straight to the
// group, without first loading the table (in a large map, the table
// structs are themselves a cache miss away).
type hotTable[K comparable, V any] struct {
	groups *group[K, V] // &t.groups[0]
	mask   uint64
}

func hotOf[K comparable, V any](t *table[K, V]) hotTable[K, V] {
	return hotTable[K, V]{&t.groups[0], t.mask}
}

// group returns group p <= mask.
func (h *hotTable[K, V]) group(p uint64) *group[K, V] {
	return (*group[K, V])(unsafe.Add(unsafe.Pointer(h.groups), uintptr(p)*unsafe.Sizeof(group[K, V]{})))
}
