package observer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by NotifyContext on a closed subject.
var ErrClosed = errors.New("observer: subject is closed")

// Subject delivers values of type T to its observers. The zero value is an
// open subject with no observers, ready to use. A Subject must not be copied
// after first use.
//
// A Subject is safe for concurrent use: Subscribe, Notify, Close and every
// Subscription method may be called from any goroutine, including from
// inside its own observers. A nil *Subject behaves as a closed one.
type Subject[T any] struct {
	mu     sync.Mutex                  // serializes changes to subs
	subs   atomic.Pointer[snapshot[T]] // immutable, in subscription order
	closed atomic.Bool                 // written under mu
	rd     readers

	panicHandler atomic.Pointer[func(Panic[T])] // nil: report to standard error
}

// ends counts the subscriptions ended, of every subject; see deliver. One
// counter for the process keeps Notify's per-subscriber check to a single
// load of a fixed address.
var ends atomic.Uint64

// snapshot is the list of subscriptions Notify iterates, never modified
// once published. The observers sit in a slice of their own, so that while
// nothing ends the loop reads exactly what a loop over a []func(T) reads.
type snapshot[T any] struct {
	fns     []func(T)   // the observer, or nil for Async (push to the entry's queue)
	entries []*entry[T] // same index
	hasSync bool        // some fn is not nil
	allSync bool        // every fn is set: no Async entry
}

// entry is one subscription of a Subject[T]: the observer and, for Async,
// its queue. Entries are never copied; Notify reads them through snapshots.
type entry[T any] struct {
	fn      func(T)
	q       *queue[T] // nil: synchronous
	subj    *Subject[T]
	onPanic func(any)
	sub     Subscription
}

// Subscribe registers fn to receive every value notified from now on, and
// returns the handle that ends the subscription.
//
// Without options, fn runs synchronously, on the goroutine that calls
// Notify, after the observers subscribed before it. With Async, fn runs on
// a goroutine of its own. A subscription made while a Notify is running
// receives the values of later Notify calls, not that one's.
//
// On a closed subject, or with a nil fn, Subscribe returns a subscription
// that has already ended and fn is never called.
//
// Subscribe takes amortized constant time (it appends to the snapshot);
// ending a subscription copies the snapshot, in time linear in Len. An
// Async subscription costs a goroutine until it ends.
func (s *Subject[T]) Subscribe(fn func(T), opts ...SubscribeOption) *Subscription {
	o := buildOptions(opts)
	if s == nil || fn == nil {
		return endedSubscription(o.onEnd)
	}
	e := s.newEntry(fn, o)
	if !s.add(e) {
		return endedSubscription(o.onEnd)
	}
	e.start()
	return &e.sub
}

// newEntry makes an active entry that is not yet in the snapshot.
func (s *Subject[T]) newEntry(fn func(T), o options) *entry[T] {
	e := &entry[T]{fn: fn, subj: s, onPanic: o.onPanic}
	e.sub.state.Store(stateActive)
	e.sub.owner = e
	e.sub.done = make(chan struct{})
	e.sub.onEnd = o.onEnd
	if o.async {
		e.q = newQueue[T](o.buffer, o.policy)
	}
	return e
}

// start launches the goroutine of an Async entry.
func (e *entry[T]) start() {
	if e.q != nil {
		go e.q.run(e)
	}
}

// add appends e to the snapshot. It fails if the subject is closed or e has
// already ended.
func (s *Subject[T]) add(e *entry[T]) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() || e.sub.state.Load() != stateActive {
		return false
	}
	next := &snapshot[T]{hasSync: e.q == nil, allSync: e.q == nil}
	if p := s.subs.Load(); p != nil {
		// Appending in place is safe: readers of the current snapshot never
		// look past its length, and only the newest snapshot is appended to.
		next.fns, next.entries = p.fns, p.entries
		next.hasSync = next.hasSync || p.hasSync
		next.allSync = next.allSync && p.allSync
	}
	var fn func(T)
	if e.q == nil {
		fn = e.fn
	}
	next.fns = append(next.fns, fn)
	next.entries = append(next.entries, e)
	s.subs.Store(next)
	return true
}

