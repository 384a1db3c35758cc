package observer

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
)

// panicOut is where panics without an OnPanic handler are reported.
// Tests replace it.
var (
	panicMu  sync.Mutex
	panicOut io.Writer = os.Stderr
)

// reportPanic hands r, recovered from an observer, to its handler. It must
// be called from the deferred function that recovered r, so that the stack
// written by the default report is still the stack of the panic.
func reportPanic(h func(any), r any) {
	if h == nil {
		printPanic(r, debug.Stack())
		return
	}
	defer func() {
		if r2 := recover(); r2 != nil {
			printPanic(fmt.Sprintf("%v (and the OnPanic handler panicked: %v)", r, r2), debug.Stack())
		}
	}()
	h(r)
}

func printPanic(r any, stack []byte) {
	panicMu.Lock()
	defer panicMu.Unlock()
	fmt.Fprintf(panicOut, "observer: observer panicked: %v\n\n%s\n", r, stack)
}
