package hashtable

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/dchest/siphash"
)

func TestHashMatchesSiphash(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 301+8)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	seeds := [][2]uint64{{0, 0}, {0x0706050403020100, 0x0f0e0d0c0b0a0908}, {^uint64(0), ^uint64(0)}, {rng.Uint64(), rng.Uint64()}}
	for _, sd := range seeds {
		for n := 0; n <= 300; n++ {
			for off := range 8 { // every alignment of the string's bytes
				p := buf[off : off+n]
				if got, want := Hash(sd[0], sd[1], string(p)), siphash.Hash(sd[0], sd[1], p); got != want {
					t.Fatalf("seed %x len %d offset %d: Hash %#x, siphash.Hash %#x", sd, n, off, got, want)
				}
			}
		}
	}
}

func TestHashKnownAnswer(t *testing.T) {
	t.Parallel()
	// The first vector of the SipHash paper's test set: key 00..0f, empty
	// message.
	const want = 0x726fdb47dd0e0e31
	if got := Hash(0x0706050403020100, 0x0f0e0d0c0b0a0908, ""); got != want {
		t.Fatalf("Hash of empty message = %#x, want %#x", got, want)
	}
}

func le(x uint64) []byte { return binary.LittleEndian.AppendUint64(nil, x) }

func TestHashUint64MatchesSiphash(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		k0, k1, x := rng.Uint64(), rng.Uint64(), rng.Uint64()
		if got, want := HashUint64(k0, k1, x), siphash.Hash(k0, k1, le(x)); got != want {
			t.Fatalf("HashUint64(%#x, %#x, %#x) = %#x, want %#x", k0, k1, x, got, want)
		}
	}
}

// keyHash is the hash the map made by New uses for key.
func keyHash[K Key](k0, k1 uint64, key K) uint64 {
	return New[K, struct{}](WithSeed(k0, k1)).hash(k0, k1, key)
}

func TestIntegerKeysHashAsLittleEndian64(t *testing.T) {
	t.Parallel()
	const k0, k1 = 0x1111, 0x2222
	type myInt int
	cases := []struct {
		name      string
		got, want uint64
	}{
		{"int8(-1)", keyHash[int8](k0, k1, -1), siphash.Hash(k0, k1, le(^uint64(0)))},
		{"int16(-2)", keyHash[int16](k0, k1, -2), siphash.Hash(k0, k1, le(^uint64(1)))},
		{"int32(-3)", keyHash[int32](k0, k1, -3), siphash.Hash(k0, k1, le(^uint64(2)))},
		{"int64(-4)", keyHash[int64](k0, k1, -4), siphash.Hash(k0, k1, le(^uint64(3)))},
		{"int(5)", keyHash[int](k0, k1, 5), siphash.Hash(k0, k1, le(5))},
		{"myInt(-6)", keyHash[myInt](k0, k1, -6), siphash.Hash(k0, k1, le(^uint64(5)))},
		{"uint8(255)", keyHash[uint8](k0, k1, 255), siphash.Hash(k0, k1, le(255))},
		{"uint16(65535)", keyHash[uint16](k0, k1, 65535), siphash.Hash(k0, k1, le(65535))},
		{"uint32(max)", keyHash[uint32](k0, k1, 1<<32-1), siphash.Hash(k0, k1, le(1<<32-1))},
		{"uint64(max)", keyHash[uint64](k0, k1, 1<<64-1), siphash.Hash(k0, k1, le(1<<64-1))},
		{"uint(7)", keyHash[uint](k0, k1, 7), siphash.Hash(k0, k1, le(7))},
		{"uintptr(8)", keyHash[uintptr](k0, k1, 8), siphash.Hash(k0, k1, le(8))},
		{"string", keyHash[string](k0, k1, "key"), siphash.Hash(k0, k1, []byte("key"))},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: map hash %#x, want SipHash of 8 LE bytes %#x", c.name, c.got, c.want)
		}
	}
}

func TestHashAllocatesNothing(t *testing.T) {
	s := "a string that is longer than one SipHash block"
	if a := testing.AllocsPerRun(100, func() { Hash(1, 2, s) }); a != 0 {
		t.Fatalf("Hash allocates %v times", a)
	}
	h := sipHasher[int](false)
	if a := testing.AllocsPerRun(100, func() { h(1, 2, 42) }); a != 0 {
		t.Fatalf("integer hash allocates %v times", a)
	}
}

// refSip is SipHash-c-d written plainly from the paper, for any round
// counts: with (2, 4) it is checked against dchest/siphash, and with (1, 3)
// it is the reference for SipHash-1-3, which dchest/siphash lacks.
func refSip(c, d int, k0, k1 uint64, msg []byte) uint64 {
	v0, v1, v2, v3 := k0^sipC0, k1^sipC1, k0^sipC2, k1^sipC3
	rounds := func(n int) {
		for range n {
			v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		}
	}
	n := len(msg)
	for len(msg) >= 8 {
		m := binary.LittleEndian.Uint64(msg)
		v3 ^= m
		rounds(c)
		v0 ^= m
		msg = msg[8:]
	}
	var last [8]byte
	copy(last[:], msg)
	last[7] = byte(n)
	m := binary.LittleEndian.Uint64(last[:])
	v3 ^= m
	rounds(c)
	v0 ^= m
	v2 ^= 0xff
	rounds(d)
	return v0 ^ v1 ^ v2 ^ v3
}

