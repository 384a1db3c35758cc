package main

// The victim of the demonstration: a chained hash table keyed by DJBX33A
// (hash*33 + c), the string hash PHP, Java and many others used before
// 2012, and keys that all collide under it. Never store untrusted keys in
// a table like this; that is what the demonstration shows.

// djbx33a returns Bernstein's times-33 hash of s.
func djbx33a(s string) uint32 {
	h := uint32(5381)
	for i := 0; i < len(s); i++ {
		h = h*33 + uint32(s[i])
	}
	return h
}

// naiveTable is the textbook chained table: DJBX33A, a power-of-two array
// of buckets that doubles at load factor 1.
type naiveTable struct {
	buckets [][]naiveEntry
	n       int
	// compares counts key comparisons, the work a flood multiplies.
	compares int
}

type naiveEntry struct{ key, val string }

func newNaiveTable() *naiveTable { return &naiveTable{buckets: make([][]naiveEntry, 8)} }

// Put stores val under key, replacing an earlier value.
func (t *naiveTable) Put(key, val string) {
	b := &t.buckets[djbx33a(key)&uint32(len(t.buckets)-1)]
	for i := range *b {
		t.compares++
		if (*b)[i].key == key {
			(*b)[i].val = val
			return
		}
	}
	*b = append(*b, naiveEntry{key, val})
	t.n++
	if t.n > len(t.buckets) {
		t.grow()
	}
}

// Len returns the number of keys.
func (t *naiveTable) Len() int { return t.n }

func (t *naiveTable) grow() {
	old := t.buckets
	t.buckets = make([][]naiveEntry, 2*len(old))
	mask := uint32(len(t.buckets) - 1)
	for _, b := range old {
		for _, e := range b {
			i := djbx33a(e.key) & mask
			t.buckets[i] = append(t.buckets[i], e)
		}
	}
}

// collidingKeys returns 2^bits distinct keys of 2*bits bytes with one
// DJBX33A hash. "Ez" and "FY" hash the same (69*33+122 = 70*33+89), and
// so does every string made of such two-byte blocks, whatever came before
// them: the hash of a block depends only on the hash before it.
func collidingKeys(bits int) []string {
	keys := make([]string, 0, 1<<bits)
	buf := make([]byte, 2*bits)
	for i := range 1 << bits {
		for j := range bits {
			block := "Ez"
			if i>>j&1 == 1 {
				block = "FY"
			}
			copy(buf[2*j:], block)
		}
		keys = append(keys, string(buf))
	}
	return keys
}

// randomKeys returns n distinct keys of length bytes, spread evenly by
// any hash: the control group. The same seed gives the same keys.
func randomKeys(n, length int, seed uint64) []string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	keys := make([]string, 0, n)
	seen := make(map[string]bool, n)
	buf := make([]byte, length)
	x := seed | 1
	for len(keys) < n {
		for j := range buf {
			// xorshift64: deterministic, and enough to spread keys.
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			buf[j] = alphabet[x%uint64(len(alphabet))]
		}
		if k := string(buf); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}
