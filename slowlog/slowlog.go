package slowlog

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Message is the message of every line a Log writes for a finished call.
const Message = "slow call"

// A Log times calls and logs the slow ones. It is safe for concurrent use.
// A nil *Log is valid and does nothing: its spans time nothing, Do just
// calls the function, Middleware returns the handler it is given.
type Log struct {
	z    *zap.Logger      // with the caller skip of Stop
	zDo  *zap.Logger      // with the caller skip of Do
	now  func() time.Time // nil: the monotonic clock through base
	base time.Time
	// flags is flagSample when fast calls may be sampled, so that the
	// fast path tests one byte for all the reasons to look further.
	flags uint8

	tiers     []tier // ascending by Over
	min       int64  // lowest Over; math.MaxInt64 when there is no tier
	lowLevel  zapcore.Level
	sampleCut uint64 // a fast call is sampled when rand.Uint64() < sampleCut
	sampleAll bool
	limitN    int
	limitPer  int64
	maxNames  int
	reqName   func(*http.Request) string
	ctxFields func(context.Context) []zap.Field
	onSlow    func(context.Context, Entry)

	names   atomic.Pointer[nameTable]
	other   atomic.Pointer[stats] // set once names is full
	namesMu sync.Mutex

	ring ring

	w  *watch    // nil without Watch
	fr *recorder // nil without FlightRecorder
}

type tier struct {
	Tier
	label string
}

