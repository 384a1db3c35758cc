package slowlog

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// blockedCall runs a call named name until release is closed; its name
// must show in the stack the watch logs.
func blockedCall(l *Log, name string, started chan<- struct{}, release <-chan struct{}) {
	defer l.Start(name).Stop()
	close(started)
	<-release
}

func running(logs *observer.ObservedLogs) []observer.LoggedEntry {
	return logs.FilterMessage(RunningMessage).All()
}

func TestWatchLogsOnce(t *testing.T) {
	t.Parallel()
	l, c, logs := newTest(t, Watch(time.Second), Threshold(time.Hour))
	started, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		blockedCall(l, "stuck", started, release)
	}()
	<-started
	l.scan()
	if n := len(running(logs)); n != 0 {
		t.Fatalf("%d lines before the watch duration", n)
	}
	c.Advance(time.Second)
	l.scan()
	l.scan()
	c.Advance(time.Minute)
	l.scan()
	lines := running(logs)
	if len(lines) != 1 {
		t.Fatalf("%d running lines, want exactly 1", len(lines))
	}
	e := lines[0]
	m := e.ContextMap()
	if e.Level != zapcore.WarnLevel || m["name"] != "stuck" || m["running"] != time.Second || m["seconds"] != "1.000000000" {
		t.Fatalf("line %v %v", e.Level, m)
	}
	stack, _ := m["stack"].(string)
	if !strings.HasPrefix(stack, "github.com/sturdy-go/sturdy/slowlog.blockedCall\n\t") {
		t.Fatalf("stack does not show the blocked goroutine:\n%s", stack)
	}
	close(release)
	<-done
	if n := logs.FilterMessage(Message).Len(); n != 0 {
		t.Fatalf("call below threshold logged %d times at its end", n)
	}
	l.scan()
	if len(running(logs)) != 1 {
		t.Fatalf("ended call logged again")
	}
	if n := l.w.inFlight(); n != 0 {
		t.Fatalf("%d calls still tracked after they ended", n)
	}
}

// TestWatchGoroutine runs the watch goroutine on a fake clock and waits
// for its scans, not for wall-clock time, so a busy machine only makes it
// slower.
func TestWatchGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	z, logs := observed(zapcore.InfoLevel)
	c := newClock()
	scans := make(chan struct{})
	onScan := Option(func(cf *config) {
		cf.onScan = func() {
			select {
			case scans <- struct{}{}:
			default: // nobody waiting: the test is not counting this one
			}
		}
	})
	l := New(z, WithClock(c.Now), Watch(20*time.Millisecond), onScan)
	started, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		blockedCall(l, "stuck", started, release)
	}()
	<-started
	<-scans
	if n := len(running(logs)); n != 0 {
		t.Fatalf("%d running lines before the fake clock moved", n)
	}
	c.Advance(20 * time.Millisecond)
	for len(running(logs)) == 0 {
		<-scans
	}
	c.Advance(time.Second)
	for range 3 {
		<-scans
	}
	if n := len(running(logs)); n != 1 {
		t.Fatalf("%d running lines after three more scans, want 1", n)
	}
	close(release)
	<-done
	l.Close()
	l.Close() // idempotent
	l.Start("after close").Stop()
}

func TestStackOfLabel(t *testing.T) {
	t.Parallel()
	profile := []byte("goroutine profile: total 3\n" +
		"1 @ 0x1 0x2\n# labels: {\"a\":\"b\", \"slowlog\":\"1.17\"}\n#\t0x4a1b2c\tmain.handle+0x4c\t\t\t/src/main.go:15\n#\t0x4a1b3c\tmain.serve+0x10\t/src/main.go:30\n\n" +
		"1 @ 0x1 0x2\n# labels: {\"slowlog\":\"1.1\"}\n#\t0x4a1b2c\tmain.other+0x4c\t/src/other.go:5\n\n" +
		"2 @ 0x1\n#\t0x4a1b2c\tmain.idle+0x4c\t/src/idle.go:1\n")
	tests := []struct{ label, want string }{
		{"1.17", "main.handle\n\t/src/main.go:15\nmain.serve\n\t/src/main.go:30"},
		{"1.1", "main.other\n\t/src/other.go:5"},
		{"1.7", ""},
		{"17", ""},
	}
	for _, tt := range tests {
		if got := stackOfLabel(profile, tt.label); got != tt.want {
			t.Errorf("stackOfLabel(%q) = %q, want %q", tt.label, got, tt.want)
		}
	}
}

