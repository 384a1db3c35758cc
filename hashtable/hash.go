package hashtable

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"
	"reflect"
	"unsafe"
)

// Hash returns the SipHash-2-4 of key's bytes under the 128-bit key (k0, k1).
// It equals siphash.Hash(k0, k1, []byte(key)) of github.com/dchest/siphash
// for every input and allocates nothing: the string's bytes are read in
// place.
func Hash(k0, k1 uint64, key string) uint64 {
	return sip24(k0, k1, unsafe.StringData(key), len(key))
}

// hash13 is Hash with SipHash-1-3: one compression round per 8-byte block
// and three finalization rounds instead of two and four.
func hash13(k0, k1 uint64, key string) uint64 {
	return sip13(k0, k1, unsafe.StringData(key), len(key))
}

// The SipHash initialization constants ("somepseudorandomlygeneratedbytes").
const (
	sipC0 = 0x736f6d6570736575
	sipC1 = 0x646f72616e646f6d
	sipC2 = 0x6c7967656e657261
	sipC3 = 0x7465646279746573
)

// sip24 is SipHash-2-4 of the n bytes at p. It is written for short keys:
// the rounds are written out (sipRound, inlined, would leave an inlining
// mark, a no-op instruction, per round), each 8-byte block is one load, and the last 1 to
// 7 bytes are one more load (three for keys under 8 bytes), with no loop
// and never past the key's last byte.
func sip24(k0, k1 uint64, p *byte, n int) uint64 {
	v0, v1, v2, v3 := k0^sipC0, k1^sipC1, k0^sipC2, k1^sipC3
	i := 0
	for ; i+8 <= n; i += 8 {
		m := load64(p, i)
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
	// The final block, inline for keys of 8 bytes or more: the last 8
	// bytes, read overlapping the blocks before, with the whole blocks
	// shifted out.
	var m uint64
	if r := uint(n) & 7; n >= 8 {
		if r != 0 {
			m = load64(p, n-8) >> ((64 - 8*r) & 63)
		}
	} else {
		m = shortBlock(p, n)
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
	return v0 ^ v1 ^ v2 ^ v3
}

// sip13 is sip24 with SipHash-1-3's round counts.
func sip13(k0, k1 uint64, p *byte, n int) uint64 {
	v0, v1, v2, v3 := k0^sipC0, k1^sipC1, k0^sipC2, k1^sipC3
	i := 0
	for ; i+8 <= n; i += 8 {
		m := load64(p, i)
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
		v0 ^= m
	}
	// The final block, inline for keys of 8 bytes or more: the last 8
	// bytes, read overlapping the blocks before, with the whole blocks
	// shifted out.
	var m uint64
	if r := uint(n) & 7; n >= 8 {
		if r != 0 {
			m = load64(p, n-8) >> ((64 - 8*r) & 63)
		}
	} else {
		m = shortBlock(p, n)
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
	return v0 ^ v1 ^ v2 ^ v3
}

// load64 returns the 8 little-endian bytes at p+i, one load on the
// architectures that allow unaligned ones.
func load64(p *byte, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(p), i))[:])
}

func load32(p *byte, i int) uint64 {
	return uint64(binary.LittleEndian.Uint32((*[4]byte)(unsafe.Add(unsafe.Pointer(p), i))[:]))
}

func load8(p *byte, i int) uint64 {
	return uint64(*(*byte)(unsafe.Add(unsafe.Pointer(p), i)))
}

// shortBlock returns the n < 8 bytes at p, little-endian, without reading
// past them: overlapping pieces that put every byte at its own position, so
// OR-ing them is exact.
func shortBlock(p *byte, n int) uint64 {
	switch {
	case n >= 4:
		return load32(p, 0) | load32(p, n-4)<<(8*uint(n-4))
	case n > 0:
		return load8(p, 0) | load8(p, n>>1)<<(8*uint(n>>1)) | load8(p, n-1)<<(8*uint(n-1))
	}
	return 0
}

// HashUint64 returns the SipHash-2-4 of x's 8 little-endian bytes under
// (k0, k1), which is how maps made by New hash integer keys. Signed keys
// are sign-extended to 64 bits first, unsigned ones zero-extended. It equals
// siphash.Hash(k0, k1, binary.LittleEndian.AppendUint64(nil, x)).
func HashUint64(k0, k1, x uint64) uint64 {
	// SipHash-2-4 specialised to one 8-byte message: one compression block,
	// then the final block holding only the length (8) in its top byte.
	v0, v1, v2, v3 := k0^sipC0, k1^sipC1, k0^sipC2, k1^sipC3
	v3 ^= x
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= x

	const last = 8 << 56
	v3 ^= last
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= last

	v2 ^= 0xff
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	return v0 ^ v1 ^ v2 ^ v3
}

// hashUint64_13 is HashUint64 with SipHash-1-3.
func hashUint64_13(k0, k1, x uint64) uint64 {
	v0, v1, v2, v3 := k0^sipC0, k1^sipC1, k0^sipC2, k1^sipC3
	v3 ^= x
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= x

	const last = 8 << 56
	v3 ^= last
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= last

	v2 ^= 0xff
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	return v0 ^ v1 ^ v2 ^ v3
}

