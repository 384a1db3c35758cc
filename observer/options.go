package observer

import "fmt"

// SubscribeOption configures one subscription.
type SubscribeOption func(*options)

// options is what the SubscribeOptions of one Subscribe call produce.
type options struct {
	async   bool
	buffer  int
	policy  Policy
	onPanic func(recovered any)
	onEnd   func()
}

func buildOptions(opts []SubscribeOption) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// Async makes the subscription asynchronous: the observer runs on a
// goroutine owned by the subscription, fed by a queue of up to buffer values
// (a buffer below 1 counts as 1). Notify only enqueues; p says what happens
// when the queue is full. Values reach the observer one at a time and in the
// order they were enqueued.
//
// The goroutine exits when the subscription ends: at once on Unsubscribe
// (discarding what is queued), or after delivering what is already queued
// when the subject is closed.
func Async(buffer int, p Policy) SubscribeOption {
	if buffer < 1 {
		buffer = 1
	}
	return func(o *options) {
		o.async = true
		o.buffer = buffer
		o.policy = p
	}
}

// OnPanic sets the handler that receives the value recovered when this
// subscription's observer panics. The panic never reaches the notifier and
// the other observers still receive the value. It takes precedence over
// the subject's handler (Subject.SetPanicHandler), which is what a service
// that wants every panic in one log uses; without either (or with a nil
// h), the panic value and the observer's stack are written to standard
// error. If h itself panics, that panic is reported to standard error.
func OnPanic(h func(recovered any)) SubscribeOption {
	return func(o *options) { o.onPanic = h }
}

// withOnEnd runs f once when the subscription ends (used by Merge).
func withOnEnd(f func()) SubscribeOption {
	return func(o *options) { o.onEnd = f }
}

// Policy says what an Async subscription does with a value when its queue
// is full. A value other than the four below acts as Block.
type Policy int

const (
	// Block makes the notifier wait for room; nothing is lost. The wait is
	// bounded by NotifyContext's context. A notifier that is itself running
	// inside an observer callback never waits, since the room it waits for
	// might be made only after it returns: its value is queued past the
	// buffer instead.
	Block Policy = iota
	// DropOldest discards the oldest queued value to make room.
	DropOldest
	// DropNewest discards the value being notified.
	DropNewest
	// Latest keeps only the newest value: the queue holds at most one
	// value, whatever the buffer, and a new value replaces a waiting one.
	Latest
)

// String returns the policy's name, as written in Go.
func (p Policy) String() string {
	switch p {
	case Block:
		return "Block"
	case DropOldest:
		return "DropOldest"
	case DropNewest:
		return "DropNewest"
	case Latest:
		return "Latest"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}
