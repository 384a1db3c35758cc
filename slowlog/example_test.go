package slowlog_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sturdy-go/sturdy/slowlog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// stdoutLogger writes JSON lines without timestamps, so that the examples'
// output is stable.
func stdoutLogger() *zap.Logger {
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{
		MessageKey:     "msg",
		LevelKey:       "level",
		EncodeLevel:    zapcore.LowercaseLevelEncoder,
		EncodeDuration: zapcore.StringDurationEncoder,
	})
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(os.Stdout), zapcore.DebugLevel))
}

// fakeClock moves only when advanced, for examples that show exact
// durations.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func Example() {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := slowlog.New(stdoutLogger(), slowlog.Threshold(10*time.Millisecond), slowlog.WithClock(clock.Now))

	query := func(d time.Duration) {
		defer l.Start("db.query").Stop()
		clock.Advance(d) // the work
	}
	query(2 * time.Millisecond)       // fast: counted, not logged
	query(12345678 * time.Nanosecond) // slow: logged and kept

	st, _ := l.StatsOf("db.query")
	fmt.Println("calls:", st.Count, "slow:", st.Slow, "max:", st.Max)
	// Output:
	// {"level":"info","msg":"slow call","name":"db.query","duration":"12.345678ms","seconds":"0.012345678","tier":"10ms"}
	// calls: 2 slow: 1 max: 12.345678ms
}

// Several thresholds log at rising levels, like Elasticsearch's slow log.
func ExampleTiers() {
	clock := &fakeClock{}
	l := slowlog.New(stdoutLogger(), slowlog.WithClock(clock.Now), slowlog.Tiers(
		slowlog.Tier{Over: 100 * time.Millisecond, Level: zapcore.InfoLevel},
		slowlog.Tier{Over: time.Second, Level: zapcore.WarnLevel},
	))
	for _, d := range []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, 3 * time.Second} {
		s := l.Start("render")
		clock.Advance(d)
		s.Stop()
	}
	// Output:
	// {"level":"info","msg":"slow call","name":"render","duration":"200ms","seconds":"0.200000000","tier":"100ms"}
	// {"level":"warn","msg":"slow call","name":"render","duration":"3s","seconds":"3.000000000","tier":"1s"}
}

// Entries is the ring of recent slow calls, newest first, like SLOWLOG GET.
func ExampleLog_Entries() {
	clock := &fakeClock{}
	l := slowlog.New(nil, slowlog.Keep(2), slowlog.Threshold(time.Millisecond), slowlog.WithClock(clock.Now))
	for i, name := range []string{"a", "b", "c"} {
		s := l.Start(name)
		clock.Advance(time.Duration(i+1) * time.Millisecond)
		s.Stop()
	}
	for _, e := range l.Entries() {
		fmt.Println(e.ID, e.Name, e.Duration)
	}
	// Output:
	// 3 c 3ms
	// 2 b 2ms
}

// Do records the function's error and whether its context expired.
func ExampleLog_Do() {
	clock := &fakeClock{}
	l := slowlog.New(stdoutLogger(), slowlog.WithClock(clock.Now))
	ctx, cancel := context.WithCancel(context.Background())
	err := l.Do(ctx, "fetch", func(ctx context.Context) error {
		clock.Advance(time.Second)
		cancel() // the caller gave up
		return errors.New("fetch: interrupted")
	})
	fmt.Println(err)
	// Output:
	// {"level":"info","msg":"slow call","name":"fetch","duration":"1s","seconds":"1.000000000","err":"fetch: interrupted","ctx":"context canceled","tier":"10ms"}
	// fetch: interrupted
}

// ContextFields puts what the call's context carries on its line; Context
// gives Start the call's context.
func ExampleContextFields() {
	type requestIDKey struct{}
	clock := &fakeClock{}
	l := slowlog.New(stdoutLogger(), slowlog.WithClock(clock.Now),
		slowlog.ContextFields(func(ctx context.Context) []zap.Field {
			if id, ok := ctx.Value(requestIDKey{}).(string); ok {
				return []zap.Field{zap.String("request_id", id)}
			}
			return nil
		}))
	ctx := context.WithValue(context.Background(), requestIDKey{}, "r-1234")

	s := l.Start("db.query", slowlog.Context(ctx))
	clock.Advance(30 * time.Millisecond)
	s.Stop()
	// Output:
	// {"level":"info","msg":"slow call","name":"db.query","duration":"30ms","seconds":"0.030000000","tier":"10ms","request_id":"r-1234"}
}

// Middleware names each request by the ServeMux pattern it matched and
// logs method, path (without the query string), status and bytes.
func ExampleLog_Middleware() {
	clock := &fakeClock{}
	l := slowlog.New(stdoutLogger(), slowlog.WithClock(clock.Now))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		clock.Advance(250 * time.Millisecond)
		fmt.Fprint(w, "hello")
	})
	h := l.Middleware(mux)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/users/7?session=x", nil))
	// Output:
	// {"level":"info","msg":"slow call","name":"GET /users/{id}","duration":"250ms","seconds":"0.250000000","tier":"10ms","method":"GET","path":"/users/7","status":200,"bytes":5}
}

