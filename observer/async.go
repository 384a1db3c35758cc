package observer

import (
	"context"
	"sync"
)

// queue feeds one Async subscription's goroutine. It is a ring buffer under
// a mutex rather than a channel because the policies need to look at and
// replace what is queued, and Close needs to drain it.
type queue[T any] struct {
	mu         sync.Mutex
	buf        []T // ring, grown on demand up to limit (past it only for Block overflow)
	head, n    int
	limit      int
	policy     Policy
	sleeping   bool          // the goroutine waits on wake
	stopped    bool          // Unsubscribe: discard and exit
	completing bool          // Close: drain and exit
	space      chan struct{} // closed when room is made; non-nil while a notifier waits
	wake       chan struct{} // capacity 1; at most one token per sleep
}

func newQueue[T any](buffer int, p Policy) *queue[T] {
	if buffer < 1 {
		buffer = 1
	}
	if p == Latest {
		buffer = 1
	}
	return &queue[T]{limit: buffer, policy: p, wake: make(chan struct{}, 1)}
}

// push enqueues v according to the policy. It returns true only when a
// Block queue had no room before ctx ended, in which case v is lost and
// counted in sub's Dropped.
func (q *queue[T]) push(sub *Subscription, v T, ctx context.Context) (lost bool) {
	q.mu.Lock()
	if q.stopped || q.completing {
		q.mu.Unlock()
		return false
	}
	if q.n >= q.limit {
		switch q.policy {
		case DropNewest:
			q.mu.Unlock()
			sub.dropped.Add(1)
			return false
		case DropOldest, Latest:
			q.popFront()
			sub.dropped.Add(1)
		default:
			if room, expired := q.waitRoom(ctx); !room {
				q.mu.Unlock()
				if expired {
					sub.dropped.Add(1)
				}
				return expired
			}
		}
	}
	q.pushBack(v)
	q.signalLocked()
	q.mu.Unlock()
	return false
}

// waitRoom waits, with q.mu held on entry and on return, until the queue
// has room or may grow past its limit (room), or until ctx ends (expired)
// or the queue stops taking values (neither).
func (q *queue[T]) waitRoom(ctx context.Context) (room, expired bool) {
	checked, overflow := false, false
	for q.n >= q.limit && !overflow {
		if ctx.Err() != nil {
			return false, true
		}
		if !checked {
			// Waiting from inside an observer could wait on itself (its own
			// queue) or on a cycle of observers: queue past the limit instead.
			q.mu.Unlock()
			overflow = inObserver(true)
			checked = true
		} else {
			if q.space == nil {
				q.space = make(chan struct{})
			}
			ch := q.space
			q.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
			}
		}
		q.mu.Lock()
		if q.stopped || q.completing {
			return false, false
		}
	}
	return true, false
}

// signalLocked wakes the goroutine if it sleeps.
func (q *queue[T]) signalLocked() {
	if q.sleeping {
		q.sleeping = false
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// roomLocked lets waiting notifiers retry.
func (q *queue[T]) roomLocked() {
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
}

func (q *queue[T]) pushBack(v T) {
	if q.n == len(q.buf) {
		size := 2 * len(q.buf)
		if size < 8 {
			size = 8
		}
		if q.n < q.limit && size > q.limit {
			size = q.limit
		}
		buf := make([]T, size)
		k := copy(buf, q.buf[q.head:])
		copy(buf[k:], q.buf[:q.head])
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
}

func (q *queue[T]) popFront() T {
	var zero T
	v := q.buf[q.head]
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return v
}

// stop makes the goroutine exit after the value it is handling, discarding
// the queue.
func (q *queue[T]) stop() {
	q.mu.Lock()
	q.stopped = true
	q.roomLocked()
	q.signalLocked()
	q.mu.Unlock()
}

// complete makes the goroutine exit once the queue is empty.
func (q *queue[T]) complete() {
	q.mu.Lock()
	q.completing = true
	q.roomLocked()
	q.signalLocked()
	q.mu.Unlock()
}

// run is the subscription's goroutine.
func (q *queue[T]) run(e *entry[T]) {
	defer q.exit(e)
	for {
		q.mu.Lock()
		for q.n == 0 && !q.stopped && !q.completing {
			q.sleeping = true
			q.mu.Unlock()
			<-q.wake
			q.mu.Lock()
		}
		if q.stopped || q.n == 0 {
			q.mu.Unlock()
			return
		}
		v := q.popFront()
		q.roomLocked()
		q.mu.Unlock()
		callOne(e, v)
	}
}

// exit ends the subscription when its goroutine returns, normally or
// because the observer called runtime.Goexit.
func (q *queue[T]) exit(e *entry[T]) {
	q.mu.Lock()
	q.stopped = true
	q.buf, q.head, q.n = nil, 0, 0
	q.roomLocked()
	q.mu.Unlock()
	if e.sub.state.Swap(stateEnded) != stateEnded {
		e.subj.remove(e)
	}
	e.sub.finish()
}
