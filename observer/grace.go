package observer

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// readers counts the Notify calls in progress on one subject, so that
// Unsubscribe and Close can wait for a grace period: until every Notify that
// might still deliver to a subscription they just ended has returned.
//
// This costs one compare-and-swap and one add per Notify, whatever the number
// of subscribers, instead of two atomic operations per delivered value; the
// check of each subscription's state inside the loop is a plain atomic load.
//
// The word holds two counters and a phase bit, as in sleepable RCU: bits 0-30
// count the readers that entered in phase 0, bits 32-62 those of phase 1, and
// bit 63 is the phase new readers enter. A grace period flips the phase and
// waits until the old phase's counter reaches zero; readers that enter after
// the flip see every state change made before it, so they need no wait, and
// a steady stream of new Notify calls cannot starve the waiter.
type readers struct {
	word atomic.Uint64

	gp      sync.Mutex    // serializes grace periods
	drained chan struct{} // closed by the last reader of the old phase; guarded by gp, published by the flip
}

const (
	phaseBit  = uint64(1) << 63
	countMask = uint64(1)<<31 - 1
)

func unit(phase uint64) uint64 { return 1 << (32 * phase) }

func count(w, phase uint64) uint64 { return w >> (32 * phase) & countMask }

// enter registers a reader and returns the phase it entered.
func (r *readers) enter() uint64 {
	for {
		w := r.word.Load()
		p := w >> 63
		if r.word.CompareAndSwap(w, w+unit(p)) {
			return p
		}
	}
}

// leave unregisters a reader of phase p.
func (r *readers) leave(p uint64) {
	w := r.word.Add(-unit(p))
	if w>>63 != p && count(w, p) == 0 {
		// A grace period flipped away from p and this was its last reader.
		close(r.drained)
	}
}

// busy reports whether any reader is registered.
func (r *readers) busy() bool {
	return r.word.Load()&^phaseBit != 0
}

// synchronize waits until every reader registered before the call has left.
// The caller must have published its state change before calling.
func (r *readers) synchronize() {
	if !r.busy() {
		return
	}
	r.gp.Lock()
	defer r.gp.Unlock()
	ch := make(chan struct{})
	r.drained = ch
	w := r.word.Add(phaseBit)
	old := 1 - w>>63
	if count(w, old) != 0 {
		<-ch
	}
}

// inObserver reports whether the calling goroutine is running an observer
// callback of this package, that is whether one of the functions that call
// observers is on its stack. It is the slow path of Unsubscribe, Close and a
// full Block queue, taken only when they would otherwise have to wait, and
// costs a stack walk plus one cached lookup per frame.
//
// With skipOwn, the nearest such function is the caller's own delivery loop
// (a Notify pushing into a queue) and does not count.
func inObserver(skipOwn bool) bool {
	var buf [64]uintptr
	pcs := buf[:]
	for {
		n := runtime.Callers(2, pcs)
		if n < len(pcs) || len(pcs) >= 1<<20 {
			pcs = pcs[:n]
			break
		}
		pcs = make([]uintptr, 2*len(pcs))
	}
	for _, pc := range pcs {
		if isCallerPC(pc) {
			if !skipOwn {
				return true
			}
			skipOwn = false
		}
	}
	return false
}

// callerPCs caches isCallerPC by return address; it holds at most one entry
// per call site in the program.
var callerPCs sync.Map

// isCallerPC reports whether the return address pc lies in one of
// callerFuncs. None is ever inlined (notify, deliverRecovering and callOne
// defer, deliver is marked noinline), and the calls they make that can lead
// back here are not inlined into them (observers are called through func
// values, and push is marked noinline), so the function that contains pc-1
// names the frame exactly.
func isCallerPC(pc uintptr) bool {
	if v, ok := callerPCs.Load(pc); ok {
		return v.(bool)
	}
	f := runtime.FuncForPC(pc - 1)
	is := f != nil && isCallerFrame(f.Name())
	callerPCs.Store(pc, is)
	return is
}

// funcPrefix is this package's prefix in function names, such as
// "github.com/sturdy-go/sturdy/observer.".
var funcPrefix = strings.TrimSuffix(ownName(), "ownName")

// ownName returns the full name of this function.
func ownName() string {
	pc, _, _, _ := runtime.Caller(0)
	return runtime.FuncForPC(pc).Name()
}

// callerFuncs are the functions of this package that call observers, as
// runtime.FuncForPC names them (type arguments print as "..."): notify and
// deliver for synchronous observers, deliverRecovering after a panic, and
// callOne for asynchronous ones and first values.
var callerFuncs = []string{"(*Subject[...]).notify", "deliver[...]", "deliverRecovering[...]", "callOne[...]"}

// isCallerFrame reports whether function name is one of callerFuncs.
func isCallerFrame(name string) bool {
	rest, ok := strings.CutPrefix(name, funcPrefix)
	return ok && slices.Contains(callerFuncs, rest)
}
