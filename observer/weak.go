package observer

import (
	"runtime"
	"weak"
)

// SubscribeWeak subscribes fn(obj, v) to s while holding only a weak
// pointer to obj, so the subscription does not keep obj alive: once obj is
// garbage collected the subscription ends by itself (Done closes) and fn is
// not called any more. Unsubscribe still ends it earlier.
//
// fn must not capture obj, or obj stays reachable from s and is never
// collected; it receives obj as its first argument instead. As with
// runtime.AddCleanup, the end comes some time after obj becomes unreachable,
// and may never come for zero-sized objects or for small pointer-free ones
// that share an allocation with live objects.
//
// With a nil s, obj or fn, SubscribeWeak returns an already-ended
// subscription.
func SubscribeWeak[T any, O any](s *Subject[T], obj *O, fn func(*O, T)) *Subscription {
	if s == nil || obj == nil || fn == nil {
		return endedSubscription(nil)
	}
	wp := weak.Make(obj)
	e := s.newEntry(nil, options{})
	e.fn = func(v T) {
		o := wp.Value()
		if o == nil {
			// Collected, and its cleanup has not run yet.
			e.end(false)
			return
		}
		fn(o, v)
	}
	if !s.add(e) {
		return endedSubscription(nil)
	}
	addCleanup(obj, &e.sub)
	return &e.sub
}

// addCleanup ends sub once obj is collected. The cleanup does not wait for
// deliveries in progress: none of them can reach obj any more, and the
// runtime's cleanup goroutine must not block.
func addCleanup[O any](obj *O, sub *Subscription) {
	defer func() {
		// AddCleanup rejects pointers outside the Go heap. Without a
		// cleanup the subscription still ends at the first delivery after
		// obj is gone.
		_ = recover()
	}()
	runtime.AddCleanup(obj, func(s *Subscription) { s.owner.end(false) }, sub)
}
