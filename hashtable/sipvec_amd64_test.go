//go:build !purego

package hashtable

import (
	"testing"
	"unsafe"
)

// TestSipVecProbeLayout checks the Map field offsets sipVecProbe24 reads.
func TestSipVecProbeLayout(t *testing.T) {
	var m Map[string, int]
	if o := unsafe.Offsetof(m.hot); o != 0 {
		t.Errorf("Map.hot at offset %d, sipVecProbe24 reads it at 0", o)
	}
	if o := unsafe.Offsetof(m.dshift); o != 24 {
		t.Errorf("Map.dshift at offset %d, sipVecProbe24 reads it at 24", o)
	}
	if o := unsafe.Offsetof(m.seed); o != 32 {
		t.Errorf("Map.seed at offset %d, sipVecProbe24 reads it at 32", o)
	}
	var h hotTable[string, int]
	if unsafe.Offsetof(h.groups) != 0 || unsafe.Offsetof(h.mask) != 8 || unsafe.Sizeof(h) != 16 {
		t.Errorf("hotTable is not {groups at 0, mask at 8} in 16 bytes, as sipVecProbe24 reads it")
	}
}
