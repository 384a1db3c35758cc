//go:build !purego

package hashtable

import "unsafe"

// useSipVec is set when the processor and the operating system support
// AVX-512F and AVX-512VL: string keys are then hashed by sipVec24 and
// sipVec13 instead of sip24 and sip13 (the same function, computed in
// vector registers). Tests clear it to check the scalar code.
var useSipVec = hasAVX512VL()

// sipVec24 is sip24 in vector registers. It must only be
// called when useSipVec is set.
//
//go:noescape
func sipVec24(k0, k1 uint64, p *byte, n int) uint64

// sipVec13 is sip13 in vector registers. It must only be
// called when useSipVec is set.
//
//go:noescape
func sipVec13(k0, k1 uint64, p *byte, n int) uint64

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

func xgetbv() uint32

// hasAVX512VL reports whether AVX-512F and AVX-512VL instructions may run:
// the processor has them (CPUID leaf 7) and the operating system saves the
// registers they use (XCR0: SSE, AVX, opmask and the upper ZMM state).
func hasAVX512VL() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	if ecx1&(1<<27) == 0 { // OSXSAVE: xgetbv is available
		return false
	}
	const xcr0AVX512 = 1<<1 | 1<<2 | 1<<5 | 1<<6 | 1<<7
	if xgetbv()&xcr0AVX512 != xcr0AVX512 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<16) != 0 && ebx7&(1<<31) != 0 // AVX512F, AVX512VL
}

// sipVecProbe24 is sipVec24 for the Map at m, returning also the address
// of the key's home group, whose slots it has asked the processor to
// fetch (see sipvec_amd64.s). groupSize is the size of the Map's groups.
// It must only be called when useSipVec is set.
//
//go:noescape
func sipVecProbe24(m unsafe.Pointer, p *byte, n int, groupSize uintptr) (h uint64, gp unsafe.Pointer)

// sipVecProbe13 is sipVecProbe24 with SipHash-1-3.
//
//go:noescape
func sipVecProbe13(m unsafe.Pointer, p *byte, n int, groupSize uintptr) (h uint64, gp unsafe.Pointer)

// probe returns the home group of hash h in the Map at m, whose slots it
// has asked the processor to fetch, or nil (see sipvec_amd64.s). It needs
// no AVX-512: Get calls it for the hashes it computes in Go, in large maps.
//
//go:noescape
func probe(m unsafe.Pointer, h uint64, groupSize uintptr) unsafe.Pointer
