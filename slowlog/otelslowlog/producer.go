package otelslowlog

import (
	"context"
	"slices"
	"time"

	"github.com/sturdy-go/sturdy/slowlog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// ScopeName is the instrumentation scope of the metrics a Producer makes.
const ScopeName = "github.com/sturdy-go/sturdy/slowlog/otelslowlog"

// The names of the metrics a Producer makes, and the attribute that holds
// the call's name.
const (
	DurationMetric  = "slowlog.call.duration"
	CallsMetric     = "slowlog.calls"
	SlowCallsMetric = "slowlog.slow_calls"
	ErrorsMetric    = "slowlog.errors"
	NameAttribute   = "slowlog.name"
)

// defaultBounds are the bucket bounds OpenTelemetry's semantic conventions
// recommend for durations of HTTP and RPC calls, from 5 ms to 10 s.
var defaultBounds = []time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	75 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	750 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second,
	7500 * time.Millisecond, 10 * time.Second,
}

// A Producer is a metric.Producer that reads a slowlog.Log's statistics
// each time a reader collects. It is safe for concurrent use.
type Producer struct {
	l       *slowlog.Log
	bounds  []time.Duration
	seconds []float64
}

var _ metric.Producer = (*Producer)(nil)

// NewProducer returns a Producer of l's statistics whose histograms have
// the given bucket bounds. Without bounds they are the ones OpenTelemetry's
// semantic conventions recommend for call durations: 5, 10, 25, 50, 75,
// 100, 250, 500 and 750 ms, 1, 2.5, 5, 7.5 and 10 s. Bounds that are not
// positive or do not ascend are dropped. Every process of a fleet should
// use the same bounds, so that their histograms add up.
func NewProducer(l *slowlog.Log, bounds ...time.Duration) *Producer {
	if len(bounds) == 0 {
		bounds = defaultBounds
	}
	p := &Producer{l: l}
	for _, b := range bounds {
		if b > 0 && (len(p.bounds) == 0 || b > p.bounds[len(p.bounds)-1]) {
			p.bounds = append(p.bounds, b)
			p.seconds = append(p.seconds, b.Seconds())
		}
	}
	return p
}

// Produce returns the statistics of every call name as of now: the
// duration histogram and the three counters, cumulative since each name's
// first call after New or Reset. It never fails; a nil Log gives no
// metrics.
func (p *Producer) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	hs := p.l.Histograms(p.bounds)
	if len(hs) == 0 {
		return nil, nil
	}
	now := time.Now()
	hist := make([]metricdata.HistogramDataPoint[float64], 0, len(hs))
	calls := make([]metricdata.DataPoint[int64], 0, len(hs))
	slow := make([]metricdata.DataPoint[int64], 0, len(hs))
	errs := make([]metricdata.DataPoint[int64], 0, len(hs))
	for _, h := range hs {
		attrs := attribute.NewSet(attribute.String(NameAttribute, h.Name))
		hist = append(hist, metricdata.HistogramDataPoint[float64]{
			Attributes:   attrs,
			StartTime:    h.Start,
			Time:         now,
			Count:        h.Count,
			Bounds:       slices.Clone(p.seconds),
			BucketCounts: h.Counts,
			Max:          metricdata.NewExtrema(h.Max.Seconds()),
			Sum:          h.Sum.Seconds(),
		})
		point := func(v uint64) metricdata.DataPoint[int64] {
			return metricdata.DataPoint[int64]{Attributes: attrs, StartTime: h.Start, Time: now, Value: int64(min(v, 1<<63-1))}
		}
		calls = append(calls, point(h.Count))
		slow = append(slow, point(h.Slow))
		errs = append(errs, point(h.Errors))
	}
	counter := func(name, desc, unit string, pts []metricdata.DataPoint[int64]) metricdata.Metrics {
		return metricdata.Metrics{Name: name, Description: desc, Unit: unit, Data: metricdata.Sum[int64]{
			DataPoints: pts, Temporality: metricdata.CumulativeTemporality, IsMonotonic: true,
		}}
	}
	return []metricdata.ScopeMetrics{{
		Scope: instrumentation.Scope{Name: ScopeName},
		Metrics: []metricdata.Metrics{
			{Name: DurationMetric, Description: "Duration of the calls timed by slowlog.", Unit: "s", Data: metricdata.Histogram[float64]{
				DataPoints: hist, Temporality: metricdata.CumulativeTemporality,
			}},
			counter(CallsMetric, "Calls timed by slowlog.", "{call}", calls),
			counter(SlowCallsMetric, "Calls that reached a slowlog threshold.", "{call}", slow),
			counter(ErrorsMetric, "Calls timed by slowlog that ended with an error.", "{error}", errs),
		},
	}}, nil
}
