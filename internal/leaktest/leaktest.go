// Package leaktest checks that tests leave no goroutine behind, patiently:
// goroutines that are ending (a closed connection's reader, an observer's
// queue after Done) are given time to return, so a busy machine never fails
// a test, while a goroutine that never returns still does.
//
// It wraps go.uber.org/goleak, whose own retries give up after about half a
// second, which a loaded machine can exceed.
package leaktest

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Patience is how long a check waits for goroutines to end before it
// reports them as leaked.
const Patience = time.Minute

// Find returns nil once no unexpected goroutine is left, or goleak's report
// of those still running after Patience. It runs the garbage collector
// between looks, so goroutines ended by cleanups (runtime.AddCleanup) get
// their chance.
func Find(opts ...goleak.Option) error {
	return find(Patience, opts...)
}

func find(patience time.Duration, opts ...goleak.Option) error {
	deadline := time.Now().Add(patience)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		runtime.GC()
		time.Sleep(wait)
	}
}

// VerifyNone fails t if goroutines other than those allowed by opts are
// still running after Patience.
func VerifyNone(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	if err := Find(opts...); err != nil {
		t.Error(err)
	}
}

// VerifyTestMain runs the tests, then fails the binary if they left a
// goroutine running. Use it as the whole of TestMain:
//
//	func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }
func VerifyTestMain(m *testing.M, opts ...goleak.Option) {
	code := m.Run()
	if code == 0 {
		if err := Find(opts...); err != nil {
			fmt.Fprintln(os.Stderr, "leaktest: goroutines left after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}
