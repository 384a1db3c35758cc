//go:build !amd64 || purego

package hashtable

import "unsafe"

// useSipVec is false where there is no vector SipHash: see sipvec_amd64.go.
var useSipVec = false

func sipVec24(k0, k1 uint64, p *byte, n int) uint64 { return sip24(k0, k1, p, n) }

func sipVec13(k0, k1 uint64, p *byte, n int) uint64 { return sip13(k0, k1, p, n) }

// sipVecProbe24 is never called where useSipVec is false.
func sipVecProbe24(m unsafe.Pointer, p *byte, n int, groupSize uintptr) (uint64, unsafe.Pointer) {
	panic("hashtable: sipVecProbe24 called without vector SipHash")
}

// sipVecProbe13 is never called where useSipVec is false.
func sipVecProbe13(m unsafe.Pointer, p *byte, n int, groupSize uintptr) (uint64, unsafe.Pointer) {
	panic("hashtable: sipVecProbe13 called without vector SipHash")
}

// probe returns nil: Get finds the home group itself.
func probe(m unsafe.Pointer, h uint64, groupSize uintptr) unsafe.Pointer { return nil }
