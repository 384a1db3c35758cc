//go:build unix

package tlsutil

import (
	"syscall"
	"time"
)

// processCPU returns the user plus system CPU time of this process, so
// benchmarks can report CPU per operation, which other processes on a
// busy machine do not inflate the way they inflate wall time.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
