package hashtable

import (
	"hash/maphash"
	"math/bits"
	"unsafe"
)

// Key is the set of key types New hashes with SipHash-2-4: strings by their
// bytes, integers by their 8 little-endian bytes (signed values
// sign-extended). Other comparable keys need NewFunc.
type Key interface {
	~string | ~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr
}

// maxDepth bounds the directory: it is indexed by the top hash bits, which
// must stay clear of the bits that pick a group inside a table and the
// 7-bit tag.
const maxDepth = 32

// Map is a hash map from K to V: an extendible-hashing directory of Swiss
// tables keyed by a seeded hash (SipHash-2-4 for maps made by New). See the
// package documentation for the layout and the guarantees.
//
// A Map is not safe for concurrent use; use Sync for that, or guard the Map
// with a lock. Like the builtin map, a Map notices most concurrent misuse:
// a write that overlaps another write or a Get panics with "hashtable:
// concurrent map writes; use Sync" (or "... read and map write ..."), before
// the map's memory is damaged. The check is a flag, not a lock: it costs
// about nothing and catches most, not all, such races; the race detector
// catches them all.
//
// The zero Map is an empty map ready to use, hashed as by NewFunc with a nil
// hash function. A nil *Map reads like a nil builtin map: Len is 0, Get and
// Delete find nothing, All produces nothing; Put on it panics.
//
// A Map prints like a builtin map, with every verb of package fmt:
// fmt.Sprint(m) is "map[a:1 b:2]", keys in sorted order. Its seed never
// appears in what fmt prints, also not in a struct that holds a Map in an
// unexported field (fmt shows such a field's raw fields, and the seed is
// kept behind an unsafe.Pointer, which fmt prints only as an address).
type Map[K comparable, V any] struct {
	hot    []hotTable[K, V] // beside dir: what a lookup needs of dir[i], without loading the table
	dshift uint             // 32 - depth: the directory index is (h >> 32) >> dshift
	seed   unsafe.Pointer   // *seed; nil until the map is first used (see seed)
	path   hashPath         // how operations hash their key
	// writing is set while a Put, Delete, Clear or Compact runs: another
	// operation that finds it set is running concurrently.
	writing bool
	depth   uint8
	hash    func(k0, k1 uint64, key K) uint64
	dir     []*table[K, V] // 1<<depth entries; a table of local depth L fills 1<<(depth-L) of them

	used        int
	reseeds     uint64
	reseedFloor int // no flood re-seed before used reaches this
	capHint     int
	iterators   int // running All loops: no in-place rehash while positive
	fixed       bool
	stringKey   bool
}

// seed is a map's SipHash key. Maps keep it behind an unsafe.Pointer: fmt
// shows the raw fields of a Map it cannot call Format on (an unexported
// field of a printed struct), and follows typed pointers when the verb does
// not fit (%s, %d), but prints an unsafe.Pointer only as an address.
//
// v is the SipHash state the key starts from, (k0^c0, k0^c2, k1^c1,
// k1^c3), in the order the vector code loads it (see sipvec_amd64.s).
type seed struct {
	k0, k1 uint64
	v      [4]uint64
}

// makeSeed returns the seed (k0, k1).
func makeSeed(k0, k1 uint64) seed {
	return seed{k0, k1, [4]uint64{k0 ^ sipC0, k0 ^ sipC2, k1 ^ sipC1, k1 ^ sipC3}}
}

// Messages of the panics that report misuse, as the builtin map's fatal
// errors word them, with the way out.
const (
	errConcurrentWrites = "hashtable: concurrent map writes; use Sync, or guard the Map with a lock"
	errConcurrentRead   = "hashtable: concurrent map read and map write; use Sync, or guard the Map with a lock"
	errNilPut           = "hashtable: Put on a nil *Map; make it with New, NewFunc or new(Map)"
	errNilPutSync       = "hashtable: Put on a nil *Sync; make it with NewSync, NewSyncFunc or new(Sync)"
)

// New returns an empty map whose keys are hashed with SipHash-2-4 (or
// SipHash-1-3 with WithSipHash13) under a random 128-bit seed from
// crypto/rand (or the seed given by WithSeed).
func New[K Key, V any](opts ...Option) *Map[K, V] {
	c := buildConfig(opts)
	m := &Map[K, V]{}
	m.init(sipHasher[K](c.sip13), sipPath[K](c.sip13), c)
	return m
}

