package hashtable

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// djbx33a is the DJB "times 33" string hash PHP used before 5.3.9.
func djbx33a(s string) uint64 {
	h := uint64(5381)
	for i := 0; i < len(s); i++ {
		h = h*33 + uint64(s[i])
	}
	return h
}

// equivalentKeys returns n = 2^blocks keys of 2*blocks bytes that all
// collide under DJBX33A: every key is a sequence of the blocks "Ez" and
// "FY", which have the same DJBX33A value and so can be swapped freely.
func equivalentKeys(blocks int) []string {
	keys := make([]string, 0, 1<<blocks)
	var b strings.Builder
	for i := range 1 << blocks {
		b.Reset()
		for j := range blocks {
			if i>>j&1 == 0 {
				b.WriteString("Ez")
			} else {
				b.WriteString("FY")
			}
		}
		keys = append(keys, b.String())
	}
	return keys
}

// randomKeys returns n distinct random keys of the given length.
func randomKeys(n, length int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	seen := make(map[string]bool, n)
	keys := make([]string, 0, n)
	b := make([]byte, length)
	for len(keys) < n {
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if s := string(b); !seen[s] {
			seen[s] = true
			keys = append(keys, s)
		}
	}
	return keys
}

func TestEquivalentKeysCollideUnderDJBX33A(t *testing.T) {
	t.Parallel()
	keys := equivalentKeys(14)
	if len(keys) != 16384 || len(keys[0]) != 28 {
		t.Fatalf("%d keys of %d bytes", len(keys), len(keys[0]))
	}
	want := djbx33a(keys[0])
	seen := map[string]bool{}
	for _, k := range keys {
		if djbx33a(k) != want {
			t.Fatalf("%q does not collide", k)
		}
		seen[k] = true
	}
	if len(seen) != len(keys) {
		t.Fatal("duplicate keys")
	}
}

// TestFloodProbes measures the cost of the flood in probes, not time: the
// DJBX33A-equivalent keys need no more probes per lookup than random keys
// of the same length, while a map hashed with DJBX33A itself degrades to
// a linear scan.
func TestFloodProbes(t *testing.T) {
	t.Parallel()
	adversarial := equivalentKeys(14)
	random := randomKeys(len(adversarial), 28, 1)
	const trials = 5
	var adv, rnd float64
	for range trials {
		a, r := New[string, int](), New[string, int]()
		for i := range adversarial {
			a.Put(adversarial[i], i)
			r.Put(random[i], i)
		}
		sa, sr := a.Stats(), r.Stats()
		if sa.Reseeds != 0 || sr.Reseeds != 0 {
			t.Fatalf("re-seeded on keys SipHash spreads: %+v %+v", sa, sr)
		}
		adv += sa.MeanProbe
		rnd += sr.MeanProbe
	}
	ratio := adv / rnd
	t.Logf("mean probes per lookup: adversarial %.4f, random %.4f, ratio %.4f", adv/trials, rnd/trials, ratio)
	if ratio > 1.2 {
		t.Fatalf("adversarial keys need %.3f× the probes of random keys", ratio)
	}

	// The same keys under DJBX33A itself: every key has the same hash.
	weak := NewFunc[string, int](func(_, _ uint64, k string) uint64 { return djbx33a(k) })
	n := 2048
	if testing.Short() {
		n = 512
	}
	for i, k := range adversarial[:n] {
		weak.Put(k, i)
	}
	checkInvariants(t, weak)
	st := weak.Stats()
	t.Logf("DJBX33A-hashed map, %d equivalent keys: %+v", n, st)
	if st.MeanProbe < 10*rnd/trials {
		t.Fatalf("a DJBX33A-hashed map was not flooded: %+v", st)
	}
	assertBoundedMemory(t, st)
	for i, k := range adversarial[:n] {
		if v, ok := weak.Get(k); !ok || v != i {
			t.Fatalf("flooded map lost %q", k)
		}
	}
}

// assertBoundedMemory checks that a map's slots stay within a small
// multiple of its entries, however bad its hash.
func assertBoundedMemory(t *testing.T, st Stats) {
	t.Helper()
	if st.Capacity > 4*st.Len+maxTableSlots {
		t.Fatalf("%d slots for %d entries", st.Capacity, st.Len)
	}
}

// craftCollisions returns n integer keys whose hashes under (k0, k1) agree
// in bits 7..13, the bits that choose the home group in every table: all of
// them start probing in the same group. This is the attack a known seed
// allows.
func craftCollisions(k0, k1 uint64, n int, topBits uint) []int {
	keys := make([]int, 0, n)
	topMask := ^uint64(0) << (64 - topBits)
	if topBits == 0 {
		topMask = 0
	}
	for x := 0; len(keys) < n; x++ {
		h := HashUint64(k0, k1, uint64(x))
		if (h>>7)&(maxTableGroups-1) == 0 && h&topMask == 0 {
			keys = append(keys, x)
		}
	}
	return keys
}