// checkSip compares Hash and hash13 with the references for one input.
func checkSip(t *testing.T, k0, k1 uint64, p []byte) {
	t.Helper()
	if got, want := Hash(k0, k1, string(p)), siphash.Hash(k0, k1, p); got != want {
		t.Fatalf("seed %#x %#x len %d: Hash %#x, siphash.Hash %#x", k0, k1, len(p), got, want)
	}
	if got, want := refSip(2, 4, k0, k1, p), siphash.Hash(k0, k1, p); got != want {
		t.Fatalf("seed %#x %#x len %d: reference SipHash-2-4 %#x, siphash.Hash %#x", k0, k1, len(p), got, want)
	}
	if got, want := hash13(k0, k1, string(p)), refSip(1, 3, k0, k1, p); got != want {
		t.Fatalf("seed %#x %#x len %d: hash13 %#x, reference SipHash-1-3 %#x", k0, k1, len(p), got, want)
	}
	// Both implementations, in place (a read past the last byte of a key
	// that ends a page faults): the scalar one, and the vector one where
	// the processor has it.
	ptr := unsafe.SliceData(p)
	want24, want13 := siphash.Hash(k0, k1, p), refSip(1, 3, k0, k1, p)
	if got := sip24(k0, k1, ptr, len(p)); got != want24 {
		t.Fatalf("seed %#x %#x len %d: sip24 %#x, siphash.Hash %#x", k0, k1, len(p), got, want24)
	}
	if got := sip13(k0, k1, ptr, len(p)); got != want13 {
		t.Fatalf("seed %#x %#x len %d: sip13 %#x, reference SipHash-1-3 %#x", k0, k1, len(p), got, want13)
	}
	if useSipVec {
		if got := sipVec24(k0, k1, ptr, len(p)); got != want24 {
			t.Fatalf("seed %#x %#x len %d: sipVec24 %#x, siphash.Hash %#x", k0, k1, len(p), got, want24)
		}
		if got := sipVec13(k0, k1, ptr, len(p)); got != want13 {
			t.Fatalf("seed %#x %#x len %d: sipVec13 %#x, reference SipHash-1-3 %#x", k0, k1, len(p), got, want13)
		}
	}
}

// TestSipVecInUse says which SipHash this machine runs; the vector one is
// checked by checkSip only where it runs.
func TestSipVecInUse(t *testing.T) {
	t.Logf("vector SipHash (AVX-512VL) in use: %v", useSipVec)
}

// TestHashEveryLengthAndAlignment runs Hash and hash13 over every length
// from 0 to 300 at every alignment, reading from the end of a buffer that
// ends at a page boundary when the platform allows it, so a read past the
// key's last byte would fault.
func TestHashEveryLengthAndAlignment(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	buf := guardedBuf(t, 4096+512)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	seeds := [][2]uint64{{0, 0}, {0x0706050403020100, 0x0f0e0d0c0b0a0908}, {^uint64(0), ^uint64(0)}, {rng.Uint64(), rng.Uint64()}}
	for _, sd := range seeds {
		for n := 0; n <= 300; n++ {
			for off := range 8 {
				// From the start of buf at each alignment, and ending
				// exactly at the end of buf.
				checkSip(t, sd[0], sd[1], buf[off:off+n])
				end := len(buf) - off
				checkSip(t, sd[0], sd[1], buf[end-n:end])
			}
		}
	}
}

func TestHashUint64_13MatchesReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	for range 10000 {
		k0, k1, x := rng.Uint64(), rng.Uint64(), rng.Uint64()
		if got, want := hashUint64_13(k0, k1, x), refSip(1, 3, k0, k1, le(x)); got != want {
			t.Fatalf("hashUint64_13(%#x, %#x, %#x) = %#x, want %#x", k0, k1, x, got, want)
		}
	}
}

// TestSipHash13KnownAnswer pins hash13 to values an independent
// SipHash-1-3 implementation gives (a Rust crate's tests, key of 16 zero
// bytes), so that refSip(1, 3) is not its only check.
func TestSipHash13KnownAnswer(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]uint64{
		"":                0xd1fba762150c532c,
		"siphash":         0x8264ceeccb16bcbe,
		"digest-sip_hash": 0xce31007e34130c0a,
	} {
		if got := hash13(0, 0, msg); got != want {
			t.Errorf("hash13(0, 0, %q) = %#x, want %#x", msg, got, want)
		}
	}
}

