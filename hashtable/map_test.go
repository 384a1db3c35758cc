package hashtable

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// modelOps drives m and the builtin map with the same random operations and
// compares them after each step, checking the structure now and then.
func modelOps[K comparable, V comparable](t *testing.T, m *Map[K, V], rng *rand.Rand, steps int, key func(int) K, val func(int) V, keySpace int) {
	t.Helper()
	model := map[K]V{}
	for step := range steps {
		k := key(rng.IntN(keySpace))
		switch op := rng.IntN(100); {
		case op < 45:
			v := val(step)
			m.Put(k, v)
			model[k] = v
		case op < 70:
			got, ok := m.Get(k)
			want, wok := model[k]
			if ok != wok || got != want {
				t.Fatalf("step %d: Get(%v) = %v, %v; want %v, %v", step, k, got, ok, want, wok)
			}
		case op < 95:
			_, wok := model[k]
			if ok := m.Delete(k); ok != wok {
				t.Fatalf("step %d: Delete(%v) = %v; want %v", step, k, ok, wok)
			}
			delete(model, k)
		case op < 96:
			m.Clear()
			clear(model)
		case op < 97:
			m.Compact()
		default:
			if got := maps.Collect(m.All()); !maps.Equal(got, model) {
				t.Fatalf("step %d: All gave %d entries, want %d", step, len(got), len(model))
			}
		}
		if m.Len() != len(model) {
			t.Fatalf("step %d: Len %d, want %d", step, m.Len(), len(model))
		}
		if step%(steps/20+1) == 0 {
			checkInvariants(t, m)
		}
	}
	checkInvariants(t, m)
	for k, want := range model {
		if got, ok := m.Get(k); !ok || got != want {
			t.Fatalf("final Get(%v) = %v, %v; want %v", k, got, ok, want)
		}
	}
}

func TestModel(t *testing.T) {
	t.Parallel()
	steps := 60000
	if testing.Short() {
		steps = 10000
	}
	strKey := func(i int) string { return fmt.Sprintf("key-%d", i) }
	for _, space := range []int{10, 1000, 20000} {
		t.Run(fmt.Sprintf("string/keys=%d", space), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(space), 1))
			modelOps(t, New[string, int](), rng, steps, strKey, func(i int) int { return i }, space)
		})
		t.Run(fmt.Sprintf("int8/keys=%d", space), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(space), 2))
			modelOps(t, New[int8, int](), rng, steps/4, func(i int) int8 { return int8(i) }, func(i int) int { return i }, min(space, 256))
		})
		t.Run(fmt.Sprintf("uint64/fixed/keys=%d", space), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(space), 3))
			modelOps(t, New[uint64, string](WithSeed(1, 2), WithCapacity(space/2)), rng, steps,
				func(i int) uint64 { return uint64(i) << 40 }, strKey, space)
		})
	}
	t.Run("weak-hash", func(t *testing.T) {
		t.Parallel()
		// Sixteen distinct hashes for all keys: long probes, uneven splits.
		weak := func(_, _ uint64, k int) uint64 { return uint64(k%16) * 0x9e3779b97f4a7c15 }
		rng := rand.New(rand.NewPCG(4, 4))
		modelOps(t, NewFunc[int, int](weak), rng, steps/4, func(i int) int { return i }, func(i int) int { return i }, 3000)
	})
	t.Run("zero-map", func(t *testing.T) {
		t.Parallel()
		var m Map[string, int]
		if _, ok := m.Get("x"); ok || m.Delete("x") || m.Len() != 0 {
			t.Fatal("zero map is not empty")
		}
		m.Clear()
		m.Compact()
		for range m.All() {
			t.Fatal("zero map yields entries")
		}
		checkInvariants(t, &m)
		rng := rand.New(rand.NewPCG(5, 5))
		modelOps(t, &m, rng, steps/4, strKey, func(i int) int { return i }, 2000)
	})
}

