package otelslowlog

import (
	"context"

	"github.com/sturdy-go/sturdy/slowlog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

// EventName is the name of the span event SpanEvent adds.
const EventName = "slow call"

// TraceFields returns the fields trace_id and span_id (lower-case hex, as
// OpenTelemetry writes them) of the span in ctx, or none when ctx holds no
// valid span context. Give it to slowlog.ContextFields.
func TraceFields(ctx context.Context) []zap.Field {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []zap.Field{
		zap.String("trace_id", sc.TraceID().String()),
		zap.String("span_id", sc.SpanID().String()),
	}
}

// SpanEvent adds the event "slow call" to the span in ctx, if it is
// recording, with the attributes slowlog.name, slowlog.duration (seconds),
// slowlog.tier, and error when the call failed. Give it to slowlog.OnSlow.
func SpanEvent(ctx context.Context, e slowlog.Entry) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{
		attribute.String("slowlog.name", e.Name),
		attribute.Float64("slowlog.duration", e.Duration.Seconds()),
		attribute.String("slowlog.tier", e.Tier.Over.String()),
	}
	if e.Err != nil {
		attrs = append(attrs, attribute.String("error", e.Err.Error()))
	}
	span.AddEvent(EventName, trace.WithAttributes(attrs...), trace.WithTimestamp(e.Start.Add(e.Duration)))
}
