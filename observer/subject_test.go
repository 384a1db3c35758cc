package observer

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSubjectDeliversInSubscriptionOrder(t *testing.T) {
	var s Subject[int]
	var got []string
	for _, name := range []string{"a", "b", "c"} {
		s.Subscribe(func(v int) { got = append(got, fmt.Sprint(name, v)) })
	}
	if s.Len() != 3 {
		t.Fatalf("Len = %d, want 3", s.Len())
	}
	s.Notify(1)
	s.Notify(2)
	want := []string{"a1", "b1", "c1", "a2", "b2", "c2"}
	if !equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSubscribeDuringNotifyGetsLaterValues(t *testing.T) {
	var s Subject[int]
	late := new(recorder[int])
	var once sync.Once
	s.Subscribe(func(v int) {
		once.Do(func() { s.Subscribe(late.add) })
	})
	s.Notify(1)
	s.Notify(2)
	if got := late.get(); !equal(got, []int{2}) {
		t.Fatalf("late subscriber got %v, want [2]", got)
	}
}

func TestNestedNotifyIsDepthFirst(t *testing.T) {
	var s Subject[int]
	var got []string
	s.Subscribe(func(v int) {
		got = append(got, fmt.Sprint("a", v))
		if v == 1 {
			s.Notify(2)
		}
	})
	s.Subscribe(func(v int) { got = append(got, fmt.Sprint("b", v)) })
	within(t, "nested Notify", func() { s.Notify(1) })
	want := []string{"a1", "a2", "b2", "b1"}
	if !equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestReentrancy calls every operation from inside observers, synchronous
// and asynchronous, with a deadline that turns a deadlock into a failure.
func TestReentrancy(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"sync self-unsubscribe", func(t *testing.T) {
			var s Subject[int]
			got := new(recorder[int])
			var sub *Subscription
			sub = s.Subscribe(func(v int) {
				got.add(v)
				sub.Unsubscribe()
				sub.Unsubscribe()
			})
			s.Notify(1)
			s.Notify(2)
			if !equal(got.get(), []int{1}) || sub.Active() || s.Len() != 0 {
				t.Fatalf("got %v, active %v, Len %d", got.get(), sub.Active(), s.Len())
			}
			waitClosed(t, "Done", sub.Done())
		}},
		{"sync unsubscribe a later observer", func(t *testing.T) {
			var s Subject[int]
			got := new(recorder[int])
			var second *Subscription
			s.Subscribe(func(int) { second.Unsubscribe() })
			second = s.Subscribe(got.add)
			s.Notify(1)
			if g := got.get(); len(g) != 0 {
				t.Fatalf("unsubscribed observer got %v", g)
			}
		}},
		{"sync subscribe, notify, close inside", func(t *testing.T) {
			var s Subject[int]
			got := new(recorder[int])
			s.Subscribe(func(v int) {
				switch v {
				case 1:
					s.Subscribe(got.add)
					s.Notify(2)
				case 3:
					s.Close()
				}
			})
			s.Notify(1)
			s.Notify(3)
			s.Notify(4)
			// Close from the first observer ends the later one before the
			// delivery of 3 reaches it.
			if g := got.get(); !equal(g, []int{2}) {
				t.Fatalf("got %v, want [2]", g)
			}
			if !s.Closed() || s.Len() != 0 {
				t.Fatalf("Closed %v, Len %d after Close from inside", s.Closed(), s.Len())
			}
		}},
		{"unsubscribe an outer observer from a nested delivery", func(t *testing.T) {
			// The outer delivery to a is on the stack of the goroutine that
			// unsubscribes a: waiting for it would wait forever.
			var s Subject[int]
			a := s.Subscribe(func(v int) {
				if v == 1 {
					s.Notify(2)
				}
			})
			s.Subscribe(func(v int) {
				if v == 2 {
					a.Unsubscribe()
				}
			})
			s.Notify(1)
			if a.Active() {
				t.Fatal("a still active")
			}
		}},
		{"async self-unsubscribe", func(t *testing.T) {
			var s Subject[int]
			got := new(recorder[int])
			var sub *Subscription
			ready := make(chan struct{})
			sub = s.Subscribe(func(v int) {
				<-ready
				got.add(v)
				sub.Unsubscribe()
			}, Async(8, Block))
			close(ready)
			s.Notify(1)
			s.Notify(2)
			waitClosed(t, "Done", sub.Done())
			if g := got.get(); !equal(g, []int{1}) && !equal(g, []int{}) {
				t.Fatalf("got %v", g)
			}
		}},
		{"async observer notifies its own full Block queue", func(t *testing.T) {
			var s Subject[int]
			got := new(recorder[int])
			notified := make(chan struct{})
			sub := s.Subscribe(func(v int) {
				got.add(v)
				if v == 0 {
					for i := 1; i <= 5; i++ {
						s.Notify(i) // buffer 1: must not wait for itself
					}
					close(notified)
				}
			}, Async(1, Block))
			s.Notify(0)
			waitClosed(t, "inner notifications", notified)
			s.Close()
			waitClosed(t, "Done", sub.Done())
			if g := got.get(); !equal(g, []int{0, 1, 2, 3, 4, 5}) || sub.Dropped() != 0 {
				t.Fatalf("got %v dropped %d, want [0 1 2 3 4 5] and 0", g, sub.Dropped())
			}
		}},
		{"sync observer notifies a full Block queue of its own subject", func(t *testing.T) {
			// The async observer is held until the outer Notify returns, so
			// waiting for room inside the sync observer would never end.
			var s Subject[int]
			release := make(chan struct{})
			got := new(recorder[int])
			sub := s.Subscribe(func(v int) {
				<-release
				got.add(v)
			}, Async(1, Block))
			s.Subscribe(func(v int) {
				if v == 0 {
					for i := 1; i <= 4; i++ {
						s.Notify(i)
					}
				}
			})
			s.Notify(0)
			close(release)
			s.Close()
			waitClosed(t, "Done", sub.Done())
			if g := got.get(); !equal(g, []int{0, 1, 2, 3, 4}) || sub.Dropped() != 0 {
				t.Fatalf("got %v dropped %d, want [0 1 2 3 4] and 0", g, sub.Dropped())
			}
		}},
		{"two async observers notify each other", func(t *testing.T) {
			var a, b Subject[int]
			var na, nb atomic.Int64
			sa := a.Subscribe(func(v int) {
				na.Add(1)
				if v > 0 {
					b.Notify(v - 1)
				}
			}, Async(1, Block))
			sb := b.Subscribe(func(v int) {
				nb.Add(1)
				if v > 0 {
					a.Notify(v - 1)
				}
			}, Async(1, Block))
			for i := 0; i < 4; i++ {
				a.Notify(50)
				b.Notify(50)
			}
			within(t, "ping-pong", func() {
				for na.Load()+nb.Load() < 8*51 {
					time.Sleep(time.Millisecond)
				}
			})
			sa.Unsubscribe()
			sb.Unsubscribe()
		}},
		{"close from inside an async observer", func(t *testing.T) {
			var s Subject[int]
			sub := s.Subscribe(func(int) { s.Close() }, Async(4, Block))
			s.Notify(1)
			waitClosed(t, "Done", sub.Done())
		}},
		{"observers on two goroutines unsubscribe each other", func(t *testing.T) {
			// Each observer is running when it unsubscribes the other: if
			// Unsubscribe waited for deliveries in progress, both would
			// wait forever.
			var s1, s2 Subject[int]
			var both sync.WaitGroup
			both.Add(2)
			var a, b atomic.Pointer[Subscription]
			a.Store(s1.Subscribe(func(int) {
				both.Done()
				both.Wait()
				b.Load().Unsubscribe()
			}))
			b.Store(s2.Subscribe(func(int) {
				both.Done()
				both.Wait()
				a.Load().Unsubscribe()
			}))
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); s1.Notify(1) }()
			go func() { defer wg.Done(); s2.Notify(1) }()
			wg.Wait()
			if a.Load().Active() || b.Load().Active() {
				t.Fatal("subscriptions still active")
			}
		}},
		{"unsubscribe from another subject's observer", func(t *testing.T) {
			var a, b Subject[int]
			bsub := b.Subscribe(func(int) {})
			a.Subscribe(func(int) { bsub.Unsubscribe() })
			a.Notify(1)
			if bsub.Active() || b.Len() != 0 {
				t.Fatal("b's subscription still active")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			within(t, tt.name, func() { tt.run(t) })
		})
	}
}

