package observer

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
)

// Panic describes an observer's panic to a subject's panic handler (see
// Subject.SetPanicHandler). It is also an error, so a handler can log it
// as one.
type Panic[T any] struct {
	// Recovered is the value the observer passed to panic.
	Recovered any
	// Value is the value that was being delivered to the observer.
	Value T
	// Stack is the stack of the goroutine that delivered the value, taken
	// while the panic was being recovered, so it runs through the
	// observer's frames down to the panic; runtime/debug.Stack formats it.
	Stack []byte
	// Subscription is the subscription whose observer panicked. The
	// handler may end it with Unsubscribe, which then does not wait.
	Subscription *Subscription
}

// Error returns "observer: observer panicked: " followed by the recovered
// value.
func (p Panic[T]) Error() string {
	return fmt.Sprintf("observer: observer panicked: %v", p.Recovered)
}

// Unwrap returns the recovered value if it is an error, so that errors.Is
// and errors.As see through a Panic; otherwise nil.
func (p Panic[T]) Unwrap() error {
	err, _ := p.Recovered.(error)
	return err
}

// panicOut is where panics without a handler are reported. Tests replace
// it.
var (
	panicMu  sync.Mutex
	panicOut io.Writer = os.Stderr
)

// reportPanic hands r, recovered from e's observer while it received v, to
// the handler that applies: the subscription's OnPanic, else the subject's
// panic handler, else standard error. It must be called from the deferred
// function that recovered r, so that the stack is still the panic's.
func reportPanic[T any](e *entry[T], v T, r any) {
	if h := e.onPanic; h != nil {
		defer func() {
			if r2 := recover(); r2 != nil {
				printPanic(fmt.Sprintf("%v (and the OnPanic handler panicked: %v)", r, r2), debug.Stack())
			}
		}()
		h(r)
		return
	}
	e.subj.panicked(Panic[T]{Recovered: r, Value: v, Stack: debug.Stack(), Subscription: &e.sub})
}

// panicked reports p to s's panic handler, or to standard error when s has
// none. A panic of the handler itself is reported to standard error.
func (s *Subject[T]) panicked(p Panic[T]) {
	var h *func(Panic[T])
	if s != nil {
		h = s.panicHandler.Load()
	}
	if h == nil {
		printPanic(p.Recovered, p.Stack)
		return
	}
	defer func() {
		if r2 := recover(); r2 != nil {
			printPanic(fmt.Sprintf("%v (and the subject's panic handler panicked: %v)", p.Recovered, r2), debug.Stack())
		}
	}()
	(*h)(p)
}

func printPanic(r any, stack []byte) {
	panicMu.Lock()
	defer panicMu.Unlock()
	fmt.Fprintf(panicOut, "observer: observer panicked: %v\n\n%s\n", r, stack)
}
