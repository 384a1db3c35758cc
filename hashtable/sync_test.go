package hashtable

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sturdy-go/sturdy/internal/leaktest"
)

func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}

// background calls work(g, i) for i = 0, 1, 2, ... in each of n goroutines
// g until stop is called or work returns false. The goroutines are running
// when background returns; stop waits for them to end and may be called
// more than once.
func background(n int, work func(g, i int) bool) (stop func()) {
	done := make(chan struct{})
	var wg, ready sync.WaitGroup
	for g := range n {
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			ready.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				if !work(g, i) {
					return
				}
			}
		}()
	}
	ready.Wait()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}

func TestSyncModel(t *testing.T) {
	t.Parallel()
	s := NewSync[string, int](WithShards(4))
	model := map[string]int{}
	rng := rand.New(rand.NewPCG(11, 12))
	for step := range 40000 {
		k := fmt.Sprint(rng.IntN(3000))
		switch op := rng.IntN(100); {
		case op < 35:
			s.Put(k, step)
			model[k] = step
		case op < 45:
			got, loaded := s.LoadOrStore(k, step)
			want, ok := model[k]
			if !ok {
				want = step
				model[k] = step
			}
			if loaded != ok || got != want {
				t.Fatalf("LoadOrStore(%q) = %d, %v; want %d, %v", k, got, loaded, want, ok)
			}
		case op < 70:
			got, ok := s.Get(k)
			want, wok := model[k]
			if ok != wok || got != want {
				t.Fatalf("Get(%q) = %d, %v; want %d, %v", k, got, ok, want, wok)
			}
			if got2, ok2 := GetBytesSync(s, []byte(k)); got2 != got || ok2 != ok {
				t.Fatalf("GetBytes(%q) disagrees with Get", k)
			}
		case op < 95:
			_, wok := model[k]
			if s.Delete(k) != wok {
				t.Fatalf("Delete(%q) disagrees", k)
			}
			delete(model, k)
		case op < 96:
			s.Clear()
			clear(model)
		case op < 97:
			s.Compact()
		default:
			if got := maps.Collect(s.All()); !maps.Equal(got, model) {
				t.Fatalf("All gave %d entries, want %d", len(got), len(model))
			}
		}
		if step%1000 == 0 {
			if s.Len() != len(model) {
				t.Fatalf("Len %d, want %d", s.Len(), len(model))
			}
			checkSyncInvariants(t, s)
		}
	}
	if st := s.Stats(); st.Len != len(model) || st.Reseeds != 0 {
		t.Fatalf("Stats %+v, want Len %d and no re-seeds", st, len(model))
	}
}

func TestSyncConcurrent(t *testing.T) {
	t.Parallel()
	s := NewSync[int, int]()
	const workers, perWorker = 4, 3000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := w * perWorker
			for i := range perWorker {
				s.Put(base+i, i)
				if v, ok := s.Get(base + i); !ok || v != i {
					t.Errorf("worker %d: Get(%d) = %d, %v", w, base+i, v, ok)
					return
				}
				s.Get((base + i*7) % (workers * perWorker)) // others' keys
				if i%3 == 0 {
					s.Delete(base + i)
				}
				if i%100 == 0 {
					s.Range(func(int, int) bool { return i%2 == 0 })
					s.Len()
				}
				if v, loaded := s.LoadOrStore(-1, w); loaded && (v < 0 || v >= workers) {
					t.Errorf("LoadOrStore gave %d", v)
				}
			}
		}()
	}
	wg.Wait()
	want := 1 // the shared key -1
	for w := range workers {
		for i := range perWorker {
			_, ok := s.Get(w*perWorker + i)
			if ok != (i%3 != 0) {
				t.Fatalf("key %d present %v", w*perWorker+i, ok)
			}
			if ok {
				want++
			}
		}
	}
	if s.Len() != want {
		t.Fatalf("Len %d, want %d", s.Len(), want)
	}
}

// TestSyncReseed attacks one shard with keys crafted for the seed read
// from inside the map, while readers run: the map re-seeds, moves every
// entry to its new shard, and no reader ever misses a key.
func TestSyncReseed(t *testing.T) {
	t.Parallel()
	s := NewSync[int, int](WithShards(16), WithCapacity(16*4000))
	sd := s.state.Load()
	mask := sd.shards[0].tab.Load().mask
	for i := range 2000 {
		s.Put(-1-i, i) // bystanders that readers check
	}
	// Same shard (top 4 bits) and same home group in its table.
	var keys []int
	for x := 0; len(keys) < 300; x++ {
		h := HashUint64(sd.k0, sd.k1, uint64(x))
		if h>>60 == 0 && (h>>7)&mask == 0 {
			keys = append(keys, x)
		}
	}
	stop := background(2, func(r, i int) bool {
		k := -1 - (i*7+r)%2000
		if v, ok := s.Get(k); !ok || v != -1-k {
			t.Errorf("reader lost %d during re-seed: %d, %v", k, v, ok)
			return false
		}
		return true
	})
	for i, k := range keys {
		s.Put(k, i)
	}
	stop()
	st := s.Stats()
	t.Logf("after the attack: %+v", st)
	if st.Reseeds == 0 || s.state.Load().k0 == sd.k0 {
		t.Fatal("no re-seed under crafted keys")
	}
	if st.Len != 2300 {
		t.Fatalf("Len %d after re-seed", st.Len)
	}
	for i, k := range keys {
		if v, ok := s.Get(k); !ok || v != i {
			t.Fatalf("lost crafted key %d", k)
		}
	}
	checkSyncInvariants(t, s)
}