func TestGrowthAndSplit(t *testing.T) {
	t.Parallel()
	n := 200000
	if testing.Short() {
		n = 20000
	}
	m := New[int, int]()
	for i := range n {
		m.Put(i, i)
	}
	checkInvariants(t, m)
	st := m.Stats()
	if st.Len != n || st.Tables < n/maxTableLimit || st.Reseeds != 0 {
		t.Fatalf("stats after %d inserts: %+v", n, st)
	}
	// Memory stays within the builtin map's bounds: tables are at least
	// 7/16 full after a split, so no more than 16/7 slots per entry plus
	// one table's worth.
	if st.Capacity > n*16/7+maxTableSlots {
		t.Fatalf("capacity %d for %d entries", st.Capacity, n)
	}
	for i := range n {
		if v, ok := m.Get(i); !ok || v != i {
			t.Fatalf("Get(%d) = %d, %v", i, v, ok)
		}
	}
	for i := 0; i < n; i += 2 {
		m.Delete(i)
	}
	checkInvariants(t, m)
	// Refill the deleted half: tombstones are reused or cleaned up, and
	// the map does not grow for entries it already had room for.
	before := m.Stats().Capacity
	for i := 0; i < n; i += 2 {
		m.Put(i, -i)
	}
	checkInvariants(t, m)
	if after := m.Stats().Capacity; after != before {
		t.Fatalf("capacity changed from %d to %d when refilling", before, after)
	}
}

func TestTombstoneCleanupInPlace(t *testing.T) {
	t.Parallel()
	// 440 entries in a table of 64 groups (limit 448): most groups are
	// full, so deleting 140 of them leaves tombstones that insertions of
	// new keys cannot all reuse.
	m := New[int, int](WithSeed(7, 8), WithCapacity(448))
	for i := range 440 {
		m.Put(i, i)
	}
	capBefore := m.Stats().Capacity
	for i := range 140 {
		m.Delete(i)
	}
	if m.Stats().Tombstones == 0 {
		t.Fatal("no tombstones to clean up")
	}
	// Churn far more keys than the table holds: the tombstones must be
	// cleaned up in place rather than make the table grow.
	for i := 440; i < 100000; i++ {
		m.Put(i, i)
		m.Delete(i - 300)
	}
	checkInvariants(t, m)
	if st := m.Stats(); st.Capacity != capBefore || st.Len != 300 {
		t.Fatalf("after churn: %+v, capacity before %d", st, capBefore)
	}
	if m.dir[0].gen != 0 {
		t.Fatal("tombstone cleanup reallocated the table instead of working in place")
	}
	// The same churn during an iteration rehashes into fresh arrays, so
	// the iteration still sees every entry once.
	// Only keys added during the loop are deleted (a sliding window of
	// 30), so the 300 present ones must each be produced once.
	seen, next := 0, 100000
	for k := range m.All() {
		if k < 100000 {
			seen++
		}
		for i := range 300 {
			m.Put(next+i, i)
			if i >= 30 {
				m.Delete(next + i - 30)
			}
		}
		for i := 270; i < 300; i++ {
			m.Delete(next + i)
		}
		next += 300
	}
	checkInvariants(t, m)
	if seen != 300 || m.dir[0].gen == 0 || m.Stats().Capacity != capBefore {
		t.Fatalf("iteration saw %d of 300; gen %d; %+v", seen, m.dir[0].gen, m.Stats())
	}
}

func TestCompactShrinks(t *testing.T) {
	t.Parallel()
	m := New[string, int]()
	for i := range 50000 {
		m.Put(fmt.Sprint(i), i)
	}
	for i := 100; i < 50000; i++ {
		m.Delete(fmt.Sprint(i))
	}
	big := m.Stats().Capacity
	k0, k1 := m.sd().k0, m.sd().k1
	m.Compact()
	checkInvariants(t, m)
	st := m.Stats()
	if st.Len != 100 || st.Capacity*50 > big || st.Tombstones != 0 {
		t.Fatalf("after Compact: %+v (capacity before %d)", st, big)
	}
	if m.sd().k0 == k0 && m.sd().k1 == k1 {
		t.Fatal("Compact kept the seed")
	}
	for i := range 100 {
		if v, ok := m.Get(fmt.Sprint(i)); !ok || v != i {
			t.Fatalf("Get(%d) = %d, %v", i, v, ok)
		}
	}
}