// TestNoDeliveryAfterUnsubscribe races Unsubscribe against notifiers on
// other goroutines: once Unsubscribe has returned, the observer must never
// be entered again.
func TestNoDeliveryAfterUnsubscribe(t *testing.T) {
	for _, async := range []bool{false, true} {
		t.Run(fmt.Sprintf("async=%v", async), func(t *testing.T) {
			var s Subject[int]
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for g := 0; g < 3; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						s.Notify(i)
						runtime.Gosched()
					}
				}()
			}
			budget := time.Second
			if testing.Short() {
				budget = 200 * time.Millisecond
			}
			var late atomic.Int64
			start := time.Now()
			for r := 0; r < 300 && (r < 10 || time.Since(start) < budget); r++ {
				var after atomic.Bool
				var calls atomic.Int64
				var opts []SubscribeOption
				if async {
					opts = append(opts, Async(4, DropOldest))
				}
				sub := s.Subscribe(func(int) {
					if after.Load() {
						late.Add(1)
					}
					calls.Add(1)
					runtime.Gosched()
					// Stronger still: Unsubscribe waits for the deliveries
					// in progress to return, so none is running after it.
					if after.Load() {
						late.Add(1)
					}
				}, opts...)
				for calls.Load() == 0 {
					runtime.Gosched()
				}
				within(t, "Unsubscribe", sub.Unsubscribe)
				after.Store(true)
				waitClosed(t, "Done", sub.Done())
			}
			close(stop)
			wg.Wait()
			if n := late.Load(); n != 0 {
				t.Fatalf("%d deliveries started or ran after Unsubscribe returned", n)
			}
		})
	}
}