func TestSyncFixedSeedAndOptions(t *testing.T) {
	t.Parallel()
	s := NewSync[uint32, string](WithSeed(5, 6), WithShards(3), nil)
	if n := len(s.state.Load().shards); n != 4 {
		t.Fatalf("%d shards for WithShards(3)", n)
	}
	s.Put(1, "one")
	s.Clear()
	s.Compact()
	if sd := s.state.Load(); sd.k0 != 5 || sd.k1 != 6 {
		t.Fatal("fixed seed changed")
	}
	type point struct{ x, y int }
	p := NewSyncFunc[point, int](nil)
	p.Put(point{1, 2}, 3)
	if v, ok := p.Get(point{1, 2}); !ok || v != 3 {
		t.Fatal("NewSyncFunc(nil) map lost its entry")
	}
	// Range stops when told to.
	for i := range 100 {
		p.Put(point{i, i}, i)
	}
	n := 0
	p.Range(func(point, int) bool { n++; return n < 10 })
	if n != 10 {
		t.Fatalf("Range went on for %d calls", n)
	}
}

// TestSyncRebuildsUnderLoad runs Clear and Compact (each a whole-map
// rebuild under a new seed) while readers and writers work: no deadlock,
// no race, and afterwards the map holds exactly what the writers last put.
func TestSyncRebuildsUnderLoad(t *testing.T) {
	t.Parallel()
	s := NewSync[int, int](WithShards(8))
	stop := background(3, func(w, i int) bool {
		k := w*1000 + i%1000
		s.Put(k, i)
		if v, ok := s.Get(k); ok && v < 0 {
			t.Errorf("negative value %d", v)
		}
		s.LoadOrStore(-k-1, k)
		if i%7 == 0 {
			s.Delete(k)
		}
		return true
	})
	for i := range 40 {
		if i%2 == 0 {
			s.Compact()
		} else {
			s.Clear()
		}
		s.Range(func(int, int) bool { return true })
	}
	stop()
	n := 0
	s.Range(func(int, int) bool { n++; return true })
	if n != s.Len() {
		t.Fatalf("Range saw %d entries, Len %d", n, s.Len())
	}
	checkSyncInvariants(t, s)
}

