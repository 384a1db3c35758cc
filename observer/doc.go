// Package observer is a typed subject/observer (publish/subscribe within one
// process) that never calls observers under a lock and never lets one
// observer hurt another.
//
// # The problem
//
// The classic Subject keeps a list of observers and calls them in a loop.
// Done naively it has well-known faults: calling observers while holding the
// subject's lock deadlocks as soon as an observer subscribes, unsubscribes
// or notifies; one panicking observer stops delivery to the rest; a slow
// observer blocks the notifier; an observer removed during a delivery may
// still be called afterwards; a subject keeps its observers alive forever;
// and one observer cannot easily watch several subjects.
//
// # The model
//
// A [Subject] delivers values of one type T. [Subject.Subscribe] registers a
// func(T) and returns a [*Subscription]; [Subject.Notify] delivers a value;
// [Subject.Close] completes the subject. The zero Subject is ready to use.
//
// By default delivery is synchronous: Notify calls the observers itself, on
// its own goroutine, in subscription order. With the [Async] option an
// observer gets a goroutine and a bounded queue of its own, and a [Policy]
// says what to do when the queue is full: [Block] the notifier (bounded by
// [Subject.NotifyContext]), [DropOldest], [DropNewest], or keep only the
// [Latest] value. Each subscription counts what it dropped
// ([Subscription.Dropped]).
//
// A [Value] holds a current value: its observers first receive that value,
// then every change, and Set notifies only when the value changed;
// [Value.Update] changes it atomically. [Merge] lets one observer watch
// several subjects and learn, with each value, which one sent it.
// [SubscribeWeak] subscribes on behalf of an object without keeping it
// alive: it holds only a weak.Pointer, and the subscription ends through
// runtime.AddCleanup once the object is collected.
//
// # Panics
//
// A panicking observer is recovered where it runs; the notifier never sees
// the panic and the other observers still receive the value. Where the
// panic is reported is chosen per subscription, then per subject:
//
//   - the subscription's own [OnPanic] handler, if it has one;
//   - else the subject's handler, set once for all its subscriptions with
//     [Subject.SetPanicHandler] (or [Value.SetPanicHandler]): it receives a
//     [Panic] with the recovered value, the value that was being
//     delivered, the stack and the subscription, which is what a service
//     puts in its structured log;
//   - else standard error, with the stack.
//
// For [Merge], a panic of the merged observer goes to the handler of the
// source subject that sent the value.
//
// # Guarantees
//
//   - No lock is held while an observer runs. Notify iterates an immutable
//     snapshot of the subscriptions (copy on write: Subscribe and
//     Unsubscribe publish a new slice through an atomic pointer), so
//     observers may Subscribe, Unsubscribe, Notify and Close freely.
//   - A Notify from inside an observer is delivered depth first: every
//     observer receives the inner value before the outer delivery goes on.
//     [Value] instead delivers changes one at a time, breadth first.
//   - No delivery starts after Unsubscribe returns, even while another
//     goroutine is notifying: Unsubscribe waits for the Notify calls in
//     progress to return (an RCU-style grace period: two atomic operations
//     per Notify, none per observer). Called from inside an observer, where
//     waiting could deadlock on itself, it does not wait, yet takes effect
//     at once: the Notify in progress skips the subscription. The exact rule
//     is in [Subscription.Unsubscribe].
//   - A panicking observer is recovered and reported (see Panics above);
//     the other observers still receive the value, and the notifier never
//     sees the panic.
//   - Values reach each Async observer in the order they were enqueued, one
//     at a time, and [Subscription.Dropped] counts exactly what its policy
//     dropped. Its goroutine ends when it is unsubscribed (the queue is
//     discarded) or when the subject is closed (the queue is delivered
//     first); then Done closes. The tests check with goleak that no
//     goroutine is left.
//   - Every observer of a [Value] sees the same sequence of values, never
//     the same value twice in a row, not even when the value goes from A to
//     B and back to A during a delivery.
//   - After Close, Notify does nothing and Subscribe returns a subscription
//     that has already ended.
//   - Notify allocates nothing. Per subscriber it reads the snapshot and
//     one shared counter, much as a loop over a []func(T) would; per call it
//     adds two atomic operations when some subscriber is synchronous.
//
// These hold under a stress test that subscribes, unsubscribes and notifies
// at random from goroutines and from inside observers (TestStress, under the
// race detector, on the oldest supported Go and the current one), and under
// tests that force the interleavings that once broke them.
//
// # Cost
//
// Against a bare loop over a []func(T), Notify pays about 2 ns of CPU per
// delivery: one load and compare of a process-wide counter of ended
// subscriptions (what lets an Unsubscribe from inside an observer take
// effect for the very next observer without reading each subscription's
// state) and one store of the observer's index (what lets one deferred call
// recover a panic and go on with the next observer). With one subscriber a
// Notify costs two atomic operations (the grace period Unsubscribe waits
// for), as a subject made by hand with a sync.RWMutex does, plus one deferred
// call and two function calls, about 15 ns of CPU more; the subject made by
// hand has none of the guarantees (an observer that unsubscribes deadlocks
// it). The benchmarks (Notify, NotifyAsync) carry both baselines; the
// repository's README has the measured table.
//
// # Design
//
// The subscription list is an atomic.Pointer to a snapshot, two parallel
// slices (the observers, and their subscriptions) never modified once
// published; Subscribe appends in place past the published length, so it
// copies nothing.
//
// To make "no delivery after Unsubscribe" exact without an atomic
// read-modify-write per delivered value, which would triple the cost of
// Notify, a subject counts its Notify calls in progress in one word with two
// phase counters, as in sleepable RCU: Unsubscribe publishes a snapshot
// without the subscription, flips the phase, and waits until the Notify
// calls of the old phase, the only ones that can hold the old snapshot, have
// returned. Notify calls that begin later load the new snapshot, so a steady
// stream of them cannot keep Unsubscribe waiting.
//
// Each subscription also has a state word (active, completing, ended). An
// Unsubscribe or Close made from inside an observer does not wait (see
// below), so a Notify already running must skip what it ended: the package
// counts ended subscriptions, and once that count moves during a Notify, the
// loop checks each state before its call. Until then it reads only the
// snapshot and that counter.
//
// Waiting must never turn into a deadlock. Go has no goroutine identity, so
// Unsubscribe, Close and a full Block queue recognize "called from inside an
// observer" by looking for the package's delivery functions on the calling
// goroutine's stack (runtime.Callers, with the verdict per return address
// cached). This costs about a microsecond and is done only when a wait would
// otherwise be needed; a full Block queue first yields the processor once
// (runtime.Gosched), because a running goroutine usually makes room in the
// meantime and then neither the walk nor the wait is needed. Inside an
// observer they never wait: Unsubscribe and Close only mark the state, and a
// Block queue grows past its buffer rather than wait for room that only the
// waiter could make.
//
// A panic is recovered by one deferred function per Notify call rather than
// one per observer: the recovering function reports the panic and Notify
// resumes the loop after the observer that panicked.
//
// Async queues are ring buffers under a mutex rather than channels, because
// the policies must inspect and replace what is queued and Close must drain
// it. The goroutine sleeps on a one-slot channel only when its queue is
// still empty after yielding the processor once, which spares a busy
// notifier a wake-up per burst; under Block and DropNewest it takes the
// whole queue at once, so a busy subscription costs one lock per batch
// rather than one per value. What it writes per value (the count of taken
// values still to start) sits on a cache line apart from the lock, and
// Notify reads it only when the queue may be full.
package observer
