// Package slowlog logs only the calls that are slow, keeps a ring of the
// most recent slow calls, and keeps latency statistics per call name.
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
// or through Do, Call and Wrap, which also record the returned error and
// the context's error, or through Middleware for HTTP requests. When the
// call ends:
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
// or "sample"), suppressed when lines were dropped, and for requests
// method, path, status and bytes.
//
// With Watch(d), a background goroutine logs once, at Warn and with
// message "slow call still running", each call still running d after it
// started, with the stack of the goroutine running it, so that a call that
// hangs is seen before it ends, or even if it never does. Close ends that
// goroutine.
//
// Entries returns the ring newest first, Len its length, Reset empties it
// and the statistics, and Handler serves both as JSON.
//
// # Statistics
//
// Each name has a fixed histogram of 960 buckets: exact below 16 ns, then
// 16 buckets per power of two up to the longest time.Duration. A call adds
// one to one bucket with an atomic compare-and-swap. When that ever fails
// because another goroutine updated the same bucket at once, the name gets
// one histogram per P (up to 16), each call adding to a random one, so
// that a hot name does not make every core fight for one cache line; a
// read sums them. Stats reports count, slow count,
// error count, the exact maximum, and P50, P90 and P99 as the midpoint of
// the bucket holding the nearest-rank quantile, which is within
// MaxRelativeError (1/32, about 3.1%) of the exact quantile. A histogram is
// 7.5 KiB; MaxNames bounds how many names get one.
//
// # Cost
//
// The below-threshold path (Start, Stop) allocates nothing. Without
// WithClock it reads only the monotonic clock, twice, where a bare
// time.Now and time.Since read the clock three times; it then finds the
// name's statistics in a copy-on-write map without locking and does one
// atomic update. A Span is a small value. A slow call costs
// about what writing the same line with zap does. See bench_test.go and
// the README for the numbers.
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
// holding a lock: the zap core and the RequestName function run outside
// the Log's locks.
package slowlog
