package slowlog

import (
	"bytes"
	"context"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"go.uber.org/zap"
)

// RunningMessage is the message of the line Watch writes for a call that
// is still running.
const RunningMessage = "slow call still running"

// LabelKey is the runtime/pprof label that Watch gives the goroutine of
// each call while it runs, so that the goroutine of an overdue call can be
// found in a goroutine profile. Its value is opaque (it names a slot of
// the Log's table of calls in progress, not the call).
const LabelKey = "slowlog"

// A watch knows the calls in progress of a Log that has Watch.
//
// A call takes a slot of a table picked at random, so that concurrent
// calls touch different cache lines and take no lock another core holds:
// Start claims its slot with one compare-and-swap, fills it in and
// publishes it with one atomic store; Stop frees it with one
// compare-and-swap (which waits only while the watch is reading that
// slot, for a few nanoseconds). Each slot
// has a runtime/pprof label context made in New; Start gives the
// goroutine its slot's labels, which costs a pointer store, and Stop gives
// it back the labels of the call's context. The watch goroutine finds an
// overdue call's goroutine by that label in a goroutine profile, taken
// only when some call is overdue. This replaces reading the goroutine's id
// from runtime.Stack in Start (about 5 µs) and a process-wide locked map.
//
// When every probed slot is taken (more calls in progress than the table
// was sized for), the call goes into a locked overflow map with a label
// context of its own, which allocates.
type watch struct {
	d      int64
	id     uint64 // of the Log, in the labels' values
	slots  []watchSlot
	labels []context.Context // per slot

	mu       sync.Mutex // overflow
	overflow map[uint64]*watchSlot
	nextOver uint64

	onScan func()
	stop   chan struct{}
	done   chan struct{}
	closed sync.Once
}

// A watchSlot is one call in progress. Its state is a generation, which
// each call that takes the slot increments, and a kind that says who may
// touch the other fields: the call that claimed the slot while
// slotWriting, the watch while slotReading; slotBusy publishes a call in
// progress. The generation, kept in the Span, lets a second Stop of a
// copy of the Span see that its call has ended.
type watchSlot struct {
	state    atomic.Uint64 // generation<<2 | kind
	reported bool
	name     string
	method   string // Middleware: the request's method, with name its path
	start    int64
	_        [16]byte // to 64 bytes: one cache line per slot
}

// Kinds of a watchSlot's state.
const (
	slotFree    = iota
	slotBusy    // a call is in progress
	slotWriting // Start fills the slot in
	slotReading // the watch reads a busy slot
	kindMask    = 3
)

// probes is how many slots Start tries before it takes the overflow map.
const probes = 4

// A flight, as a Span keeps it, is the slot index plus one in its low
// 16 bits and the slot's generation (modulo 2^47) above them, or an
// overflow id with overflowBit set.
const (
	overflowBit = 1 << 63
	slotBits    = 16
	genMask     = 1<<47 - 1
)

var watchIDs atomic.Uint64

