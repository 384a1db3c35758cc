//go:build !unix

package hashtable

// processCPU is not available here: benchmarks report wall time only.
func processCPU() (int64, bool) { return 0, false }
