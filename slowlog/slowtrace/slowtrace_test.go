package slowtrace_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/slowlog"
	"github.com/sturdy-go/sturdy/slowlog/slowtrace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/exp/trace"
)

// waitForMutex is a call slow because it waits for a mutex that another
// goroutine holds for hold.
func waitForMutex(l *slowlog.Log, name string, hold time.Duration) {
	var mu sync.Mutex
	mu.Lock()
	locked := make(chan struct{})
	go func() {
		<-locked
		time.Sleep(hold)
		mu.Unlock()
	}()
	_ = l.Do(context.Background(), name, func(context.Context) error {
		close(locked)
		mu.Lock() // waits about hold
		defer mu.Unlock()
		return nil
	})
}

// slowTrace writes the trace of one call slow on a mutex held 100ms and
// returns its file and the logged lines.
func slowTrace(t *testing.T) (string, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.InfoLevel)
	l := slowlog.New(zap.New(core), slowlog.Threshold(10*time.Millisecond),
		slowlog.FlightRecorder(slowlog.FlightConfig{Dir: t.TempDir(), Summarize: slowtrace.Summarize}))
	defer l.Close()
	waitForMutex(l, "GET /report", 100*time.Millisecond)
	es := l.Entries()
	if len(es) != 1 || es[0].Trace == "" {
		t.Fatalf("entries %+v: want one with a trace", es)
	}
	return es[0].Trace, logs
}

// TestMutex: the summary of a call that waited for a mutex names the
// mutex and the line of the program that waited; the log line carries it.
func TestMutex(t *testing.T) {
	file, logs := slowTrace(t)
	s, err := slowtrace.ReadFile(file, "GET /report")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Waits) == 0 {
		t.Fatalf("no waits in %+v", s)
	}
	w := s.Waits[0]
	// The holder sleeps 100ms after the call is about to Lock, so the
	// wait cannot be much shorter, however busy the machine.
	if w.What != "sync.(*Mutex).Lock" || !strings.HasSuffix(w.Where, "waitForMutex.func2") ||
		filepath.Base(w.File) != "slowtrace_test.go" || w.Duration < 90*time.Millisecond {
		t.Fatalf("longest wait %+v, want about 100ms in sync.(*Mutex).Lock from waitForMutex", w)
	}
	if s.Covered > s.Duration || s.Covered < w.Duration || s.Goroutine == 0 {
		t.Fatalf("summary %+v", s)
	}
	line := s.String()
	if !strings.HasPrefix(line, "of ") || !strings.Contains(line, "waiting on sync.(*Mutex).Lock at slowtrace_test.go:") {
		t.Fatalf("summary line %q", line)
	}
	lines := logs.FilterMessage(slowlog.Message).All()
	if len(lines) != 1 || lines[0].ContextMap()["why"] != line {
		t.Fatalf("log line %v, want why %q", lines, line)
	}
}