// remove ends e: it takes e out of the snapshot, if it is there, and then
// marks it ended, both under the lock. It reports whether this call ended
// e (false if it had ended before).
//
// The order is what keeps every observer's sequence of values whole. Once
// the state says ended, no Notify can load a snapshot that holds e: a
// Notify already under way may still call e once more, or skip it, but a
// later one never finds it. (Marking first and removing after left a
// moment in which one Notify skipped e, its state checked because some
// other subscription had ended, and the next delivered to it again, so a
// Value's observer could see A, then A again.) And under the lock, add never
// puts back an entry that ended: it checks the state under the same lock.
// A second Unsubscribe waits on the lock until the first has done both.
func (s *Subject[T]) remove(e *entry[T]) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(e)
	return e.sub.state.Swap(stateEnded) != stateEnded
}

// removeLocked takes e out of the snapshot, if it is there. s.mu is held.
func (s *Subject[T]) removeLocked(e *entry[T]) {
	p := s.subs.Load()
	if p == nil {
		return
	}
	i := slices.Index(p.entries, e)
	if i < 0 {
		return
	}
	if len(p.entries) == 1 {
		s.subs.Store(nil)
		return
	}
	next := &snapshot[T]{
		fns:     make([]func(T), 0, len(p.fns)-1),
		entries: make([]*entry[T], 0, len(p.entries)-1),
	}
	next.fns = append(append(next.fns, p.fns[:i]...), p.fns[i+1:]...)
	next.entries = append(append(next.entries, p.entries[:i]...), p.entries[i+1:]...)
	next.allSync = true
	for _, fn := range next.fns {
		next.hasSync = next.hasSync || fn != nil
		next.allSync = next.allSync && fn != nil
	}
	s.subs.Store(next)
}

// end implements ender; see Subscription.Unsubscribe.
func (e *entry[T]) end(wait bool) {
	first := e.subj.remove(e)
	if first {
		ends.Add(1)
	}
	if e.q != nil {
		if first {
			e.q.stop()
		}
		if wait {
			select {
			case <-e.sub.done:
			default:
				if !inObserver(false) {
					<-e.sub.done // the goroutine closes it on exit
				}
			}
		}
		return
	}
	if wait && e.subj.rd.busy() && !inObserver(false) {
		e.subj.rd.synchronize()
	}
	if first {
		e.sub.finish()
	}
}

// Notify delivers v to every active subscription: it calls the synchronous
// observers one after the other, in subscription order, and enqueues v for
// the Async ones. It returns when all of that is done; it waits only for
// synchronous observers and for room in a full Block queue.
//
// Notify holds no lock while observers run: it iterates an immutable
// snapshot of the subscriptions. An observer may Subscribe, Unsubscribe,
// Close or Notify. A Notify made from inside an observer is delivered depth
// first: all observers receive the inner value before the outer Notify moves
// on to the next observer, so observers after that one receive the inner
// value before the outer one. Use Value, or Async subscriptions, where the
// order of values matters.
//
// A panicking observer is recovered and reported (see OnPanic and
// SetPanicHandler); the other observers still receive v. On a closed subject Notify does nothing. Notify
// allocates nothing.
func (s *Subject[T]) Notify(v T) {
	if s != nil {
		s.notify(context.Background(), v)
	}
}

