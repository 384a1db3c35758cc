package observer

import (
	"maps"
	"sync/atomic"
)

// keyed is a value tagged with the key of the subject that sent it.
type keyed[K comparable, T any] struct {
	key K
	val T
}

// Merge subscribes one observer to several subjects at once. With each
// value, fn receives the key under which the sending subject appears in
// sources, so an observer watching many subjects knows which one spoke.
//
// All sources feed one internal subject, and opts apply to fn's single
// subscription to it: with Async, fn runs on one goroutine, values from one
// source stay in order, and Dropped counts for all sources together. Without
// Async, fn runs on the goroutine of whichever source notifies, possibly on
// several goroutines at once.
//
// A panic of fn is reported to fn's OnPanic option if it has one, else to
// the panic handler of the source that sent the value (see
// Subject.SetPanicHandler), with the returned subscription.
//
// The returned subscription ends on Unsubscribe, which also unsubscribes
// from every source, or once every source is closed. A nil source counts as
// closed; the order of the underlying subscriptions is unspecified.
func Merge[K comparable, T any](sources map[K]*Subject[T], fn func(K, T), opts ...SubscribeOption) *Subscription {
	if fn == nil {
		return endedSubscription(buildOptions(opts).onEnd)
	}
	hub := new(Subject[keyed[K, T]])
	merged := hub.Subscribe(func(m keyed[K, T]) { fn(m.key, m.val) }, opts...)
	// A panic of fn without an OnPanic option goes to the panic handler of
	// the source that sent the value.
	from := maps.Clone(sources)
	hub.SetPanicHandler(func(p Panic[keyed[K, T]]) {
		from[p.Value.key].panicked(Panic[T]{Recovered: p.Recovered, Value: p.Value.val, Stack: p.Stack, Subscription: merged})
	})
	if len(sources) == 0 {
		hub.Close()
		return merged
	}
	var open atomic.Int64
	open.Store(int64(len(sources)))
	closeHub := withOnEnd(func() {
		if open.Add(-1) == 0 {
			hub.Close()
		}
	})
	children := make([]*Subscription, 0, len(sources))
	for k, src := range sources {
		children = append(children, src.Subscribe(func(v T) { hub.Notify(keyed[K, T]{k, v}) }, closeHub))
	}
	merged.children = children
	return merged
}
