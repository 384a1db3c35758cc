package observer

import (
	"context"
	"sync"
)

// Value is a Subject that holds a current value, like a BehaviorSubject: a
// new observer first receives the current value, then every change. Set
// notifies only when the value changes (by ==; a NaN never equals itself, so
// setting NaN always counts as a change).
//
// The zero value holds T's zero value, has no observers and is ready to use.
// A Value is safe for concurrent use and must not be copied after first use.
//
// One goroutine at a time delivers a Value's changes, so every observer sees
// the same sequence of values, with no value twice in a row, ending
// at the current value. A Set made while another goroutine is delivering,
// or from inside an observer, returns once the value is current and leaves
// its delivery to the delivering goroutine, after the value in progress
// (breadth first, unlike Subject.Notify). When Sets race, that goroutine
// delivers only the newest value: observers may miss intermediate values,
// never the last one.
type Value[T comparable] struct {
	mu         sync.Mutex
	cur        T
	version    uint64      // counts changes of cur
	published  T           // the last value handed to observers
	pubVersion uint64      // version of published
	delivering bool        // some goroutine runs pump
	pending    []*entry[T] // subscriptions waiting for their first value
	subj       Subject[T]
}

// Get returns the current value.
func (v *Value[T]) Get() T {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cur
}

// Set makes x the current value and, if it differs from the previous one,
// notifies the observers (see Value for who delivers when).
func (v *Value[T]) Set(x T) {
	v.mu.Lock()
	if x == v.cur {
		v.mu.Unlock()
		return
	}
	v.cur = x
	v.version++
	v.pump()
}

// Update replaces the current value x with f(x) atomically and returns the
// new value, notifying the observers if it changed. f runs without any lock
// held and may run more than once, when another change lands between
// reading x and storing f(x); it must be free of side effects. With a nil f,
// Update returns the current value.
func (v *Value[T]) Update(f func(T) T) T {
	if f == nil {
		return v.Get()
	}
	for {
		v.mu.Lock()
		old, ver := v.cur, v.version
		v.mu.Unlock()
		x := f(old)
		v.mu.Lock()
		switch {
		case v.version != ver:
			v.mu.Unlock()
			continue
		case x == old:
			v.mu.Unlock()
		default:
			v.cur = x
			v.version++
			v.pump()
		}
		return x
	}
}

// Subscribe registers fn, which first receives the current value and then
// every change, and returns the handle that ends the subscription. Options
// are those of Subject.Subscribe; an Async fn receives the current value
// through its queue.
//
// The first value is delivered before Subscribe returns, unless another
// goroutine is delivering a change or Subscribe is called from inside one
// of this Value's observers: then the delivering goroutine gives fn its
// first value once the value in progress is delivered. On a closed Value,
// or with a nil fn, Subscribe returns an already-ended subscription.
func (v *Value[T]) Subscribe(fn func(T), opts ...SubscribeOption) *Subscription {
	o := buildOptions(opts)
	if fn == nil {
		return endedSubscription(o.onEnd)
	}
	v.mu.Lock()
	if v.subj.Closed() {
		v.mu.Unlock()
		return endedSubscription(o.onEnd)
	}
	e := v.subj.newEntry(fn, o)
	e.start()
	v.pending = append(v.pending, e)
	v.pump()
	return &e.sub
}

// Close completes the Value as Subject.Close does. Get and Set still work,
// but no observer is notified any more.
func (v *Value[T]) Close() {
	v.mu.Lock()
	pending := v.pending
	v.pending = nil
	v.mu.Unlock()
	for _, e := range pending {
		e.end(false)
	}
	v.subj.Close()
}

// SetPanicHandler sets the handler of the panics of v's observers, as
// Subject.SetPanicHandler does; a first value that panics is reported
// there too.
func (v *Value[T]) SetPanicHandler(h func(Panic[T])) {
	v.subj.SetPanicHandler(h)
}

// Len returns the number of active subscriptions.
func (v *Value[T]) Len() int {
	return v.subj.Len()
}

// pump delivers first values to new subscriptions and changes to everyone,
// until there is nothing left to deliver. It is called with v.mu held and
// returns with it released; only one goroutine runs it at a time, which is
// what keeps every observer's sequence of values consistent.
func (v *Value[T]) pump() {
	if v.delivering {
		v.mu.Unlock()
		return
	}
	v.delivering = true
	finished := false
	defer func() {
		if !finished {
			// An observer called runtime.Goexit: let the next Set deliver.
			v.mu.Lock()
			v.delivering = false
			v.mu.Unlock()
		}
	}()
	for {
		if len(v.pending) > 0 {
			e := v.pending[0]
			v.pending[0] = nil
			v.pending = v.pending[1:]
			if len(v.pending) == 0 {
				v.pending = nil
			}
			x := v.published
			added := v.subj.add(e)
			v.mu.Unlock()
			if added {
				v.subj.first(e, x)
			} else {
				e.end(false)
			}
			v.mu.Lock()
			continue
		}
		if v.pubVersion != v.version {
			x := v.cur
			// Compare with the value last handed out, not only versions:
			// A->B->A during a delivery leaves A current, already seen.
			// (A NaN is never equal, so a NaN set counts once, as a change.)
			repeat := x == v.published
			v.published, v.pubVersion = x, v.version
			if repeat {
				continue
			}
			v.mu.Unlock()
			v.subj.Notify(x)
			v.mu.Lock()
			continue
		}
		v.delivering = false
		finished = true
		v.mu.Unlock()
		return
	}
}

// first gives a new subscription of a Value its first value.
func (s *Subject[T]) first(e *entry[T], x T) {
	if e.q != nil {
		// The queue is new and empty: push never waits, and inObs says so
		// since this call does not come from deliver.
		e.q.push(&e.sub, x, &delivery[T]{ctx: context.Background(), inObs: 2})
		return
	}
	phase := s.rd.enter()
	defer s.rd.leave(phase)
	if e.sub.state.Load() == stateActive {
		callOne(e, x)
	}
}
