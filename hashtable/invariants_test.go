package hashtable

import (
	"fmt"
	"testing"
)

// checkInvariants verifies the whole structure of m: directory, control
// bytes, counters and the position of every entry. It is expensive and
// only for tests.
func checkInvariants[K comparable, V any](tb testing.TB, m *Map[K, V]) {
	tb.Helper()
	if err := invariantError(m); err != nil {
		tb.Fatal(err)
	}
}

func invariantError[K comparable, V any](m *Map[K, V]) error {
	if m.seed == nil {
		if m.used != 0 || m.dir != nil {
			return fmt.Errorf("zero map not empty")
		}
		return nil
	}
	if len(m.dir) != 1<<m.depth || len(m.hot) != len(m.dir) || m.dshift != 32-uint(m.depth) {
		return fmt.Errorf("directory of %d entries at depth %d, shift %d", len(m.dir), m.depth, m.dshift)
	}
	total := 0
	for i := 0; i < len(m.dir); {
		t := m.dir[i]
		if t.localDepth > m.depth {
			return fmt.Errorf("table at %d: local depth %d > depth %d", i, t.localDepth, m.depth)
		}
		span := 1 << (m.depth - t.localDepth)
		if i%span != 0 || uint64(i/span) != t.prefix {
			return fmt.Errorf("table at %d: prefix %d, span %d", i, t.prefix, span)
		}
		for j := i; j < i+span; j++ {
			if m.dir[j] != t {
				return fmt.Errorf("directory entry %d does not point to the table at %d", j, i)
			}
			if m.hot[j] != hotOf(t) {
				return fmt.Errorf("hot entry %d is stale for the table at %d", j, i)
			}
		}
		groups := len(t.groups)
		if t.side != nil && (len(t.side) != groups*groupSlots || t.sideShift > t.localDepth) {
			return fmt.Errorf("table at %d: %d side bytes for %d slots, side shift %d at depth %d", i, len(t.side), groups*groupSlots, t.sideShift, t.localDepth)
		}
		if groups&(groups-1) != 0 || t.mask != uint64(groups-1) {
			return fmt.Errorf("table at %d: %d groups, mask %d", i, groups, t.mask)
		}
		full, deleted, empty, probes := 0, 0, 0, 0
		for g := range t.groups {
			c := t.groups[g].ctrl
			for s := uintptr(0); s < groupSlots; s++ {
				switch b := ctrlAt(c, s); {
				case b == ctrlEmpty:
					empty++
				case b == ctrlDeleted:
					deleted++
				case b < 0x80:
					full++
					key := t.groups[g].slots[s].key
					h := m.hash(m.sd().k0, m.sd().k1, key)
					if hp := m.hashOf(key); hp != h {
						return fmt.Errorf("key %v: direct hash %#x, hash function %#x", key, hp, h)
					}
					if uint8(h&0x7f) != b {
						return fmt.Errorf("table at %d slot %d: tag %#x, hash tag %#x", i, g*groupSlots+int(s), b, h&0x7f)
					}
					if m.dir[h>>(64-m.depth)] != t {
						return fmt.Errorf("key %v is in the wrong table", key)
					}
					ft, fg, j, dist, ok := m.find(h, key)
					if !ok || ft != t || fg != uint64(g) || j != s {
						return fmt.Errorf("key %v at %d/%d not found by find (found %v at %d)", key, g, s, ok, j)
					}
					probes += dist
					if t.side != nil {
						want := sideBits(h, t.sideShift)
						if dist > 0 {
							want |= sideAway
						}
						if got := t.side[g*groupSlots+int(s)]; got != want {
							return fmt.Errorf("key %v at %d/%d: side byte %#x, want %#x", key, g, s, got, want)
						}
					}
				default:
					return fmt.Errorf("table at %d: bad control byte %#x", i, b)
				}
			}
		}
		if full != t.used || deleted != t.deleted {
			return fmt.Errorf("table at %d: %d full, %d deleted; counters say %d, %d", i, full, deleted, t.used, t.deleted)
		}
		if t.growthLeft != growthLimit(groups)-full-deleted || t.growthLeft < 0 || empty == 0 {
			return fmt.Errorf("table at %d: growthLeft %d with %d full, %d deleted, %d empty", i, t.growthLeft, full, deleted, empty)
		}
		if probes != t.probeSum {
			return fmt.Errorf("table at %d: probe sum %d, recomputed %d", i, t.probeSum, probes)
		}
		total += full
		i += span
	}
	if total != m.used {
		return fmt.Errorf("%d entries in tables, Len %d", total, m.used)
	}
	return nil
}