func newWatch(d time.Duration, onScan func()) *watch {
	n := 256
	for n < 32*runtime.GOMAXPROCS(0) && n < 1<<(slotBits-1) {
		n *= 2
	}
	w := &watch{
		d:        int64(d),
		id:       watchIDs.Add(1),
		slots:    make([]watchSlot, n),
		labels:   make([]context.Context, n),
		overflow: map[uint64]*watchSlot{},
		onScan:   onScan,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	for i := range w.labels {
		w.labels[i] = pprof.WithLabels(context.Background(), pprof.Labels(LabelKey, w.label(uint64(i))))
	}
	return w
}

func (w *watch) label(i uint64) string {
	return strconv.FormatUint(w.id, 10) + "." + strconv.FormatUint(i, 10)
}

// track registers a call that started at mono time start on the calling
// goroutine, and returns its flight: the slot index plus one, or an
// overflow id with overflowBit set.
func (w *watch) track(name, method string, start int64) uint64 {
	// The address of the goroutine's stack picks the first slot: a
	// goroutine that makes call after call takes the same slot, whose
	// cache line stays with its core, and goroutines get their stacks from
	// per-P caches, so the goroutines of one core tend to share slots that
	// other cores do not touch. Random slots cost a cache miss per call on
	// every core but one. (The stack may move; the slot is kept in the
	// Span, so that only matters for where the next call looks first.)
	var here byte
	mask := uint64(len(w.slots) - 1)
	i := uint64(uintptr(unsafe.Pointer(&here))>>10) * 0x9e3779b97f4a7c15 >> 40
	for range probes {
		i &= mask
		s := &w.slots[i]
		if st := s.state.Load(); st&kindMask == slotFree {
			gen := st&^kindMask + 1<<2
			if s.state.CompareAndSwap(st, gen|slotWriting) {
				s.name, s.method, s.start, s.reported = name, method, start, false
				s.state.Store(gen | slotBusy)
				pprof.SetGoroutineLabels(w.labels[i])
				return (gen>>2&genMask)<<slotBits | (i + 1)
			}
		}
		i++
	}
	return w.trackOverflow(name, method, start)
}

func (w *watch) trackOverflow(name, method string, start int64) uint64 {
	w.mu.Lock()
	w.nextOver++
	id := w.nextOver | overflowBit
	w.overflow[id] = &watchSlot{name: name, method: method, start: start}
	w.mu.Unlock()
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(LabelKey, w.label(id))))
	return id
}

// slotOf returns the slot index of a flight that is not an overflow.
func slotOf(f uint64) uint64 { return f&(1<<slotBits-1) - 1 }

