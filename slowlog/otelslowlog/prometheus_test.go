package otelslowlog

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/sturdy-go/sturdy/slowlog"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// TestPrometheusNames runs the Producer through OpenTelemetry's
// Prometheus exporter, as a service exposing /metrics would, and checks
// the names and series a scrape sees.
func TestPrometheusNames(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := slowlog.New(nil, slowlog.WithClock(clock.Now))
	for _, d := range []time.Duration{2 * time.Millisecond, 30 * time.Millisecond, 3 * time.Second} {
		s := l.Start("db.query")
		clock.Advance(d)
		s.Stop()
	}
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithProducer(NewProducer(l)), otelprom.WithoutTargetInfo(), otelprom.WithoutScopeInfo())
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	defer func() { _ = mp.Shutdown(context.Background()) }()

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var text bytes.Buffer
	enc := expfmt.NewEncoder(&text, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		names = append(names, mf.GetName())
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("a scrape of /metrics:\n%s", text.String())
	want := []string{"slowlog_call_duration_seconds", "slowlog_calls_total", "slowlog_errors_total", "slowlog_slow_calls_total"}
	if !slices.Equal(names, want) {
		t.Fatalf("metric families %v, want %v", names, want)
	}
	for _, series := range []string{
		`slowlog_call_duration_seconds_bucket{slowlog_name="db.query",le="0.005"} 1`,
		`slowlog_call_duration_seconds_bucket{slowlog_name="db.query",le="0.05"} 2`,
		`slowlog_call_duration_seconds_bucket{slowlog_name="db.query",le="+Inf"} 3`,
		`slowlog_call_duration_seconds_count{slowlog_name="db.query"} 3`,
		`slowlog_calls_total{slowlog_name="db.query"} 3`,
		`slowlog_slow_calls_total{slowlog_name="db.query"} 2`,
	} {
		if !strings.Contains(text.String(), series) {
			t.Errorf("scrape lacks %s", series)
		}
	}
}