// NewFunc returns an empty map that hashes keys with hash, called once per
// operation with the map's current seed. A good hash mixes the seed into
// every output bit, as SipHash does; a hash that ignores the seed or
// collides often keeps the map correct, with bounded memory, but slow. hash
// must not retain key, and must not panic: a Map whose hash panics while it
// grows or rehashes is left in an unspecified state (Sync is not).
//
// A nil hash picks one: SipHash-2-4 (or SipHash-1-3 with WithSipHash13) when
// K's underlying type is one of Key's; otherwise hash/maphash.Comparable,
// under a random maphash.Seed mixed with the map's seed. WithSipHash13 is
// ignored when hash is not nil.
func NewFunc[K comparable, V any](hash func(k0, k1 uint64, key K) uint64, opts ...Option) *Map[K, V] {
	c := buildConfig(opts)
	path := pathFunc
	if hash == nil {
		hash, path = defaultHasher[K](c.sip13), sipPath[K](c.sip13)
	}
	m := &Map[K, V]{}
	m.init(hash, path, c)
	return m
}

// defaultHasher is SipHash for Key types and a seeded maphash otherwise.
func defaultHasher[K comparable](sip13 bool) func(k0, k1 uint64, key K) uint64 {
	if h := sipHasher[K](sip13); h != nil {
		return h
	}
	ms := maphash.MakeSeed()
	if sip13 {
		return func(k0, k1 uint64, key K) uint64 {
			return hashUint64_13(k0, k1, maphash.Comparable(ms, key))
		}
	}
	return func(k0, k1 uint64, key K) uint64 {
		return HashUint64(k0, k1, maphash.Comparable(ms, key))
	}
}

func (m *Map[K, V]) init(hash func(k0, k1 uint64, key K) uint64, path hashPath, c config) {
	m.hash = hash
	m.path = path
	m.stringKey = isStringKey[K]()
	m.fixed = c.fixed
	sd := new(seed)
	*sd = makeSeed(c.k0, c.k1)
	if !c.fixed {
		*sd = makeSeed(newSeed())
	}
	m.seed = unsafe.Pointer(sd)
	m.capHint = c.capacity
	m.layout(c.capacity)
}

func isStringKey[K comparable]() bool {
	kind, _ := kindOf[K]()
	return kind == kindString
}

// lazyInit makes a zero Map usable.
func (m *Map[K, V]) lazyInit() {
	m.init(defaultHasher[K](false), sipPath[K](false), config{})
}

// layout replaces the directory with empty tables sized for n entries.
func (m *Map[K, V]) layout(n int) {
	depth, groups := layoutFor(n)
	m.depth = depth
	m.dshift = 32 - uint(depth)
	m.dir = make([]*table[K, V], 1<<depth)
	m.hot = make([]hotTable[K, V], 1<<depth)
	for i := range m.dir {
		m.dir[i] = newTable[K, V](groups, depth, uint64(i), depth, depth == 0)
		m.hot[i] = hotOf(m.dir[i])
	}
	m.used = 0
}

// index returns the directory index of hash h: its top depth bits. The two
// shifts (depth is at most 32) need no test for a shift by 64, which a
// depth of 0 would be.
func (m *Map[K, V]) index(h uint64) uint64 { return (h >> 32) >> (m.dshift & 63) }

// hotAt returns the hot entry of hash h. The index is always in range in a
// map used correctly; the bounds check stays, so that a racing writer that
// replaced the directory makes a lookup panic instead of reading past it.
func (m *Map[K, V]) hotAt(h uint64) *hotTable[K, V] { return &m.hot[m.index(h)] }

// layoutFor returns the directory depth and the groups per table for n
// entries: one table while n fits in a table at most 7/8 full, else a power
// of two of full-size tables that hold n at 7/8 of their limit at most,
// leaving room for the uneven spread of a random hash.
func layoutFor(n int) (depth uint8, groups int) {
	if n <= maxTableLimit {
		g := (n + 6) / 7
		if g <= 1 {
			return 0, 1
		}
		return 0, 1 << bits.Len(uint(g-1))
	}
	const perTable = maxTableLimit * 7 / 8
	tables := (n + perTable - 1) / perTable
	d := bits.Len(uint(tables - 1))
	if d > maxDepth {
		// More entries than the directory can spread: oversized tables.
		return maxDepth, 1 << bits.Len(uint(((n>>maxDepth)+6)/7))
	}
	return uint8(d), maxTableGroups
}

// hashOf returns key's hash under the map's current seed.
func (m *Map[K, V]) hashOf(key K) uint64 {
	sd := m.sd()
	return hashKey(m.path, m.hash, sd.k0, sd.k1, key)
}

