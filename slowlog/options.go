package slowlog

import (
	"context"
	"io"
	"math"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// DefaultThreshold is the threshold of a Log made without Threshold or
// Tiers: a call that takes at least this long is slow.
const DefaultThreshold = 10 * time.Millisecond

// DefaultKeep is the size of the ring of recent slow entries when Keep is
// not given.
const DefaultKeep = 128

// DefaultMaxNames bounds how many distinct names get their own statistics
// when MaxNames is not given.
const DefaultMaxNames = 1024

// OtherName is the statistics name that collects the calls of every name
// past the MaxNames limit. Their log lines and entries keep their own name.
const OtherName = "(other)"

// An Option configures a Log in New. Options are applied in order; for
// options that set the same thing, the last one wins.
type Option func(*config)

type config struct {
	now      func() time.Time
	tiers    []Tier
	keep     int
	sample   float64
	limitN   int
	limitPer time.Duration
	maxNames int
	watch    time.Duration
	flight   *FlightConfig
	reqName  func(*http.Request) string

	ctxFields func(context.Context) []zap.Field
	onSlow    func(context.Context, Entry)
	onScan    func() // tests: called after each scan of the watch goroutine
	// tests: opens a trace file in place of os.OpenFile
	createTrace func(path string) (io.WriteCloser, error)
}

// A Tier is one threshold: a call that takes at least Over is logged at
// Level. Levels above zapcore.ErrorLevel are lowered to ErrorLevel and
// levels below zapcore.DebugLevel are raised to DebugLevel, because a slow
// call must never make the logger panic or exit the process.
type Tier struct {
	Over  time.Duration
	Level zapcore.Level
}

// Threshold sets one threshold, logged at Info: a call that takes at least
// d is slow. The default is DefaultThreshold. A threshold of 0 makes every
// call slow. A negative threshold turns logging of slow calls off;
// statistics are still kept. Threshold replaces any earlier Tiers.
func Threshold(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.tiers = nil
			return
		}
		c.tiers = []Tier{{Over: d, Level: zapcore.InfoLevel}}
	}
}

// Tiers sets several thresholds, each logged at its own level; a call is
// logged once, at the highest tier it reached. Tiers with a negative Over
// are dropped; of two tiers with the same Over the later one is kept.
// Tiers with no (valid) tier turns logging of slow calls off, like a
// negative Threshold. Tiers replaces any earlier Threshold.
func Tiers(t ...Tier) Option {
	ts := make([]Tier, 0, len(t))
	for _, x := range t {
		if x.Over < 0 {
			continue
		}
		x.Level = clampLevel(x.Level)
		if i := slices.IndexFunc(ts, func(y Tier) bool { return y.Over == x.Over }); i >= 0 {
			ts[i] = x
			continue
		}
		ts = append(ts, x)
	}
	slices.SortFunc(ts, func(a, b Tier) int {
		switch {
		case a.Over < b.Over:
			return -1
		case a.Over > b.Over:
			return 1
		}
		return 0
	})
	return func(c *config) { c.tiers = ts }
}

func clampLevel(l zapcore.Level) zapcore.Level {
	switch {
	case l < zapcore.DebugLevel:
		return zapcore.DebugLevel
	case l > zapcore.ErrorLevel:
		return zapcore.ErrorLevel
	}
	return l
}

// MaxKeep bounds Keep: the ring is allocated whole in New.
const MaxKeep = 1 << 20

// Keep sets the size of the ring of the most recent slow entries returned
// by Entries (default DefaultKeep). n <= 0 keeps no entries; n above
// MaxKeep keeps MaxKeep.
func Keep(n int) Option {
	return func(c *config) { c.keep = min(max(n, 0), MaxKeep) }
}

// WithClock makes the Log read time from now instead of the system clock,
// for tests; nil means the system clock. Durations are differences of now's results, so a clock that
// goes backwards yields zero durations, never negative ones. When
// WithClock is not given, the Log reads only the monotonic clock on the
// fast path.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// Sample logs, at Debug and with tier "sample", the given fraction of the
// calls that are below every threshold, like PostgreSQL's
// log_min_duration_sample band. rate is clamped to [0, 1]; 0 (the
// default) samples nothing. Drawing the sample costs a few nanoseconds per
// fast call.
func Sample(rate float64) Option {
	return func(c *config) {
		if math.IsNaN(rate) || rate < 0 {
			rate = 0
		}
		c.sample = min(rate, 1)
	}
}

// RateLimit writes at most n lines per name in each window of length per;
// the lines over the limit are suppressed, and the next line written for
// that name carries a "suppressed" field with how many were. Suppressed
// calls still count in the statistics and still enter the ring. n <= 0 or
// per <= 0 means no limit (the default).
func RateLimit(n int, per time.Duration) Option {
	return func(c *config) {
		if n <= 0 || per <= 0 {
			c.limitN, c.limitPer = 0, 0
			return
		}
		c.limitN, c.limitPer = n, per
	}
}

// MaxNames bounds how many distinct names get their own statistics
// (default DefaultMaxNames), so that a caller that makes names from
// unbounded input (such as raw URL paths) cannot grow memory without
// limit. Calls with names past the limit are counted under OtherName.
// n < 1 is taken as 1.
func MaxNames(n int) Option {
	return func(c *config) { c.maxNames = max(n, 1) }
}

