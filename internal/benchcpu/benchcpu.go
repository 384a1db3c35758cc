// Package benchcpu reports a benchmark's process CPU time per operation,
// as the metric cpu-ns/op beside the wall-clock ns/op.
//
// On a machine shared with other work, time a benchmark spends descheduled
// inflates ns/op but not cpu-ns/op, so ratios of cpu-ns/op between a
// sturdy implementation and its baseline are the steadier ones. The CPU
// time is the whole process's, user plus system: work a benchmark hands to
// other goroutines (a TLS server, an async observer) is counted too.
package benchcpu

import (
	"testing"
	"time"
)

// Meter holds the process CPU time read when it started.
type Meter struct {
	start time.Duration
	ok    bool
}

// Start reads the process CPU time now.
func Start() Meter {
	t, ok := processCPU()
	return Meter{start: t, ok: ok}
}

// Report adds cpu-ns/op to b: the CPU time since Start divided by b.N
// times opsPerIter (the operations one benchmark iteration performs). It
// reports nothing where the system cannot tell the process CPU time.
func (m Meter) Report(b *testing.B, opsPerIter int) {
	t, ok := processCPU()
	if !ok || !m.ok || b.N <= 0 || opsPerIter <= 0 {
		return
	}
	b.ReportMetric(float64(t-m.start)/float64(b.N)/float64(opsPerIter), "cpu-ns/op")
}
