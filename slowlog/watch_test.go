package slowlog

import (
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
	if !strings.HasPrefix(stack, "goroutine ") || !strings.Contains(stack, "blockedCall") {
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
	l.flightsMu.Lock()
	n := len(l.flights)
	l.flightsMu.Unlock()
	if n != 0 {
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

func TestStackOf(t *testing.T) {
	t.Parallel()
	dump := []byte("goroutine 1 [running]:\nmain.a()\n\ngoroutine 12 [chan receive]:\nmain.b()\n\tb.go:3\n\ngoroutine 123 [select]:\nmain.c()\n")
	tests := []struct {
		gid  uint64
		want string
	}{
		{1, "goroutine 1 [running]:\nmain.a()"},
		{12, "goroutine 12 [chan receive]:\nmain.b()\n\tb.go:3"},
		{123, "goroutine 123 [select]:\nmain.c()"},
		{2, ""},
	}
	for _, tt := range tests {
		if got := stackOf(dump, tt.gid); got != tt.want {
			t.Errorf("stackOf(%d) = %q, want %q", tt.gid, got, tt.want)
		}
	}
	if goroutineID() == 0 {
		t.Fatalf("goroutineID read 0")
	}
}
