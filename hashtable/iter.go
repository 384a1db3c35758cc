package hashtable

import "iter"

// All returns an iterator over the map's entries, in an order that depends
// on the seed and is not specified.
//
// The map may be modified during the iteration, also from inside the loop,
// with the same guarantees as Go's builtin map: every entry present for the
// whole iteration is produced exactly once, with its current value; an
// entry deleted before the iteration reaches it is not produced; an entry
// added during the iteration may or may not be produced. While an iteration
// runs, tombstone cleanup rehashes into fresh arrays instead of in place.
// A nil *Map produces nothing.
func (m *Map[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		if m == nil || m.used == 0 {
			return
		}
		// Remember each table's group array as it is now. Growth, splits,
		// cleanups during iteration and re-seeding never write to arrays
		// they abandon; they bump the table's gen instead. Slots of a
		// table that is still current are read directly; slots of
		// abandoned arrays are looked up in the live map, which skips
		// deleted keys and gives current values.
		type view struct {
			t      *table[K, V]
			groups []group[K, V]
			gen    uint32
		}
		var views []view
		m.forEachTable(func(t *table[K, V]) {
			if t.used > 0 {
				views = append(views, view{t, t.groups, t.gen})
			}
		})
		m.iterators++
		defer func() { m.iterators-- }()
		for _, v := range views {
			for i := range len(v.groups) * groupSlots {
				g := &v.groups[i/groupSlots]
				if ctrlAt(g.ctrl, uintptr(i%groupSlots))&ctrlEmpty != 0 {
					continue
				}
				key, val := g.slots[i%groupSlots].key, g.slots[i%groupSlots].val
				if v.t.gen != v.gen {
					var ok bool
					if val, ok = m.Get(key); !ok {
						continue
					}
				}
				if !yield(key, val) {
					return
				}
			}
		}
	}
}

// Keys returns an iterator over the map's keys, with the semantics of All.
func (m *Map[K, V]) Keys() iter.Seq[K] {
	return func(yield func(K) bool) {
		for k := range m.All() {
			if !yield(k) {
				return
			}
		}
	}
}
