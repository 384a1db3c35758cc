package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sturdy-go/sturdy/slowlog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// requestIDKey is where the tour's "middleware" puts a request id.
type requestIDKey struct{}

func tourSlowlog(w io.Writer) error {
	// Log lines go to the tour's output, indented, without timestamps,
	// with the caller: the line of the tour that made the call.
	enc := zap.NewDevelopmentEncoderConfig()
	enc.TimeKey = ""
	enc.ConsoleSeparator = " "
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(indent{w}), zapcore.DebugLevel)
	l := slowlog.New(zap.New(core, zap.AddCaller()),
		slowlog.Tiers(
			slowlog.Tier{Over: 5 * time.Millisecond, Level: zapcore.InfoLevel},
			slowlog.Tier{Over: 20 * time.Millisecond, Level: zapcore.WarnLevel},
			slowlog.Tier{Over: 40 * time.Millisecond, Level: zapcore.ErrorLevel},
		),
		slowlog.Keep(16),
		// What the request carries goes on each of its lines.
		slowlog.ContextFields(func(ctx context.Context) []zap.Field {
			if id, ok := ctx.Value(requestIDKey{}).(string); ok {
				return []zap.Field{zap.String("request_id", id)}
			}
			return nil
		}),
	)
	defer l.Close()

	fmt.Fprintln(w, "   tiers: over 5ms logs at INFO, over 20ms at WARN, over 40ms at ERROR; below 5ms nothing")
	sleep := func(d time.Duration) func(context.Context) error {
		return func(ctx context.Context) error {
			select {
			case <-time.After(d):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	ctx := context.WithValue(context.Background(), requestIDKey{}, "req-7f3a")
	for i := 0; i < 20; i++ {
		_ = l.Do(ctx, "cache.get", sleep(100*time.Microsecond))
	}
	_ = l.Do(ctx, "db.query", sleep(8*time.Millisecond))
	_ = l.Do(ctx, "db.query", sleep(25*time.Millisecond))
	_ = l.Do(ctx, "db.query", sleep(45*time.Millisecond))
	_ = l.Do(ctx, "payment.charge", func(context.Context) error {
		time.Sleep(6 * time.Millisecond)
		return errors.New("card declined")
	})
	// Start and Stop time any stretch of code; Context gives it the
	// request's context.
	s := l.Start("render", slowlog.Context(ctx))
	time.Sleep(7 * time.Millisecond)
	s.Stop()

	fmt.Fprintln(w, "   the ring of recent slow calls, newest first (like SLOWLOG GET):")
	kept := map[string]int{}
	for _, e := range l.Entries() {
		errText := ""
		if e.Err != nil {
			errText = "  err=" + e.Err.Error()
		}
		fmt.Fprintf(w, "     #%d %-15s %v%s\n", e.ID, e.Name, e.Duration.Round(100*time.Microsecond), errText)
		kept[e.Name]++
	}
	fmt.Fprintln(w, "   per-name statistics:")
	for _, s := range l.Stats() {
		fmt.Fprintf(w, "     %-15s count=%-3d slow=%d p50=%v p99=%v max=%v\n", s.Name, s.Count, s.Slow,
			s.P50.Round(10*time.Microsecond), s.P99.Round(10*time.Microsecond), s.Max.Round(10*time.Microsecond))
	}
	// Each of these slept past the lowest threshold, so each is slow
	// however busy the machine; a busy machine may add a slow cache.get.
	if kept["db.query"] != 3 || kept["payment.charge"] != 1 || kept["render"] != 1 {
		return fmt.Errorf("the ring holds %v, want 3 db.query, 1 payment.charge and 1 render", kept)
	}
	return tourSlowlogWhy(w, core)
}

// tourSlowlogWhy shows why a call was slow: a request waits for a lock
// that a background job holds, and with FlightRecorder its line names a
// trace file whose synchronization profile shows the wait.
func tourSlowlogWhy(w io.Writer, core zapcore.Core) error {
	fmt.Fprintln(w, "   why was it slow? FlightRecorder keeps the last seconds of the execution trace in memory")
	fmt.Fprintln(w, "   and writes them out for each slow call; here a request waits 60ms for a lock a job holds:")
	dir, err := os.MkdirTemp("", "tour-slowlog")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	l := slowlog.New(zap.New(core), slowlog.Threshold(20*time.Millisecond),
		slowlog.FlightRecorder(slowlog.FlightConfig{Dir: filepath.Join(dir, "traces")}))
	defer l.Close()

	var mu sync.Mutex // guards a report that a background job rebuilds
	mux := http.NewServeMux()
	mux.HandleFunc("GET /report", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprint(w, "report")
	})
	mu.Lock()
	go func() {
		time.Sleep(60 * time.Millisecond) // the job
		mu.Unlock()
	}()
	l.Middleware(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/report", nil))

	es := l.Entries()
	if len(es) != 1 || es[0].Trace == "" {
		return fmt.Errorf("want one slow request with a trace, got %+v", es)
	}
	file := es[0].Trace
	fmt.Fprintln(w, "   the line's trace field is the file; where the request waited:")
	fmt.Fprintf(w, "     go tool trace -pprof=sync %s > sync.pprof && go tool pprof -top sync.pprof\n", filepath.Base(file))
	fmt.Fprintln(w, "     (go tool trace FILE opens it in a browser: the call is the task \"slowlog GET /report\")")
	goCmd, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(w, "   (no go command here to run it)")
		return nil
	}
	prof := filepath.Join(dir, "sync.pprof")
	out, err := exec.Command(goCmd, "tool", "trace", "-pprof=sync", file).Output()
	if err == nil {
		err = os.WriteFile(prof, out, 0o600)
	}
	if err == nil {
		out, err = exec.Command(goCmd, "tool", "pprof", "-top", prof).Output()
	}
	if err != nil {
		return fmt.Errorf("go tool trace -pprof=sync: %w", err)
	}
	shown := false
	for ln := range strings.Lines(string(out)) {
		if strings.Contains(ln, "sync.(*Mutex).Lock") || strings.Contains(ln, "flat%") {
			fmt.Fprint(w, "     ", ln)
			shown = shown || strings.Contains(ln, "Mutex")
		}
	}
	if !shown {
		return fmt.Errorf("the sync profile does not show the mutex:\n%s", out)
	}
	return nil
}

// indent prefixes each line written with the tour's margin.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	if _, err := fmt.Fprintf(i.w, "   > %s", p); err != nil {
		return 0, err
	}
	return len(p), nil
}
