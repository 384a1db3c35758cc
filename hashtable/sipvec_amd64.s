//go:build !purego

#include "textflag.h"

// SipHash in two XMM registers, A = (v0, v2) in X0 and B = (v1, v3) in X1,
// with AVX-512VL's per-lane rotate (VPROLVQ). A SipRound is eight vector
// instructions with a critical path of four, as long as the scalar
// round's; what changes is where the state lives. A lookup in a large map
// waits for memory, and the processor overlaps the next lookups with that
// wait only as far as its window of in-flight instructions and integer
// registers reaches; a scalar SipHash of a 20-byte key fills that window
// with about 150 integer instructions, the vector one with a third as
// many instructions and no integer registers. See sipvec_amd64.go.
//
// The round, with C the qword swap of a register:
//
//	A += B             (v0+v1, v2+v3)
//	B = B <<< (13, 16)
//	B ^= A             (v1, v3)
//	A = (v2, v0 <<< 32)   one VPSHUFD: swap the lanes, rotate v0
//	A += B             (v2+v1, v0+v3)
//	B = B <<< (17, 21)
//	B ^= A             (v1, v3)
//	A = (v0, v2 <<< 32)   the same VPSHUFD

DATA sipInitA<>+0(SB)/8, $0x736f6d6570736575
DATA sipInitA<>+8(SB)/8, $0x6c7967656e657261
GLOBL sipInitA<>(SB), RODATA|NOPTR, $16
DATA sipInitB<>+0(SB)/8, $0x646f72616e646f6d
DATA sipInitB<>+8(SB)/8, $0x7465646279746573
GLOBL sipInitB<>(SB), RODATA|NOPTR, $16
DATA sipRot1<>+0(SB)/8, $13
DATA sipRot1<>+8(SB)/8, $16
GLOBL sipRot1<>(SB), RODATA|NOPTR, $16
DATA sipRot2<>+0(SB)/8, $17
DATA sipRot2<>+8(SB)/8, $21
GLOBL sipRot2<>(SB), RODATA|NOPTR, $16
DATA sipFin<>+0(SB)/8, $0
DATA sipFin<>+8(SB)/8, $0xff
GLOBL sipFin<>(SB), RODATA|NOPTR, $16

#define ROUND \
	VPADDQ X1, X0, X0; \
	VPROLVQ sipRot1<>(SB), X1, X1; \
	VPXOR X0, X1, X1; \
	VPSHUFD $0x1E, X0, X0; \
	VPADDQ X1, X0, X0; \
	VPROLVQ sipRot2<>(SB), X1, X1; \
	VPXOR X0, X1, X1; \
	VPSHUFD $0x1E, X0, X0

// SIPHASH leaves the SipHash of the DX bytes at SI in AX, starting from
// the state in X0 and X1. CROUNDS and DROUNDS are its compression and finalization rounds.
// After the whole 8-byte blocks, the last n&7 bytes are the 8 bytes that
// end the key, shifted right; a key under 8 bytes is read in pieces that
// never pass its end.
#define SIPHASH \
	MOVQ DX, CX; \
	SHRQ $3, CX; \
	JZ short; \
loop: \
	VMOVQ (SI), X2; \
	VPSLLDQ $8, X2, X3; \
	VPXOR X3, X1, X1; \
	CROUNDS; \
	VPXOR X2, X0, X0; \
	ADDQ $8, SI; \
	DECQ CX; \
	JNZ loop; \
	MOVQ DX, BX; \
	ANDQ $7, BX; \
	JZ zero; \
	MOVQ -8(SI)(BX*1), AX; \
	NEGQ BX; \
	LEAQ 64(BX*8), CX; \
	SHRQ CX, AX; \
	JMP final; \
short: \
	CMPQ DX, $4; \
	JB tiny; \
	MOVLQZX (SI), AX; \
	MOVLQZX -4(SI)(DX*1), BX; \
	LEAQ -32(DX*8), CX; \
	SHLQ CX, BX; \
	ORQ BX, AX; \
	JMP final; \
tiny: \
	TESTQ DX, DX; \
	JZ zero; \
	MOVBQZX (SI), AX; \
	MOVQ DX, CX; \
	SHRQ $1, CX; \
	MOVBQZX (SI)(CX*1), BX; \
	SHLQ $3, CX; \
	SHLQ CX, BX; \
	ORQ BX, AX; \
	MOVBQZX -1(SI)(DX*1), BX; \
	LEAQ -8(DX*8), CX; \
	SHLQ CX, BX; \
	ORQ BX, AX; \
	JMP final; \
zero: \
	XORQ AX, AX; \
final: \
	SHLQ $56, DX; \
	ORQ DX, AX; \
	VMOVQ AX, X2; \
	VPSLLDQ $8, X2, X3; \
	VPXOR X3, X1, X1; \
	CROUNDS; \
	VPXOR X2, X0, X0; \
	VPXOR sipFin<>(SB), X0, X0; \
	DROUNDS; \
	VPXOR X1, X0, X0; \
	VPSHUFD $0x4E, X0, X1; \
	VPXOR X1, X0, X0; \
	VMOVQ X0, AX;