// NotifyContext is Notify with a bound on how long a full Block queue may
// make it wait: once ctx is done, Block subscriptions that have no room lose
// v (it counts in their Dropped) and the delivery goes on without waiting.
// Everything else happens as in Notify, whatever ctx says: synchronous
// observers are called and queues with room take v. A context that is
// already done therefore makes a Notify that never waits.
//
// NotifyContext returns ErrClosed on a closed subject, an error that wraps
// ctx's error when some Block subscription lost v, and nil otherwise. The
// outcome does not depend on when ctx ends relative to the call: only on
// whether it has ended by the time a queue would make the notifier wait.
func (s *Subject[T]) NotifyContext(ctx context.Context, v T) error {
	if s == nil || s.closed.Load() {
		return ErrClosed
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if lost := s.notify(ctx, v); lost > 0 {
		return fmt.Errorf("observer: notify: %d Block subscription(s) had no room before the context ended: %w", lost, ctx.Err())
	}
	return nil
}

// notify delivers v and returns how many Block subscriptions lost it to
// ctx. It calls observers itself, so it is one of the markers inObserver
// looks for (it is never inlined: it defers).
func (s *Subject[T]) notify(ctx context.Context, v T) (lost int) {
	p := s.subs.Load()
	if p == nil {
		return 0
	}
	d := delivery[T]{ctx: ctx}
	if p.hasSync {
		// Only synchronous deliveries need a grace period (an Async
		// Unsubscribe waits for its goroutine instead). Enter, then load
		// the snapshot again: a Notify that enters after an Unsubscribe's
		// grace period began loads a snapshot without that subscription.
		phase := s.rd.enter()
		// One deferred call per Notify leaves the grace period and, should
		// an observer panic, reports it and delivers to the observers after
		// it; the delivery loop itself carries no defer.
		defer func() {
			if d.p != nil && d.next < len(d.p.fns) {
				// recover is nil when the observer called runtime.Goexit:
				// the goroutine is ending and the remaining observers are
				// skipped.
				if r := recover(); r != nil {
					reportPanic(d.p.entries[d.next], v, r)
					for i := d.next + 1; i < len(d.p.fns); {
						i = deliverRecovering(d.p, i, v, &d)
					}
				}
			}
			s.rd.leave(phase)
			lost = d.lost
		}()
		if p = s.subs.Load(); p == nil {
			return 0
		}
	}
	d.ends0 = ends.Load()
	if !p.hasSync {
		// Only queues: no observer runs here, so nothing to recover.
		for _, e := range p.entries {
			if ends.Load() != d.ends0 && e.sub.state.Load() != stateActive {
				continue
			}
			if e.q.push(&e.sub, v, &d) {
				d.lost++
			}
		}
		return d.lost
	}
	d.p = p
	j := 0
	if p.allSync {
		// The common case: every observer synchronous and nothing ended
		// since the Notify began. Its loop, here rather than in deliver to
		// save a call, reads only the snapshot and one counter, like a loop
		// over a []func(T).
		fns := p.fns
		for ; j < len(fns) && ends.Load() == d.ends0; j++ {
			d.next = j
			fns[j](v)
		}
		if j == len(fns) {
			d.next = j
			return d.lost
		}
	}
	deliver(p, j, v, &d)
	return d.lost
}

// delivery is the state of one Notify call, shared by the observers it
// reaches.
type delivery[T any] struct {
	ctx   context.Context
	ends0 uint64 // ends when the Notify began
	lost  int    // Block subscriptions that lost the value to ctx
	inObs int8   // whether the notifier runs inside an observer: 0 unknown, 1 no, 2 yes

	// The synchronous delivery in progress: its snapshot and the index of
	// the observer being called, len(fns) once every observer was called.
	p    *snapshot[T]
	next int
}

// insideObserver caches inObserver for the Block queues of one Notify. It
// must be called from push, whose caller (notify or deliver) is a marker
// frame of this very delivery, not an observer's: it is skipped.
func (d *delivery[T]) insideObserver() bool {
	if d.inObs == 0 {
		d.inObs = 1
		if inObserver(true) {
			d.inObs = 2
		}
	}
	return d.inObs == 2
}

// deliver hands v to the subscriptions of p from index i on, recording in
// d.next the index of the observer it calls, and len(p.fns) once done. It
// recovers nothing: a panicking observer unwinds to notify's deferred
// function, which goes on with deliverRecovering. Like notify, deliver is a
// marker: inObserver looks for it on the stack, so it must not be inlined.
//
// A subscription of the snapshot may have ended since it was loaded. One
// that ended by an Unsubscribe or Close that waits needs no check: they wait
// for this Notify to return. One that ended without waiting (from inside an
// observer, possibly this goroutine's) must be skipped, so once the count
// of ends moves past ends0, each state is checked before its call; until
// then the loop reads nothing but the snapshot and that one counter.
//
//go:noinline
func deliver[T any](p *snapshot[T], i int, v T, d *delivery[T]) {
	fns := p.fns
	ends0 := d.ends0
	for j := i; j < len(fns); j++ {
		if ends.Load() != ends0 && p.entries[j].sub.state.Load() != stateActive {
			continue
		}
		d.next = j
		if fn := fns[j]; fn != nil {
			fn(v)
		} else if e := p.entries[j]; e.q.push(&e.sub, v, d) {
			d.lost++
		}
	}
	d.next = len(fns)
}

// deliverRecovering is deliver for the observers after one that panicked:
// it recovers a further panic, reports it and returns the index after it;
// otherwise it returns len(p.fns). It is a marker too.
func deliverRecovering[T any](p *snapshot[T], i int, v T, d *delivery[T]) (next int) {
	defer func() {
		if d.next < len(p.fns) {
			if r := recover(); r != nil {
				reportPanic(p.entries[d.next], v, r)
				next = d.next + 1
			}
		}
	}()
	deliver(p, i, v, d)
	return len(p.fns)
}

// callOne calls e's observer once, recovering a panic. It is the other
// marker of inObserver.
func callOne[T any](e *entry[T], v T) {
	defer func() {
		if r := recover(); r != nil {
			reportPanic(e, v, r)
		}
	}()
	e.fn(v)
}

// Close completes the subject. Every subscription ends: synchronous ones at
// once, Async ones after delivering the values already in their queue, then
// their goroutines exit and Done closes. Later Notify calls do nothing and
// later Subscribe calls return an already-ended subscription. Close is
// idempotent.
//
// Like Unsubscribe, Close waits for Notify calls in progress on other
// goroutines to return, unless it is called from inside an observer; it
// does not wait for Async queues to drain (wait on Done for that).
func (s *Subject[T]) Close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.closed.Store(true)
	p := s.subs.Swap(nil)
	s.mu.Unlock()
	var ended []*entry[T]
	if p != nil {
		for _, e := range p.entries {
			if e.q != nil {
				if e.sub.state.CompareAndSwap(stateActive, stateCompleting) {
					e.q.complete()
				}
			} else if e.sub.state.CompareAndSwap(stateActive, stateEnded) {
				ended = append(ended, e)
			}
		}
		ends.Add(1)
	}
	if s.rd.busy() && !inObserver(false) {
		s.rd.synchronize()
	}
	for _, e := range ended {
		e.sub.finish()
	}
}

// SetPanicHandler sets the handler that receives the panics of every
// observer of s, synchronous or Async, present or future, with the value
// being delivered and the stack (see Panic). A subscription made with its
// own OnPanic handler reports to that one instead. With a nil h, panics go
// to standard error with their stack, as by default.
//
// The handler runs on the goroutine that delivered the value, in place of
// the observer, and the delivery then goes on with the next observer; it
// may run on several goroutines at once. It may call any method of the
// package, as an observer may. If it panics, both panics are reported to
// standard error.
//
// SetPanicHandler may be called at any time; deliveries that panic after
// it returns use h.
func (s *Subject[T]) SetPanicHandler(h func(Panic[T])) {
	if s == nil {
		return
	}
	if h == nil {
		s.panicHandler.Store(nil)
		return
	}
	s.panicHandler.Store(&h)
}

// Closed reports whether Close has been called.
func (s *Subject[T]) Closed() bool {
	return s == nil || s.closed.Load()
}

// Len returns the number of active subscriptions.
func (s *Subject[T]) Len() int {
	if s == nil {
		return 0
	}
	if p := s.subs.Load(); p != nil {
		return len(p.fns)
	}
	return 0
}