// New returns a Log that writes to z (nil: a no-op logger, statistics and
// the ring still work). Without options it logs, at Info, every call that
// takes at least DefaultThreshold and keeps the DefaultKeep most recent
// slow entries. If Watch is given, call Close when done with the Log.
func New(z *zap.Logger, opts ...Option) *Log {
	c := config{
		tiers:    []Tier{{Over: DefaultThreshold, Level: zapcore.InfoLevel}},
		keep:     DefaultKeep,
		maxNames: DefaultMaxNames,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if z == nil {
		z = zap.NewNop()
	}
	l := &Log{
		// The caller of a line is found from the Check in slow: skip
		// slow, finish and Stop; for Do, its deferred function and Do.
		z:        z.WithOptions(zap.AddCallerSkip(3)),
		zDo:      z.WithOptions(zap.AddCallerSkip(4)),
		now:      c.now,
		min:      math.MaxInt64,
		lowLevel: zapcore.InfoLevel,
		limitN:   c.limitN,
		limitPer: int64(c.limitPer),
		maxNames: c.maxNames,
		reqName:  c.reqName,

		ctxFields: c.ctxFields,
		onSlow:    c.onSlow,
	}
	if l.now != nil {
		l.base = l.now()
	} else {
		l.base = time.Now()
	}
	for _, t := range c.tiers {
		l.tiers = append(l.tiers, tier{Tier: t, label: t.Over.String()})
	}
	if len(l.tiers) > 0 {
		l.min = int64(l.tiers[0].Over)
		l.lowLevel = l.tiers[0].Level
	}
	switch {
	case c.sample >= 1:
		l.sampleAll = true
	case c.sample > 0:
		l.sampleCut = uint64(c.sample * (1 << 64))
	}
	if l.sampleAll || l.sampleCut != 0 {
		l.flags = flagSample
	}
	l.names.Store(newNameTable(map[string]*stats{}))
	l.ring.buf = make([]Entry, c.keep)
	if c.flight != nil {
		l.fr = newRecorder(l, *c.flight, c.createTrace)
	}
	if c.watch > 0 {
		l.w = newWatch(c.watch, c.onScan)
		go l.watchLoop(max(c.watch/2, time.Millisecond))
	}
	return l
}

// Close ends the watch goroutine, if any, and waits for it, and gives up
// the Log's share of the flight recorder, which stops when the last Log
// that shares it is closed. It is idempotent and safe for concurrent use.
// The Log stays usable after Close; it only stops watching in-flight calls
// and writing traces.
func (l *Log) Close() {
	if l == nil {
		return
	}
	if w := l.w; w != nil {
		w.closed.Do(func() { close(w.stop) })
		<-w.done
	}
	if l.fr != nil {
		l.fr.close()
	}
}

// mono returns the time since l.base. With the system clock it reads only
// the monotonic clock, one vDSO call.
func (l *Log) mono() int64 {
	if l.now != nil {
		return int64(l.now().Sub(l.base))
	}
	return int64(time.Since(l.base))
}

// A Span is one timed call, returned by Start and ended by Stop. It is a
// small value: starting and stopping a call below the threshold does not
// allocate. The zero Span does nothing. Stop a Span once; stopping a copy
// again records the call again.
type Span struct {
	l      *Log
	name   string
	start  int64
	ctx    context.Context // nil: none given
	after  time.Duration
	flight uint64
	flags  uint8 // flagAlways, flagAfter, flagDo
}

// Start starts timing a call named name; Stop ends it:
//
//	defer l.Start("db.query").Stop()
//
// The name keys the statistics; use a small fixed set of names (see
// MaxNames). Pass Context(ctx) to give the call its context.
func (l *Log) Start(name string, opts ...CallOption) Span {
	// Small enough to inline, so the Span is built in the caller's frame.
	s := Span{name: name}
	l.begin(&s, opts, "")
	return s
}

// begin fills in the Span that Start returns. method is the request's
// method for Middleware, whose name is then the path until the request is
// served.
func (l *Log) begin(s *Span, opts []CallOption, method string) {
	if l == nil {
		s.name = ""
		return
	}
	s.l = l
	for _, o := range opts {
		s.flags |= o.flags &^ flagCtx
		if o.flags&flagAfter != 0 {
			s.after = o.after
		}
		if o.flags&flagCtx != 0 {
			s.ctx = o.ctx
		}
	}
	if l.now == nil {
		s.start = int64(time.Since(l.base))
	} else {
		s.start = l.mono()
	}
	if l.w != nil {
		s.flight = l.w.track(s.name, method, s.start)
	}
}

// Stop ends the call: it updates the statistics of the call's name and,
// when the call is slow, adds an entry to the ring and logs it. A call
// given a context records the context's error when it ended, if any.
func (s Span) Stop() {
	if s.l != nil {
		s.l.finish(&s, nil, nil)
	}
}

// StopErr is Stop for a call that failed: err is recorded in the entry and
// the log line, and counted in the statistics. A nil err is Stop.
func (s Span) StopErr(err error) {
	if s.l != nil {
		s.l.finish(&s, err, nil)
	}
}

// finish is the hot path: below the threshold it reads the clock, finds
// the statistics in the cache of the name table and adds one to a
// histogram bucket. It is written out in one function, with the rare
// cases behind calls, because each call and the spills around it cost a
// measurable part of the few nanoseconds slowlog adds to the clock reads.
func (l *Log) finish(s *Span, err error, hi *httpCall) {
	var end int64
	if l.now == nil {
		end = int64(time.Since(l.base))
	} else {
		end = l.mono()
	}
	d := max(end-s.start, 0)

	t := l.names.Load()
	p := unsafe.StringData(s.name)
	slot := t.slot(p)
	st := slot.Load()
	if st == nil || unsafe.StringData(st.name) != p || len(st.name) != len(s.name) {
		st = l.lookup(t, slot, s.name)
	}
	i := bucketOf(uint64(d))
	if sp := st.stripes.Load(); sp != nil {
		(*sp)[rand.Uint32()&uint32(len(*sp)-1)].buckets[i].Add(1)
	} else if b := &st.h.buckets[i]; !b.CompareAndSwap(b.Load(), b.Load()+1) {
		st.contended(i)
	}
	if d > st.max.Load() {
		st.raiseMax(d)
	}
	if d < l.min && err == nil && s.flight == 0 && hi == nil && (s.flags|l.flags)&^flagDo == 0 {
		return
	}
	if s.flight != 0 {
		l.w.untrack(s.flight, s.ctx)
	}
	if err != nil {
		st.errors.Add(1)
	}
	if d < l.min && (s.flags|l.flags)&^flagDo == 0 {
		return
	}
	l.slow(s, st, end, time.Duration(d), err, hi)
}

// slow decides whether a call that was not plainly fast is slow, sampled or
// always logged, and records and logs it.
func (l *Log) slow(s *Span, st *stats, end int64, d time.Duration, err error, hi *httpCall) {
	tiers := l.tiers
	var one [1]tier
	if s.flags&flagAfter != 0 {
		tiers = nil
		if s.after >= 0 {
			one[0] = tier{Tier: Tier{Over: s.after, Level: l.lowLevel}, label: s.after.String()}
			tiers = one[:]
		}
	}
	var ctxErr error
	if s.ctx != nil {
		ctxErr = s.ctx.Err()
	}
	var (
		level zapcore.Level
		label string
		trace string
		why   string
	)
	i := len(tiers) - 1
	for i >= 0 && d < tiers[i].Over {
		i--
	}
	switch {
	case i >= 0:
		st.slow.Add(1)
		level, label = tiers[i].Level, tiers[i].label
		e := Entry{Name: s.name, Start: l.wallStart(s.start), Duration: d, Err: err, CtxErr: ctxErr, Tier: tiers[i].Tier}
		if hi != nil {
			e.HTTP = new(HTTPInfo)
			*e.HTTP = hi.HTTPInfo
		}
		if l.fr != nil && int64(d) >= l.fr.after {
			ctx := s.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			e.Trace = l.fr.snapshot(l, ctx, "slow", s.name, d, end)
			if e.Trace != "" && l.fr.cfg.Summarize != nil {
				why = l.fr.cfg.Summarize(e.Trace, s.name)
			}
		}
		trace = e.Trace
		if len(l.ring.buf) > 0 {
			e.ID = l.ring.add(&e)
		}
		if l.onSlow != nil {
			ctx := s.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			l.onSlow(ctx, e)
		}
	case s.flags&flagAlways != 0:
		level, label = l.lowLevel, "always"
	case l.sampleAll || (l.sampleCut != 0 && rand.Uint64() < l.sampleCut):
		level, label = zapcore.DebugLevel, "sample"
	default:
		return
	}
	z := l.z
	if s.flags&flagDo != 0 {
		z = l.zDo
	}
	ce := z.Check(level, Message)
	if ce == nil {
		return
	}
	suppressed, ok := l.allow(st, end)
	if !ok {
		return
	}
	if ce.Caller.Defined {
		switch {
		case hi != nil:
			ce.Caller = *hi.caller
		case s.flags&flagDo != 0 && errors.Is(err, ErrPanicked):
			ce.Caller = callerAbove(doFunc)
		}
	}
	var extra []zap.Field
	if s.ctx != nil && l.ctxFields != nil {
		extra = l.ctxFields(s.ctx)
	}
	n := 4 + len(extra)
	if err != nil {
		n++
	}
	if ctxErr != nil {
		n++
	}
	if suppressed > 0 {
		n++
	}
	if hi != nil {
		n += 4
	}
	if trace != "" {
		n++
	}
	if why != "" {
		n++
	}
	// Filling the slice by index writes each field in place; appending
	// would copy each from the stack with a bulk write barrier.
	fs := make([]zap.Field, n)
	fs[0] = zap.String("name", s.name)
	fs[1] = zap.Duration("duration", d)
	fs[2] = zap.String("seconds", seconds(d))
	k := 3
	if err != nil {
		fs[k] = zap.NamedError("err", err)
		k++
	}
	if ctxErr != nil {
		fs[k] = zap.NamedError("ctx", ctxErr)
		k++
	}
	fs[k] = zap.String("tier", label)
	k++
	if suppressed > 0 {
		fs[k] = zap.Uint64("suppressed", suppressed)
		k++
	}
	if hi != nil {
		fs[k] = zap.String("method", hi.Method)
		fs[k+1] = zap.String("path", hi.Path)
		fs[k+2] = zap.Int("status", hi.Status)
		fs[k+3] = zap.Int64("bytes", hi.Bytes)
		k += 4
	}
	if trace != "" {
		fs[k] = zap.String("trace", trace)
		k++
	}
	if why != "" {
		fs[k] = zap.String("why", why)
		k++
	}
	copy(fs[k:], extra)
	ce.Write(fs...)
}

// doFunc is the name runtime frames give Do.
const doFunc = "github.com/sturdy-go/sturdy/slowlog.(*Log).Do"

// callerAbove returns the frame that called the innermost frame of the
// function fn on the current stack: the user's call of Do when the
// function Do ran panicked, where the frames between the panic and Do
// are unknown in number.
func callerAbove(fn string) zapcore.EntryCaller {
	var pcs [64]uintptr
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs[:])])
	for found := false; ; {
		f, more := frames.Next()
		if found {
			return frameCaller(f)
		}
		found = f.Function == fn
		if !more {
			return zapcore.EntryCaller{}
		}
	}
}