// sd returns the map's seed.
func (m *Map[K, V]) sd() *seed { return (*seed)(m.seed) }

// Get returns the value stored under key and whether it was present.
func (m *Map[K, V]) Get(key K) (V, bool) {
	if m == nil || m.seed == nil {
		var zero V
		return zero, false
	}
	if m.writing {
		panic(errConcurrentRead)
	}
	// hashKey, inline: the common paths call SipHash directly.
	var h uint64
	sd := m.sd()
	// An if chain, not a switch: the common paths are tested first.
	if p := m.path; p == pathString24 && m.vec() {
		// The hash, the home group's address and a prefetch of its
		// slots, in one call; then the common cases, as below.
		s := *(*string)(unsafe.Pointer(&key))
		h, gp := sipVecProbe24(unsafe.Pointer(m), unsafe.StringData(s), len(s), unsafe.Sizeof(group[K, V]{}))
		if gp != nil {
			g := (*group[K, V])(gp)
			c := g.ctrl
			if b := matchTag(c, h&0x7f); b != 0 {
				sl := &g.slots[b.first()&(groupSlots-1)]
				if *(*[2]uintptr)(unsafe.Pointer(&sl.key)) == *(*[2]uintptr)(unsafe.Pointer(&key)) {
					return sl.val, true
				}
			} else if matchEmpty(c) != 0 {
				var zero V
				return zero, false
			}
		}
		return m.getSlow(h, key)
	} else if p == pathString24 {
		// sip24, written out here: a lookup in a large map waits for
		// memory, and the processor can start the next lookups' hashes
		// meanwhile only if its window holds them; the call, its
		// prologue and its argument moves are instructions that window
		// would otherwise hold. TestGetHashInline checks it against Hash.
		s := *(*string)(unsafe.Pointer(&key))
		ptr, n := unsafe.StringData(s), len(s)
		v0, v1, v2, v3 := sd.k0^sipC0, sd.k1^sipC1, sd.k0^sipC2, sd.k1^sipC3
		for i := 0; i+8 <= n; i += 8 {
			m := load64(ptr, i)
			v3 ^= m
			v0 += v1
			v1 = v1<<13 | v1>>51
			v1 ^= v0
			v0 = v0<<32 | v0>>32
			v2 += v3
			v3 = v3<<16 | v3>>48
			v3 ^= v2
			v0 += v3
			v3 = v3<<21 | v3>>43
			v3 ^= v0
			v2 += v1
			v1 = v1<<17 | v1>>47
			v1 ^= v2
			v2 = v2<<32 | v2>>32
			v0 += v1
			v1 = v1<<13 | v1>>51
			v1 ^= v0
			v0 = v0<<32 | v0>>32
			v2 += v3
			v3 = v3<<16 | v3>>48
			v3 ^= v2
			v0 += v3
			v3 = v3<<21 | v3>>43
			v3 ^= v0
			v2 += v1
			v1 = v1<<17 | v1>>47
			v1 ^= v2
			v2 = v2<<32 | v2>>32
			v0 ^= m
		}
		var m uint64
		if r := uint(n) & 7; n >= 8 {
			if r != 0 {
				m = load64(ptr, n-8) >> ((64 - 8*r) & 63)
			}
		} else {
			m = shortBlock(ptr, n)
		}
		m |= uint64(n) << 56
		v3 ^= m
		v0 += v1
		v1 = v1<<13 | v1>>51
		v1 ^= v0
		v0 = v0<<32 | v0>>32
		v2 += v3
		v3 = v3<<16 | v3>>48
		v3 ^= v2
		v0 += v3
		v3 = v3<<21 | v3>>43
		v3 ^= v0
		v2 += v1
		v1 = v1<<17 | v1>>47
		v1 ^= v2
		v2 = v2<<32 | v2>>32
		v0 += v1
		v1 = v1<<13 | v1>>51
		v1 ^= v0
		v0 = v0<<32 | v0>>32
		v2 += v3
		v3 = v3<<16 | v3>>48
		v3 ^= v2
		v0 += v3
		v3 = v3<<21 | v3>>43
		v3 ^= v0
		v2 += v1
		v1 = v1<<17 | v1>>47
		v1 ^= v2
		v2 = v2<<32 | v2>>32
		v0 ^= m
		v2 ^= 0xff
		v0 += v1
		v1 = v1<<13 | v1>>51
		v1 ^= v0
		v0 = v0<<32 | v0>>32
		v2 += v3
		v3 = v3<<16 | v3>>48
		v3 ^= v2
		v0 += v3
		v3 = v3<<21 | v3>>43
		v3 ^= v0
		v2 += v1
		v1 = v1<<17 | v1>>47
		v1 ^= v2
		v2 = v2<<32 | v2>>32
		v0 += v1
		v1 = v1<<13 | v1>>51
		v1 ^= v0
		v0 = v0<<32 | v0>>32
		v2 += v3
		v3 = v3<<16 | v3>>48
		v3 ^= v2
		v0 += v3
		v3 = v3<<21 | v3>>43
		v3 ^= v0
		v2 += v1
		v1 = v1<<17 | v1>>47
		v1 ^= v2
		v2 = v2<<32 | v2>>32
		v0 += v1
		v1 = v1<<13 | v1>>51
		v1 ^= v0
		v0 = v0<<32 | v0>>32
		v2 += v3
		v3 = v3<<16 | v3>>48
		v3 ^= v2
		v0 += v3
		v3 = v3<<21 | v3>>43
		v3 ^= v0
		v2 += v1
		v1 = v1<<17 | v1>>47
		v1 ^= v2
		v2 = v2<<32 | v2>>32
		v0 += v1
		v1 = v1<<13 | v1>>51
		v1 ^= v0
		v0 = v0<<32 | v0>>32
		v2 += v3
		v3 = v3<<16 | v3>>48
		v3 ^= v2
		v0 += v3
		v3 = v3<<21 | v3>>43
		v3 ^= v0
		v2 += v1
		v1 = v1<<17 | v1>>47
		v1 ^= v2
		v2 = v2<<32 | v2>>32
		h = v0 ^ v1 ^ v2 ^ v3
	} else if p == pathFunc {
		h = m.hash(sd.k0, sd.k1, key)
	} else if p == pathString13 && m.vec() {
		// As for SipHash-2-4.
		s := *(*string)(unsafe.Pointer(&key))
		h, gp := sipVecProbe13(unsafe.Pointer(m), unsafe.StringData(s), len(s), unsafe.Sizeof(group[K, V]{}))
		if gp != nil {
			g := (*group[K, V])(gp)
			c := g.ctrl
			if b := matchTag(c, h&0x7f); b != 0 {
				sl := &g.slots[b.first()&(groupSlots-1)]
				if *(*[2]uintptr)(unsafe.Pointer(&sl.key)) == *(*[2]uintptr)(unsafe.Pointer(&key)) {
					return sl.val, true
				}
			} else if matchEmpty(c) != 0 {
				var zero V
				return zero, false
			}
		}
		return m.getSlow(h, key)
	} else if p == pathString13 {
		s := *(*string)(unsafe.Pointer(&key))
		h = sip13(sd.k0, sd.k1, unsafe.StringData(s), len(s))
	} else if p == pathUint24 && m.vec() {
		// HashUint64 is SipHash-2-4 of the key's 8 little-endian bytes,
		// which is how the key sits in memory. As for string keys.
		h, gp := sipVecProbe24(unsafe.Pointer(m), (*byte)(unsafe.Pointer(&key)), 8, unsafe.Sizeof(group[K, V]{}))
		if gp != nil {
			g := (*group[K, V])(gp)
			c := g.ctrl
			if b := matchTag(c, h&0x7f); b != 0 {
				sl := &g.slots[b.first()&(groupSlots-1)]
				if *(*uint64)(unsafe.Pointer(&sl.key)) == *(*uint64)(unsafe.Pointer(&key)) {
					return sl.val, true
				}
			} else if matchEmpty(c) != 0 {
				var zero V
				return zero, false
			}
		}
		return m.getSlow(h, key)
	} else if p == pathUint24 {
		h = HashUint64(sd.k0, sd.k1, *(*uint64)(unsafe.Pointer(&key)))
	} else {
		h = hashUint64_13(sd.k0, sd.k1, *(*uint64)(unsafe.Pointer(&key)))
	}
	// The common cases, inline: a hit in the key's home group, found by
	// the first slot whose tag matches and compared without a call (a
	// string key by its length and data pointer), and a miss that ends in
	// the home group. Everything else, including a string key equal in
	// bytes but not in address, goes to getSlow.
	var g *group[K, V]
	if m.depth >= vecMinDepth {
		// A large map: the home group, its slots prefetched (no
		// AVX-512 needed; nil under -tags purego or off amd64).
		g = (*group[K, V])(probe(unsafe.Pointer(m), h, unsafe.Sizeof(group[K, V]{})))
	}
	if g == nil {
		t := m.hotAt(h)
		g = t.group((h >> 7) & t.mask)
	}
	c := g.ctrl
	b := matchTag(c, h&0x7f)
	if b != 0 {
		s := &g.slots[b.first()&(groupSlots-1)]
		if m.sameKey(&s.key, &key) {
			return s.val, true
		}
	} else if matchEmpty(c) != 0 {
		// The common miss: no tag in the home group, which has room.
		var zero V
		return zero, false
	}
	return m.getSlow(h, key)
}

