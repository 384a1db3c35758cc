package benchcpu

import (
	"runtime"
	"testing"
	"time"
)

func TestProcessCPUAdvances(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no process CPU time on this system")
	}
	t0, ok := processCPU()
	if !ok {
		t.Fatal("getrusage failed")
	}
	// Burn about 20ms of CPU.
	x := 0
	for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
		x++
	}
	t1, _ := processCPU()
	if d := t1 - t0; d < 5*time.Millisecond {
		t.Fatalf("20ms of busy work used only %v of CPU (x=%d)", d, x)
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
