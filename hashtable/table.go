package hashtable

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

// table is one open-addressing Swiss table: len(ctrls) groups of eight
// slots, one control word per group.
type table[K comparable, V any] struct {
	ctrls []uint64
	slots []slot[K, V]
	mask  uint64 // len(ctrls) - 1

	used       int // full slots
	deleted    int // tombstones
	growthLeft int // empty slots that may still be filled before a rehash

	probeSum int // sum over entries of groups probed past the home group
	maxProbe int // longest such probe since the table was built

	localDepth uint8  // hash bits (below the skipped ones) shared by the table's keys
	prefix     uint64 // the value of those bits
	gen        uint32 // bumped when ctrls/slots are abandoned or the table is retired
}

func growthLimit(groups int) int { return groups * groupSlots * 7 / 8 }

func newTable[K comparable, V any](groups int, depth uint8, prefix uint64) *table[K, V] {
	t := &table[K, V]{localDepth: depth, prefix: prefix}
	t.alloc(groups)
	return t
}

// alloc gives t fresh, empty arrays of the given number of groups.
func (t *table[K, V]) alloc(groups int) {
	t.ctrls = make([]uint64, groups)
	for i := range t.ctrls {
		t.ctrls[i] = allEmpty
	}
	t.slots = make([]slot[K, V], groups*groupSlots)
	t.mask = uint64(groups - 1)
	t.used, t.deleted = 0, 0
	t.growthLeft = growthLimit(groups)
	t.probeSum, t.maxProbe = 0, 0
}

// insertNew places an entry known to be absent into a table known to have
// room, during rebuilds. It returns nothing: the table's counters are
// updated in place.
func (t *table[K, V]) insertNew(h uint64, key K, val V) {
	p := (h >> 7) & t.mask
	for i := uint64(1); ; i++ {
		if b := matchEmptyOrDeleted(t.ctrls[p]); b != 0 {
			j := b.first()
			wasEmpty := ctrlAt(t.ctrls[p], j) == ctrlEmpty
			t.ctrls[p] = setCtrl(t.ctrls[p], j, uint8(h&0x7f))
			t.slots[p*groupSlots+uint64(j)] = slot[K, V]{key, val}
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
	for i := range t.ctrls {
		t.ctrls[i] = allEmpty
	}
	clear(t.slots)
	t.used, t.deleted = 0, 0
	t.growthLeft = growthLimit(len(t.ctrls))
	t.probeSum, t.maxProbe = 0, 0
}

// dropTombstones rehashes t within its own arrays, turning every tombstone
// back into an empty slot. Each entry moves to the first free slot of its
// probe sequence; an entry not yet placed is marked ctrlDeleted during the
// pass, so a displaced entry swaps into its target and the pass continues
// with the one it displaced.
func (t *table[K, V]) dropTombstones(hash func(K) uint64) {
	for i := range t.ctrls {
		t.ctrls[i] = markForRehash(t.ctrls[i])
	}
	t.probeSum, t.maxProbe = 0, 0
	n := uint64(len(t.slots))
	for i := uint64(0); i < n; i++ {
		g, s := i/groupSlots, uintptr(i%groupSlots)
		if ctrlAt(t.ctrls[g], s) != ctrlDeleted {
			continue
		}
		for {
			h := hash(t.slots[i].key)
			tag := uint8(h & 0x7f)
			p := (h >> 7) & t.mask
			d := uint64(0)
			var b bitset
			for {
				if b = matchEmptyOrDeleted(t.ctrls[p]); b != 0 {
					break
				}
				d++
				p = (p + d) & t.mask
			}
			t.probeSum += int(d)
			t.maxProbe = max(t.maxProbe, int(d))
			if p == g {
				// The entry's first free slot is in its own group: stay.
				t.ctrls[g] = setCtrl(t.ctrls[g], s, tag)
				break
			}
			j := b.first()
			target := p*groupSlots + uint64(j)
			if ctrlAt(t.ctrls[p], j) == ctrlEmpty {
				t.slots[target] = t.slots[i]
				t.slots[i] = slot[K, V]{}
				t.ctrls[p] = setCtrl(t.ctrls[p], j, tag)
				t.ctrls[g] = setCtrl(t.ctrls[g], s, ctrlEmpty)
				break
			}
			// The target holds an entry still waiting to be placed: swap
			// and place the one that now sits at i.
			t.slots[target], t.slots[i] = t.slots[i], t.slots[target]
			t.ctrls[p] = setCtrl(t.ctrls[p], j, tag)
		}
	}
	t.deleted = 0
	t.growthLeft = growthLimit(len(t.ctrls)) - t.used
}