// vecMinDepth is the directory depth from which a Map hashes string and
// 64-bit integer keys with the vector SipHash (where useSipVec allows it): 32 tables, some
// 20,000 entries or more, a map larger than a core's private cache. The
// vector code lets the processor overlap the memory waits of lookups in
// such a map; in a map that fits the cache there are no waits to overlap,
// and the scalar code, whose result comes sooner (about 20 ns against 38
// for a 20-byte key, one hash waiting for the last), is the better one.
// Tests lower it.
var vecMinDepth uint8 = 5

// vec reports whether m hashes its keys with the vector SipHash.
func (m *Map[K, V]) vec() bool { return useSipVec && m.depth >= vecMinDepth }

// sameKey reports whether *a == *b, quickly: for string keys it compares
// only lengths and data pointers, so it may report false for equal
// strings (equal reports true for them).
func (m *Map[K, V]) sameKey(a, b *K) bool {
	if m.stringKey {
		return *(*[2]uintptr)(unsafe.Pointer(a)) == *(*[2]uintptr)(unsafe.Pointer(b))
	}
	return *a == *b
}

// getSlow is Get after its first guess failed: the whole probe sequence.
//
//go:noinline
func (m *Map[K, V]) getSlow(h uint64, key K) (V, bool) {
	t := m.hotAt(h)
	tag := h & 0x7f
	p := (h >> 7) & t.mask
	for i := uint64(1); ; i++ {
		g := t.group(p)
		c := g.ctrl
		for b := matchTag(c, tag); b != 0; b = b.rest() {
			s := &g.slots[b.first()&(groupSlots-1)]
			if m.equal(&s.key, &key) {
				return s.val, true
			}
		}
		if matchEmpty(c) != 0 {
			var zero V
			return zero, false
		}
		if i > t.mask {
			// Every group is full: only a concurrent write does that.
			panic(errConcurrentRead)
		}
		p = (p + i) & t.mask
	}
}

