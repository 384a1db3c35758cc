package observer

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/leaktest"
)

// TestPolicyDropCounts holds a slow subscriber on its first value, then
// notifies eight more into a queue of three, and checks exactly what each
// policy delivered and counted as dropped.
func TestPolicyDropCounts(t *testing.T) {
	const buffer, extra = 3, 8
	tests := []struct {
		policy  Policy
		want    []int
		dropped uint64
	}{
		{Block, []int{0, 1, 2, 3}, extra - buffer}, // the rest time out in NotifyContext
		{DropOldest, []int{0, 6, 7, 8}, extra - buffer},
		{DropNewest, []int{0, 1, 2, 3}, extra - buffer},
		{Latest, []int{0, 8}, extra - 1},
	}
	for _, tt := range tests {
		t.Run(tt.policy.String(), func(t *testing.T) {
			var s Subject[int]
			got := new(recorder[int])
			started, gate := make(chan struct{}), make(chan struct{})
			sub := s.Subscribe(func(v int) {
				if v == 0 {
					close(started)
					<-gate
				}
				got.add(v)
			}, Async(buffer, tt.policy))
			s.Notify(0)
			waitClosed(t, "first delivery", started)
			for i := 1; i <= extra; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
				err := s.NotifyContext(ctx, i)
				cancel()
				lost := tt.policy == Block && i > buffer
				if lost != (err != nil) || lost && !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("NotifyContext(%d) = %v", i, err)
				}
			}
			if sub.Dropped() != tt.dropped {
				t.Fatalf("Dropped = %d before release, want %d", sub.Dropped(), tt.dropped)
			}
			close(gate)
			s.Close()
			waitClosed(t, "Done", sub.Done())
			if !equal(got.get(), tt.want) || sub.Dropped() != tt.dropped {
				t.Fatalf("got %v dropped %d, want %v dropped %d", got.get(), sub.Dropped(), tt.want, tt.dropped)
			}
		})
	}
}

// TestBlockWaitsForRoom checks that Notify on a full Block queue waits, and
// loses nothing.
func TestBlockWaitsForRoom(t *testing.T) {
	var s Subject[int]
	got := new(recorder[int])
	started, gate := make(chan struct{}), make(chan struct{})
	sub := s.Subscribe(func(v int) {
		if v == 0 {
			close(started)
			<-gate
		}
		got.add(v)
	}, Async(2, Block))
	s.Notify(0)
	waitClosed(t, "first delivery", started)
	var sent atomic.Int64
	notifier := make(chan struct{})
	go func() {
		defer close(notifier)
		for i := 1; i <= 5; i++ {
			s.Notify(i)
			sent.Add(1)
		}
	}()
	within(t, "filling the queue", func() {
		for !notifierWaits(sub) {
			runtime.Gosched()
		}
	})
	if n := sent.Load(); n != 2 {
		t.Fatalf("notifier got %d values into a full queue of 2", n)
	}
	close(gate)
	waitClosed(t, "notifier", notifier)
	s.Close()
	waitClosed(t, "Done", sub.Done())
	if !equal(got.get(), []int{0, 1, 2, 3, 4, 5}) || sub.Dropped() != 0 {
		t.Fatalf("got %v dropped %d", got.get(), sub.Dropped())
	}
}

func TestBlockedNotifierReleasedByUnsubscribe(t *testing.T) {
	var s Subject[int]
	started, gate := make(chan struct{}), make(chan struct{})
	sub := s.Subscribe(func(v int) {
		if v == 0 {
			close(started)
			<-gate
		}
	}, Async(1, Block))
	s.Notify(0)
	waitClosed(t, "first delivery", started)
	s.Notify(1)
	notifier := make(chan struct{})
	go func() {
		defer close(notifier)
		s.Notify(2) // full: waits
	}()
	within(t, "notifier waiting", func() {
		for !notifierWaits(sub) {
			runtime.Gosched()
		}
	})
	unsubscribed := make(chan struct{})
	go func() {
		defer close(unsubscribed)
		sub.Unsubscribe()
	}()
	waitClosed(t, "blocked notifier", notifier)
	close(gate)
	waitClosed(t, "Unsubscribe", unsubscribed)
}

