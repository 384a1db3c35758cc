package hashtable

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"
	"reflect"
	"unsafe"

	"github.com/dchest/siphash"
)

// Hash returns the SipHash-2-4 of key's bytes under the 128-bit key (k0, k1).
// It equals siphash.Hash(k0, k1, []byte(key)) for every input and allocates
// nothing: the string's bytes are read in place.
func Hash(k0, k1 uint64, key string) uint64 {
	return siphash.Hash(k0, k1, unsafe.Slice(unsafe.StringData(key), len(key)))
}

// HashUint64 returns the SipHash-2-4 of x's 8 little-endian bytes under
// (k0, k1), which is how maps made by New hash integer keys. Signed keys
// are sign-extended to 64 bits first, unsigned ones zero-extended. It equals
// siphash.Hash(k0, k1, binary.LittleEndian.AppendUint64(nil, x)).
func HashUint64(k0, k1, x uint64) uint64 {
	// SipHash-2-4 specialised to one 8-byte message: one compression block,
	// then the final block holding only the length (8) in its top byte.
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573

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

// sipHasher returns the SipHash-2-4 hasher New uses for K, or nil when K's
// underlying type is not one of Key's.
func sipHasher[K comparable]() func(k0, k1 uint64, key K) uint64 {
	kind, size := kindOf[K]()
	switch kind {
	case kindString:
		return func(k0, k1 uint64, key K) uint64 {
			return Hash(k0, k1, *(*string)(unsafe.Pointer(&key)))
		}
	case kindSigned:
		switch size {
		case 1:
			return func(k0, k1 uint64, key K) uint64 {
				return HashUint64(k0, k1, uint64(*(*int8)(unsafe.Pointer(&key))))
			}
		case 2:
			return func(k0, k1 uint64, key K) uint64 {
				return HashUint64(k0, k1, uint64(*(*int16)(unsafe.Pointer(&key))))
			}
		case 4:
			return func(k0, k1 uint64, key K) uint64 {
				return HashUint64(k0, k1, uint64(*(*int32)(unsafe.Pointer(&key))))
			}
		default:
			return func(k0, k1 uint64, key K) uint64 {
				return HashUint64(k0, k1, uint64(*(*int64)(unsafe.Pointer(&key))))
			}
		}
	case kindUnsigned:
		switch size {
		case 1:
			return func(k0, k1 uint64, key K) uint64 {
				return HashUint64(k0, k1, uint64(*(*uint8)(unsafe.Pointer(&key))))
			}
		case 2:
			return func(k0, k1 uint64, key K) uint64 {
				return HashUint64(k0, k1, uint64(*(*uint16)(unsafe.Pointer(&key))))
			}
		case 4:
			return func(k0, k1 uint64, key K) uint64 {
				return HashUint64(k0, k1, uint64(*(*uint32)(unsafe.Pointer(&key))))
			}
		default:
			return func(k0, k1 uint64, key K) uint64 {
				return HashUint64(k0, k1, *(*uint64)(unsafe.Pointer(&key)))
			}
		}
	}
	return nil
}