func TestUnsubscribeWaitsForDeliveryInProgress(t *testing.T) {
	var s Subject[int]
	entered := make(chan struct{})
	release := make(chan struct{})
	sub := s.Subscribe(func(int) {
		close(entered)
		<-release
	})
	go s.Notify(1)
	<-entered
	returned := make(chan struct{})
	go func() {
		sub.Unsubscribe()
		close(returned)
	}()
	waitBlocked(t, returned, "observer.(*readers).synchronize(", "Unsubscribe returned while a delivery was in progress on another goroutine")
	close(release)
	waitClosed(t, "Unsubscribe", returned)
	waitClosed(t, "Done", sub.Done())
}

func TestPanicIsolation(t *testing.T) {
	out := capturePanics(t)
	var s Subject[int]
	a, c := new(recorder[int]), new(recorder[int])
	var handled []any
	s.Subscribe(a.add)
	s.Subscribe(func(v int) { panic(fmt.Sprintf("boom %d", v)) }, OnPanic(func(r any) { handled = append(handled, r) }))
	s.Subscribe(func(v int) { panic(errors.New("default")) })
	s.Subscribe(func(int) { panic("again") }, OnPanic(func(r any) { panic("handler too") }))
	s.Subscribe(c.add)
	within(t, "Notify", func() {
		s.Notify(1)
		s.Notify(2)
	})
	if !equal(a.get(), []int{1, 2}) || !equal(c.get(), []int{1, 2}) {
		t.Fatalf("healthy observers got %v and %v, want [1 2] each", a.get(), c.get())
	}
	if len(handled) != 2 || handled[0] != "boom 1" || handled[1] != "boom 2" {
		t.Fatalf("OnPanic got %v", handled)
	}
	report := out.String()
	for _, want := range []string{
		"observer: observer panicked: default",
		"goroutine ",
		"TestPanicIsolation", // the stack names the panicking observer
		"again (and the OnPanic handler panicked: handler too)",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("default report lacks %q:\n%s", want, report)
		}
	}
}

