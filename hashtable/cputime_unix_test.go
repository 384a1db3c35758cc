//go:build unix

package hashtable

import "syscall"

// processCPU returns the CPU time (user and system) the process has used,
// in nanoseconds, and true.
func processCPU() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
