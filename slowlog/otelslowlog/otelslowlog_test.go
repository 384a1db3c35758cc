package otelslowlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/slowlog"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// fakeClock moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// productionLogger writes JSON lines as zap.NewProduction does (with the
// caller) into a buffer.
func productionLogger() (*zap.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(&buf), zapcore.InfoLevel), zap.AddCaller()), &buf
}

func TestTrace(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	z, buf := productionLogger()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := slowlog.New(z, slowlog.WithClock(clock.Now), slowlog.Threshold(10*time.Millisecond),
		slowlog.ContextFields(TraceFields), slowlog.OnSlow(SpanEvent))

	ctx, span := tp.Tracer("test").Start(context.Background(), "GET /users/{id}")
	boom := errors.New("db: timeout")
	_, _, line, _ := runtime.Caller(0)
	err := l.Do(ctx, "db.query", func(context.Context) error {
		clock.Advance(1500 * time.Millisecond)
		return boom
	})
	_ = l.Do(ctx, "cache.get", func(context.Context) error { return nil }) // fast: no event
	span.End()
	if !errors.Is(err, boom) {
		t.Fatalf("Do = %v", err)
	}
	t.Logf("the slow-call line: %s", buf.Bytes())

	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("one JSON line expected: %v\n%s", err, buf.Bytes())
	}
	sc := span.SpanContext()
	if got["trace_id"] != sc.TraceID().String() || got["span_id"] != sc.SpanID().String() {
		t.Errorf("trace_id %v span_id %v, want %v %v", got["trace_id"], got["span_id"], sc.TraceID(), sc.SpanID())
	}
	if want := "otelslowlog/otelslowlog_test.go:" + itoa(line+1); got["caller"] != want {
		t.Errorf("caller %v, want %v (the call of Do)", got["caller"], want)
	}

	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans ended", len(spans))
	}
	evs := spans[0].Events()
	if len(evs) != 1 || evs[0].Name != EventName {
		t.Fatalf("events %+v, want one %q", evs, EventName)
	}
	attrs := attribute.NewSet(evs[0].Attributes...)
	for k, want := range map[attribute.Key]attribute.Value{
		"slowlog.name":     attribute.StringValue("db.query"),
		"slowlog.duration": attribute.Float64Value(1.5),
		"slowlog.tier":     attribute.StringValue("10ms"),
		"error":            attribute.StringValue("db: timeout"),
	} {
		if v, ok := attrs.Value(k); !ok || v != want {
			t.Errorf("event attribute %s = %v, want %v", k, v.String(), want.String())
		}
	}
	if want := clock.Now(); !evs[0].Time.Equal(want) {
		t.Errorf("event at %v, want when the call ended, %v", evs[0].Time, want)
	}
}

