//go:build !unix

package bio

import "time"

// processCPU is not available here; the benchmarks then report no
// cpu-ns/op.
func processCPU() (time.Duration, bool) { return 0, false }
