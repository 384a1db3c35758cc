package slowlog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Defaults of FlightConfig.
const (
	DefaultFlightWindow = 10 * time.Second // FlightConfig.Window
	DefaultMaxFiles     = 16               // FlightConfig.MaxFiles
	DefaultFlightEvery  = 10 * time.Second // FlightConfig.Every
)

// TraceFailedMessage is the message of the line a Log writes, at Warn and
// once until a trace is written again, when it cannot write traces: the
// flight recorder did not start, or a trace file could not be written.
// Its field "reason" says why. Slow calls are logged as without
// FlightRecorder meanwhile.
const TraceFailedMessage = "slowlog: no trace for slow calls"

// TraceCategory is the category of the runtime/trace log event that names
// a slow call in its goroutine's timeline; the event's message is the
// kind of trace ("slow" or "running"), the call's name and its duration.
// The same text, prefixed by "slowlog ", is the type of a task, so that go
// tool trace lists the slow calls on its page of user-defined tasks.
const TraceCategory = "slowlog"

// A FlightConfig configures FlightRecorder.
type FlightConfig struct {
	// Dir is where trace files go. It is created, with mode 0700, if
	// missing; the files are created with mode 0600. Required: with an
	// empty Dir no trace is written, and TraceFailedMessage says so.
	Dir string
	// After: a slow call (one that reached a tier) at least this slow
	// gets a trace. 0 means the Log's lowest threshold.
	After time.Duration
	// Window is how much history the recorder keeps in memory, the
	// runtime's FlightRecorderConfig.MinAge: a trace covers a call whole
	// when the call is shorter than Window. 0 means DefaultFlightWindow.
	// The runtime caps the window at about 10 MiB of trace data, so on a
	// busy program it may be shorter.
	Window time.Duration
	// MaxFiles is how many trace files of slowlog's are kept in Dir; after
	// writing one, the oldest beyond MaxFiles are removed. 0 means
	// DefaultMaxFiles.
	MaxFiles int
	// Every: at most one trace is written per Every (per Log). 0 means
	// DefaultFlightEvery.
	Every time.Duration
	// Summarize, if set, reads the trace file just written for a slow
	// call named name and returns a one-line account of what the call's
	// goroutine did, for the line's field "why"; "" adds nothing. It runs
	// on the goroutine that ends the call, once per trace written, outside
	// slowlog's locks. The module slowlog/slowtrace has one
	// (slowtrace.Summarize: "of 152ms: 150ms waiting on
	// sync.(*Mutex).Lock at handler.go:42, 2ms running"), kept out of this
	// module so that its go.mod gains no dependency.
	Summarize func(file, name string) string
}

// FlightRecorder makes the Log say why a call was slow: with it, Go's
// execution-trace flight recorder (runtime/trace.FlightRecorder) keeps the
// last Window of the program's execution in memory, and a slow call at
// least After slow gets a snapshot of it written to a file in Dir. The
// file's path is in the call's line (field "trace"), its Entry (Trace),
// the Handler's JSON and what OnSlow gets. Open it with
//
//	go tool trace FILE             # the call is a task named "slowlog NAME"
//	go tool trace -pprof=sync FILE # where goroutines waited on sync.Mutex & co.
//
// (also -pprof=net, syscall, sched). With Watch, a call still running
// after the watch duration gets a trace too, in its "slow call still
// running" line.
//
// The trace names the call: on the slow path, the goroutine that ends a
// call at least After slow emits a runtime/trace task and log event with
// its name and duration. Nothing is emitted for a fast call: the fast
// path is unchanged, only the runtime's tracer runs.
//
// Bounds: the recorder's memory (Window, at most about 10 MiB), one
// snapshot being written at a time in the process (a slow call that ends
// while another writes gets none), at most one per Every, at most
// MaxFiles files in Dir. File names are
// slowlog-20260102T030405.000000000Z-slow-NAME.trace, in UTC, so that they
// sort by time; NAME is the call's name with every byte other than
// letters, digits, '.', '_' and '-' replaced by '_', cut to 64 bytes. The
// goroutine that ends the call writes the snapshot (milliseconds; more
// for a large window on a slow disk) before the line is written.
//
// Faults never cost a line: when Dir is empty or cannot be made or
// written, when the disk is full, or when the recorder cannot start
// (another flight recorder runs in the program: Go allows one), slow calls
// are logged as without FlightRecorder, with no trace, and
// TraceFailedMessage is logged once with the reason (again only if a
// fault follows a trace written since). A trace.Start running
// at the same time is fine: the runtime lets a flight recorder run beside
// it.
//
// The recorder is process-wide: Logs made with FlightRecorder share one,
// started by the first (with its Window) and stopped by the Close of the
// last. Call Close when done with such a Log. A recorder the program
// started itself is never stopped.
//
// Trace files show a program's inner workings (function names, paths,
// timings, goroutine states): Dir should be readable by the operators
// only, which the modes above see to.
func FlightRecorder(cfg FlightConfig) Option {
	return func(c *config) {
		c.flight = &cfg
	}
}

// shared is the process's flight recorder, shared by the Logs that use
// one. writing makes one snapshot at a time.
var shared struct {
	mu      sync.Mutex
	fr      *trace.FlightRecorder
	users   int
	writing sync.Mutex
}

// A recorder is a Log's share of the flight recorder and the state of its
// trace files.
type recorder struct {
	cfg    FlightConfig
	after  int64
	fr     *trace.FlightRecorder // nil: no traces
	create func(path string) (io.WriteCloser, error)
	closed sync.Once
	ended  bool // under shared.writing: closed, no more snapshots

	mu      sync.Mutex
	last    int64 // mono time of the last snapshot
	hasLast bool
	failing bool // a fault was logged; no snapshot since
}

