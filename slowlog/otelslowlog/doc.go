// Package otelslowlog connects a slowlog.Log to OpenTelemetry, in a module
// of its own so that slowlog itself depends on zap alone.
//
// # Traces
//
// TraceFields, given to slowlog.ContextFields, puts the trace_id and
// span_id of the span in a call's context on the call's line, so that an
// engineer who finds a slow call in the logs can open its trace. SpanEvent,
// given to slowlog.OnSlow, adds a "slow call" event to that span, with the
// call's name, duration and tier, so that the trace shows which of its
// calls slowlog found slow:
//
//	l := slowlog.New(logger,
//		slowlog.ContextFields(otelslowlog.TraceFields),
//		slowlog.OnSlow(otelslowlog.SpanEvent),
//	)
//	err := l.Do(ctx, "db.query", query) // ctx carries the span
//
// TraceFields runs only for lines that are written (slow, Always and
// sampled calls), SpanEvent only for slow calls: a call below the
// threshold pays nothing for either.
//
// # Metrics
//
// A Producer hands the Log's per-name statistics to the OpenTelemetry
// metric SDK as an external source, the way the SDK's other bridges feed
// metrics kept elsewhere: nothing is recorded twice, and the timed path
// pays nothing; the statistics are read when a reader collects.
//
//	reader := sdkmetric.NewPeriodicReader(exporter, sdkmetric.WithProducer(otelslowlog.NewProducer(l)))
//
// It produces, per call name (attribute slowlog.name), cumulative since
// the name's first call after New or slowlog's Reset:
//
//   - slowlog.call.duration, a histogram in seconds, which Prometheus and
//     OTLP backends aggregate across processes (percentiles cannot be
//     averaged; histograms can be added);
//   - slowlog.calls, slowlog.slow_calls and slowlog.errors, counters.
//
// A Prometheus exporter names them slowlog_call_duration_seconds (with
// _bucket, _sum and _count), slowlog_calls_total, slowlog_slow_calls_total
// and slowlog_errors_total. The histogram's buckets and sum come from
// slowlog's own histogram, each call counted at the midpoint of its
// slowlog bucket, within slowlog.MaxRelativeError of its duration.
package otelslowlog