func sipRound(v0, v1, v2, v3 uint64) (uint64, uint64, uint64, uint64) {
	v0 += v1
	v1 = bits.RotateLeft64(v1, 13)
	v1 ^= v0
	v0 = bits.RotateLeft64(v0, 32)
	v2 += v3
	v3 = bits.RotateLeft64(v3, 16)
	v3 ^= v2
	v0 += v3
	v3 = bits.RotateLeft64(v3, 21)
	v3 ^= v0
	v2 += v1
	v1 = bits.RotateLeft64(v1, 17)
	v1 ^= v2
	v2 = bits.RotateLeft64(v2, 32)
	return v0, v1, v2, v3
}

// newSeed draws a 128-bit SipHash key from crypto/rand.
func newSeed() (k0, k1 uint64) {
	var b [16]byte
	// crypto/rand.Read never returns an error on supported platforms (it
	// crashes the program irrecoverably instead, since Go 1.24).
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])
}

// keyKind describes how New hashes a key type.
type keyKind uint8

const (
	kindOther keyKind = iota
	kindString
	kindSigned
	kindUnsigned
)

// kindOf classifies K once, at construction, so that the per-operation path
// needs no reflection and no interface conversion.
func kindOf[K comparable]() (keyKind, uintptr) {
	t := reflect.TypeFor[K]()
	switch t.Kind() {
	case reflect.String:
		return kindString, t.Size()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kindSigned, t.Size()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return kindUnsigned, t.Size()
	}
	return kindOther, t.Size()
}

// hashPath says how an operation hashes its key: by a direct call to one
// of the SipHash functions above, which the type of K allows, or through
// the map's hash function. The direct calls save an indirect call and a
// closure per operation, which in a lookup is a good share of what is not
// SipHash.
type hashPath uint8

const (
	pathFunc     hashPath = iota // the map's hash function
	pathString24                 // Hash of the key as a string
	pathString13                 // hash13 of the key as a string
	pathUint24                   // HashUint64 of the key's 8 bytes
	pathUint13                   // hashUint64_13 of the key's 8 bytes
)

// sipPath returns the direct path for K under SipHash (sip13 chooses
// SipHash-1-3), or pathFunc when K needs its hash function (integers
// narrower than 64 bits are widened there first).
func sipPath[K comparable](sip13 bool) hashPath {
	kind, size := kindOf[K]()
	switch {
	case kind == kindString && sip13:
		return pathString13
	case kind == kindString:
		return pathString24
	case (kind == kindSigned || kind == kindUnsigned) && size == 8 && sip13:
		return pathUint13
	case (kind == kindSigned || kind == kindUnsigned) && size == 8:
		return pathUint24
	}
	return pathFunc
}

// hashKey hashes key by path, or with hash when path is pathFunc. Hot
// paths (Map.Get, Map.Put) repeat its switch inline, since a function with
// several calls is beyond the inliner's budget.
func hashKey[K comparable](path hashPath, hash func(k0, k1 uint64, key K) uint64, k0, k1 uint64, key K) uint64 {
	switch path {
	case pathString24:
		return Hash(k0, k1, *(*string)(unsafe.Pointer(&key)))
	case pathString13:
		return hash13(k0, k1, *(*string)(unsafe.Pointer(&key)))
	case pathUint24:
		return HashUint64(k0, k1, *(*uint64)(unsafe.Pointer(&key)))
	case pathUint13:
		return hashUint64_13(k0, k1, *(*uint64)(unsafe.Pointer(&key)))
	}
	return hash(k0, k1, key)
}

// sipHasher returns the SipHash hasher New uses for K (SipHash-1-3 if sip13
// is set, else SipHash-2-4), or nil when K's underlying type is not one of
// Key's.
func sipHasher[K comparable](sip13 bool) func(k0, k1 uint64, key K) uint64 {
	kind, size := kindOf[K]()
	if kind == kindString {
		if sip13 {
			return func(k0, k1 uint64, key K) uint64 { return hash13(k0, k1, *(*string)(unsafe.Pointer(&key))) }
		}
		return func(k0, k1 uint64, key K) uint64 { return Hash(k0, k1, *(*string)(unsafe.Pointer(&key))) }
	}
	switch {
	case kind == kindSigned && size == 1:
		return intHasher[K, int8](sip13)
	case kind == kindSigned && size == 2:
		return intHasher[K, int16](sip13)
	case kind == kindSigned && size == 4:
		return intHasher[K, int32](sip13)
	case kind == kindUnsigned && size == 1:
		return intHasher[K, uint8](sip13)
	case kind == kindUnsigned && size == 2:
		return intHasher[K, uint16](sip13)
	case kind == kindUnsigned && size == 4:
		return intHasher[K, uint32](sip13)
	case kind == kindSigned || kind == kindUnsigned:
		return intHasher[K, uint64](sip13)
	}
	return nil
}

// intHasher hashes a key whose underlying type is T as its value widened to
// 64 bits: sign-extended for signed T.
func intHasher[K comparable, T int8 | int16 | int32 | uint8 | uint16 | uint32 | uint64](sip13 bool) func(k0, k1 uint64, key K) uint64 {
	if sip13 {
		return func(k0, k1 uint64, key K) uint64 { return hashUint64_13(k0, k1, uint64(*(*T)(unsafe.Pointer(&key)))) }
	}
	return func(k0, k1 uint64, key K) uint64 { return HashUint64(k0, k1, uint64(*(*T)(unsafe.Pointer(&key)))) }
}
