// Package slowtrace sums up, in one line, what a slow call's goroutine
// did during the call, from the execution trace that slowlog's
// FlightRecorder wrote for it:
//
//	of 152ms: 150ms waiting on sync.(*Mutex).Lock at handler.go:42, 2ms running
//
// Plug it into the Log, and each line with a trace gets that account in its
// field "why":
//
//	l := slowlog.New(logger, slowlog.FlightRecorder(slowlog.FlightConfig{
//		Dir:       "/var/lib/app/traces",
//		Summarize: slowtrace.Summarize,
//	}))
//
// # Model
//
// slowlog marks a slow call in the trace with a log event (category
// slowlog.TraceCategory, message "slow NAME DURATION") emitted when the
// call ends, on the goroutine that ran it. Read finds the last such event
// for the name and follows that goroutine's state over the call's
// duration before it: time running, runnable (waiting for a CPU), in
// system calls, and waiting, by what it waited on. A wait is told by the
// runtime's reason ("sync", "chan receive", "network", "sleep", ...) and
// by its stack: the innermost frame of code outside the standard library
// (where the program waited: Where) and the standard-library frame it
// called (what it waited in: What, such as sync.(*Mutex).Lock).
//
// A call longer than the recorder's window is covered only in part:
// Covered says how much, and the line says "of 152ms (trace covers
// 100ms)". Calls still running (Watch) are not summed up: their trace is
// taken from the watch goroutine, which does not know the call's.
//
// Parsing uses golang.org/x/exp/trace, which is why this is a module of its
// own: slowlog's go.mod gains nothing. Reading a trace costs about as much
// as writing it (tens to hundreds of milliseconds for the default window);
// slowlog calls Summarize only for the traces it writes, at most one per
// FlightConfig.Every.
package slowtrace

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/sturdy-go/sturdy/slowlog"
	"golang.org/x/exp/trace"
)

// ErrNotFound is returned by Read when the trace has no slow call of the
// name.
var ErrNotFound = errors.New("slowtrace: the trace has no slow call of that name")

// A Summary is what a slow call's goroutine did during the call.
type Summary struct {
	Name      string        // the call's name
	Duration  time.Duration // how long the call took, as slowlog logged it
	Covered   time.Duration // how much of it the trace covers
	Goroutine uint64        // the goroutine that ended the call
	Running   time.Duration // on a CPU
	Runnable  time.Duration // ready, waiting for a CPU
	Syscall   time.Duration // in system calls
	Waits     []Wait        // blocked, longest first
}

// A Wait is the time the call's goroutine spent blocked for one reason
// at one place.
type Wait struct {
	Reason   string        // the runtime's reason: "sync", "chan receive", "network", "sleep", ...
	What     string        // the standard-library function it blocked in, such as sync.(*Mutex).Lock; "" if none
	Where    string        // the innermost function outside the standard library, "" if none
	File     string        // Where's file and line
	Line     uint64        //
	Duration time.Duration // how long in total
}

// Summarize returns the one-line summary of the slow call name in the
// trace file, or "" when the file cannot be read or holds no such call.
// It fits slowlog.FlightConfig.Summarize.
func Summarize(file, name string) string {
	s, err := ReadFile(file, name)
	if err != nil {
		return ""
	}
	return s.String()
}

// ReadFile is Read on the trace file.
func ReadFile(file, name string) (*Summary, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("slowtrace: %w", err)
	}
	return read(b, name)
}

// Read reads a trace, as slowlog's FlightRecorder writes it, and sums up
// the last slow call named name in it. A trace that cannot be parsed gets
// an error from golang.org/x/exp/trace, wrapped; a trace without the call
// gets ErrNotFound.
func Read(r io.Reader, name string) (*Summary, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("slowtrace: reading the trace: %w", err)
	}
	return read(b, name)
}

// The mark of a slow call: the log event slowlog emits when it ends.
type mark struct {
	g   trace.GoID
	end trace.Time
	d   time.Duration
}

