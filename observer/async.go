package observer

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// queue feeds one Async subscription's goroutine. It is a ring buffer under
// a mutex rather than a channel because the policies need to look at and
// replace what is queued, and Close needs to drain it.
//
// The fields the goroutine writes for every value it delivers, taken and
// waiting, sit on a cache line of their own: sharing one with mu would make
// every Notify's lock and every delivered value take that line from each
// other. Notify reads taken only when takenMax says the queue may be full.
type queue[T any] struct {
	mu         sync.Mutex
	buf        []T // ring, grown on demand up to limit (past it only for Block overflow)
	head, n    int
	takenMax   int // the batch size while a batch is delivered, else 0; never below taken
	limit      int
	policy     Policy
	sleeping   bool          // the goroutine waits on wake
	stopped    bool          // Unsubscribe: discard and exit
	completing bool          // Close: drain and exit
	space      chan struct{} // closed when room is made; non-nil while a notifier waits
	wake       chan struct{} // capacity 1; at most one token per sleep

	_       [cacheLine]byte
	taken   atomic.Int64 // values the goroutine took in a batch and has not started yet
	waiting atomic.Bool  // space != nil, readable without the lock
	_       [cacheLine]byte
}

// cacheLine is the padding that keeps fields written by different
// goroutines on different cache lines.
const cacheLine = 64

// newQueue makes the queue of an Async(buffer, p) subscription; Async has
// already raised buffer to at least 1.
func newQueue[T any](buffer int, p Policy) *queue[T] {
	if p == Latest {
		buffer = 1
	}
	return &queue[T]{limit: buffer, policy: p, wake: make(chan struct{}, 1)}
}

// push enqueues v according to the policy. It returns true only when a
// Block queue had no room before ctx ended, in which case v is lost and
// counted in sub's Dropped.
//
// push must not be inlined: inObserver counts on its caller's frame.
//
//go:noinline
func (q *queue[T]) push(sub *Subscription, v T, d *delivery[T]) (lost bool) {
	q.mu.Lock()
	if q.stopped || q.completing {
		q.mu.Unlock()
		return false
	}
	if q.fullLocked() {
		switch q.policy {
		case DropNewest:
			q.mu.Unlock()
			sub.dropped.Add(1)
			return false
		case DropOldest, Latest:
			q.popFront()
			sub.dropped.Add(1)
		default:
			if room, expired := q.waitRoom(d); !room {
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
func (q *queue[T]) waitRoom(d *delivery[T]) (room, expired bool) {
	ctx := d.ctx
	yielded, checked, overflow := false, false, false
	for q.fullLocked() && !overflow {
		if ctx.Err() != nil {
			return false, true
		}
		if !yielded {
			// A running goroutine makes room within a few values: give it
			// the chance before paying for the stack walk and a wait.
			q.mu.Unlock()
			runtime.Gosched()
			yielded = true
		} else if !checked {
			// Waiting from inside an observer could wait on itself (its own
			// queue) or on a cycle of observers: queue past the limit instead.
			q.mu.Unlock()
			overflow = d.insideObserver()
			checked = true
		} else {
			if q.space == nil {
				q.space = make(chan struct{})
				q.waiting.Store(true)
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

// fullLocked reports whether the values waiting for the observer, queued
// or taken in a batch but not yet started, fill the buffer.
func (q *queue[T]) fullLocked() bool {
	if q.n+q.takenMax < q.limit {
		return false // taken <= takenMax: no need to read the goroutine's line
	}
	return q.n+int(q.taken.Load()) >= q.limit
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
		q.waiting.Store(false)
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
	i := q.head + q.n
	if i >= len(q.buf) {
		i -= len(q.buf)
	}
	q.buf[i] = v
	q.n++
}

func (q *queue[T]) popFront() T {
	var zero T
	v := q.buf[q.head]
	q.buf[q.head] = zero
	if q.head++; q.head == len(q.buf) {
		q.head = 0
	}
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
//
// Under Block and DropNewest, which never take back a queued value, it takes
// the whole queue at once and delivers it without the lock, so a busy
// subscription costs one lock per batch instead of one per value; taken
// keeps those values counted against the buffer until each one starts.
// Under DropOldest and Latest a queued value may still be replaced, so it
// takes one value at a time.
func (q *queue[T]) run(e *entry[T]) {
	defer q.exit(e)
	batching := q.policy != DropOldest && q.policy != Latest
	var spare []T
	q.mu.Lock()
	for {
		if q.n == 0 && !q.stopped && !q.completing {
			q.mu.Unlock()
			runtime.Gosched()
			q.mu.Lock()
		}
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
		if !batching {
			v := q.popFront() // these policies never make a notifier wait
			q.mu.Unlock()
			callOne(e, v)
			q.mu.Lock()
			continue
		}
		buf, head, n := q.buf, q.head, q.n
		q.buf, q.head, q.n = spare, 0, 0
		q.taken.Store(int64(n))
		q.takenMax = n
		q.mu.Unlock()
		var zero T
		for i := 0; i < n; i++ {
			if e.sub.state.Load() == stateEnded {
				break // unsubscribed: discard the rest
			}
			v := buf[head]
			buf[head] = zero
			if head++; head == len(buf) {
				head = 0
			}
			if q.taken.Add(-1) <= int64(q.limit/2) && q.waiting.Load() {
				// Half the buffer is free: let blocked notifiers refill it
				// while this batch is still being delivered.
				q.mu.Lock()
				q.roomLocked()
				q.mu.Unlock()
			}
			callOne(e, v)
		}
		clear(buf)
		spare = buf
		q.mu.Lock()
		q.taken.Store(0)
		q.takenMax = 0
		q.roomLocked()
	}
}

// exit ends the subscription when its goroutine returns, normally or
// because the observer called runtime.Goexit.
func (q *queue[T]) exit(e *entry[T]) {
	q.mu.Lock()
	q.stopped = true
	q.buf, q.head, q.n = nil, 0, 0
	q.taken.Store(0)
	q.takenMax = 0
	q.roomLocked()
	q.mu.Unlock()
	if e.subj.remove(e) {
		ends.Add(1)
	}
	e.sub.finish()
}
