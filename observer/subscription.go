package observer

import (
	"sync"
	"sync/atomic"
)

// Subscription states. A subscription moves only forward:
// active -> completing -> ended, or active -> ended.
const (
	stateActive     uint32 = iota + 1 // receives values
	stateCompleting                   // subject closed; an async queue is draining
	stateEnded                        // receives nothing more
)

// Subscription is the handle returned by Subscribe. It ends on Unsubscribe
// or when its subject is closed, and Done reports when that has happened.
//
// A Subscription is safe for concurrent use. The zero value and a nil
// *Subscription behave as an already-ended subscription.
type Subscription struct {
	state   atomic.Uint32
	dropped atomic.Uint64

	owner    ender           // nil: ended from the start
	done     chan struct{}   // closed by finish
	finished sync.Once       // guards finish
	onEnd    func()          // internal hook run once by finish (Merge)
	children []*Subscription // ended with this one (Merge)
}

// ender is the typed half of a subscription: its entry in a subject.
type ender interface {
	// end stops deliveries. With wait, it returns only once no delivery
	// can start any more (see Unsubscribe for when wait is overridden).
	end(wait bool)
}

// closedChan is the Done channel of subscriptions that ended at birth.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// endedSubscription returns a subscription that is already over, for
// Subscribe on a closed subject and for unusable arguments.
func endedSubscription(onEnd func()) *Subscription {
	s := &Subscription{done: closedChan}
	s.state.Store(stateEnded)
	if onEnd != nil {
		onEnd()
	}
	return s
}

// Unsubscribe ends the subscription. It is idempotent and safe to call from
// any goroutine, including from inside any observer callback.
//
// When Unsubscribe returns, no delivery to this subscription will start: a
// Notify that begins later skips it, and Unsubscribe first waits for the
// Notify calls already in progress on other goroutines to return (for a
// synchronous subscription) or for its goroutine to finish the value it is
// handling and exit (for an Async one). Values still queued for an Async
// subscription are discarded.
//
// Called from inside an observer callback (of any Subject or Value in this
// package, on the calling goroutine), Unsubscribe does not wait, because the
// delivery it would wait for may be its own caller, or may itself be waiting
// for the caller. It still takes effect at once: no later delivery on this
// goroutine, no Notify that begins after it returns, and no next value of an
// Async queue reaches the observer. Only a Notify that another goroutine had
// already begun, and that had already committed to this subscription, may
// still complete one call.
//
// Because the waiting form waits for observers to return, an observer must
// not block on something that its unsubscriber does only after Unsubscribe
// returns.
func (s *Subscription) Unsubscribe() {
	if s == nil || s.owner == nil {
		return
	}
	for _, c := range s.children {
		c.Unsubscribe()
	}
	s.owner.end(true)
}

// Done returns a channel that is closed when the subscription has ended:
// after Unsubscribe, after the subject's Close (for an Async subscription,
// once its queue is drained and its goroutine has returned), or at once for
// a subscription to a closed subject.
func (s *Subscription) Done() <-chan struct{} {
	if s == nil || s.done == nil {
		return closedChan
	}
	return s.done
}

// Dropped reports how many values this subscription has lost: values
// discarded by its Policy (DropOldest, DropNewest, Latest) and values a
// Block subscription did not accept before NotifyContext's context ended.
// Values discarded because the subscription ended are not counted.
// Synchronous subscriptions never drop.
func (s *Subscription) Dropped() uint64 {
	if s == nil {
		return 0
	}
	return s.dropped.Load()
}

// Active reports whether the subscription still receives values.
func (s *Subscription) Active() bool {
	return s != nil && s.state.Load() == stateActive
}

// finish closes Done and runs the internal end hook, once.
func (s *Subscription) finish() {
	s.finished.Do(func() {
		close(s.done)
		if s.onEnd != nil {
			s.onEnd()
		}
	})
}
