//go:build unix

package hashtable

import (
	"syscall"
	"time"
)

// processCPU is the process's CPU time (user and system), as
// internal/benchcpu reads it, for the budget benchmarks that add and
// subtract the CPU time of three loops.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
