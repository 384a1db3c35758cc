package observer

import (
	"bytes"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// deadline bounds every wait in these tests: a deadlock fails the test
// instead of hanging it.
const deadline = 10 * time.Second

// within runs f on its own goroutine and fails the test if f has not
// returned after deadline.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(deadline):
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%s did not return within %v: deadlock\n%s", what, deadline, buf)
	}
}

// waitClosed fails the test if ch is not closed within deadline.
func waitClosed(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(deadline):
		t.Fatalf("%s not closed within %v", what, deadline)
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
