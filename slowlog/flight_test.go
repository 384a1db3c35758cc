package slowlog

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/trace"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The flight recorder is process-wide, so these tests do not run in
// parallel: the package's parallel tests run after them.

// traceFiles lists slowlog's trace files in dir, sorted.
func traceFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "slowlog-") {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// traceField returns the trace field of a line, "" if none.
func traceField(e observer.LoggedEntry) string {
	v, _ := field(e, "trace")
	s, _ := v.(string)
	return s
}

// goTool returns the go command, skipping the test if there is none
// (failing it under CI=true, where the go command must be).
func goTool(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no go command to run go tool trace: %v", err)
		}
		t.Skip("no go command to run go tool trace")
	}
	return goCmd
}

// blockedOnMutex is a call slow because it waits for a mutex that another
// goroutine holds for hold.
func blockedOnMutex(l *Log, hold time.Duration) error {
	var mu sync.Mutex
	mu.Lock()
	locked := make(chan struct{})
	go func() {
		<-locked
		time.Sleep(hold)
		mu.Unlock()
	}()
	return l.Do(context.Background(), "handler.mutex", func(context.Context) error {
		close(locked)
		mu.Lock() // waits about hold
		defer mu.Unlock()
		return nil
	})
}

// TestFlightMutex is the "done when": a slow call blocked on a
// mutex leaves a trace file that go tool trace opens, that names the
// call, and whose synchronization profile shows the mutex wait.
func TestFlightMutex(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "traces") // made by the Log
	z, logs := observed(zapcore.InfoLevel)
	var seen []Entry
	var seenMu sync.Mutex
	var summarized []string
	summarize := func(file, name string) string {
		summarized = append(summarized, file, name)
		return "of it: waiting"
	}
	l := New(z, Threshold(20*time.Millisecond), FlightRecorder(FlightConfig{Dir: dir, Summarize: summarize}),
		OnSlow(func(_ context.Context, e Entry) { seenMu.Lock(); seen = append(seen, e); seenMu.Unlock() }))
	defer l.Close()

	if err := blockedOnMutex(l, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	lines := logs.FilterMessage(Message).All()
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1", len(lines))
	}
	path := traceField(lines[0])
	if path == "" {
		t.Fatalf("line has no trace field: %v", lines[0].ContextMap())
	}
	if why, _ := field(lines[0], "why"); why != "of it: waiting" || !slices.Equal(summarized, []string{path, "handler.mutex"}) {
		t.Fatalf("why %q; Summarize got %q", why, summarized)
	}
	es := l.Entries()
	if len(es) != 1 || es[0].Trace != path || len(seen) != 1 || seen[0].Trace != path {
		t.Fatalf("entry %+v, OnSlow saw %+v; want trace %s in both", es, seen, path)
	}
	if !strings.HasPrefix(filepath.Base(path), "slowlog-") || !strings.HasSuffix(path, "-slow-handler.mutex.trace") {
		t.Fatalf("trace file name %s does not say which call", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 || di.Mode().Perm()&0o077 != 0 {
		t.Fatalf("modes file %v dir %v, want no access for group and others", fi.Mode(), di.Mode())
	}

	// The Handler shows the file too.
	rec := httptest.NewRecorder()
	l.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/slowlog", nil))
	var rep struct {
		Entries []struct {
			Trace string `json:"trace"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil || len(rep.Entries) != 1 || rep.Entries[0].Trace != path {
		t.Fatalf("handler: %v %s", err, rec.Body)
	}

	goCmd := goTool(t)
	// go tool trace opens it and finds the call by name.
	out, err := exec.Command(goCmd, "tool", "trace", "-d=parsed", path).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool trace -d=parsed: %v\n%.2000s", err, out)
	}
	if !bytes.Contains(out, []byte("slowlog handler.mutex")) || !bytes.Contains(out, []byte("slow handler.mutex")) {
		t.Fatalf("the trace does not name the call (no task %q)", "slowlog handler.mutex")
	}
	// Its synchronization profile shows the wait in sync.(*Mutex).Lock,
	// called from the function the call ran.
	prof, err := exec.Command(goCmd, "tool", "trace", "-pprof=sync", path).Output()
	if err != nil {
		t.Fatalf("go tool trace -pprof=sync: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(prof))
	if err != nil {
		t.Fatalf("sync profile is not a gzipped pprof profile: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"sync.(*Mutex).Lock", "slowlog.blockedOnMutex.func2"} {
		if !bytes.Contains(raw, []byte(fn)) {
			t.Errorf("sync profile does not show %s", fn)
		}
	}
}

// TestFlightStorm: a storm of slow calls writes one trace, not one per
// call, and every call is still logged.
func TestFlightStorm(t *testing.T) {
	dir := t.TempDir()
	l, c, logs := newTest(t, Threshold(time.Millisecond), FlightRecorder(FlightConfig{Dir: dir, Every: time.Hour}))
	const n = 200
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			s := l.Start("storm")
			c.Advance(time.Millisecond)
			s.Stop()
		})
	}
	wg.Wait()
	if got := logs.FilterMessage(Message).Len(); got != n {
		t.Fatalf("%d lines, want %d", got, n)
	}
	withTrace := 0
	for _, e := range logs.FilterMessage(Message).All() {
		if traceField(e) != "" {
			withTrace++
		}
	}
	if files := traceFiles(t, dir); len(files) != 1 || withTrace != 1 {
		t.Fatalf("%d files, %d lines with a trace; want 1 and 1", len(files), withTrace)
	}
}

// TestFlightMaxFiles: Dir keeps the MaxFiles newest traces, named so that
// they sort by time.
func TestFlightMaxFiles(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "notes.txt") // not ours: never removed
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l, c, _ := newTest(t, Threshold(time.Millisecond), FlightRecorder(FlightConfig{Dir: dir, Every: time.Second, MaxFiles: 3}))
	var paths []string
	for i := range 6 {
		timed(l, c, []string{"a", "b/c", "d e", "f", "g", "h"}[i], time.Second)
		paths = append(paths, filepath.Base(l.Entries()[0].Trace))
	}
	files := traceFiles(t, dir)
	if !slices.Equal(files, paths[3:]) {
		t.Fatalf("files %q, want the 3 newest %q", files, paths[3:])
	}
	if !slices.IsSorted(paths) || !strings.HasSuffix(paths[4], "-slow-g.trace") {
		t.Fatalf("names do not sort by time or name the call: %q", paths)
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("a file not written by slowlog was removed: %v", err)
	}
	if got := fileSafe("GET /items/{id}"); got != "GET__items__id_" {
		t.Fatalf("fileSafe = %q", got)
	}
	if got := fileSafe(strings.Repeat("x", 100)); len(got) != 64 {
		t.Fatalf("fileSafe kept %d bytes", len(got))
	}
}

// errWriter fails every write as a full disk does.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }
func (errWriter) Close() error              { return nil }

// TestFlightFaults: whatever keeps traces from being written, every slow
// call is logged as without FlightRecorder, and the reason once.
func TestFlightFaults(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	full := Option(func(c *config) {
		c.createTrace = func(string) (io.WriteCloser, error) { return errWriter{}, nil }
	})
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"no dir", []Option{FlightRecorder(FlightConfig{})}, "Dir is empty"},
		{"dir cannot be made", []Option{FlightRecorder(FlightConfig{Dir: filepath.Join(file, "traces"), Every: time.Nanosecond})}, "not a directory"},
		{"disk full", []Option{FlightRecorder(FlightConfig{Dir: t.TempDir(), Every: time.Nanosecond}), full}, "no space left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, c, logs := newTest(t, append([]Option{Threshold(time.Millisecond)}, tt.opts...)...)
			for range 5 {
				timed(l, c, "call", time.Second)
			}
			lines := logs.FilterMessage(Message).All()
			if len(lines) != 5 {
				t.Fatalf("%d lines, want 5", len(lines))
			}
			for _, e := range lines {
				if traceField(e) != "" {
					t.Fatalf("line with a trace: %v", e.ContextMap())
				}
			}
			faults := logs.FilterMessage(TraceFailedMessage).All()
			if len(faults) != 1 || !strings.Contains(faults[0].ContextMap()["error"].(string), tt.want) {
				t.Fatalf("fault lines %v, want one saying %q", faults, tt.want)
			}
		})
	}
}

// TestFlightProgramRecorder: with a flight recorder of the program's
// running, slowlog's cannot start; slow calls are logged without traces,
// and Close leaves the program's recorder running.
func TestFlightProgramRecorder(t *testing.T) {
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
	if err := fr.Start(); err != nil {
		t.Fatal(err)
	}
	defer fr.Stop()
	l, c, logs := newTest(t, Threshold(time.Millisecond), FlightRecorder(FlightConfig{Dir: t.TempDir()}))
	timed(l, c, "call", time.Second)
	timed(l, c, "call", time.Second)
	if n := logs.FilterMessage(Message).Len(); n != 2 {
		t.Fatalf("%d lines, want 2", n)
	}
	if n := logs.FilterMessage(TraceFailedMessage).Len(); n != 1 {
		t.Fatalf("%d fault lines, want 1", n)
	}
	l.Close()
	if !fr.Enabled() {
		t.Fatalf("Close stopped the program's flight recorder")
	}
}

// TestFlightTraceStart: a trace.Start running at the same time does not
// keep the flight recorder from writing traces.
func TestFlightTraceStart(t *testing.T) {
	if trace.IsEnabled() {
		t.Skip("tracing already on (go test -trace)")
	}
	if err := trace.Start(io.Discard); err != nil {
		t.Fatal(err)
	}
	defer trace.Stop()
	l, c, logs := newTest(t, Threshold(time.Millisecond), FlightRecorder(FlightConfig{Dir: t.TempDir()}))
	timed(l, c, "call", time.Second)
	lines := logs.FilterMessage(Message).All()
	if len(lines) != 1 || traceField(lines[0]) == "" {
		t.Fatalf("lines %v, want one with a trace", lines)
	}
}

// TestFlightShared: Logs share the process's recorder; it stops with the
// Close of the last.
func TestFlightShared(t *testing.T) {
	dir := t.TempDir()
	a, ca, _ := newTest(t, Threshold(time.Millisecond), FlightRecorder(FlightConfig{Dir: dir}))
	b, cb, logs := newTest(t, Threshold(time.Millisecond), FlightRecorder(FlightConfig{Dir: dir}))
	fr := shared.fr
	if fr == nil || !fr.Enabled() {
		t.Fatalf("no recorder running")
	}
	timed(a, ca, "a", time.Second)
	a.Close()
	a.Close()
	if !fr.Enabled() {
		t.Fatalf("the recorder stopped while a Log still uses it")
	}
	timed(b, cb, "b", time.Second)
	if lines := logs.FilterMessage(Message).All(); len(lines) != 1 || traceField(lines[0]) == "" {
		t.Fatalf("the second Log wrote no trace after the first closed: %v", lines)
	}
	b.Close()
	if fr.Enabled() || shared.fr != nil || shared.users != 0 {
		t.Fatalf("the recorder runs after the last Log closed")
	}
	// A closed Log still logs, without traces and without complaint.
	timed(b, cb, "b", time.Second)
	if lines := logs.FilterMessage(Message).All(); len(lines) != 2 || traceField(lines[1]) != "" {
		t.Fatalf("lines after Close: %v", lines)
	}
	if n := logs.FilterMessage(TraceFailedMessage).Len(); n != 0 {
		t.Fatalf("%d fault lines after Close", n)
	}
	if n := len(traceFiles(t, dir)); n != 2 {
		t.Fatalf("%d files, want 2", n)
	}
}

// TestFlightWatch: a call still running past Watch gets a trace too.
func TestFlightWatch(t *testing.T) {
	dir := t.TempDir()
	l, c, logs := newTest(t, Threshold(time.Hour), Watch(time.Second), FlightRecorder(FlightConfig{Dir: dir}))
	started, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		blockedCall(l, "stuck", started, release)
	}()
	<-started
	c.Advance(time.Second)
	l.scan()
	close(release)
	<-done
	lines := running(logs)
	if len(lines) != 1 {
		t.Fatalf("%d running lines, want 1", len(lines))
	}
	path := traceField(lines[0])
	if !strings.HasSuffix(path, "-running-stuck.trace") {
		t.Fatalf("running line's trace %q", path)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	if stack, _ := field(lines[0], "stack"); !strings.Contains(stack.(string), "blockedCall") {
		t.Fatalf("stack %q", stack)
	}
}

// TestFlightAfter: only calls at least After slow get a trace.
func TestFlightAfter(t *testing.T) {
	dir := t.TempDir()
	l, c, logs := newTest(t, Threshold(time.Millisecond), FlightRecorder(FlightConfig{Dir: dir, After: time.Second, Every: time.Nanosecond}))
	timed(l, c, "short", 10*time.Millisecond)
	timed(l, c, "long", time.Second)
	lines := logs.FilterMessage(Message).All()
	if len(lines) != 2 || traceField(lines[0]) != "" || traceField(lines[1]) == "" {
		t.Fatalf("lines %v: want a trace for the long call only", lines)
	}
	if _, err := os.Stat(traceField(lines[1])); err != nil {
		t.Fatal(err)
	}
}