func frameCaller(f runtime.Frame) zapcore.EntryCaller {
	return zapcore.EntryCaller{Defined: f.PC != 0, PC: f.PC, File: f.File, Line: f.Line, Function: f.Function}
}

// wallStart is the wall-clock start of a call that began at mono offset
// start: the time New read plus the elapsed monotonic time, which saves a
// clock read on the slow path and differs from the wall clock only by
// steps of the wall clock since New.
func (l *Log) wallStart(start int64) time.Time {
	return l.base.Add(time.Duration(start)).Round(0)
}

// allow applies the per-name rate limit at mono time now. It reports
// whether a line may be written and, if so, how many were suppressed
// since the last one.
func (l *Log) allow(st *stats, now int64) (suppressed uint64, ok bool) {
	if l.limitN <= 0 {
		return 0, true
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.winStarted || now-st.winStart >= l.limitPer || now < st.winStart {
		st.winStarted, st.winStart, st.winCount = true, now, 0
	}
	if st.winCount >= l.limitN {
		st.suppressed++
		return 0, false
	}
	st.winCount++
	suppressed, st.suppressed = st.suppressed, 0
	return suppressed, true
}

// seconds formats d as seconds with exactly nine decimals, so that the
// lines sort with sort -n.
func seconds(d time.Duration) string {
	var b [32]byte
	u := uint64(max(d, 0))
	i := len(b)
	ns := u % 1e9
	for range 9 {
		i--
		b[i] = byte('0' + ns%10)
		ns /= 10
	}
	i--
	b[i] = '.'
	s := u / 1e9
	for {
		i--
		b[i] = byte('0' + s%10)
		s /= 10
		if s == 0 {
			break
		}
	}
	return string(b[i:])
}

// Reset empties the ring and forgets all statistics, like SLOWLOG RESET.
// Entry IDs keep increasing. Calls that end while Reset runs may be
// counted in the old statistics and so be lost.
func (l *Log) Reset() {
	if l == nil {
		return
	}
	l.namesMu.Lock()
	l.names.Store(newNameTable(map[string]*stats{}))
	l.other.Store(nil)
	l.namesMu.Unlock()
	l.ring.reset()
}