// checkSyncInvariants checks every shard of s's current state, each under
// its lock: control bytes agree with the entries and their hashes, every
// entry sits in its own shard and is found where it is, and the counters
// match what the table holds.
func checkSyncInvariants[K comparable, V any](t *testing.T, s *Sync[K, V]) {
	t.Helper()
	st := s.state.Load()
	for i := range st.shards {
		sh := &st.shards[i]
		sh.mu.Lock()
		err := checkSyncShard(s, st, i)
		sh.mu.Unlock()
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
}

func checkSyncShard[K comparable, V any](s *Sync[K, V], st *syncState[K, V], i int) error {
	sh := &st.shards[i]
	tab := sh.tab.Load()
	groups := len(tab.ctrl)
	if groups&(groups-1) != 0 || tab.mask != uint64(groups-1) || len(tab.slots) != groups*groupSlots {
		return fmt.Errorf("%d groups, %d slots, mask %d", groups, len(tab.slots), tab.mask)
	}
	full, deleted, empty, probes := 0, 0, 0, 0
	for g := range tab.ctrl {
		c := tab.ctrl[g].Load()
		for j := uintptr(0); j < groupSlots; j++ {
			e := tab.slots[g*groupSlots+int(j)].Load()
			switch b := ctrlAt(c, j); {
			case b == ctrlEmpty || b == ctrlDeleted:
				if e != nil {
					return fmt.Errorf("free slot %d/%d holds %v", g, j, e.key)
				}
				if b == ctrlEmpty {
					empty++
				} else {
					deleted++
				}
			case b < 0x80:
				full++
				if e == nil {
					return fmt.Errorf("full slot %d/%d has no entry", g, j)
				}
				h := s.hash(st.k0, st.k1, e.key)
				if uint8(h&0x7f) != b || int(h>>st.shift) != i {
					return fmt.Errorf("key %v: tag %#x, hash %#x, in shard %d", e.key, b, h, i)
				}
				fg, fj, dist, fe := tab.lookup(h, e.key)
				if fe != e || fg != uint64(g) || fj != j {
					return fmt.Errorf("key %v at %d/%d not found there", e.key, g, j)
				}
				d, p := 0, (h>>7)&tab.mask
				for p != uint64(g) {
					d++
					p = (p + uint64(d)) & tab.mask
				}
				if d != dist {
					return fmt.Errorf("key %v at %d/%d: lookup says %d groups past its home, %d by walking", e.key, g, j, dist, d)
				}
				probes += d
			default:
				return fmt.Errorf("bad control byte %#x", b)
			}
		}
	}
	if full != sh.used || deleted != sh.deleted || probes != sh.probeSum {
		return fmt.Errorf("%d full, %d deleted, probe sum %d; counters say %d, %d, %d", full, deleted, probes, sh.used, sh.deleted, sh.probeSum)
	}
	if sh.growthLeft != growthLimit(groups)-full-deleted || sh.growthLeft < 0 || empty == 0 {
		return fmt.Errorf("growthLeft %d with %d full, %d deleted, %d empty", sh.growthLeft, full, deleted, empty)
	}
	return nil
}

// TestSyncReadersDuringGrowth checks that lock-free readers never miss a
// key that stays present while a writer grows every shard many times over
// and churns tombstones (each growth publishes a new table).
func TestSyncReadersDuringGrowth(t *testing.T) {
	t.Parallel()
	s := NewSync[int, int](WithShards(4))
	const stable = 500
	for i := range stable {
		s.Put(-1-i, i)
	}
	var reads [2]int
	stop := background(2, func(r, i int) bool {
		k := -1 - (i*13+r)%stable
		if v, ok := s.Get(k); !ok || v != -1-k {
			t.Errorf("reader lost %d: %d, %v", k, v, ok)
			return false
		}
		if _, ok := s.Get(1 << 40); ok {
			t.Error("reader found a key never stored")
			return false
		}
		reads[r]++
		return true
	})
	for i := range 30000 {
		s.Put(i, i)
		if i%4 != 0 {
			s.Delete(i - 1)
		}
	}
	stop()
	t.Logf("reads during the churn: %v", reads)
	checkSyncInvariants(t, s)
	want := stable
	for k := range 30000 {
		if (k+1)%4 == 0 || k == 29999 {
			want++
			if v, ok := s.Get(k); !ok || v != k {
				t.Fatalf("Get(%d) = %d, %v after the churn", k, v, ok)
			}
		}
	}
	if got := s.Len(); got != want {
		t.Fatalf("Len %d, want %d", got, want)
	}
}

// TestSyncZeroValue uses a zero Sync from several goroutines at once: the
// first use initialises it exactly once.
func TestSyncZeroValue(t *testing.T) {
	t.Parallel()
	var s Sync[string, int]
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := fmt.Sprint(w)
			if _, ok := GetBytesSync(&s, []byte(k)); ok {
				t.Errorf("found %q in an empty map", k)
			}
			s.Put(k, w)
		}()
	}
	wg.Wait()
	for w := range 4 {
		if v, ok := s.Get(fmt.Sprint(w)); !ok || v != w {
			t.Fatalf("Get(%d) = %d, %v", w, v, ok)
		}
	}
	if st := s.Stats(); st.Len != 4 || st.FixedSeed {
		t.Fatalf("Stats %+v", st)
	}
	// Every method works as the first call on a zero Sync.
	for _, first := range []func(*Sync[int, int]){
		func(z *Sync[int, int]) { z.Clear() },
		func(z *Sync[int, int]) { z.Compact() },
		func(z *Sync[int, int]) { z.Range(func(int, int) bool { return true }) },
		func(z *Sync[int, int]) { z.Delete(1) },
		func(z *Sync[int, int]) { z.LoadOrStore(2, 2) },
		func(z *Sync[int, int]) { z.Stats() },
		func(z *Sync[int, int]) { z.Len() },
	} {
		var z Sync[int, int]
		first(&z)
		z.Put(1, 1)
		if v, ok := z.Get(1); !ok || v != 1 || z.Len() < 1 {
			t.Fatal("zero Sync unusable after its first call")
		}
	}
}

