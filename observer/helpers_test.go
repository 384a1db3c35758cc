package observer

import (
	"bytes"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/leaktest"
)

func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}

// patience is how long a wait in these tests may last before the test
// reports a deadlock: until shortly before go test's -timeout would end the
// binary, so that a slow or busy machine never fails a test, or one minute
// where there is no timeout (fuzzing).
func patience(t testing.TB) time.Duration {
	if tt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := tt.Deadline(); ok {
			left := time.Until(dl)
			return left - left/20 - time.Second
		}
	}
	return time.Minute
}

// within runs f on its own goroutine and fails the test, with every
// goroutine's stack, if f has not returned within patience.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	wait := patience(t)
	select {
	case <-done:
	case <-time.After(wait):
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%s did not return within %v: deadlock\n%s", what, wait, buf)
	}
}

// waitClosed fails the test if ch is not closed within patience.
func waitClosed(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	wait := patience(t)
	select {
	case <-ch:
	case <-time.After(wait):
		t.Fatalf("%s not closed within %v", what, wait)
	}
}

// recorder collects values, safe for concurrent use.
type recorder[T any] struct {
	mu   sync.Mutex
	vals []T
}

func (r *recorder[T]) add(v T) {
	r.mu.Lock()
	r.vals = append(r.vals, v)
	r.mu.Unlock()
}

func (r *recorder[T]) get() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.vals...)
}

// capturePanics redirects default panic reports into a buffer for the
// duration of the test.
func capturePanics(t *testing.T) *syncBuffer {
	t.Helper()
	b := new(syncBuffer)
	panicMu.Lock()
	old := panicOut
	panicOut = b
	panicMu.Unlock()
	t.Cleanup(func() {
		panicMu.Lock()
		panicOut = old
		panicMu.Unlock()
	})
	return b
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFuncPrefix(t *testing.T) {
	if !strings.HasSuffix(funcPrefix, "/observer.") {
		t.Fatalf("funcPrefix = %q, want the package path and a dot", funcPrefix)
	}
}

// notifierWaits reports whether a notifier waits for room in the queue of
// an Async subscription.
func notifierWaits(sub *Subscription) bool {
	return sub.owner.(*entry[int]).q.waiting.Load()
}

// waitBlocked waits until some goroutine is blocked in fn (a frame of its
// stack, as runtime.Stack prints it), and fails the test with msg if done is
// closed first: the call that should have blocked returned.
func waitBlocked(t *testing.T, done <-chan struct{}, fn, msg string) {
	t.Helper()
	stop := time.Now().Add(patience(t))
	for goroutinesIn(fn) == 0 {
		select {
		case <-done:
			t.Fatal(msg)
		default:
		}
		if time.Now().After(stop) {
			t.Fatalf("no goroutine reached %s", fn)
		}
		runtime.Gosched()
	}
	select {
	case <-done:
		t.Fatal(msg)
	default:
	}
}

// goroutinesIn counts the goroutines whose stack has a frame of fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), fn)
}
