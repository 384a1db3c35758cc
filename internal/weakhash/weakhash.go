// Package weakhash is the victim in sturdy's flooding demonstrations: a
// chained hash table keyed by DJBX33A (hash*33 + c), the string hash PHP,
// Java and many others used before 2012, and a generator of keys that all
// collide under it.
//
// DJBX33A is not keyed, so "Ez" and "FY" hash the same, and so does every
// string made of such blocks: n blocks give 2^n distinct keys with one
// hash. Inserting them turns each insert into a scan of one ever longer
// chain, quadratic in total. Never use this table for anything else.
package weakhash

// DJBX33A returns Bernstein's times-33 hash of s.
func DJBX33A(s string) uint32 {
	h := uint32(5381)
	for i := 0; i < len(s); i++ {
		h = h*33 + uint32(s[i])
	}
	return h
}

// Table is a chained hash table with DJBX33A and a power-of-two bucket
// array that doubles at load factor 1, the textbook design.
type Table struct {
	buckets [][]entry
	n       int
	// Compares counts key comparisons, the work a flood multiplies.
	Compares int
}

type entry struct {
	key string
	val string
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{buckets: make([][]entry, 8)} }

// Put stores val under key, replacing an earlier value.
func (t *Table) Put(key, val string) {
	b := &t.buckets[DJBX33A(key)&uint32(len(t.buckets)-1)]
	for i := range *b {
		t.Compares++
		if (*b)[i].key == key {
			(*b)[i].val = val
			return
		}
	}
	*b = append(*b, entry{key, val})
	t.n++
	if t.n > len(t.buckets) {
		t.grow()
	}
}

// Get returns the value stored under key.
func (t *Table) Get(key string) (string, bool) {
	for _, e := range t.buckets[DJBX33A(key)&uint32(len(t.buckets)-1)] {
		t.Compares++
		if e.key == key {
			return e.val, true
		}
	}
	return "", false
}

// Len returns the number of keys.
func (t *Table) Len() int { return t.n }

func (t *Table) grow() {
	old := t.buckets
	t.buckets = make([][]entry, 2*len(old))
	mask := uint32(len(t.buckets) - 1)
	for _, b := range old {
		for _, e := range b {
			i := DJBX33A(e.key) & mask
			t.buckets[i] = append(t.buckets[i], e)
		}
	}
}

// CollidingKeys returns 2^bits distinct keys, each bits*2 bytes long, that
// all have the same DJBX33A hash.
func CollidingKeys(bits int) []string {
	keys := make([]string, 0, 1<<bits)
	buf := make([]byte, 2*bits)
	for i := 0; i < 1<<bits; i++ {
		for j := 0; j < bits; j++ {
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

// RandomKeys returns n distinct keys of the same length as
// CollidingKeys(bits) would make, spread evenly by any hash: the control
// group of a flooding measurement. The same seed gives the same keys.
func RandomKeys(n, length int, seed uint64) []string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	keys := make([]string, 0, n)
	seen := make(map[string]bool, n)
	buf := make([]byte, length)
	x := seed | 1
	for len(keys) < n {
		for j := range buf {
			// xorshift64: deterministic and good enough for spreading keys.
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