// Watch logs, once and at Warn, every call that is still running d after
// it started, with the stack of the goroutine that runs it (field
// "stack", one "function\n\tfile:line" per frame, innermost first) and,
// with FlightRecorder, a trace (field "trace"); when the call ends it is
// handled like any other. A Log with a watch owns one background
// goroutine that checks every d/2 (but not more often than every
// millisecond) until Close. A call is reported between d and 1.5d after it
// started. d <= 0 (the default) watches nothing.
//
// Watching costs a few tens of nanoseconds per call and allocates
// nothing: Start claims a slot in a table of calls in progress (one
// compare-and-swap on a cache line that the goroutine's core tends to
// own) and gives the goroutine a runtime/pprof label (LabelKey) naming
// the slot; Stop frees the slot. The watch finds an overdue call's
// goroutine by that label in a goroutine profile, taken only when some
// call is overdue.
//
// The label replaces the goroutine's own runtime/pprof labels while the
// call runs, and Stop sets the labels of the call's context (Do,
// Middleware, Context), or none: give a call made under pprof.Do its
// context to keep its labels after Stop. A call nested in another on the
// same goroutine relabels it, so an outer call that is overdue after an
// inner one ended is reported without a stack. A watched call is stopped
// on the goroutine that started it: Stop sets the labels of the goroutine
// it runs on.
func Watch(d time.Duration) Option {
	return func(c *config) { c.watch = max(d, 0) }
}

// RequestName sets how Middleware names a request. The default is the
// pattern that an http.ServeMux matched (prefixed by the method when the
// pattern has none), or else, where no pattern is known, the method and
// Unrouted ("GET (unrouted)"): never the raw URL path, since every distinct
// path would become a name of its own (see MaxNames), and a client
// chooses paths. fn runs after the request was served, on its goroutine;
// a function that returns "" falls back to the default.
//
// With a router other than http.ServeMux, name requests by its route
// template, and put Middleware inside the router (its Use), where the
// router's match is in the request's context:
//
//	// github.com/go-chi/chi/v5: r.Use(l.Middleware)
//	slowlog.RequestName(func(r *http.Request) string { return r.Method + " " + chi.RouteContext(r.Context()).RoutePattern() })
//
//	// github.com/gorilla/mux: r.Use(l.Middleware)
//	slowlog.RequestName(func(r *http.Request) string { t, _ := mux.CurrentRoute(r).GetPathTemplate(); return r.Method + " " + t })
//
// (gorilla's CurrentRoute is nil for a request no route matched, such as
// a 404: check it if the router has a NotFoundHandler behind Middleware.)
func RequestName(fn func(r *http.Request) string) Option {
	return func(c *config) { c.reqName = fn }
}

// ContextFields adds to each line of a call that has a context (Do,
// Middleware, or Start with Context) the fields fn returns for that
// context, after slowlog's own: a trace id, a request id, a tenant. fn
// runs only for lines that are written, on the goroutine that ends the
// call and outside slowlog's locks; it must be safe for concurrent use. A
// nil fn adds nothing. The package otelslowlog has one for OpenTelemetry
// trace and span ids.
func ContextFields(fn func(ctx context.Context) []zap.Field) Option {
	return func(c *config) { c.ctxFields = fn }
}

// OnSlow calls fn for each slow call (each call counted in Stats.Slow),
// whether or not its line is written: with the call's context
// (context.Background() when it has none) and its entry, whose ID is 0
// when the ring keeps nothing. fn runs on the goroutine that ends the
// call, after the entry is kept and before the line is written, outside
// slowlog's locks; it must be safe for concurrent use and should be
// quick. A nil fn does nothing. The package otelslowlog has one that adds
// a "slow call" event to the call's OpenTelemetry span.
func OnSlow(fn func(ctx context.Context, e Entry)) Option {
	return func(c *config) { c.onSlow = fn }
}

// A CallOption configures one call in Start. It is a small value; passing
// one does not allocate.
type CallOption struct {
	flags uint8
	after time.Duration
	ctx   context.Context
}

const (
	flagAlways uint8 = 1 << iota
	flagAfter
	flagCtx    // in CallOption only
	flagSample // in Log.flags only
	flagDo     // in Span only: Do ends the call
)

// Always logs the call whatever its duration. A call below every
// threshold is logged at the level of the lowest tier (Info when there is
// none) with tier "always", and is neither counted as slow nor kept in the
// ring.
func Always() CallOption { return CallOption{flags: flagAlways} }

// After overrides the thresholds for this call by a single threshold d,
// logged at the level of the Log's lowest tier (Info when there is none).
// A negative d means the call is never slow.
func After(d time.Duration) CallOption { return CallOption{flags: flagAfter, after: d} }

// Context gives the call its context, as Do does: the context's error
// when the call ends is recorded (field "ctx", Entry.CtxErr), and
// ContextFields and OnSlow see it. A nil ctx gives none.
//
//	s := l.Start("db.query", slowlog.Context(ctx))
//	rows, err := db.QueryContext(ctx, q)
//	s.StopErr(err)
func Context(ctx context.Context) CallOption {
	if ctx == nil {
		return CallOption{}
	}
	return CallOption{flags: flagCtx, ctx: ctx}
}
