package observer

import (
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stressDuration is how long TestStress runs: two seconds by default, 0.2 s
// with -short, or OBSERVER_STRESS (a time.Duration) when set.
func stressDuration(t *testing.T) time.Duration {
	if s := os.Getenv("OBSERVER_STRESS"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("OBSERVER_STRESS=%q: %v", s, err)
		}
		return d
	}
	if testing.Short() {
		return 200 * time.Millisecond
	}
	return 2 * time.Second
}

// tracked is one subscription of the stress test.
type tracked struct {
	sub   atomic.Pointer[Subscription]
	after atomic.Bool // set once an Unsubscribe made outside observers returned

	// For a Value subscription that sees every change (synchronous or
	// Block), the last value it received: it must never get it twice in a
	// row.
	noRepeat bool
	last     atomic.Int64
}

type registry struct {
	mu   sync.Mutex
	subs []*tracked
}

func (r *registry) add(t *tracked) {
	r.mu.Lock()
	r.subs = append(r.subs, t)
	r.mu.Unlock()
}

func (r *registry) pick(intn func(int) int) *tracked {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.subs) == 0 {
		return nil
	}
	return r.subs[intn(len(r.subs))]
}

// TestStress has goroutines subscribing, unsubscribing and notifying at
// random, with observers that do the same from inside their callbacks, under
// the race detector. It fails on a deadlock (deadline), on a delivery that
// started after an Unsubscribe returned, on a Value observer that receives
// the same value twice in a row, and (through TestMain) on a leaked
// goroutine.
func TestStress(t *testing.T) {
	dur := stressDuration(t)
	var s Subject[int]
	var val Value[int]
	reg := new(registry)
	var late, repeats, calls atomic.Int64

	// Goroutines draw from their own generators, observers (which may run
	// on any goroutine) from the global one, which is safe for concurrent use.
	var observe func(tr *tracked) func(int)
	subscribe := func(intn func(int) int) {
		if s.Len()+val.Len() >= 64 {
			return // keep deliveries short
		}
		tr := new(tracked)
		tr.last.Store(-1) // no value yet: values are never negative
		var opts []SubscribeOption
		policy := Block
		if intn(3) == 0 {
			policy = Policy(intn(4))
			opts = append(opts, Async(intn(4)+1, policy))
		}
		var sub *Subscription
		if intn(4) == 0 {
			tr.noRepeat = policy == Block
			sub = val.Subscribe(observe(tr), opts...)
		} else {
			sub = s.Subscribe(observe(tr), opts...)
		}
		tr.sub.Store(sub)
		reg.add(tr)
	}
	observe = func(tr *tracked) func(int) {
		return func(v int) {
			if tr.after.Load() {
				late.Add(1)
			}
			calls.Add(1)
			if tr.noRepeat && tr.last.Swap(int64(v)) == int64(v) {
				repeats.Add(1)
			}
			switch rand.IntN(40) {
			case 0:
				if sub := tr.sub.Load(); sub != nil {
					sub.Unsubscribe()
				}
			case 1:
				if other := reg.pick(rand.IntN); other != nil {
					if sub := other.sub.Load(); sub != nil {
						sub.Unsubscribe()
					}
				}
			case 2:
				subscribe(rand.IntN)
			case 3:
				if v > 0 {
					s.Notify(v - 1)
				}
			case 4:
				val.Update(func(x int) int { return x + 1 })
			}
		}
	}

	stop := time.Now().Add(dur)
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 3))
			for time.Now().Before(stop) {
				switch op := rng.IntN(10); {
				case op < 2:
					subscribe(rng.IntN)
				case op < 4:
					if tr := reg.pick(rng.IntN); tr != nil {
						if sub := tr.sub.Load(); sub != nil {
							sub.Unsubscribe()
							tr.after.Store(true)
						}
					}
				case op < 8:
					s.Notify(2)
				default:
					val.Set(rng.IntN(5))
				}
			}
		}(uint64(g))
	}
	time.Sleep(time.Until(stop))
	within(t, "stress", wg.Wait)
	within(t, "Close", func() {
		s.Close()
		val.Close()
	})
	reg.mu.Lock()
	subs := reg.subs
	reg.mu.Unlock()
	for _, tr := range subs {
		waitClosed(t, "Done after Close", tr.sub.Load().Done())
	}
	if n := late.Load(); n != 0 {
		t.Errorf("%d deliveries started after Unsubscribe returned", n)
	}
	if n := repeats.Load(); n != 0 {
		t.Errorf("%d Value deliveries repeated the value before them", n)
	}
	t.Logf("%v: %d subscriptions, %d deliveries", dur, len(subs), calls.Load())
}