// Programs that log with log/slog pass their *slog.Logger to NewSlog.
func ExampleNewSlog() {
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // stable output
			}
			return a
		},
	})
	clock := &fakeClock{}
	l := slowlog.NewSlog(slog.New(h), slowlog.WithClock(clock.Now))
	s := l.Start("db.query")
	clock.Advance(15 * time.Millisecond)
	s.Stop()
	// Output:
	// level=INFO msg="slow call" name=db.query duration=15ms seconds=0.015000000 tier=10ms
}

// RateLimit keeps a hot slow path from flooding the log; the next line
// written says how many were dropped.
func ExampleRateLimit() {
	clock := &fakeClock{}
	l := slowlog.New(stdoutLogger(), slowlog.WithClock(clock.Now), slowlog.RateLimit(1, time.Minute))
	for range 4 {
		s := l.Start("hot")
		clock.Advance(20 * time.Millisecond)
		s.Stop()
	}
	clock.Advance(time.Minute)
	s := l.Start("hot")
	clock.Advance(20 * time.Millisecond)
	s.Stop()
	// Output:
	// {"level":"info","msg":"slow call","name":"hot","duration":"20ms","seconds":"0.020000000","tier":"10ms"}
	// {"level":"info","msg":"slow call","name":"hot","duration":"20ms","seconds":"0.020000000","tier":"10ms","suppressed":3}
}

// Handler serves the ring and the statistics as JSON, like SLOWLOG GET.
//
// Mount the Handler where only operators reach it (an admin mux on an
// internal listener): its report shows names, paths and timings.
func ExampleLog_Handler() {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := slowlog.New(nil, slowlog.WithClock(clock.Now))
	s := l.Start("db.query")
	clock.Advance(40 * time.Millisecond)
	s.Stop()

	rec := httptest.NewRecorder()
	l.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/debug/slowlog?n=10", nil))
	fmt.Print(rec.Body.String())
	// Output:
	// {"entries":[{"id":1,"name":"db.query","start":"2026-01-01T00:00:00Z","duration_ns":40000000,"seconds":"0.040000000","tier":"10ms","level":"info"}],"stats":[{"name":"db.query","count":1,"slow":1,"errors":0,"p50_ns":40000000,"p90_ns":40000000,"p99_ns":40000000,"max_ns":40000000,"sum_ns":40000000}]}
}

// OnSlow hands each slow call to a function, with the call's context:
// here a counter of slow calls per name, as an alerting hook might keep.
func ExampleOnSlow() {
	clock := &fakeClock{}
	slowByName := map[string]int{}
	l := slowlog.New(nil, slowlog.WithClock(clock.Now), slowlog.OnSlow(func(ctx context.Context, e slowlog.Entry) {
		slowByName[e.Name]++ // a real hook must be safe for concurrent use
	}))
	for _, d := range []time.Duration{time.Millisecond, 50 * time.Millisecond, 70 * time.Millisecond} {
		s := l.Start("db.query")
		clock.Advance(d)
		s.Stop()
	}
	fmt.Println(slowByName)
	// Output:
	// map[db.query:2]
}

// A request is slow because it waits for a lock that a background job
// holds. With FlightRecorder its line (and its entry) names a trace file
// of the moments before it ended, which shows the wait: go tool trace
// -pprof=sync lists it under sync.(*Mutex).Lock, called from the
// handler.
func ExampleFlightRecorder() {
	dir, err := os.MkdirTemp("", "slowlog-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	l := slowlog.New(nil, slowlog.Threshold(10*time.Millisecond),
		slowlog.FlightRecorder(slowlog.FlightConfig{Dir: filepath.Join(dir, "traces")}))
	defer l.Close() // stops the recorder

	var mu sync.Mutex // guards a report that a job rebuilds
	mux := http.NewServeMux()
	mux.HandleFunc("GET /report", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock() // waits for the job
		defer mu.Unlock()
		fmt.Fprint(w, "report")
	})
	mu.Lock() // the job holds the lock for 50ms
	go func() {
		time.Sleep(50 * time.Millisecond)
		mu.Unlock()
	}()
	l.Middleware(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/report", nil))

	e := l.Entries()[0]
	// The file name sorts by time and names the call.
	file := filepath.Base(e.Trace)
	stamp := len("slowlog-20260102T030405.000000000Z")
	fmt.Println(e.Name, "slow:", e.Duration >= 50*time.Millisecond)
	fmt.Println("trace:", file[:len("slowlog-")]+"TIME"+file[stamp:])
	fmt.Println("then: go tool trace -pprof=sync FILE > sync.pprof && go tool pprof -top sync.pprof")
	// Output:
	// GET /report slow: true
	// trace: slowlog-TIME-slow-GET__report.trace
	// then: go tool trace -pprof=sync FILE > sync.pprof && go tool pprof -top sync.pprof
}
