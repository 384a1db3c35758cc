package otelslowlog

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/benchcpu"
	"github.com/sturdy-go/sturdy/slowlog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// BenchmarkTimedCall is what the timed path pays for fleet metrics: a
// call below the threshold with slowlog (its statistics exported later by
// a Producer) against timing the call and recording it into an
// OpenTelemetry histogram instrument, what a service would otherwise do.
func BenchmarkTimedCall(b *testing.B) {
	b.Run("slowlog", func(b *testing.B) {
		l := slowlog.New(nil, slowlog.Threshold(time.Hour))
		reader := sdkmetric.NewManualReader(sdkmetric.WithProducer(NewProducer(l)))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer func() { _ = mp.Shutdown(context.Background()) }()
		b.ReportAllocs()
		m := benchcpu.Start()
		for b.Loop() {
			l.Start("db.query").Stop()
		}
		m.Report(b, 1)
	})
	b.Run("otel", func(b *testing.B) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer func() { _ = mp.Shutdown(context.Background()) }()
		h, err := mp.Meter("bench").Float64Histogram("db.query.duration", metric.WithUnit("s"))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String(NameAttribute, "db.query")))
		b.ReportAllocs()
		m := benchcpu.Start()
		for b.Loop() {
			t := time.Now()
			h.Record(ctx, time.Since(t).Seconds(), attrs)
		}
		m.Report(b, 1)
	})
}

// BenchmarkCollect is the cost of one collection of 100 call names through
// the Producer, against the SDK collecting its own histogram instrument
// with as many attribute sets.
func BenchmarkCollect(b *testing.B) {
	const names = 100
	ctx := context.Background()
	b.Run("producer", func(b *testing.B) {
		l := slowlog.New(nil, slowlog.Threshold(time.Hour))
		for i := range names {
			l.Start("call" + strconv.Itoa(i)).Stop()
		}
		reader := sdkmetric.NewManualReader(sdkmetric.WithProducer(NewProducer(l)))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer func() { _ = mp.Shutdown(ctx) }()
		var rm metricdata.ResourceMetrics
		b.ReportAllocs()
		m := benchcpu.Start()
		for b.Loop() {
			if err := reader.Collect(ctx, &rm); err != nil {
				b.Fatal(err)
			}
		}
		m.Report(b, 1)
	})
	b.Run("otel", func(b *testing.B) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer func() { _ = mp.Shutdown(ctx) }()
		h, err := mp.Meter("bench").Float64Histogram("d", metric.WithUnit("s"))
		if err != nil {
			b.Fatal(err)
		}
		for i := range names {
			h.Record(ctx, 0.001, metric.WithAttributes(attribute.String(NameAttribute, "call"+strconv.Itoa(i))))
		}
		var rm metricdata.ResourceMetrics
		b.ReportAllocs()
		m := benchcpu.Start()
		for b.Loop() {
			if err := reader.Collect(ctx, &rm); err != nil {
				b.Fatal(err)
			}
		}
		m.Report(b, 1)
	})
}