// KEYS starts the state from the key (k0, k1) passed as the first two
// arguments. (Loading it whole from a seed just stored on the caller's
// stack would wait for the stores: a 16-byte load is not forwarded from
// two 8-byte stores.)
#define KEYS \
	VPBROADCASTQ k0+0(FP), X0; \
	VPXOR sipInitA<>(SB), X0, X0; \
	VPBROADCASTQ k1+8(FP), X1; \
	VPXOR sipInitB<>(SB), X1, X1

// func sipVec24(k0, k1 uint64, p *byte, n int) uint64
TEXT ·sipVec24(SB), NOSPLIT, $0-40
#define CROUNDS ROUND; ROUND
#define DROUNDS ROUND; ROUND; ROUND; ROUND
	KEYS
	MOVQ p+16(FP), SI
	MOVQ n+24(FP), DX
	SIPHASH
	MOVQ AX, ret+32(FP)
	RET

// PROBE ends a probe function: with the Map in R12 and the hash in AX, it
// stores the address of the key's home group in gp, nil when the directory
// index is out of range (which only a racing writer causes; Get then takes
// its ordinary path, which panics), prefetches the group's slots so that
// they are on their way while Get reads the control word (Go has no
// prefetch instruction of its own), and returns. Directory index: (h >>
// 32) >> dshift, below len(hot); home group: groups + ((h >> 7) & mask) *
// gsize. It reads the Map's fields hot (a slice at offset 0) and dshift
// (offset 24); TestSipVecProbeLayout checks those offsets.
#define PROBE(gsize, gp) \
	MOVQ AX, R8; \
	SHRQ $32, R8; \
	MOVQ 24(R12), CX; \
	SHRQ CX, R8; \
	CMPQ R8, 8(R12); \
	JAE outside; \
	SHLQ $4, R8; \
	ADDQ 0(R12), R8; \
	MOVQ AX, R9; \
	SHRQ $7, R9; \
	ANDQ 8(R8), R9; \
	IMULQ gsize, R9; \
	ADDQ 0(R8), R9; \
	PREFETCHT0 64(R9); \
	PREFETCHT0 128(R9); \
	PREFETCHT0 192(R9); \
	MOVQ R9, gp; \
	RET; \
outside: \
	MOVQ $0, gp; \
	RET

// SEEDED starts the state from the seed of the Map at R12 (offset 32),
// whose precomputed starting state the vector code loads whole.
#define SEEDED \
	MOVQ 32(R12), DI; \
	VMOVDQU 16(DI), X0; \
	VMOVDQU 32(DI), X1

// func sipVecProbe24(m unsafe.Pointer, p *byte, n int, groupSize uintptr) (h uint64, gp unsafe.Pointer)
//
// sipVecProbe24 is sipVec24 for the Map at m, under its seed, and then
// PROBE.
TEXT ·sipVecProbe24(SB), NOSPLIT, $0-48
	MOVQ m+0(FP), R12
	SEEDED
	MOVQ p+8(FP), SI
	MOVQ n+16(FP), DX
	SIPHASH
	MOVQ AX, h+32(FP)
	PROBE(groupSize+24(FP), gp+40(FP))
#undef CROUNDS
#undef DROUNDS

// func sipVec13(k0, k1 uint64, p *byte, n int) uint64
TEXT ·sipVec13(SB), NOSPLIT, $0-40
#define CROUNDS ROUND
#define DROUNDS ROUND; ROUND; ROUND
	KEYS
	MOVQ p+16(FP), SI
	MOVQ n+24(FP), DX
	SIPHASH
	MOVQ AX, ret+32(FP)
	RET

// func sipVecProbe13(m unsafe.Pointer, p *byte, n int, groupSize uintptr) (h uint64, gp unsafe.Pointer)
//
// sipVecProbe13 is sipVecProbe24 with SipHash-1-3.
TEXT ·sipVecProbe13(SB), NOSPLIT, $0-48
	MOVQ m+0(FP), R12
	SEEDED
	MOVQ p+8(FP), SI
	MOVQ n+16(FP), DX
	SIPHASH
	MOVQ AX, h+32(FP)
	PROBE(groupSize+24(FP), gp+40(FP))
#undef CROUNDS
#undef DROUNDS

// func probe(m unsafe.Pointer, h uint64, groupSize uintptr) unsafe.Pointer
//
// probe is PROBE for a hash computed in Go.
TEXT ·probe(SB), NOSPLIT, $0-32
	MOVQ m+0(FP), R12
	MOVQ h+8(FP), AX
	PROBE(groupSize+16(FP), ret+24(FP))

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func xgetbv() uint32
TEXT ·xgetbv(SB), NOSPLIT, $0-4
	MOVL $0, CX
	XGETBV
	MOVL AX, ret+0(FP)
	RET