// TestWatchLabels checks that Start gives the goroutine its slot's label
// and Stop gives back the labels of the call's context, and that the
// overflow map, used when every probed slot is taken, works the same.
func TestWatchLabels(t *testing.T) {
	t.Parallel()
	l, _, _ := newTest(t, Watch(time.Hour), Threshold(time.Hour))
	ctx := pprof.WithLabels(context.Background(), pprof.Labels("user", "u1"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		pprof.SetGoroutineLabels(ctx)
		s := l.Start("x", Context(ctx))
		got := stackOfLabel(goroutineProfile(), l.w.label(slotOf(s.flight)))
		if !strings.Contains(got, "TestWatchLabels") {
			t.Errorf("the call's goroutine is not found by its label; got %q", got)
		}
		s.Stop()
		if stackOfLabel(goroutineProfile(), l.w.label(slotOf(s.flight))) != "" {
			t.Errorf("label left after Stop")
		}
		// Take every slot, so that the next call overflows.
		for i := range l.w.slots {
			l.w.slots[i].state.Store(slotBusy)
		}
		s = l.Start("y", Context(ctx))
		if s.flight&overflowBit == 0 {
			t.Errorf("call took slot %d of a full table", slotOf(s.flight))
		}
		if got := stackOfLabel(goroutineProfile(), l.w.label(s.flight)); !strings.Contains(got, "TestWatchLabels") {
			t.Errorf("overflowed call not found by its label; got %q", got)
		}
		if n := l.w.inFlight(); n != len(l.w.slots)+1 {
			t.Errorf("%d in flight, want %d", n, len(l.w.slots)+1)
		}
		s.Stop()
		for i := range l.w.slots {
			l.w.slots[i].state.Store(slotFree)
		}
		if n := l.w.inFlight(); n != 0 {
			t.Errorf("%d in flight after Stop", n)
		}
	}()
	<-done
	// The labels the goroutine had are back: a goroutine it starts now
	// inherits them.
	labels := make(chan string)
	go func() {
		pprof.SetGoroutineLabels(ctx)
		s := l.Start("z", Context(ctx))
		s.Stop()
		go func() {
			v, _ := pprof.Label(ctx, "user")
			labels <- v
		}()
	}()
	if v := <-labels; v != "u1" {
		t.Fatalf("label user = %q, want u1", v)
	}
}

// TestWatchNoAlloc checks that a watched call below the threshold does
// not allocate.
func TestWatchNoAlloc(t *testing.T) {
	l := New(nil, Threshold(time.Hour), Watch(time.Hour))
	defer l.Close()
	if n := testing.AllocsPerRun(1000, func() { l.Start("db.query").Stop() }); n != 0 {
		t.Fatalf("watched call: %v allocs, want 0", n)
	}
}

// TestWatchRequest: a request still being served is reported under the
// bounded default name, with its method and path.
func TestWatchRequest(t *testing.T) {
	t.Parallel()
	l, c, logs := newTest(t, Watch(time.Second), Threshold(time.Hour))
	started, release := make(chan struct{}), make(chan struct{})
	h := l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/upload/42", nil))
	}()
	<-started
	c.Advance(time.Second)
	l.scan()
	close(release)
	<-done
	lines := running(logs)
	if len(lines) != 1 {
		t.Fatalf("%d running lines", len(lines))
	}
	m := lines[0].ContextMap()
	if m["name"] != "POST (unrouted)" || m["method"] != "POST" || m["path"] != "/upload/42" || !strings.Contains(m["stack"].(string), "TestWatchRequest") {
		t.Fatalf("running line %v", m)
	}
}

// TestWatchStopTwice: stopping a copy of a Span again neither hangs nor
// ends the call that took its slot since.
func TestWatchStopTwice(t *testing.T) {
	t.Parallel()
	l, _, _ := newTest(t, Watch(time.Hour), Threshold(time.Hour))
	s := l.Start("a")
	again := s
	s.Stop()
	next := l.Start("b")
	if slotOf(next.flight) != slotOf(s.flight) {
		t.Logf("the second call took another slot (%d, not %d)", slotOf(next.flight), slotOf(s.flight))
	}
	again.Stop()
	if n := l.w.inFlight(); n != 1 {
		t.Fatalf("%d calls in flight after a second Stop, want 1 (b)", n)
	}
	next.Stop()
	if n := l.w.inFlight(); n != 0 {
		t.Fatalf("%d calls in flight", n)
	}
}