func TestTraceWithoutSpan(t *testing.T) {
	t.Parallel()
	if f := TraceFields(context.Background()); f != nil {
		t.Fatalf("fields %v without a span", f)
	}
	SpanEvent(context.Background(), slowlog.Entry{Name: "x"}) // no span: nothing, no panic
	// A span that is not recording gets no event.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	ctx, span := tp.Tracer("test").Start(context.Background(), "dropped")
	SpanEvent(ctx, slowlog.Entry{Name: "x"})
	span.End()
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// collect runs the Producer through the SDK's in-memory reader.
func collect(t *testing.T, p *Producer) metricdata.ResourceMetrics {
	t.Helper()
	reader := sdkmetric.NewManualReader(sdkmetric.WithProducer(p))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

func TestProducer(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := slowlog.New(nil, slowlog.WithClock(clock.Now), slowlog.Threshold(100*time.Millisecond))
	call := func(name string, d time.Duration, err error) {
		s := l.Start(name)
		clock.Advance(d)
		s.StopErr(err)
	}
	for range 7 {
		call("db.query", 3*time.Millisecond, nil)
	}
	call("db.query", 40*time.Millisecond, errors.New("x"))
	call("db.query", 2*time.Second, nil)
	call("db.query", time.Minute, nil)
	call("cache.get", 100*time.Microsecond, nil)

	rm := collect(t, NewProducer(l))
	if len(rm.ScopeMetrics) != 1 || rm.ScopeMetrics[0].Scope.Name != ScopeName {
		t.Fatalf("scopes %+v", rm.ScopeMetrics)
	}
	ms := map[string]metricdata.Metrics{}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		ms[m.Name] = m
	}
	hist, ok := ms[DurationMetric].Data.(metricdata.Histogram[float64])
	if !ok || ms[DurationMetric].Unit != "s" || hist.Temporality != metricdata.CumulativeTemporality {
		t.Fatalf("%s: %+v", DurationMetric, ms[DurationMetric])
	}
	var q metricdata.HistogramDataPoint[float64]
	for _, dp := range hist.DataPoints {
		if v, _ := dp.Attributes.Value(NameAttribute); v.AsString() == "db.query" {
			q = dp
		}
	}
	if q.Count != 10 {
		t.Fatalf("db.query: count %d, want 10", q.Count)
	}
	wantBounds := []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	if !slicesEqual(q.Bounds, wantBounds) {
		t.Fatalf("bounds %v, want %v", q.Bounds, wantBounds)
	}
	// 7 × 3ms ≤ 5ms, 40ms ≤ 50ms, 2s ≤ 2.5s, 1m above every bound.
	wantCounts := []uint64{7, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1}
	if !slicesEqual(q.BucketCounts, wantCounts) {
		t.Fatalf("bucket counts %v, want %v", q.BucketCounts, wantCounts)
	}
	exact := (7*3*time.Millisecond + 40*time.Millisecond + 2*time.Second + time.Minute).Seconds()
	if d := q.Sum - exact; d > exact*slowlog.MaxRelativeError || -d > exact*slowlog.MaxRelativeError {
		t.Fatalf("sum %v, want %v within MaxRelativeError", q.Sum, exact)
	}
	if mx, ok := q.Max.Value(); !ok || mx != 60 {
		t.Fatalf("max %v %v, want 60", mx, ok)
	}
	if !q.StartTime.Equal(time.Date(2026, 1, 1, 0, 0, 0, 3e6, time.UTC)) || !q.Time.After(q.StartTime) {
		t.Fatalf("start %v time %v: want the end of the first call, and now", q.StartTime, q.Time)
	}
	for name, want := range map[string]int64{CallsMetric: 10, SlowCallsMetric: 2, ErrorsMetric: 1} {
		sum, ok := ms[name].Data.(metricdata.Sum[int64])
		if !ok || !sum.IsMonotonic || sum.Temporality != metricdata.CumulativeTemporality {
			t.Fatalf("%s: %+v, want a cumulative counter", name, ms[name])
		}
		var got int64 = -1
		for _, dp := range sum.DataPoints {
			if v, _ := dp.Attributes.Value(NameAttribute); v.AsString() == "db.query" {
				got = dp.Value
			}
		}
		if got != want {
			t.Errorf("%s{db.query} = %d, want %d", name, got, want)
		}
	}

	// Bounds of the caller's; bad ones are dropped.
	rm = collect(t, NewProducer(l, time.Millisecond, 0, time.Second, time.Millisecond))
	h := rm.ScopeMetrics[0].Metrics[0].Data.(metricdata.Histogram[float64])
	if got := h.DataPoints[0].Bounds; !slicesEqual(got, []float64{0.001, 1}) {
		t.Fatalf("bounds %v, want [0.001 1]", got)
	}
	// A nil Log, or one with no calls, produces nothing.
	if rm := collect(t, NewProducer(nil)); len(rm.ScopeMetrics) != 0 {
		t.Fatalf("nil Log: %+v", rm.ScopeMetrics)
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestProducerRace collects while calls are timed, under -race.
func TestProducerRace(t *testing.T) {
	t.Parallel()
	l := slowlog.New(nil, slowlog.Threshold(0))
	p := NewProducer(l)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				l.Start([]string{"a", "b", "c"}[(w+i)%3]).Stop()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		select {
		case <-done:
			rm := collect(t, p)
			var n int64
			for _, dp := range rm.ScopeMetrics[0].Metrics[1].Data.(metricdata.Sum[int64]).DataPoints {
				n += dp.Value
			}
			if n != 8000 {
				t.Fatalf("%d calls counted, want 8000", n)
			}
			return
		default:
			_ = collect(t, p)
		}
	}
}