// equal reports whether *a == *b. String keys are equal without comparing
// their bytes when they share them (as the builtin map also checks first):
// a key looked up from the same string it was stored under, a constant.
func (m *Map[K, V]) equal(a, b *K) bool {
	if m.stringKey {
		x, y := (*string)(unsafe.Pointer(a)), (*string)(unsafe.Pointer(b))
		return len(*x) == len(*y) && (unsafe.StringData(*x) == unsafe.StringData(*y) || *x == *y)
	}
	return *a == *b
}

// GetBytes is Get for a key given as bytes, in a map whose key type's
// underlying type is string; it does not allocate. It is a function, not a
// method, so that it does not compile for other key types. The map's hash
// function sees a key that aliases b and must not retain it.
func GetBytes[K ~string, V any](m *Map[K, V], b []byte) (V, bool) {
	return m.Get(K(unsafe.String(unsafe.SliceData(b), len(b))))
}

// Has reports whether key is present.
func (m *Map[K, V]) Has(key K) bool {
	_, ok := m.Get(key)
	return ok
}

// find returns the table holding key, the group and the slot index within
// it, and the number of groups probed past key's home group.
func (m *Map[K, V]) find(h uint64, key K) (t *table[K, V], g uint64, j uintptr, dist int, ok bool) {
	t = m.dir[m.index(h)]
	tag := h & 0x7f
	p := (h >> 7) & t.mask
	for i := uint64(1); ; i++ {
		if i > t.mask+1 {
			panic(errConcurrentWrites) // every group full: see getSlow
		}
		gr := &t.groups[p]
		c := gr.ctrl
		for b := matchTag(c, tag); b != 0; b = b.rest() {
			j = b.first()
			if m.equal(&gr.slots[j].key, &key) {
				return t, p, j, int(i - 1), true
			}
		}
		if matchEmpty(c) != 0 {
			return t, 0, 0, 0, false
		}
		p = (p + i) & t.mask
	}
}

