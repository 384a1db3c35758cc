package observer

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sturdy-go/sturdy/internal/benchcpu"
)

// observers returns n observers as small as real ones get: each adds the
// value into sink. Every side of a benchmark gets them built the same way,
// so they call the same code.
func observers(n int, sink *atomic.Int64) []func(int) {
	fns := make([]func(int), n)
	for i := range fns {
		fns[i] = func(v int) { sink.Add(int64(v)) }
	}
	return fns
}

// handMade is the subject users write by hand: a slice of observers under
// a sync.RWMutex, read-locked around the loop, unlocked by defer as Go code
// does (so that a panicking observer does not leave it locked). It holds
// the lock while observers run, so it cannot offer what Subject guarantees
// (an observer that unsubscribes deadlocks it, a panicking one stops the
// others); it is the cost to beat.
type handMade struct {
	mu  sync.RWMutex
	fns []func(int)
}

func (h *handMade) notify(v int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, f := range h.fns {
		f(v)
	}
}

// BenchmarkNotify compares a synchronous Notify with what a user would
// otherwise write: a plain loop over a []func(int) (no safety at all), and
// a hand-made subject that read-locks a sync.RWMutex around that loop.
// cpu-ns/op is per delivery: per value and observer.
func BenchmarkNotify(b *testing.B) {
	sizes := []int{1, 100, 10000}
	bench := func(b *testing.B, n int, setup func(fns []func(int)) func(v int)) {
		var sink atomic.Int64
		notify := setup(observers(n, &sink))
		runtime.GC() // no collection of the setup's garbage during the loop
		b.ReportAllocs()
		b.ResetTimer()
		m := benchcpu.Start()
		for i := 0; i < b.N; i++ {
			notify(i)
		}
		m.Report(b, n)
		if sink.Load() == 0 && b.N > 1 {
			b.Fatal("no observer ran")
		}
	}
	impls := []struct {
		name  string
		setup func(fns []func(int)) func(v int)
	}{
		{"observer", func(fns []func(int)) func(int) {
			s := new(Subject[int])
			for _, fn := range fns {
				s.Subscribe(fn)
			}
			return s.Notify
		}},
		{"loop", func(fns []func(int)) func(int) {
			return func(v int) {
				for _, f := range fns {
					f(v)
				}
			}
		}},
		{"rwmutex", func(fns []func(int)) func(int) {
			return (&handMade{fns: fns}).notify
		}},
	}
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			for _, n := range sizes {
				b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) { bench(b, n, impl.setup) })
			}
		})
	}
}

// counter is what each asynchronous benchmark observer updates, one cache
// line each, so that subscribers on different goroutines do not share one.
type counter struct {
	sum int
	_   [56]byte
}

// asyncBuffer is the queue length of both sides of BenchmarkNotifyAsync.
const asyncBuffer = 128

// BenchmarkNotifyAsync compares Async(Block) subscriptions with the
// baseline: one buffered channel and one goroutine per subscriber, fed in a
// loop. Each op is one value delivered to every subscriber; the timer runs
// until the last subscriber has handled the last value.
func BenchmarkNotifyAsync(b *testing.B) {
	sizes := []int{1, 100}
	b.Run("observer", func(b *testing.B) {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
				var s Subject[int]
				var wg sync.WaitGroup
				wg.Add(n)
				counters := make([]counter, n)
				subs := make([]*Subscription, n)
				for i := range counters {
					c := &counters[i]
					seen := 0
					subs[i] = s.Subscribe(func(v int) {
						c.sum += v
						if seen++; seen == b.N {
							wg.Done()
						}
					}, Async(asyncBuffer, Block))
				}
				runtime.GC() // no collection of the setup's garbage during the loop
				b.ReportAllocs()
				b.ResetTimer()
				m := benchcpu.Start()
				for i := 0; i < b.N; i++ {
					s.Notify(i)
				}
				wg.Wait()
				m.Report(b, 1)
				b.StopTimer()
				s.Close()
				for _, sub := range subs {
					<-sub.Done()
				}
			})
		}
	})
	b.Run("chan", func(b *testing.B) {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
				var wg sync.WaitGroup
				wg.Add(n)
				counters := make([]counter, n)
				chans := make([]chan int, n)
				for i := range chans {
					ch := make(chan int, asyncBuffer)
					chans[i] = ch
					c := &counters[i]
					go func() {
						defer wg.Done()
						for v := range ch {
							c.sum += v
						}
					}()
				}
				runtime.GC() // no collection of the setup's garbage during the loop
				b.ReportAllocs()
				b.ResetTimer()
				m := benchcpu.Start()
				for i := 0; i < b.N; i++ {
					for _, ch := range chans {
						ch <- i
					}
				}
				for _, ch := range chans {
					close(ch)
				}
				wg.Wait()
				m.Report(b, 1)
			})
		}
	})
}