func TestReseedUnderWhiteBoxAttack(t *testing.T) {
	t.Parallel()
	// A map presized to 256 tables: growth never rehashes it whole (a
	// single-table map draws a new seed whenever it grows, which alone
	// would defeat this attack), so only flood detection can save it.
	m := New[int, int](WithCapacity(200000))
	if len(m.dir) != 256 {
		t.Fatalf("directory of %d tables, want 256", len(m.dir))
	}
	// Keys that share the top 8 bits (one table) and bits 7..13 (one home
	// group), computed with the seed read from inside the map.
	keys := craftCollisions(m.sd().k0, m.sd().k1, 300, 8)
	for i, k := range keys {
		m.Put(k, i)
	}
	checkInvariants(t, m)
	st := m.Stats()
	t.Logf("after the attack on a random seed: %+v", st)
	if st.Reseeds == 0 {
		t.Fatal("no re-seed under keys crafted for the map's seed")
	}
	if st.MeanProbe > 1.5 {
		t.Fatalf("still flooded after re-seeding: %+v", st)
	}
	for i, k := range keys {
		if v, ok := m.Get(k); !ok || v != i {
			t.Fatalf("lost key %d", k)
		}
	}
}

func TestFixedSeedAttackStaysCorrectAndBounded(t *testing.T) {
	t.Parallel()
	const k0, k1 = 0xdead, 0xbeef
	m := New[int, int](WithSeed(k0, k1))
	keys := craftCollisions(k0, k1, 1500, 0)
	for i, k := range keys {
		m.Put(k, i)
	}
	checkInvariants(t, m)
	st := m.Stats()
	t.Logf("after the attack on a fixed seed: %+v", st)
	if st.Reseeds != 0 || m.sd().k0 != k0 || m.sd().k1 != k1 {
		t.Fatal("a fixed seed changed")
	}
	if st.MeanProbe < 5 {
		t.Fatalf("the crafted keys did not collide: %+v", st)
	}
	assertBoundedMemory(t, st)
	for i, k := range keys {
		if v, ok := m.Get(k); !ok || v != i {
			t.Fatalf("lost key %d", k)
		}
	}
}

// TestDirectoryAttack sends keys that share their top hash bits, so they
// all land in one table and no split separates them: the directory must
// not grow with them.
func TestDirectoryAttack(t *testing.T) {
	t.Parallel()
	const k0, k1 = 1, 2
	const n = 1200 // more than one table holds
	m := New[int, int](WithSeed(k0, k1))
	for i, k := range craftTop(k0, k1, n, 10) {
		m.Put(k, i)
	}
	checkInvariants(t, m)
	st := m.Stats()
	t.Logf("after the directory attack: %+v, directory %d", st, len(m.dir))
	if len(m.dir) > 64 {
		t.Fatalf("directory grew to %d entries for %d keys", len(m.dir), n)
	}
	assertBoundedMemory(t, st)

	// With a random seed and several tables (a single table re-seeds
	// whenever it grows) the same attack ends in a re-seed.
	r := New[int, int](WithCapacity(4000))
	for i, k := range craftTop(r.sd().k0, r.sd().k1, n, 10) {
		r.Put(k, i)
	}
	checkInvariants(t, r)
	if st := r.Stats(); st.Reseeds == 0 || len(r.dir) > 64 {
		t.Fatalf("random seed under directory attack: %+v, directory %d", st, len(r.dir))
	}
}

// craftTop returns n integer keys whose hashes share their top bits.
func craftTop(k0, k1 uint64, n int, top uint) []int {
	keys := make([]int, 0, n)
	for x := 0; len(keys) < n; x++ {
		if HashUint64(k0, k1, uint64(x))>>(64-top) == 0 {
			keys = append(keys, x)
		}
	}
	return keys
}

func TestConstantHash(t *testing.T) {
	t.Parallel()
	n := 3000
	if testing.Short() {
		n = 800
	}
	constant := func(_, _ uint64, _ string) uint64 { return 42 }
	m := NewFunc[string, int](constant)
	model := map[string]int{}
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range 3 * n {
		k := fmt.Sprint(rng.IntN(n))
		switch rng.IntN(3) {
		case 0, 1:
			m.Put(k, i)
			model[k] = i
		default:
			if m.Delete(k) != (model[k] != 0 || hasKey(model, k)) {
				t.Fatalf("Delete(%q) disagrees", k)
			}
			delete(model, k)
		}
	}
	checkInvariants(t, m)
	if m.Len() != len(model) {
		t.Fatalf("Len %d, want %d", m.Len(), len(model))
	}
	for k, v := range model {
		if got, ok := m.Get(k); !ok || got != v {
			t.Fatalf("Get(%q) = %d, %v; want %d", k, got, ok, v)
		}
	}
	st := m.Stats()
	t.Logf("constant hash: %+v", st)
	assertBoundedMemory(t, st)
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

func TestNoReseedOnRandomKeys(t *testing.T) {
	t.Parallel()
	n := 300000
	if testing.Short() {
		n = 50000
	}
	m := New[string, int]()
	for i, k := range randomKeys(n, 20, 77) {
		m.Put(k, i)
	}
	st := m.Stats()
	t.Logf("%d random keys: %+v", n, st)
	if st.Reseeds != 0 || st.MeanProbe > 1.5 {
		t.Fatalf("random keys look like a flood: %+v", st)
	}
}