// Put stores val under key, replacing any previous value. Put on a nil
// *Map panics, as assigning to a nil builtin map does.
func (m *Map[K, V]) Put(key K, val V) {
	if m == nil {
		panic(errNilPut)
	}
	if m.seed == nil {
		m.lazyInit()
	}
	if m.writing {
		panic(errConcurrentWrites)
	}
	for {
		// hashKey, inline, as in Get.
		var h uint64
		sd := m.sd()
		// An if chain, not a switch: the common paths are tested first.
		if p := m.path; p == pathString24 {
			s := *(*string)(unsafe.Pointer(&key))
			if m.vec() {
				h = sipVec24(sd.k0, sd.k1, unsafe.StringData(s), len(s))
			} else {
				h = sip24(sd.k0, sd.k1, unsafe.StringData(s), len(s))
			}
		} else if p == pathFunc {
			h = m.hash(sd.k0, sd.k1, key)
		} else if p == pathString13 {
			s := *(*string)(unsafe.Pointer(&key))
			if m.vec() {
				h = sipVec13(sd.k0, sd.k1, unsafe.StringData(s), len(s))
			} else {
				h = sip13(sd.k0, sd.k1, unsafe.StringData(s), len(s))
			}
		} else if p == pathUint24 {
			if m.vec() {
				h = sipVec24(sd.k0, sd.k1, (*byte)(unsafe.Pointer(&key)), 8)
			} else {
				h = HashUint64(sd.k0, sd.k1, *(*uint64)(unsafe.Pointer(&key)))
			}
		} else {
			h = hashUint64_13(sd.k0, sd.k1, *(*uint64)(unsafe.Pointer(&key)))
		}
		// Set after hashing, as the builtin map does, so that a hash
		// function that panics leaves no stale flag.
		m.writing = true
		ok := m.put(h, key, val)
		if !m.writing {
			panic(errConcurrentWrites) // another writer finished meanwhile
		}
		m.writing = false
		if ok {
			return
		}
		// A growth step ran; it may have re-seeded, so hash again.
	}
}

// put stores val under key whose hash is h. It returns false when it had to
// grow a table first and the caller must retry (rehashing the key if the
// seed changed).
func (m *Map[K, V]) put(h uint64, key K, val V) bool {
	t, ht := m.dir[m.index(h)], m.hotAt(h)
	tag := h & 0x7f
	p := (h >> 7) & ht.mask
	var ins uint64
	var insSlot uintptr
	insDist := -1
	for i := uint64(1); ; i++ {
		g := ht.group(p)
		c := g.ctrl
		for b := matchTag(c, tag); b != 0; b = b.rest() {
			s := &g.slots[b.first()&(groupSlots-1)]
			if m.equal(&s.key, &key) {
				s.val = val
				return true
			}
		}
		if insDist < 0 {
			if b := matchEmptyOrDeleted(c); b != 0 {
				ins, insSlot = p, b.first()
				insDist = int(i - 1)
			}
		}
		if matchEmpty(c) != 0 {
			break
		}
		if i > ht.mask {
			panic(errConcurrentWrites) // every group full: see getSlow
		}
		p = (p + i) & ht.mask
	}
	ig := &t.groups[ins]
	if ctrlAt(ig.ctrl, insSlot) == ctrlEmpty {
		if t.growthLeft == 0 {
			m.grow(t)
			return false
		}
		t.growthLeft--
	} else {
		t.deleted--
	}
	ig.ctrl = setCtrl(ig.ctrl, insSlot, uint8(tag))
	ig.slots[insSlot] = slot[K, V]{key, val}
	if t.side != nil {
		k := ins*groupSlots + uint64(insSlot)
		sd := sideBits(h, t.sideShift)
		if insDist > 0 {
			sd |= sideAway
		}
		t.side[k] = sd
	}
	t.used++
	m.used++
	t.probeSum += insDist
	if insDist > t.maxProbe {
		t.maxProbe = insDist
	}
	if insDist > floodProbe && t.probeSum > floodMean*t.used+floodSlack {
		m.flood()
	}
	return true
}

// Delete removes key and reports whether it was present. On a nil *Map it
// does nothing and reports false, as delete does on a nil builtin map.
func (m *Map[K, V]) Delete(key K) bool {
	if m == nil || m.seed == nil {
		return false
	}
	if m.writing {
		panic(errConcurrentWrites)
	}
	h := m.hashOf(key)
	m.writing = true
	ok := m.delete(h, key)
	if !m.writing {
		panic(errConcurrentWrites)
	}
	m.writing = false
	return ok
}