// TestSyncValuesNotTorn replaces the values of present keys (without a
// lock) from two writers while readers check that every value they see is
// one a writer stored whole: for a value kept inline (int64) and for one
// kept behind a pointer ([3]int).
func TestSyncValuesNotTorn(t *testing.T) {
	t.Parallel()
	if !inlineValue[int64]() || inlineValue[[3]int]() || inlineValue[string]() || inlineValue[*int]() {
		t.Fatal("inlineValue misclassifies")
	}
	inl := NewSync[int, int64]()
	box := NewSync[int, [3]int]()
	const keys = 64
	for k := range keys {
		inl.Put(k, 0)
		box.Put(k, [3]int{})
	}
	stop := background(2, func(w, i int) bool {
		x := i*2 + 2 + w
		inl.Put(i%keys, int64(x)<<32|int64(x))
		box.Put(i%keys, [3]int{x, x, x})
		return true
	})
	defer stop()
	for i := range 200000 {
		v, ok := inl.Get(i % keys)
		if !ok || v>>32 != v&0xffffffff {
			t.Fatalf("inline value %#x, %v", v, ok)
		}
		b, ok := box.Get(i % keys)
		if !ok || b[0] != b[1] || b[1] != b[2] {
			t.Fatalf("boxed value %v, %v", b, ok)
		}
	}
	stop()
	n := 0
	box.Range(func(k int, v [3]int) bool {
		if v[0] != v[1] || v[1] != v[2] {
			t.Errorf("Range gave %v for %d", v, k)
		}
		n++
		return true
	})
	if n != keys || inl.Len() != keys {
		t.Fatalf("%d and %d keys, want %d", n, inl.Len(), keys)
	}
}

// TestSyncWeakHashReseedsPerDoubling floods the shards one after another
// with a hash that ignores the seed: the map re-seeds about once per
// doubling of its size, as Map does, not once per shard.
func TestSyncWeakHashReseedsPerDoubling(t *testing.T) {
	t.Parallel()
	const lg, perShard = 10, 100
	weak := func(_, _ uint64, k int) uint64 { return uint64(k/perShard) << (64 - lg) }
	for _, capacity := range []int{0, 1 << 16} {
		s := NewSyncFunc[int, int](weak, WithShards(1<<lg), WithCapacity(capacity))
		n := perShard << lg
		for k := range n {
			s.Put(k, k)
		}
		st := s.Stats()
		if st.Len != n {
			t.Fatalf("Len %d, want %d", st.Len, n)
		}
		// log2(102400) is about 17: allow that many re-seeds, not 1024.
		if st.Reseeds > 20 {
			t.Fatalf("capacity %d: %d re-seeds for %d entries in %d shards", capacity, st.Reseeds, n, 1<<lg)
		}
		checkSyncInvariants(t, s)
	}
}

// TestSyncCapacityHint checks that WithCapacity(n) keeps the first n
// insertions from growing any shard, also when n fills the shards' tables
// exactly on average.
func TestSyncCapacityHint(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1000, 16 * 7 * 1024} {
		s := NewSync[int, int](WithShards(16), WithCapacity(n))
		before := s.Stats().Capacity
		for i := range n {
			s.Put(i, i)
		}
		if after := s.Stats().Capacity; after != before {
			t.Fatalf("WithCapacity(%d): capacity %d before and %d after %d insertions", n, before, after, n)
		}
	}
}

// TestSyncPanickingHash lets the hash function panic during an insertion
// that grows a shard and during Compact: the panic reaches the caller, no
// lock stays held, and the map keeps its entries and keeps working.
func TestSyncPanickingHash(t *testing.T) {
	t.Parallel()
	// While armed, hashing key 7 panics: the test never looks 7 up, so
	// only rehashes (a shard's growth, Compact) hash it, under locks.
	var armed atomic.Bool
	h := func(k0, k1 uint64, k int) uint64 {
		if k == 7 && armed.Load() {
			panic("hash")
		}
		return HashUint64(k0, k1, uint64(k))
	}
	s := NewSyncFunc[int, int](h, WithShards(4))
	for i := range 1000 {
		s.Put(i, i)
	}
	mustPanic := func(f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		f()
	}
	armed.Store(true)
	mustPanic(s.Compact)
	mustPanic(func() { // 7's shard grows before 100000 keys are in
		for i := 1000; i < 100000; i++ {
			s.Put(i, i)
		}
	})
	armed.Store(false)
	// No lock is left held: every shard's and the rebuild lock are free.
	if !s.rebuild.TryLock() {
		t.Fatal("the rebuild lock is held after a panicking hash")
	}
	s.rebuild.Unlock()
	st := s.state.Load()
	for i := range st.shards {
		if !st.shards[i].mu.TryLock() {
			t.Fatalf("shard %d is locked after a panicking hash", i)
		}
		st.shards[i].mu.Unlock()
	}
	s.Put(-1, -1)
	s.Delete(-1)
	s.Compact()
	for i := range 1000 {
		if v, ok := s.Get(i); !ok || v != i {
			t.Fatalf("lost %d after the panics", i)
		}
	}
	checkSyncInvariants(t, s)
}
