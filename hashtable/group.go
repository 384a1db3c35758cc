package hashtable

import "math/bits"

// Control bytes. A full slot's control byte is the 7-bit tag of its key's
// hash (high bit clear); the two special values have the high bit set and
// differ in bit 1, which matchEmpty uses to tell them apart.
const (
	ctrlEmpty   = 0b1000_0000
	ctrlDeleted = 0b1111_1110

	groupSlots = 8

	lsbs = 0x0101010101010101
	msbs = 0x8080808080808080

	// allEmpty is a control word whose eight bytes are all ctrlEmpty.
	allEmpty = lsbs * ctrlEmpty
)

// bitset has the high bit of byte i set when slot i of a group matched.
type bitset uint64

// first returns the slot index of the lowest match.
func (b bitset) first() uintptr { return uintptr(bits.TrailingZeros64(uint64(b)) >> 3) }

// rest clears the lowest match.
func (b bitset) rest() bitset { return b & (b - 1) }

// matchTag returns the slots whose control byte equals tag. It may report a
// false positive for a byte 0x01 above a true match (the classic SWAR
// zero-byte test borrows across bytes); callers compare keys anyway, so a
// false positive costs one key comparison and is never wrong.
func matchTag(ctrl uint64, tag uint64) bitset {
	v := ctrl ^ (lsbs * tag)
	return bitset(((v - lsbs) &^ v) & msbs)
}

// matchEmpty returns the slots that are empty (not deleted, not full).
func matchEmpty(ctrl uint64) bitset {
	return bitset((ctrl &^ (ctrl << 6)) & msbs)
}

// matchEmptyOrDeleted returns the slots that are free for an insertion.
func matchEmptyOrDeleted(ctrl uint64) bitset {
	return bitset(ctrl & msbs)
}

// matchFull returns the slots that hold an entry.
func matchFull(ctrl uint64) bitset {
	return bitset(^ctrl & msbs)
}

// setCtrl returns ctrl with byte i replaced by c.
func setCtrl(ctrl uint64, i uintptr, c uint8) uint64 {
	shift := i * 8
	return ctrl&^(0xff<<shift) | uint64(c)<<shift
}

// ctrlAt returns byte i of ctrl.
func ctrlAt(ctrl uint64, i uintptr) uint8 { return uint8(ctrl >> (i * 8)) }

// markForRehash turns every full byte into ctrlDeleted and every empty or
// deleted byte into ctrlEmpty: the first step of the in-place cleanup, where
// ctrlDeleted then means "holds an entry not yet placed".
func markForRehash(ctrl uint64) uint64 {
	full := (^ctrl & msbs) >> 7 // 0x01 in each full byte
	return msbs | full*(ctrlDeleted&^ctrlEmpty)
}