func (m *Map[K, V]) delete(h uint64, key K) bool {
	t, g, j, dist, ok := m.find(h, key)
	if !ok {
		return false
	}
	gr := &t.groups[g]
	c := &gr.ctrl
	// A group with an empty slot never made a probe sequence move on, so
	// its freed slot can become empty again; otherwise it must stay a
	// tombstone that keeps longer probe sequences going.
	if matchEmpty(*c) != 0 {
		*c = setCtrl(*c, j, ctrlEmpty)
		t.growthLeft++
	} else {
		*c = setCtrl(*c, j, ctrlDeleted)
		t.deleted++
	}
	gr.slots[j] = slot[K, V]{}
	t.used--
	t.probeSum -= dist
	m.used--
	return true
}

// Len returns the number of entries: 0 for a nil *Map.
func (m *Map[K, V]) Len() int {
	if m == nil {
		return 0
	}
	return m.used
}

// begin marks the start of a write that runs no user code but the hash
// function, and end its end; end panics if another write ran meanwhile.
func (m *Map[K, V]) begin() {
	if m.writing {
		panic(errConcurrentWrites)
	}
	m.writing = true
}

func (m *Map[K, V]) end() {
	if !m.writing {
		panic(errConcurrentWrites)
	}
	m.writing = false
}

// Clear removes every entry, keeping the allocated tables for reuse, and
// draws a new random seed unless the seed is fixed.
func (m *Map[K, V]) Clear() {
	if m == nil || m.seed == nil {
		return
	}
	m.begin()
	m.forEachTable(func(t *table[K, V]) { t.clear() })
	m.used = 0
	m.reseedFloor = 0
	if !m.fixed {
		*m.sd() = makeSeed(newSeed())
	}
	m.end()
}

// Compact rebuilds the map at the smallest size that holds its entries (but
// not below the WithCapacity hint), releasing the memory that mass
// deletions left behind, and draws a new seed unless the seed is fixed. It
// costs one rehash of every entry.
func (m *Map[K, V]) Compact() {
	if m == nil || m.seed == nil {
		return
	}
	k0, k1 := m.sd().k0, m.sd().k1
	if !m.fixed {
		k0, k1 = newSeed()
	}
	m.begin()
	m.rebuild(k0, k1)
	m.end()
}

// forEachTable calls f once for every distinct table, in directory order.
func (m *Map[K, V]) forEachTable(f func(*table[K, V])) {
	for i := 0; i < len(m.dir); {
		t := m.dir[i]
		f(t)
		i += 1 << (m.depth - t.localDepth)
	}
}

// grow makes room in t for one more entry: by dropping tombstones in place
// when they are a good share of the limit, by doubling t while it is small,
// and by splitting it when it has reached the maximum table size.
func (m *Map[K, V]) grow(t *table[K, V]) {
	groups := len(t.groups)
	if t.deleted > 0 && t.used <= growthLimit(groups)*3/4 {
		if m.iterators > 0 {
			// A running All holds t's arrays: rehash into fresh ones.
			m.resize(t, groups, false)
		} else {
			t.dropTombstones(m.hashOf)
		}
		return
	}
	if groups < maxTableGroups {
		m.resize(t, groups*2, true)
		return
	}
	m.split(t)
}

// resize rehashes t into fresh arrays of the given size. When mayReseed is
// set and the map is this single table, every entry is rehashed here anyway,
// so it also draws a new seed unless the seed is fixed.
func (m *Map[K, V]) resize(t *table[K, V], groups int, mayReseed bool) {
	if mayReseed && len(m.dir) == 1 && !m.fixed {
		*m.sd() = makeSeed(newSeed())
	}
	old := t.groups
	t.gen++
	t.alloc(groups, t.side != nil)
	t.sideShift = t.localDepth
	for g := range old {
		og := &old[g]
		for b := matchFull(og.ctrl); b != 0; b = b.rest() {
			s := &og.slots[b.first()]
			t.insertNew(m.hashOf(s.key), s.key, s.val)
		}
	}
	span := 1 << (m.depth - t.localDepth)
	base := int(t.prefix) * span
	for i := base; i < base+span; i++ {
		m.hot[i] = hotOf(t)
	}
}

