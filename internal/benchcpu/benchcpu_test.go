package benchcpu

import (
	"runtime"
	"testing"
	"time"
)

// spin does a fixed amount of work that the compiler cannot remove or
// overlap: each step depends on the one before.
func spin(n int) uint64 {
	x := uint64(88172645463325252)
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// TestProcessCPUAdvances checks that a fixed amount of work shows in the
// process CPU time. The work is counted in steps, not in wall time, so a
// busy machine (which deschedules the test) only makes it take longer.
func TestProcessCPUAdvances(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no process CPU time on this system")
	}
	t0, ok := processCPU()
	if !ok {
		t.Fatal("getrusage failed")
	}
	// 50 million dependent xorshift steps are at least 150 million cycles:
	// 30 ms of CPU even at 5 GHz.
	x := spin(50_000_000)
	t1, _ := processCPU()
	if d := t1 - t0; d < 5*time.Millisecond {
		t.Fatalf("50 million dependent steps used only %v of CPU (x=%d)", d, x)
	}
}

// TestMeterReports checks that a benchmark using Meter gets cpu-ns/op.
func TestMeterReports(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no process CPU time on this system")
	}
	r := testing.Benchmark(func(b *testing.B) {
		m := Start()
		sink := uint64(0)
		for i := 0; i < b.N; i++ {
			sink += spin(100)
		}
		m.Report(b, 1)
		_ = sink
	})
	if v, ok := r.Extra["cpu-ns/op"]; !ok || v <= 0 {
		t.Fatalf("cpu-ns/op = %v (reported %v), want a positive figure", v, ok)
	}
}

func BenchmarkMeter(b *testing.B) {
	m := Start()
	x := 0
	for i := 0; i < b.N; i++ {
		x += i
	}
	m.Report(b, 1)
	_ = x
}
