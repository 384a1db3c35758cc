package otelslowlog_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/sturdy-go/sturdy/slowlog"
	"github.com/sturdy-go/sturdy/slowlog/otelslowlog"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func Example() {
	// JSON lines without time and caller, so that the output is stable.
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{MessageKey: "msg", LevelKey: "level",
		EncodeLevel: zapcore.LowercaseLevelEncoder, EncodeDuration: zapcore.StringDurationEncoder})
	logger := zap.New(zapcore.NewCore(enc, zapcore.AddSync(os.Stdout), zapcore.InfoLevel))
	clock := &fakeClock{}

	l := slowlog.New(logger, slowlog.WithClock(clock.Now),
		slowlog.ContextFields(otelslowlog.TraceFields), // trace_id and span_id on each line
		slowlog.OnSlow(otelslowlog.SpanEvent),          // a "slow call" event on the span
	)
	reader := sdkmetric.NewManualReader(sdkmetric.WithProducer(otelslowlog.NewProducer(l)))
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	// A context with a span, as a tracing middleware gives a handler.
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	}))
	for _, d := range []time.Duration{2 * time.Millisecond, 3 * time.Millisecond, 40 * time.Millisecond} {
		_ = l.Do(ctx, "db.query", func(context.Context) error {
			clock.Advance(d)
			return nil
		})
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch data := m.Data.(type) {
		case metricdata.Histogram[float64]:
			p := data.DataPoints[0]
			name, _ := p.Attributes.Value(otelslowlog.NameAttribute)
			fmt.Printf("%s{%s} count=%d, bounds %v s: %v ...\n", m.Name, name.String(), p.Count, p.Bounds[:4], p.BucketCounts[:4])
		case metricdata.Sum[int64]:
			p := data.DataPoints[0]
			name, _ := p.Attributes.Value(otelslowlog.NameAttribute)
			fmt.Printf("%s{%s} %d\n", m.Name, name.String(), p.Value)
		}
	}
	// Output:
	// {"level":"info","msg":"slow call","name":"db.query","duration":"40ms","seconds":"0.040000000","tier":"10ms","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}
	// slowlog.call.duration{db.query} count=3, bounds [0.005 0.01 0.025 0.05] s: [2 0 0 1] ...
	// slowlog.calls{db.query} 3
	// slowlog.slow_calls{db.query} 1
	// slowlog.errors{db.query} 0
}