func TestIntegerKeysHashWithSipHash13(t *testing.T) {
	t.Parallel()
	const k0, k1 = 0x3333, 0x4444
	m8 := New[int8, int](WithSeed(k0, k1), WithSipHash13())
	m64 := New[uint64, int](WithSeed(k0, k1), WithSipHash13())
	ms := New[string, int](WithSeed(k0, k1), WithSipHash13())
	if got, want := m8.hashOf(-2), refSip(1, 3, k0, k1, le(^uint64(1))); got != want {
		t.Errorf("int8 key: %#x, want %#x", got, want)
	}
	if got, want := m64.hashOf(1<<63), refSip(1, 3, k0, k1, le(1<<63)); got != want {
		t.Errorf("uint64 key: %#x, want %#x", got, want)
	}
	if got, want := ms.hashOf("key"), refSip(1, 3, k0, k1, []byte("key")); got != want {
		t.Errorf("string key: %#x, want %#x", got, want)
	}
	if m8.path != pathFunc || m64.path != pathUint13 || ms.path != pathString13 {
		t.Errorf("paths %d %d %d", m8.path, m64.path, ms.path)
	}
}

// TestGetHashInline checks Get's written-out SipHash-2-4 against Hash, which
// Put uses: a key of every length 0 to 300 and alignment, stored with Put
// and looked up by a copy (so that the lookup does not find it by its
// address), is found only if both hash it alike, and a map whose seed is
// fixed finds it in the group Hash names.
func TestGetHashInline(t *testing.T) {
	// Not parallel: it runs once with the vector SipHash (where the
	// processor has it) and once with the scalar code written out in Get.
	vec, depth := useSipVec, vecMinDepth
	defer func() { useSipVec, vecMinDepth = vec, depth }()
	vecMinDepth = 0 // the vector code in maps of every size
	for _, useSipVec = range []bool{vec, false} {
		testGetHashInline(t)
	}
}

func testGetHashInline(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	buf := make([]byte, 320)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for _, sip13 := range []bool{false, true} {
		opts := []Option{WithSeed(rng.Uint64(), rng.Uint64())}
		if sip13 {
			opts = append(opts, WithSipHash13())
		}
		m := New[string, int](opts...)
		model := map[string]int{}
		for n := 0; n <= 300; n++ {
			for off := range 8 {
				m.Put(string(buf[off:off+n]), n*8+off)
				model[string(buf[off:off+n])] = n*8 + off
			}
		}
		for n := 0; n <= 300; n++ {
			for off := range 8 {
				k := string(buf[off : off+n])
				if v, ok := m.Get(k); !ok || v != model[k] {
					t.Fatalf("sip13 %v, vector %v: Get of a %d-byte key at offset %d = %d, %v", sip13, useSipVec, n, off, v, ok)
				}
			}
		}
		checkInvariants(t, m)
	}
}

// TestVectorHashAcrossSizes grows a map from empty past vecMinDepth, where
// Put and Get switch from the scalar SipHash to the vector one (where the
// processor has it): every key stored while the map was small is found
// once it is large, and the other way round.
func TestVectorHashAcrossSizes(t *testing.T) {
	t.Parallel()
	keys := benchKeys(60000, 11)
	for _, sip13 := range []bool{false, true} {
		var opts []Option
		if sip13 {
			opts = append(opts, WithSipHash13())
		}
		m := New[string, int](opts...)
		for i, k := range keys {
			m.Put(k, i)
		}
		if m.depth < vecMinDepth {
			t.Fatalf("60000 keys: depth %d, below vecMinDepth %d", m.depth, vecMinDepth)
		}
		for i, k := range keys {
			// A copy, so the lookup cannot match by address.
			if v, ok := m.Get(string([]byte(k))); !ok || v != i {
				t.Fatalf("sip13 %v: Get(key %d) = %d, %v", sip13, i, v, ok)
			}
		}
		checkInvariants(t, m)
	}
}

// TestVectorHashIntegerKeys is TestVectorHashAcrossSizes for 64-bit integer
// keys, which large maps hash with the vector SipHash-2-4 of their 8 bytes
// in memory: it must equal HashUint64 of their value.
func TestVectorHashIntegerKeys(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(12, 13))
	for range 1000 {
		k0, k1, x := rng.Uint64(), rng.Uint64(), rng.Uint64()
		if got, want := sipVec24(k0, k1, (*byte)(unsafe.Pointer(&x)), 8), HashUint64(k0, k1, x); got != want {
			t.Fatalf("seed %#x %#x key %#x: sipVec24 of its bytes %#x, HashUint64 %#x", k0, k1, x, got, want)
		}
	}
	keys := make([]int64, 60000)
	for i := range keys {
		keys[i] = int64(rng.Uint64()) // half of them negative
	}
	m := New[int64, int]()
	for i, k := range keys {
		m.Put(k, i)
	}
	if m.depth < vecMinDepth {
		t.Fatalf("60000 keys: depth %d, below vecMinDepth %d", m.depth, vecMinDepth)
	}
	for i, k := range keys {
		if v, ok := m.Get(k); !ok || v != i {
			t.Fatalf("Get(%d) = %d, %v", k, v, ok)
		}
	}
	checkInvariants(t, m)
}