// split replaces a full table by two tables that each take the keys with
// one value of the next hash bit, doubling the directory if the table was
// already distinguished by every directory bit. If the split would be very
// uneven (so most keys would share the next bit too) or would grow the
// directory beyond what the entry count justifies, the keys are not spread
// by the hash as a random one would spread them: the table grows past the
// maximum size instead and the map treats it as a flood.
func (m *Map[K, V]) split(t *table[K, V]) {
	groups := len(t.groups)
	l := t.localDepth
	if l >= maxDepth || (l == m.depth && !m.directoryMayDouble()) {
		m.resize(t, groups*2, true)
		m.flood()
		return
	}
	// The split bit is bit k of the side bits while k < 7: then entries in
	// their home group move without a hash, and lo and hi keep t's side
	// bits; otherwise every entry is hashed and lo and hi start afresh.
	k := int(l) - int(t.sideShift)
	fast := t.side != nil && k >= 0 && k < 7
	shift := t.sideShift
	if !fast {
		shift = l + 1
	}
	lo := newTable[K, V](groups, l+1, t.prefix<<1, shift, true)
	hi := newTable[K, V](groups, l+1, t.prefix<<1|1, shift, true)
	bit := 63 - uint(l)
	for g := range t.groups {
		gr := &t.groups[g]
		c := gr.ctrl
		for b := matchFull(c); b != 0; b = b.rest() {
			j := g*groupSlots + int(b.first())
			s := &gr.slots[b.first()]
			if fast && t.side[j]&sideAway == 0 {
				sd := t.side[j]
				// In its home group g, which is also its home in lo and hi.
				half := lo
				if (sd>>(6-k))&1 != 0 {
					half = hi
				}
				half.place(uint64(g), ctrlAt(c, b.first()), sd, s.key, s.val)
				continue
			}
			h := m.hashOf(s.key)
			if (h>>bit)&1 == 0 {
				lo.insertNew(h, s.key, s.val)
			} else {
				hi.insertNew(h, s.key, s.val)
			}
		}
	}
	if min(lo.used, hi.used) < t.used/8 {
		m.resize(t, groups*2, true)
		m.flood()
		return
	}
	if l == m.depth {
		dir := make([]*table[K, V], 2*len(m.dir))
		hot := make([]hotTable[K, V], 2*len(m.dir))
		for i, tt := range m.dir {
			dir[2*i], dir[2*i+1] = tt, tt
			hot[2*i], hot[2*i+1] = m.hot[i], m.hot[i]
		}
		m.dir, m.hot = dir, hot
		m.depth++
		m.dshift--
	}
	span := 1 << (m.depth - l - 1)
	for _, half := range [...]*table[K, V]{lo, hi} {
		base := int(half.prefix) * span
		for i := base; i < base+span; i++ {
			m.dir[i] = half
			m.hot[i] = hotOf(half)
		}
	}
	t.gen++
}

// directoryMayDouble reports whether the entry count justifies twice as
// many directory slots: a random hash needs about one slot per half-full
// table, and this allows sixteen times that.
func (m *Map[K, V]) directoryMayDouble() bool {
	if m.depth >= maxDepth {
		return false
	}
	return 2*len(m.dir) <= max(64, 16*m.used/maxTableLimit)
}

// flood reacts to probe sequences or splits far worse than a random hash
// gives: it re-seeds and rehashes the whole map, unless the seed is fixed or
// the map re-seeded since it was last half its current size (a hash that
// ignores its seed cannot be helped, and re-seeding it at every insertion
// would only add cost).
func (m *Map[K, V]) flood() {
	if m.fixed || m.used < m.reseedFloor {
		return
	}
	m.reseedFloor = 2 * m.used
	k0, k1 := newSeed()
	m.rebuild(k0, k1)
	m.reseeds++
}

// rebuild rehashes every entry under the seed (k0, k1) into a fresh
// directory sized for the current entry count.
func (m *Map[K, V]) rebuild(k0, k1 uint64) {
	old := m.dir
	oldDepth := m.depth
	n := m.used
	*m.sd() = makeSeed(k0, k1)
	m.layout(max(n, m.capHint))
	m.used = n
	for i := 0; i < len(old); {
		t := old[i]
		for g := range t.groups {
			gr := &t.groups[g]
			for b := matchFull(gr.ctrl); b != 0; b = b.rest() {
				s := &gr.slots[b.first()]
				h := m.hashOf(s.key)
				nt := m.dir[m.index(h)]
				if nt.growthLeft == 0 {
					// An uneven spread filled this table: give it room
					// without a split, which could recurse into rebuild.
					m.resize(nt, 2*len(nt.groups), false)
				}
				nt.insertNew(h, s.key, s.val)
			}
		}
		t.gen++
		i += 1 << (oldDepth - t.localDepth)
	}
}
