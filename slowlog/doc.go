// Package slowlog logs only the calls that are slow, keeps a ring of the
// most recent slow calls, keeps latency statistics per call name, and,
// with FlightRecorder, writes an execution trace that shows why each slow
// call was slow.
//
// Timing every call floods the logs. What an engineer chasing slowness in
// production wants is the handful of calls over a threshold, with enough
// around them to act: Redis SLOWLOG (a threshold, a bounded ring, GET, LEN,
// RESET), PostgreSQL's log_min_duration_statement with a sampled band
// below it, Elasticsearch's warn/info/debug/trace thresholds, and MySQL's
// throttling of repeated lines. A Log combines them, for any Go call,
// writing through go.uber.org/zap.
//
// # Model
//
// A call has a name and is timed between Start and Stop:
//
//	defer l.Start("db.query").Stop()
//
// or through Do, which also records the returned error and the context's
// error, or through Middleware for HTTP requests. Start takes per-call
// options: Always, After, and Context, which gives the call its context
// as Do does. When the call ends:
//
//   - its duration is added to the statistics of its name (always);
//   - if it took at least the lowest threshold it is slow: it is kept in
//     the ring (Keep) and logged at the level of the highest tier it
//     reached (Threshold, Tiers);
//   - else, if it was started with Always it is logged at the lowest
//     tier's level with tier "always", and if Sample is set a fraction of
//     the remaining calls is logged at Debug with tier "sample".
//
// Lines go through zap's Logger.Check, so a disabled level costs one
// check, and through a per-name rate limit (RateLimit): the first line
// written after some were suppressed carries their count.
//
// A line has the message "slow call" and the fields name, duration
// (zap.Duration), seconds (a string with exactly nine decimals, such as
// "0.012345678", so that sort -n orders the lines), err and ctx when there
// is an error, tier (the threshold reached, such as "100ms", or "always"
// or "sample"), suppressed when lines were dropped, for requests
// method, path, status and bytes, trace with FlightRecorder when a trace
// was written (and why, its summary, with FlightConfig.Summarize); then
// the fields ContextFields takes
// from the call's context, such as a trace id or a request id. OnSlow
// hands each slow call, with its context, to a function of the user's.
//
// With Watch(d), a background goroutine logs once, at Warn and with
// message "slow call still running", each call still running d after it
// started, with the stack of the goroutine running it, so that a call that
// hangs is seen before it ends, or even if it never does. Close ends that
// goroutine (the tests check with goleak that none is left). Watching costs tens of nanoseconds per call, not the
// microseconds of reading goroutine ids from runtime.Stack: see Watch.
//
// Entries returns the ring newest first, Len its length, Reset empties it
// and the statistics, and Handler serves both as JSON. Histograms reads
// the statistics as histograms over bounds of the reader's choice, for
// metric systems; the module otelslowlog exports them to OpenTelemetry.
//
// # Why a call was slow
//
// A slow log says that a call was slow and how long it took; the engineer
// then has to make the slowness happen again to learn why, and slowness
// in production rarely does. With FlightRecorder, Go's execution-trace
// flight recorder keeps the last seconds of the program's execution in
// memory, and a call at least FlightConfig.After slow gets a snapshot of
// them written to a file: the line's field "trace" (and Entry.Trace, the
// Handler's report, what OnSlow gets) names the file. In it, go tool
// trace finds the call by name (a task "slowlog NAME") and shows what its
// goroutine did: a handler that waited 150 ms for a mutex shows 150 ms in
// sync.(*Mutex).Lock under
//
//	go tool trace -pprof=sync FILE > sync.pprof && go tool pprof -top sync.pprof
//
// (net, syscall and sched profiles likewise). The module slowlog/slowtrace
// sums the trace up in the line itself (FlightConfig.Summarize, field
// "why"): "of 152ms: 150ms waiting on sync.(*Mutex).Lock at
// handler.go:42, 2ms running". A call still running after Watch's
// duration gets a trace too. Fast calls cost what they cost
// without it: nothing is emitted for them, only the runtime's tracer runs.
// Traces are bounded (one at a time, one per Every, MaxFiles files, the
// recorder's window in memory), and any fault (Dir not writable, disk
// full, another flight recorder in the program) leaves slow calls logged
// as before, with the reason logged once. See FlightRecorder.
//
// # Exposure
//
// The Handler's report and the trace files show a service's inner
// workings: names, paths, timings, errors, goroutine stacks and states.
// Serve the Handler on an internal listener or an admin mux, not beside
// "/" on the public one. Trace files are created with mode 0600, in a
// directory made with mode 0700. Request names never come from raw paths
// by default (see RequestName), so a client cannot fill MaxNames.
//
// # Caller
//
// With a zap logger that adds the caller (zap.AddCaller, as
// zap.NewProduction does), the caller of a line is the user's code: the
// call of Stop or StopErr, the function that deferred Stop (at the line
// where it returned), or the call of Do, also when the function Do ran
// panicked. Requests have no user frame on the stack when they end: the
// caller of a Middleware line is where Middleware was called. A program
// that ends calls through a helper of its own adds zap.AddCallerSkip to
// the logger it gives New, as for any zap wrapper. A Watch line's caller
// is the watch goroutine; its stack field shows the call.
//
// # Statistics
//
// Each name has a fixed histogram of 960 buckets: exact below 16 ns, then
// 16 buckets per power of two up to the longest time.Duration. A call adds
// one to one bucket with an atomic compare-and-swap. When that ever fails
// because another goroutine updated the same bucket at once, the name gets
// one histogram per P (up to 16), each call adding to a random one, so
// that a hot name does not make every core fight for one cache line; a
// read sums them. Stats reports count, slow count, error count, the exact
// maximum, and P50, P90 and P99 as the midpoint of the bucket holding the
// nearest-rank quantile: a bucket above 16 ns is at most 1/16 of its lower
// bound wide, so the midpoint is within 1/32 (MaxRelativeError, about
// 3.1%) of the exact quantile. Sum counts each call at its bucket's
// midpoint, so it is within 1/32 of the exact total. A histogram is
// 7.5 KiB; MaxNames bounds how many names get one.
//
// # Cost
//
// The below-threshold path (Start, Stop) allocates nothing. Without
// WithClock it reads only the monotonic clock, twice, where a bare
// time.Now and time.Since read the clock three times; it then finds the
// name's statistics without locking (by the address of the name's bytes,
// one comparison for a string constant; else in a copy-on-write map) and
// does one atomic update. A Span is a small value. A slow call costs
// about what writing the same line with zap does. See bench_test.go and
// the README for the numbers. With Watch, a call claims and frees a slot
// of a table and sets a runtime/pprof label, still without allocating or
// sharing a cache line with other cores. With FlightRecorder, the fast
// path is unchanged; the runtime's tracer costs the whole program some
// CPU, most in programs that block and wake goroutines often, such as
// servers of small HTTP requests (the README's MiddlewareFlight rows
// measure it); a slow call at least After slow also emits a trace task
// and, at most once per Every, writes a snapshot.
//
// # log/slog
//
// A program that logs with log/slog uses NewSlog, or SlogCore to put a
// zap logger over any slog.Handler:
//
//	l := slowlog.NewSlog(slog.Default())
//
// # Concurrency
//
// A Log is safe for concurrent use. It never calls user code while
// holding a lock: the zap core, the clock given to WithClock and the
// functions given to RequestName, ContextFields, OnSlow and
// FlightConfig.Summarize run outside the Log's locks, on the goroutine that ends the call (the watch
// goroutine for Watch's lines).
package slowlog