func read(b []byte, name string) (*Summary, error) {
	// Pass one finds the call's mark; pass two follows its goroutine.
	var (
		m     mark
		found bool
	)
	err := each(b, func(ev trace.Event) bool {
		if ev.Kind() != trace.EventLog {
			return true
		}
		lg := ev.Log()
		if lg.Category != slowlog.TraceCategory {
			return true
		}
		rest, ok := strings.CutPrefix(lg.Message, "slow "+name+" ")
		if !ok || strings.Contains(rest, " ") {
			return true
		}
		d, err := time.ParseDuration(rest)
		if err != nil {
			return true
		}
		m, found = mark{g: ev.Goroutine(), end: ev.Time(), d: d}, true
		return true
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	s := &Summary{Name: name, Duration: m.d, Goroutine: uint64(m.g)}
	waits := map[waitKey]*Wait{}
	var (
		state    = trace.GoUndetermined
		since    trace.Time // when state began, or the trace's first event
		first    = true
		blocked  waitKey
		haveFrom bool
	)
	// add counts the time from since to t in the current state, within
	// the call.
	add := func(t trace.Time) {
		start := max(int64(since), int64(m.end)-int64(m.d))
		d := time.Duration(min(int64(t), int64(m.end)) - start)
		if d <= 0 {
			return
		}
		s.Covered += d
		switch state {
		case trace.GoRunning:
			s.Running += d
		case trace.GoRunnable:
			s.Runnable += d
		case trace.GoSyscall:
			s.Syscall += d
		case trace.GoWaiting:
			w := waits[blocked]
			if w == nil {
				w = &Wait{Reason: blocked.reason, What: blocked.what, Where: blocked.where, File: blocked.file, Line: blocked.line}
				waits[blocked] = w
			}
			w.Duration += d
		default:
			s.Covered -= d // not known: neither counted nor covered
		}
	}
	err = each(b, func(ev trace.Event) bool {
		if first {
			since, first = ev.Time(), false
		}
		if ev.Time() > m.end {
			return false
		}
		if ev.Kind() != trace.EventStateTransition {
			return true
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine || st.Resource.Goroutine() != m.g {
			return true
		}
		from, to := st.Goroutine()
		if !haveFrom {
			// The goroutine was in from since the trace began.
			state, haveFrom = from, true
			if from == trace.GoWaiting {
				blocked = waitKey{reason: st.Reason}
			}
		}
		add(ev.Time())
		state, since = to, ev.Time()
		if to == trace.GoWaiting {
			blocked = waitOf(st.Reason, st.Stack)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if haveFrom {
		add(m.end)
	}
	for _, w := range waits {
		s.Waits = append(s.Waits, *w)
	}
	slices.SortFunc(s.Waits, func(a, b Wait) int {
		switch {
		case a.Duration > b.Duration:
			return -1
		case a.Duration < b.Duration:
			return 1
		}
		return strings.Compare(a.Reason+a.What+a.Where, b.Reason+b.What+b.Where)
	})
	return s, nil
}

type waitKey struct {
	reason, what, where, file string
	line                      uint64
}

// waitOf tells a wait by its reason and where in the program it was.
func waitOf(reason string, stk trace.Stack) waitKey {
	k := waitKey{reason: reason}
	prev := ""
	for f := range stk.Frames() {
		if !std(f.Func) {
			k.what, k.where, k.file, k.line = prev, f.Func, f.File, f.Line
			return k
		}
		if !strings.HasPrefix(f.Func, "runtime.") && !strings.HasPrefix(f.Func, "internal/") {
			prev = f.Func
		}
	}
	k.what = prev
	return k
}

// std reports whether fn is a function of the standard library: its
// import path's first element has no dot.
func std(fn string) bool {
	first, _, _ := strings.Cut(fn, "/")
	if !strings.Contains(fn, "/") {
		first, _, _ = strings.Cut(fn, ".")
	}
	return !strings.Contains(first, ".")
}

// each calls fn for each event of the trace in b until fn returns false.
// The parser is not ours and the file comes from disk: a panic in it is
// an error like any other.
func each(b []byte, fn func(trace.Event) bool) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("slowtrace: the trace parser failed: %v", p)
		}
	}()
	r, err := trace.NewReader(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("slowtrace: not a trace: %w", err)
	}
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("slowtrace: reading the trace: %w", err)
		}
		if !fn(ev) {
			return nil
		}
	}
}

// String is the one-line summary: "of 152ms: 150ms waiting on
// sync.(*Mutex).Lock at handler.go:42, 2ms running". It names at most
// three waits, the longest, and leaves out states under 1% of the call.
func (s *Summary) String() string {
	var b strings.Builder
	b.WriteString("of " + round(s.Duration))
	if s.Covered < s.Duration*99/100 {
		b.WriteString(" (trace covers " + round(s.Covered) + ")")
	}
	b.WriteString(":")
	sep := " "
	part := func(d time.Duration, what string) {
		if d <= 0 || d < s.Duration/100 {
			return
		}
		b.WriteString(sep + round(d) + " " + what)
		sep = ", "
	}
	for i, w := range s.Waits {
		if i == 3 {
			break
		}
		desc := "waiting"
		switch {
		case w.What != "":
			desc += " on " + w.What
		case w.Reason != "":
			desc += " (" + w.Reason + ")"
		}
		if w.File != "" {
			desc += fmt.Sprintf(" at %s:%d", path.Base(w.File), w.Line)
		}
		part(w.Duration, desc)
	}
	part(s.Running, "running")
	part(s.Runnable, "runnable")
	part(s.Syscall, "in system calls")
	if sep == " " {
		b.WriteString(" nothing recorded")
	}
	return b.String()
}

// round prints d with three significant digits or so: 152ms, 1.52s, 37µs.
func round(d time.Duration) string {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