func TestWithCapacityDoesNotGrow(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 7, 8, 100, 896, 897, 5000, 100000} {
		m := New[int, int](WithCapacity(n))
		before := m.Stats()
		for i := range n {
			m.Put(i, i)
		}
		after := m.Stats()
		if after.Capacity != before.Capacity || after.Tables != before.Tables {
			t.Errorf("WithCapacity(%d): grew from %+v to %+v", n, before, after)
		}
		checkInvariants(t, m)
	}
	// Nonsense hints are clamped, not fatal.
	m := New[int, int](WithCapacity(-5), nil)
	m.Put(1, 1)
	if m.Len() != 1 {
		t.Fatal("map with negative capacity hint is broken")
	}
}

func TestIterationDuringModification(t *testing.T) {
	t.Parallel()
	for _, n := range []int{5, 100, 3000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			m := New[int, int]()
			for i := range n {
				m.Put(i, i)
			}
			seen := map[int]int{}
			deleted := map[int]bool{} // at some point during the iteration
			next := n
			for k, v := range m.All() {
				seen[k]++
				if k < n && v != k && v != -k {
					t.Fatalf("key %d had value %d", k, v)
				}
				// Delete a key not yet reached (maybe), update another,
				// and add many new keys to force growth and splits.
				if m.Delete((k + n/2) % n) {
					deleted[(k+n/2)%n] = true
				}
				m.Put((k+1)%n, -((k + 1) % n))
				for range 8 {
					m.Put(next, next)
					next++
				}
			}
			for k, c := range seen {
				if c != 1 {
					t.Errorf("key %d produced %d times", k, c)
				}
			}
			for i := range n {
				if !deleted[i] && seen[i] == 0 {
					t.Errorf("key %d present throughout but not produced", i)
				}
			}
			checkInvariants(t, m)
		})
	}
}

func TestIterationBreakAndValues(t *testing.T) {
	t.Parallel()
	m := New[string, int]()
	for i := range 100 {
		m.Put(fmt.Sprint(i), i)
	}
	count := 0
	for range m.All() {
		count++
		if count == 10 {
			break
		}
	}
	if count != 10 || m.iterators != 0 {
		t.Fatalf("break after %d, %d iterators left", count, m.iterators)
	}
	keys := slices.Sorted(m.Keys())
	if len(keys) != 100 {
		t.Fatalf("Keys gave %d", len(keys))
	}
	// Clearing inside the loop ends it: nothing not yet reached is left.
	count = 0
	for range m.All() {
		count++
		m.Clear()
	}
	if count != 1 || m.Len() != 0 {
		t.Fatalf("iteration continued %d times after Clear", count)
	}
}

func TestGetBytes(t *testing.T) {
	type name string
	m := New[name, int]()
	m.Put("alpha", 1)
	m.Put("", 2)
	buf := []byte("alpha")
	if v, ok := GetBytes(m, buf); !ok || v != 1 {
		t.Fatalf("GetBytes(alpha) = %d, %v", v, ok)
	}
	if v, ok := GetBytes(m, nil); !ok || v != 2 {
		t.Fatalf("GetBytes(nil) = %d, %v", v, ok)
	}
	if _, ok := GetBytes(m, []byte("beta")); ok {
		t.Fatal("GetBytes(beta) found")
	}
	if allocs := testing.AllocsPerRun(100, func() { GetBytes(m, buf) }); allocs != 0 {
		t.Fatalf("GetBytes allocates %v times", allocs)
	}
}

func TestNoAllocations(t *testing.T) {
	m := New[string, int](WithCapacity(1000))
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("%020d", i)
	}
	for i, k := range keys {
		m.Put(k, i)
	}
	i := 0
	if a := testing.AllocsPerRun(1000, func() {
		m.Get(keys[i%len(keys)])
		m.Put(keys[i%len(keys)], i)
		i++
	}); a != 0 {
		t.Fatalf("Get+Put of present keys allocates %v times", a)
	}
	im := New[int64, int]()
	if a := testing.AllocsPerRun(1000, func() { im.Get(int64(i)); i++ }); a != 0 {
		t.Fatalf("integer Get allocates %v times", a)
	}
}