// untrack ends the call of flight f and gives the goroutine the labels of
// ctx (none when ctx is nil).
func (w *watch) untrack(f uint64, ctx context.Context) {
	if f&overflowBit != 0 {
		w.mu.Lock()
		delete(w.overflow, f)
		w.mu.Unlock()
	} else {
		s := &w.slots[slotOf(f)]
	stop:
		for {
			st := s.state.Load()
			if st>>2&genMask != f>>slotBits {
				break // the call ended: this is a second Stop of its Span
			}
			switch st & kindMask {
			case slotBusy:
				if s.state.CompareAndSwap(st, st&^kindMask) { // slotFree, same generation
					break stop
				}
			case slotReading:
				runtime.Gosched() // the watch reads the slot for a moment
			default:
				break stop
			}
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	pprof.SetGoroutineLabels(ctx)
}

// inFlight reports how many calls are tracked, for tests.
func (w *watch) inFlight() int {
	n := 0
	for i := range w.slots {
		if w.slots[i].state.Load()&kindMask != slotFree {
			n++
		}
	}
	w.mu.Lock()
	n += len(w.overflow)
	w.mu.Unlock()
	return n
}

// An overdue call, found by a scan.
type overdue struct {
	name   string
	method string // for a request, its method; else ""
	path   string // for a request, its path
	label  string
	start  int64
}

// due returns the calls running for at least the watch duration at mono
// time now that were not reported yet, and marks them reported.
func (w *watch) due(now int64) []overdue {
	var out []overdue
	take := func(s *watchSlot, id uint64) {
		if s.reported || now-s.start < w.d {
			return
		}
		s.reported = true
		out = append(out, overdue{name: s.name, method: s.method, label: w.label(id), start: s.start})
	}
	for i := range w.slots {
		s := &w.slots[i]
		if st := s.state.Load(); st&kindMask == slotBusy && s.state.CompareAndSwap(st, st&^kindMask|slotReading) {
			take(s, uint64(i))
			s.state.Store(st)
		}
	}
	w.mu.Lock()
	for id, s := range w.overflow {
		take(s, id)
	}
	w.mu.Unlock()
	return out
}

func (l *Log) watchLoop(every time.Duration) {
	w := l.w
	defer close(w.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			l.scan()
			if w.onScan != nil {
				w.onScan()
			}
		}
	}
}

// scan logs, once each, the calls that have been running for at least the
// watch duration, with their goroutines' stacks, and with a flight
// recorder the trace of the moment. The goroutine profile is taken only
// when some call is overdue.
func (l *Log) scan() {
	now := l.mono()
	due := l.w.due(now)
	if len(due) == 0 {
		return
	}
	for i := range due {
		// The route of a request still being served is not known (the
		// mux sets it on the request, which only its goroutine may
		// read): it goes by the bounded default name.
		if f := &due[i]; f.method != "" {
			f.path, f.name = f.name, unroutedName(f.method)
		}
	}
	profile := goroutineProfile()
	path := ""
	if l.fr != nil {
		path = l.fr.snapshot(l, context.Background(), "running", due[0].name, time.Duration(now-due[0].start), now)
	}
	for _, f := range due {
		ce := l.z.Check(zap.WarnLevel, RunningMessage)
		if ce == nil {
			continue
		}
		if _, ok := l.allow(l.statsFor(f.name), now); !ok {
			continue
		}
		running := time.Duration(now - f.start)
		fs := []zap.Field{
			zap.String("name", f.name),
			zap.Duration("running", running),
			zap.String("seconds", seconds(running)),
			zap.String("stack", stackOfLabel(profile, f.label)),
		}
		if f.method != "" {
			fs = append(fs, zap.String("method", f.method), zap.String("path", f.path))
		}
		if path != "" {
			fs = append(fs, zap.String("trace", path))
		}
		ce.Write(fs...)
	}
}

// goroutineProfile returns the goroutine profile in its text form with
// labels (debug=1): records of goroutines with the same stack and labels,
// separated by blank lines.
func goroutineProfile() []byte {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	return b.Bytes()
}

// stackOfLabel returns, from a goroutine profile, the stack of the
// goroutine labelled LabelKey=label, one "function\n\tfile:line" per
// frame, innermost first; or "" when there is none (the call ended
// meanwhile, or a call nested in it on the same goroutine gave the
// goroutine other labels).
//
// A record of the profile reads
//
//	1 @ 0x43d8ae 0x4a1b2c
//	# labels: {"slowlog":"1.17"}
//	#	0x4a1b2c	main.handle+0x4c	/src/main.go:15
func stackOfLabel(profile []byte, label string) string {
	want := strconv.Quote(LabelKey) + ":" + strconv.Quote(label)
	for rec := range bytes.SplitSeq(profile, []byte("\n\n")) {
		lines := strings.Split(string(rec), "\n")
		found := false
		var b strings.Builder
		for _, ln := range lines {
			if rest, ok := strings.CutPrefix(ln, "# labels: "); ok {
				found = labelIn(rest, want)
				continue
			}
			// "#\tPC\tFUNC+OFF\t\tFILE:LINE", with tabs for alignment.
			pc, rest, ok := strings.Cut(strings.TrimPrefix(ln, "#\t"), "\t")
			if !strings.HasPrefix(ln, "#\t0x") || !ok || pc == "" {
				continue
			}
			fn, file, _ := strings.Cut(strings.TrimLeft(rest, "\t"), "\t")
			if i := strings.LastIndex(fn, "+0x"); i > 0 {
				fn = fn[:i]
			}
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(fn + "\n\t" + strings.TrimLeft(file, "\t"))
		}
		if found {
			return b.String()
		}
	}
	return ""
}

// labelIn reports whether the label set {"k":"v", ...} holds the pair
// want ("k":"v").
func labelIn(set, want string) bool {
	for {
		i := strings.Index(set, want)
		if i < 0 {
			return false
		}
		before, after := set[:i], set[i+len(want):]
		if (strings.HasSuffix(before, "{") || strings.HasSuffix(before, ", ")) &&
			(strings.HasPrefix(after, "}") || strings.HasPrefix(after, ",")) {
			return true
		}
		set = after
	}
}