func TestAsyncPanicIsolation(t *testing.T) {
	var s Subject[int]
	got := new(recorder[int])
	var panics atomic.Int64
	sub := s.Subscribe(func(v int) {
		if v%2 == 0 {
			panic(v)
		}
		got.add(v)
	}, Async(16, Block), OnPanic(func(any) { panics.Add(1) }))
	for i := 0; i < 6; i++ {
		s.Notify(i)
	}
	s.Close()
	waitClosed(t, "Done", sub.Done())
	if !equal(got.get(), []int{1, 3, 5}) || panics.Load() != 3 {
		t.Fatalf("got %v with %d panics, want [1 3 5] and 3", got.get(), panics.Load())
	}
}

// An observer that calls runtime.Goexit (t.FailNow does) ends the
// notifying goroutine; the subject must stay usable.
func TestGoexitInObserver(t *testing.T) {
	var s Subject[int]
	sub := s.Subscribe(func(v int) {
		if v == 1 {
			runtime.Goexit()
		}
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Notify(1)
	}()
	waitClosed(t, "notifier", done)
	within(t, "Unsubscribe after Goexit", sub.Unsubscribe)

	var a Subject[int]
	asub := a.Subscribe(func(int) { runtime.Goexit() }, Async(1, Block))
	a.Notify(1)
	waitClosed(t, "async Done after Goexit", asub.Done())
	within(t, "Notify after async Goexit", func() { a.Notify(2); a.Notify(3) })
}

func TestClose(t *testing.T) {
	var s Subject[int]
	syncSub := s.Subscribe(func(int) {})
	got := new(recorder[int])
	gate := make(chan struct{})
	asyncSub := s.Subscribe(func(v int) {
		<-gate
		got.add(v)
	}, Async(8, Block))
	for i := 1; i <= 3; i++ {
		s.Notify(i)
	}
	s.Close()
	s.Close()
	waitClosed(t, "sync Done", syncSub.Done())
	select {
	case <-asyncSub.Done():
		t.Fatal("async Done closed before its queue was delivered")
	default:
	}
	close(gate)
	waitClosed(t, "async Done", asyncSub.Done())
	if !equal(got.get(), []int{1, 2, 3}) {
		t.Fatalf("queued values: got %v, want [1 2 3] delivered after Close", got.get())
	}
	s.Notify(4)
	if err := s.NotifyContext(context.Background(), 5); !errors.Is(err, ErrClosed) {
		t.Fatalf("NotifyContext after Close = %v, want ErrClosed", err)
	}
	late := s.Subscribe(func(int) { t.Error("observer of a closed subject called") })
	waitClosed(t, "Done of a subscription to a closed subject", late.Done())
	if late.Active() || s.Len() != 0 {
		t.Fatal("subscription to a closed subject is active")
	}
	late.Unsubscribe()
}

func TestBadInput(t *testing.T) {
	var nilSubject *Subject[int]
	nilSubject.Notify(1)
	nilSubject.Close()
	if nilSubject.Len() != 0 || !nilSubject.Closed() {
		t.Fatal("nil subject is not empty and closed")
	}
	if err := nilSubject.NotifyContext(context.Background(), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("nil subject NotifyContext = %v", err)
	}
	subs := []*Subscription{
		nilSubject.Subscribe(func(int) {}),
		new(Subject[int]).Subscribe(nil),
		SubscribeWeak[int, int](nil, new(int), func(*int, int) {}),
		SubscribeWeak[int, int](new(Subject[int]), nil, func(*int, int) {}),
		SubscribeWeak[int, int](new(Subject[int]), new(int), nil),
		new(Value[int]).Subscribe(nil),
		Merge[string, int](nil, nil),
		new(Subscription),
		nil,
	}
	for i, sub := range subs {
		waitClosed(t, fmt.Sprintf("Done of subscription %d", i), sub.Done())
		sub.Unsubscribe()
		if sub.Active() || sub.Dropped() != 0 {
			t.Fatalf("subscription %d is active or dropped", i)
		}
	}
	var s Subject[int]
	got := new(recorder[int])
	sub := s.Subscribe(got.add, nil, Async(-3, Policy(99)), OnPanic(nil))
	s.Notify(1)
	s.Notify(2)
	s.Close()
	waitClosed(t, "Done", sub.Done())
	if !equal(got.get(), []int{1, 2}) {
		t.Fatalf("got %v", got.get())
	}
	if Policy(99).String() != "Policy(99)" || Latest.String() != "Latest" {
		t.Fatal("Policy.String")
	}
}

// TestUnsubscribeWaitsForConcurrentEnd forces the interleaving behind late
// deliveries seen under stress: one goroutine is ending a subscription but
// has not yet taken it out of the snapshot when a second Unsubscribe of the
// same subscription runs. The second must not return before the removal is
// published: a Notify that begins after it returns must not call the
// observer. The test holds the subject's lock to stop the first Unsubscribe
// before it removes the entry (the old code had already marked it ended
// there, and the second call returned at once).
func TestUnsubscribeWaitsForConcurrentEnd(t *testing.T) {
	var s Subject[int]
	var late atomic.Int64
	var after atomic.Bool
	sub := s.Subscribe(func(int) {
		if after.Load() {
			late.Add(1)
		}
	})

	s.mu.Lock() // remove waits here
	firstDone := make(chan struct{})
	go func() {
		defer close(firstDone)
		sub.Unsubscribe()
	}()
	for goroutinesIn("observer.(*Subject[...]).remove(") == 0 {
		runtime.Gosched() // until the first Unsubscribe waits for the lock
	}
	secondDone := make(chan struct{})
	go func() {
		defer close(secondDone)
		sub.Unsubscribe()
		after.Store(true)
		s.Notify(1) // begins after Unsubscribe returned
	}()
	// Either the second Unsubscribe returns (the bug: its Notify then
	// reaches the observer while the snapshot still holds it), or it waits
	// for the lock like the first.
	for waiting := 0; waiting < 2; {
		select {
		case <-secondDone:
			waiting = 2
		default:
			waiting = goroutinesIn("observer.(*Subject[...]).remove(")
			runtime.Gosched()
		}
	}
	s.mu.Unlock()
	waitClosed(t, "first Unsubscribe", firstDone)
	waitClosed(t, "second Unsubscribe", secondDone)
	if n := late.Load(); n != 0 {
		t.Fatalf("%d delivery started after the second Unsubscribe returned", n)
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d after Unsubscribe", s.Len())
	}
}

// TestEndingSubscriptionSkippedForGood: once a Notify has skipped a
// subscription that is ending, no later Notify calls it again; its values
// are a prefix of everyone else's. The test stops an Unsubscribe at the
// subject's lock, and has an observer end an unrelated subscription during
// the first Notify (which makes that Notify check states). The old code had
// already marked the subscription ended there: the first Notify skipped it
// and the second, seeing no end during its own run, called it again (for a
// Value: A, then A again).
func TestEndingSubscriptionSkippedForGood(t *testing.T) {
	var s, other Subject[int]
	unrelated := other.Subscribe(func(int) {})
	s.Subscribe(func(v int) {
		if v == 1 {
			unrelated.Unsubscribe()
		}
	})
	got := new(recorder[int])
	sub := s.Subscribe(got.add)

	s.mu.Lock()
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		sub.Unsubscribe()
	}()
	for goroutinesIn("observer.(*Subject[...]).remove(") == 0 {
		runtime.Gosched() // until the Unsubscribe waits for the lock
	}
	s.Notify(1)
	s.Notify(2)
	s.mu.Unlock()
	waitClosed(t, "Unsubscribe", ended)
	s.Notify(3)
	if g := got.get(); len(g) > 0 && !equal(g, []int{1}) && !equal(g, []int{1, 2}) {
		t.Fatalf("the ending subscription got %v, want a prefix of [1 2]", g)
	}
}
