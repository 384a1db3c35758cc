package slowlog

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

type tenantKey struct{}

func tenantFields(ctx context.Context) []zap.Field {
	if v, ok := ctx.Value(tenantKey{}).(string); ok {
		return []zap.Field{zap.String("tenant", v)}
	}
	return nil
}

func TestContextFields(t *testing.T) {
	t.Parallel()
	l, c, logs := newTest(t, ContextFields(tenantFields))
	ctx := context.WithValue(context.Background(), tenantKey{}, "acme")

	_ = l.Do(ctx, "do", func(context.Context) error { c.Advance(time.Second); return nil })
	timed(l, c, "start", time.Second, Context(ctx))
	timed(l, c, "none", time.Second) // no context: no fields
	h := l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { c.Advance(time.Second) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil).WithContext(ctx))

	want := map[string]any{"do": "acme", "start": "acme", "none": nil, "GET (unrouted)": "acme"}
	if logs.Len() != len(want) {
		t.Fatalf("%d lines, want %d", logs.Len(), len(want))
	}
	for _, e := range logs.All() {
		name, _ := field(e, "name")
		v, ok := field(e, "tenant")
		if w := want[name.(string)]; (w == nil) == ok || (ok && v != w) {
			t.Errorf("%v: tenant %v (%v), want %v", name, v, ok, w)
		}
	}
	// The fields come after slowlog's own.
	if last := logs.All()[0].Context; last[len(last)-1].Key != "tenant" {
		t.Errorf("fields %v: want tenant last", last)
	}

	// A fast call never asks for the fields.
	calls := 0
	lf, cf, _ := newTest(t, ContextFields(func(context.Context) []zap.Field { calls++; return nil }))
	timed(lf, cf, "fast", time.Microsecond, Context(ctx))
	if calls != 0 {
		t.Fatalf("ContextFields ran %d times for a fast call", calls)
	}
}

func TestOnSlow(t *testing.T) {
	t.Parallel()
	type seen struct {
		ctx context.Context
		e   Entry
	}
	var got []seen
	onSlow := func(ctx context.Context, e Entry) { got = append(got, seen{ctx, e}) }
	ctx := context.WithValue(context.Background(), tenantKey{}, "acme")
	boom := errors.New("boom")

	// Lines at Warn and above only, and one per minute: OnSlow still sees
	// every slow call.
	c := newClock()
	z, logs := observed(zapcore.WarnLevel)
	l := New(z, WithClock(c.Now), Threshold(time.Millisecond), RateLimit(1, time.Minute), OnSlow(onSlow))
	timed(l, c, "fast", time.Microsecond, Context(ctx))
	timed(l, c, "fast", time.Microsecond, Always())
	s := l.Start("slow", Context(ctx))
	c.Advance(time.Second)
	s.StopErr(boom)
	timed(l, c, "slow", 2*time.Second)
	if logs.Len() != 0 {
		t.Fatalf("%d lines at Info written to a Warn logger", logs.Len())
	}
	if len(got) != 2 {
		t.Fatalf("OnSlow ran %d times, want 2 (the slow calls only)", len(got))
	}
	if got[0].ctx != ctx || got[0].e.ID != 1 || got[0].e.Name != "slow" || got[0].e.Duration != time.Second || !errors.Is(got[0].e.Err, boom) {
		t.Errorf("first: %+v", got[0])
	}
	if got[1].ctx != context.Background() || got[1].e.ID != 2 {
		t.Errorf("second: ctx %v entry %+v, want context.Background() and ID 2", got[1].ctx, got[1].e)
	}
	if got[1].e != l.Entries()[0] {
		t.Errorf("entry %+v, kept %+v: want the same", got[1].e, l.Entries()[0])
	}

	// With no ring the entry has ID 0.
	got = nil
	l0 := New(nil, WithClock(c.Now), Keep(0), OnSlow(onSlow))
	timed(l0, c, "x", time.Second)
	if len(got) != 1 || got[0].e.ID != 0 || got[0].e.Name != "x" {
		t.Fatalf("Keep(0): %+v", got)
	}
}