func newRecorder(l *Log, cfg FlightConfig, create func(string) (io.WriteCloser, error)) *recorder {
	if cfg.After <= 0 {
		cfg.After = time.Duration(l.min)
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultFlightWindow
	}
	if cfg.MaxFiles <= 0 {
		cfg.MaxFiles = DefaultMaxFiles
	}
	if cfg.Every <= 0 {
		cfg.Every = DefaultFlightEvery
	}
	if create == nil {
		create = func(path string) (io.WriteCloser, error) {
			return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		}
	}
	r := &recorder{cfg: cfg, after: int64(cfg.After), create: create}
	if cfg.Dir == "" {
		r.fault(l, errors.New("FlightConfig.Dir is empty"))
		return r
	}
	if err := r.acquire(); err != nil {
		r.fault(l, fmt.Errorf("starting the flight recorder (does the program run one already?): %w", err))
	}
	return r
}

// acquire takes a share of the process's recorder, starting it if it is
// the first.
func (r *recorder) acquire() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.users == 0 {
		fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: r.cfg.Window})
		if err := fr.Start(); err != nil {
			return err
		}
		shared.fr = fr
	}
	shared.users++
	r.fr = shared.fr
	return nil
}

// close gives up the recorder's share.
func (r *recorder) close() {
	r.closed.Do(func() {
		if r.fr == nil {
			return
		}
		// Wait for a snapshot being written, and let no other start.
		shared.writing.Lock()
		r.ended = true
		shared.writing.Unlock()
		shared.mu.Lock()
		defer shared.mu.Unlock()
		shared.users--
		if shared.users == 0 {
			shared.fr.Stop()
			shared.fr = nil
		}
	})
}

// fault logs err once, until a snapshot succeeds again.
func (r *recorder) fault(l *Log, err error) {
	r.mu.Lock()
	was := r.failing
	r.failing = true
	r.mu.Unlock()
	if !was {
		l.z.Warn(TraceFailedMessage, zap.Error(fmt.Errorf("slowlog: flight recorder: %w", err)))
	}
}

// snapshot names the call in the trace, on the goroutine that calls it,
// and then writes a trace file unless the bounds forbid; it returns the
// file's path or "". kind is "slow" or "running"; now is the mono time.
func (r *recorder) snapshot(l *Log, ctx context.Context, kind, name string, d time.Duration, now int64) string {
	if r.fr == nil {
		return ""
	}
	ctx, task := trace.NewTask(ctx, "slowlog "+name)
	trace.Log(ctx, TraceCategory, kind+" "+name+" "+d.String())
	task.End()

	wall := l.wallNow() // the user's clock, outside the lock
	path, written, err := r.take(now, wall, kind, name)
	if err != nil {
		r.fault(l, err) // the logger, outside the lock
	}
	if written {
		if err == nil {
			r.mu.Lock()
			r.failing = false
			r.mu.Unlock()
		}
		return path
	}
	return ""
}

// take writes a snapshot unless another is being written, the Log is
// closed or the last was less than Every ago. It reports whether a file
// was written, and an error that kept it from being written or that
// pruning Dir met after.
func (r *recorder) take(now int64, wall time.Time, kind, name string) (path string, written bool, err error) {
	if !shared.writing.TryLock() {
		return "", false, nil
	}
	defer shared.writing.Unlock()
	if r.ended {
		return "", false, nil
	}
	r.mu.Lock()
	if r.hasLast && now-r.last < int64(r.cfg.Every) && now >= r.last {
		r.mu.Unlock()
		return "", false, nil
	}
	r.last, r.hasLast = now, true
	r.mu.Unlock()

	path, err = r.write(wall, kind, name)
	if err != nil {
		return "", false, err
	}
	return path, true, r.prune()
}

// write writes the recorder's window to a new file in Dir.
func (r *recorder) write(now time.Time, kind, name string) (string, error) {
	if err := os.MkdirAll(r.cfg.Dir, 0o700); err != nil {
		return "", err
	}
	base := "slowlog-" + now.UTC().Format("20060102T150405.000000000Z") + "-" + kind + "-" + fileSafe(name)
	var (
		path string
		f    io.WriteCloser
		err  error
	)
	for i := 0; ; i++ {
		path = filepath.Join(r.cfg.Dir, base+".trace")
		if i > 0 {
			path = filepath.Join(r.cfg.Dir, base+"-"+strconv.Itoa(i)+".trace")
		}
		f, err = r.create(path)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i >= 100 {
			return "", err
		}
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	_, err = r.fr.WriteTo(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}

// prune removes slowlog's oldest trace files beyond MaxFiles. Names sort
// by time, so the oldest come first.
func (r *recorder) prune() error {
	ents, err := os.ReadDir(r.cfg.Dir)
	if err != nil {
		return err
	}
	var ours []string
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, "slowlog-") && strings.HasSuffix(n, ".trace") && e.Type().IsRegular() {
			ours = append(ours, n)
		}
	}
	slices.Sort(ours)
	for _, n := range ours[:max(len(ours)-r.cfg.MaxFiles, 0)] {
		if err := os.Remove(filepath.Join(r.cfg.Dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing old traces: %w", err)
		}
	}
	return nil
}

// fileSafe makes a call's name part of a file name.
func fileSafe(name string) string {
	b := []byte(name)
	if len(b) > 64 {
		b = b[:64]
	}
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}