func TestClearReseeds(t *testing.T) {
	t.Parallel()
	m := New[string, int]()
	m.Put("a", 1)
	k0, k1 := m.sd().k0, m.sd().k1
	m.Clear()
	if m.sd().k0 == k0 && m.sd().k1 == k1 {
		t.Fatal("Clear kept a random seed")
	}
	if m.Len() != 0 || m.Has("a") {
		t.Fatal("Clear left entries")
	}
	f := New[string, int](WithSeed(3, 4))
	f.Put("a", 1)
	f.Clear()
	if f.sd().k0 != 3 || f.sd().k1 != 4 {
		t.Fatal("Clear changed a fixed seed")
	}
	// Two maps never share a random seed.
	a, b := New[int, int](), New[int, int]()
	if a.sd().k0 == b.sd().k0 && a.sd().k1 == b.sd().k1 {
		t.Fatal("two maps drew the same seed")
	}
}

func TestWithSeedDeterminism(t *testing.T) {
	t.Parallel()
	order := func() []string {
		m := New[string, int](WithSeed(0x0123456789abcdef, 0xfedcba9876543210))
		for i := range 5000 {
			m.Put(fmt.Sprint("k", i), i)
		}
		for i := 0; i < 5000; i += 3 {
			m.Delete(fmt.Sprint("k", i))
		}
		m.Compact()
		return slices.Collect(m.Keys())
	}
	a, b := order(), order()
	if !slices.Equal(a, b) {
		t.Fatal("two maps with the same seed and operations iterate differently")
	}
	// With random seeds the orders differ (2000+ keys: a collision of
	// orders is impossible in practice).
	ra, rb := New[string, int](), New[string, int]()
	for _, k := range a {
		ra.Put(k, 0)
		rb.Put(k, 0)
	}
	if slices.Equal(slices.Collect(ra.Keys()), slices.Collect(rb.Keys())) {
		t.Fatal("two maps with random seeds iterate in the same order")
	}
}

func TestNewFuncNil(t *testing.T) {
	t.Parallel()
	type point struct{ x, y int }
	m := NewFunc[point, string](nil)
	for i := range 1000 {
		m.Put(point{i, -i}, fmt.Sprint(i))
	}
	checkInvariants(t, m)
	if v, ok := m.Get(point{7, -7}); !ok || v != "7" {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	s := NewFunc[string, int](nil)
	s.Put("x", 1)
	if s.Stats().Len != 1 || !s.stringKey {
		t.Fatal("NewFunc(nil) string map")
	}
}

func TestZeroMapOfOtherKeyType(t *testing.T) {
	t.Parallel()
	type point struct{ X, Y int }
	var m Map[point, int]
	for i := range 100 {
		m.Put(point{i, i}, i)
	}
	checkInvariants(t, &m)
	if v, ok := m.Get(point{5, 5}); !ok || v != 5 || m.Len() != 100 {
		t.Fatalf("zero Map of struct keys: Get = %d, %v; Len %d", v, ok, m.Len())
	}
}

// TestSplitSideBytes grows maps through more than seven splits per table
// (the side bytes then run out and are refilled), with deletions mixed in,
// from an empty map, from a presized one (no side bytes until its first
// split) and after Compact, and checks every side byte against a fresh hash
// (checkInvariants) and every entry against a builtin map.
func TestSplitSideBytes(t *testing.T) {
	t.Parallel()
	n := 150000
	if testing.Short() {
		n = 100000 // still enough for 128 tables
	}
	for _, hint := range []int{0, n / 3} {
		for _, fixed := range []bool{false, true} {
			opts := []Option{WithCapacity(hint)}
			if fixed {
				opts = append(opts, WithSeed(1, 2))
			}
			m := New[int, int](opts...)
			model := map[int]int{}
			for i := range n {
				m.Put(i*7, i)
				model[i*7] = i
				if i%5 == 0 {
					m.Delete(i * 3)
					delete(model, i*3)
				}
			}
			checkInvariants(t, m)
			if st := m.Stats(); st.Tables < 128 {
				t.Fatalf("only %d tables: not enough splits to test", st.Tables)
			}
			m.Compact()
			for i := n; i < n+n/2; i++ {
				m.Put(i*7, i)
				model[i*7] = i
			}
			checkInvariants(t, m)
			if m.Len() != len(model) {
				t.Fatalf("Len %d, want %d", m.Len(), len(model))
			}
			for k, v := range model {
				if got, ok := m.Get(k); !ok || got != v {
					t.Fatalf("Get(%d) = %d, %v; want %d", k, got, ok, v)
				}
			}
		}
	}
}
