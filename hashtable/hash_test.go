package hashtable

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

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
	h := sipHasher[int]()
	if a := testing.AllocsPerRun(100, func() { h(1, 2, 42) }); a != 0 {
		t.Fatalf("integer hash allocates %v times", a)
	}
}
