package otelslowlog_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/slowlog"
	"github.com/sturdy-go/sturdy/slowlog/otelslowlog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

type fakeDB struct{}

func (fakeDB) ExecContext(ctx context.Context, query string) (int, error) { return 1, ctx.Err() }

// readme is the slowlog snippet of the README, verbatim between the
// markers, in the context it assumes: public is the mux the service's
// public listener serves, admin the one its internal admin listener serves.
func readme(ctx context.Context, logger *zap.Logger, db fakeDB, query string, charge func(context.Context) error, app http.Handler, public, admin *http.ServeMux, traceDir string) *slowlog.Log {
	// README begin
	l := slowlog.New(logger, // *zap.Logger; slowlog.NewSlog(slog.Default()) for log/slog users
		slowlog.Tiers(
			slowlog.Tier{Over: 100 * time.Millisecond, Level: zapcore.InfoLevel},
			slowlog.Tier{Over: time.Second, Level: zapcore.WarnLevel},
		),
		slowlog.Sample(0.01),                           // 1% of the fast calls, at Debug
		slowlog.RateLimit(10, time.Second),             // per name; the next line says how many were suppressed
		slowlog.Watch(30*time.Second),                  // log a call still running after 30s, with its stack
		slowlog.ContextFields(otelslowlog.TraceFields), // trace_id and span_id from the call's context
		slowlog.OnSlow(otelslowlog.SpanEvent),          // a "slow call" event on the call's span
		// why each slow call was slow: its line names a trace from Go's flight recorder
		slowlog.FlightRecorder(slowlog.FlightConfig{Dir: traceDir}),
	)
	defer l.Close()

	defer l.Start("store.get").Stop()
	s := l.Start("db.query", slowlog.Context(ctx)) // any stretch of code, with its context
	_, err := db.ExecContext(ctx, query)
	s.StopErr(err)
	err = l.Do(ctx, "payment.charge", charge)   // records err and context expiry
	public.Handle("/", l.Middleware(app))       // method, route, status, bytes
	admin.Handle("/debug/slowlog", l.Handler()) // the ring and the statistics as JSON: internal only
	// README end
	_ = err
	return l
}

func TestREADME(t *testing.T) {
	src, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Split(string(src), "// README begin\n")[1]
	body = strings.Split(body, "\t// README end")[0]
	var want []string
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		want = append(want, strings.TrimPrefix(line, "\t"))
	}
	md, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := strings.Split(string(md), "## A first look: slowlog in a service")[1]
	block := strings.Split(strings.Split(section, "```go\n")[1], "```")[0]
	if got := strings.Split(strings.TrimRight(block, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("README's slowlog snippet differs from the one compiled here:\n--- README\n%s\n--- readme_test.go\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	charged := false
	public, admin := http.NewServeMux(), http.NewServeMux()
	l := readme(context.Background(), zap.NewNop(), fakeDB{}, "SELECT 1", func(context.Context) error { charged = true; return nil }, http.NotFoundHandler(), public, admin, t.TempDir())
	if !charged {
		t.Fatal("the snippet did not call charge")
	}
	if st, ok := l.StatsOf("db.query"); !ok || st.Count != 1 {
		t.Fatalf("db.query stats %+v, %v", st, ok)
	}
	// The ring is served on the admin mux only, never on the public one.
	for _, tc := range []struct {
		name string
		mux  *http.ServeMux
		want int
	}{{"admin", admin, http.StatusOK}, {"public", public, http.StatusNotFound}} {
		rec := httptest.NewRecorder()
		tc.mux.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/slowlog", nil))
		if rec.Code != tc.want {
			t.Errorf("GET /debug/slowlog on the %s mux: %d, want %d", tc.name, rec.Code, tc.want)
		}
	}
}
