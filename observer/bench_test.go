package observer

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// counter is what each benchmark observer updates: a little real work, the
// same in the observer and in the baseline.
type counter struct {
	sum int
	_   [56]byte // one cache line each
}

// observers returns n observers, each adding into a counter of its own.
// Both sides of a benchmark get them built the same way, so they call the
// same code with the same memory layout.
func observers(n int) []func(int) {
	counters := make([]counter, n)
	fns := make([]func(int), n)
	for i := range fns {
		c := &counters[i]
		fns[i] = func(v int) { c.sum += v }
	}
	return fns
}

// BenchmarkNotify compares a synchronous Notify with the baseline a user
// would otherwise write: a plain loop over a []func(int).
func BenchmarkNotify(b *testing.B) {
	sizes := []int{1, 100, 10000}
	b.Run("observer", func(b *testing.B) {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
				var s Subject[int]
				for _, fn := range observers(n) {
					s.Subscribe(fn)
				}
				runtime.GC() // no collection of the setup's garbage during the loop
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					s.Notify(i)
				}
			})
		}
	})
	b.Run("loop", func(b *testing.B) {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
				fns := observers(n)
				runtime.GC() // no collection of the setup's garbage during the loop
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					for _, f := range fns {
						f(i)
					}
				}
			})
		}
	})
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
				for i := 0; i < b.N; i++ {
					s.Notify(i)
				}
				wg.Wait()
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
				for i := 0; i < b.N; i++ {
					for _, ch := range chans {
						ch <- i
					}
				}
				for _, ch := range chans {
					close(ch)
				}
				wg.Wait()
			})
		}
	})
}
