//go:build !(linux || darwin || freebsd)

package hashtable

import "testing"

// guardedBuf returns n bytes; on this platform nothing faults past them.
func guardedBuf(t *testing.T, n int) []byte { return make([]byte, n) }
