package slowlog

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// here returns the line it is called from.
func here() int {
	_, _, line, _ := runtime.Caller(1)
	return line
}

// callerLog returns a Log on a fake clock whose zap logger adds the
// caller, as zap.NewProduction does.
func callerLog(t *testing.T) (*Log, *fakeClock, *observer.ObservedLogs) {
	t.Helper()
	c := newClock()
	core, logs := observer.New(zapcore.DebugLevel)
	l := New(zap.New(core, zap.AddCaller()), WithClock(c.Now), Threshold(time.Millisecond))
	return l, c, logs
}

// TestCaller checks that the caller of a line is the user's code, for
// each way of ending a call.
func TestCaller(t *testing.T) {
	t.Parallel()
	l, c, logs := callerLog(t)
	var want []int

	s := l.Start("stop")
	c.Advance(time.Second)
	want = append(want, here()+1)
	s.Stop()

	// A deferred Stop runs where the function returns: the caller is
	// the user's function at that line.
	func() {
		defer l.Start("defer").Stop()
		c.Advance(time.Second)
		want = append(want, here()+1)
	}()

	s = l.Start("stoperr", Context(context.Background()))
	c.Advance(time.Second)
	want = append(want, here()+1)
	s.StopErr(context.Canceled)

	want = append(want, here()+1)
	_ = l.Do(context.Background(), "do", func(context.Context) error {
		c.Advance(time.Second)
		return nil
	})

	func() {
		defer func() { _ = recover() }()
		want = append(want, here()+1)
		_ = l.Do(context.Background(), "panic", func(context.Context) error {
			c.Advance(time.Second)
			var m map[string]int
			//lint:ignore SA5000 a runtime panic, with runtime frames above it
			m["x"] = 1
			return nil
		})
	}()

	want = append(want, here()+1)
	h := l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.Advance(time.Second)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))

	lines := logs.All()
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, e := range lines {
		name, _ := field(e, "name")
		if !e.Caller.Defined || filepath.Base(e.Caller.File) != "caller_test.go" || e.Caller.Line != want[i] {
			t.Errorf("%v: caller %v, want caller_test.go:%d", name, e.Caller, want[i])
		}
		if !strings.HasPrefix(e.Caller.Function, "github.com/sturdy-go/sturdy/slowlog.TestCaller") {
			t.Errorf("%v: caller function %q, want TestCaller's", name, e.Caller.Function)
		}
	}
}

// TestCallerSkipAdds checks that the caller skip slowlog adds is on top of
// the user's own.
func TestCallerSkipAdds(t *testing.T) {
	t.Parallel()
	c := newClock()
	core, logs := observer.New(zapcore.DebugLevel)
	l := New(zap.New(core, zap.AddCaller(), zap.AddCallerSkip(1)), WithClock(c.Now), Threshold(0))
	stop := func(s Span) { s.Stop() } // the user's own helper, skipped by their AddCallerSkip(1)
	want := here() + 1
	stop(l.Start("x"))
	if e := logs.All()[0]; e.Caller.Line != want {
		t.Fatalf("caller %v, want line %d", e.Caller, want)
	}
}