func TestNotFoundAndBadInput(t *testing.T) {
	file, _ := slowTrace(t)
	if _, err := slowtrace.ReadFile(file, "GET /other"); !errors.Is(err, slowtrace.ErrNotFound) {
		t.Fatalf("another name: %v, want ErrNotFound", err)
	}
	if _, err := slowtrace.ReadFile(file, "GET"); !errors.Is(err, slowtrace.ErrNotFound) {
		t.Fatalf("a prefix of the name: %v, want ErrNotFound", err)
	}
	if _, err := slowtrace.Read(strings.NewReader("not a trace"), "x"); err == nil {
		t.Fatalf("garbage read as a trace")
	}
	if _, err := slowtrace.ReadFile(filepath.Join(t.TempDir(), "missing"), "x"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if got := slowtrace.Summarize(file, "GET /other"); got != "" {
		t.Fatalf("Summarize of a call not in the trace = %q", got)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slowtrace.Read(bytes.NewReader(b[:20]), "GET /report"); err == nil {
		t.Errorf("a trace cut to its header read without error")
	}
}

// FuzzRead: whatever the file holds, Read returns an error or a summary
// whose parts add up, and never panics.
func FuzzRead(f *testing.F) {
	core, _ := observer.New(zapcore.InfoLevel)
	dir := f.TempDir()
	l := slowlog.New(zap.New(core), slowlog.Threshold(time.Millisecond), slowlog.FlightRecorder(slowlog.FlightConfig{Dir: dir}))
	waitForMutex(l, "x", 5*time.Millisecond)
	l.Close()
	if es := l.Entries(); len(es) == 1 && es[0].Trace != "" {
		b, err := os.ReadFile(es[0].Trace)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte("go 1.26 trace\x00\x00\x00"))
	f.Add([]byte("not a trace"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := slowtrace.Read(bytes.NewReader(b), "x")
		if err != nil {
			return
		}
		var waited time.Duration
		for _, w := range s.Waits {
			waited += w.Duration
		}
		if s.Covered > s.Duration || waited+s.Running+s.Runnable+s.Syscall != s.Covered {
			t.Fatalf("summary does not add up: %+v", s)
		}
		_ = s.String()
	})
}

func TestString(t *testing.T) {
	tests := []struct {
		s    slowtrace.Summary
		want string
	}{
		{slowtrace.Summary{Duration: 152 * time.Millisecond, Covered: 152 * time.Millisecond, Running: 2 * time.Millisecond,
			Waits: []slowtrace.Wait{{Reason: "sync", What: "sync.(*Mutex).Lock", Where: "main.handle", File: "/src/handler.go", Line: 42, Duration: 150 * time.Millisecond}}},
			"of 152ms: 150ms waiting on sync.(*Mutex).Lock at handler.go:42, 2ms running"},
		{slowtrace.Summary{Duration: 2 * time.Second, Covered: time.Second, Runnable: 600 * time.Millisecond, Syscall: 400 * time.Millisecond},
			"of 2s (trace covers 1s): 600ms runnable, 400ms in system calls"},
		{slowtrace.Summary{Duration: time.Second, Covered: time.Second,
			Waits: []slowtrace.Wait{{Reason: "chan receive", Duration: 990 * time.Millisecond}, {Reason: "sleep", Duration: time.Millisecond}}},
			"of 1s: 990ms waiting (chan receive)"},
		{slowtrace.Summary{Duration: time.Second}, "of 1s (trace covers 0s): nothing recorded"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// TestNothingPerFastCall: with the recorder on, fast calls leave nothing
// in the trace (no task, region or log event); only the slow call does.
func TestNothingPerFastCall(t *testing.T) {
	l := slowlog.New(nil, slowlog.Threshold(time.Hour),
		slowlog.FlightRecorder(slowlog.FlightConfig{Dir: t.TempDir(), After: time.Nanosecond}))
	defer l.Close()
	for range 1000 {
		l.Start("fast").Stop()
	}
	l.Start("slow", slowlog.After(0)).Stop()
	es := l.Entries()
	if len(es) != 1 || es[0].Name != "slow" || es[0].Trace == "" {
		t.Fatalf("entries %+v: want the slow call, with a trace", es)
	}
	b, err := os.ReadFile(es[0].Trace)
	if err != nil {
		t.Fatal(err)
	}
	r, err := trace.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var user []string
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Kind() {
		case trace.EventTaskBegin:
			user = append(user, "task "+ev.Task().Type)
		case trace.EventRegionBegin:
			user = append(user, "region "+ev.Region().Type)
		case trace.EventLog:
			user = append(user, "log "+ev.Log().Message)
		}
	}
	if len(user) != 2 || user[0] != "task slowlog slow" || !strings.HasPrefix(user[1], "log slow slow ") {
		t.Fatalf("user events in the trace: %q; want only the slow call's task and log", user)
	}
}