// TestNotifyContextDone: a context that is already done makes a Notify that
// never waits. Synchronous observers and queues with room get the value; a
// full Block queue loses it, counted, and the error says so.
func TestNotifyContextDone(t *testing.T) {
	var s Subject[int]
	called := new(recorder[int])
	s.Subscribe(called.add)
	roomy := new(recorder[int])
	roomySub := s.Subscribe(roomy.add, Async(4, Block))
	started, gate := make(chan struct{}), make(chan struct{})
	full := s.Subscribe(func(v int) {
		if v == 0 {
			close(started)
			<-gate
		}
	}, Async(1, Block))
	s.Notify(0)
	waitClosed(t, "first delivery", started)
	s.Notify(1) // fills the queue of one: the observer still holds 0
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.NotifyContext(ctx, 2)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("NotifyContext with a done context = %v, want an error wrapping context.Canceled", err)
	}
	if !equal(called.get(), []int{0, 1, 2}) || full.Dropped() != 1 || roomySub.Dropped() != 0 {
		t.Fatalf("sync observer got %v; full queue dropped %d, roomy dropped %d", called.get(), full.Dropped(), roomySub.Dropped())
	}
	if err := s.NotifyContext(ctx, 3); err == nil {
		t.Fatal("NotifyContext into a full queue with a done context returned nil")
	}
	close(gate)
	s.Close()
	waitClosed(t, "Done", full.Done())
	waitClosed(t, "Done", roomySub.Done())
	if !equal(roomy.get(), []int{0, 1, 2, 3}) {
		t.Fatalf("queue with room got %v, want [0 1 2 3]", roomy.get())
	}
	var quiet Subject[int]
	quiet.Subscribe(func(int) {})
	if err := quiet.NotifyContext(ctx, 1); err != nil {
		t.Fatalf("NotifyContext with a done context and nothing to wait for = %v, want nil", err)
	}
}

func TestAsyncUnsubscribeDiscardsQueue(t *testing.T) {
	var s Subject[int]
	got := new(recorder[int])
	started, gate := make(chan struct{}), make(chan struct{})
	sub := s.Subscribe(func(v int) {
		if v == 0 {
			close(started)
			<-gate
		}
		got.add(v)
	}, Async(8, Block))
	for i := 0; i < 4; i++ {
		s.Notify(i)
	}
	waitClosed(t, "first delivery", started)
	unsubscribed := make(chan struct{})
	go func() {
		defer close(unsubscribed)
		sub.Unsubscribe()
	}()
	waitBlocked(t, unsubscribed, "observer.(*entry[...]).end(", "Unsubscribe returned while its observer was running")
	close(gate)
	waitClosed(t, "Unsubscribe", unsubscribed)
	if !equal(got.get(), []int{0}) {
		t.Fatalf("got %v, want [0]: queued values must be discarded", got.get())
	}
}

func TestAsyncOrderPerSubscriber(t *testing.T) {
	const n = 5000
	for _, p := range []Policy{Block, DropOldest, DropNewest, Latest} {
		t.Run(p.String(), func(t *testing.T) {
			var s Subject[int]
			got := new(recorder[int])
			sub := s.Subscribe(got.add, Async(16, p))
			for i := 0; i < n; i++ {
				s.Notify(i)
			}
			s.Close()
			waitClosed(t, "Done", sub.Done())
			vals := got.get()
			for i := 1; i < len(vals); i++ {
				if vals[i] <= vals[i-1] {
					t.Fatalf("out of order at %d: %v then %v", i, vals[i-1], vals[i])
				}
			}
			if uint64(len(vals))+sub.Dropped() != n {
				t.Fatalf("delivered %d + dropped %d != %d", len(vals), sub.Dropped(), n)
			}
			if p != DropNewest && vals[len(vals)-1] != n-1 {
				t.Fatalf("last value %d, want %d", vals[len(vals)-1], n-1)
			}
		})
	}
}

// TestAsyncGoroutinesEnd checks with goleak that Unsubscribe and Close end
// every goroutine the package started.
func TestAsyncGoroutinesEnd(t *testing.T) {
	for _, how := range []string{"Unsubscribe", "Close", "Unsubscribe inside"} {
		t.Run(how, func(t *testing.T) {
			var s Subject[int]
			var subs []*Subscription
			for i := 0; i < 20; i++ {
				p := Policy(i % 4)
				var sub *Subscription
				ready := make(chan struct{})
				sub = s.Subscribe(func(v int) {
					<-ready
					if how == "Unsubscribe inside" {
						sub.Unsubscribe()
					}
				}, Async(i%3+1, p))
				close(ready)
				subs = append(subs, sub)
			}
			for i := 0; i < 50; i++ {
				s.Notify(i)
			}
			switch how {
			case "Unsubscribe":
				for _, sub := range subs {
					sub.Unsubscribe()
				}
			case "Close":
				s.Close()
			}
			for i, sub := range subs {
				waitClosed(t, fmt.Sprintf("Done %d", i), sub.Done())
			}
			leaktest.VerifyNone(t)
		})
	}
}
