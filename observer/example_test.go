package observer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/sturdy-go/sturdy/observer"
)

// The clock of the classic Observer pattern, done without its faults: the
// subject ticks on its own goroutine, driven by a context, so starting it
// never blocks the caller, and two observers (a digital and an analog face)
// watch it. The analog face stops the clock after three ticks by cancelling
// the context; the clock then completes the subject, which ends every
// subscription.
func Example_clock() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var clock observer.Subject[int]
	start := func(ctx context.Context, every time.Duration) {
		go func() {
			defer clock.Close()
			t := time.NewTicker(every)
			defer t.Stop()
			for second := 1; ; second++ {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if ctx.Err() != nil {
					return // a tick and the cancellation were ready together
				}
				clock.Notify(second)
			}
		}()
	}

	digital := clock.Subscribe(func(s int) { fmt.Printf("digital 00:00:%02d\n", s) })
	clock.Subscribe(func(s int) {
		fmt.Printf("analog  second hand at %d degrees\n", 6*s)
		if s == 3 {
			cancel()
		}
	})
	start(ctx, 5*time.Millisecond) // returns at once
	<-digital.Done()
	fmt.Println("stopped")
	// Output:
	// digital 00:00:01
	// analog  second hand at 6 degrees
	// digital 00:00:02
	// analog  second hand at 12 degrees
	// digital 00:00:03
	// analog  second hand at 18 degrees
	// stopped
}

func ExampleSubject() {
	var s observer.Subject[string]
	first := s.Subscribe(func(v string) { fmt.Println("first:", v) })
	s.Subscribe(func(v string) { fmt.Println("second:", v) })
	s.Notify("hello")
	first.Unsubscribe()
	s.Notify("again")
	s.Close()
	s.Notify("ignored")
	// Output:
	// first: hello
	// second: hello
	// second: again
}

// An observer that unsubscribes itself from inside its callback, and one
// that panics: neither deadlocks nor disturbs the others.
func ExampleSubscription_Unsubscribe() {
	var s observer.Subject[int]
	var once *observer.Subscription
	once = s.Subscribe(func(v int) {
		fmt.Println("once:", v)
		once.Unsubscribe()
	})
	s.Subscribe(func(v int) { panic("broken observer") },
		observer.OnPanic(func(r any) { fmt.Println("recovered:", r) }))
	s.Subscribe(func(v int) { fmt.Println("always:", v) })
	s.Notify(1)
	s.Notify(2)
	// Output:
	// once: 1
	// recovered: broken observer
	// always: 1
	// recovered: broken observer
	// always: 2
}

// A service puts every observer panic of a subject in its structured log:
// one handler for all subscriptions, told which value was being delivered.
// (The log here drops the time and the stack to keep the output stable; a
// service would log p.Stack too.)
func ExampleSubject_SetPanicHandler() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))

	type order struct{ ID, Qty int }
	var orders observer.Subject[order]
	orders.SetPanicHandler(func(p observer.Panic[order]) {
		logger.Error("observer panicked", "panic", p.Recovered, "order", p.Value.ID)
	})
	orders.Subscribe(func(o order) {
		if o.Qty == 0 {
			panic("no quantity")
		}
	})
	orders.Subscribe(func(o order) { fmt.Println("shipped", o.ID) })
	orders.Notify(order{ID: 1, Qty: 2})
	orders.Notify(order{ID: 2})
	// Output:
	// shipped 1
	// level=ERROR msg="observer panicked" panic="no quantity" order=2
	// shipped 2
}

// A slow observer with the Latest policy skips the values it had no time
// for, and counts them.
func ExampleAsync() {
	var s observer.Subject[int]
	busy, gate := make(chan struct{}), make(chan struct{})
	sub := s.Subscribe(func(v int) {
		if v == 0 {
			close(busy)
			<-gate // slow on the first value
		}
		fmt.Println("got", v)
	}, observer.Async(16, observer.Latest))
	s.Notify(0)
	<-busy
	for v := 1; v <= 5; v++ {
		s.Notify(v) // never waits
	}
	close(gate)
	s.Close()
	<-sub.Done()
	fmt.Println("dropped", sub.Dropped())
	// Output:
	// got 0
	// got 5
	// dropped 4
}

// NotifyContext bounds how long a full Block queue may hold the notifier.
func ExampleSubject_NotifyContext() {
	var s observer.Subject[int]
	busy, gate := make(chan struct{}), make(chan struct{})
	sub := s.Subscribe(func(v int) {
		if v == 0 {
			close(busy)
			<-gate
		}
	}, observer.Async(1, observer.Block))
	s.Notify(0)
	<-busy
	s.Notify(1) // fills the queue
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := s.NotifyContext(ctx, 2)
	fmt.Println(errors.Is(err, context.DeadlineExceeded), sub.Dropped())
	close(gate)
	sub.Unsubscribe()
	// Output:
	// true 1
}

func ExampleValue() {
	var temperature observer.Value[int]
	temperature.Set(20)
	temperature.Subscribe(func(c int) { fmt.Println("now", c) })
	temperature.Set(20) // unchanged: no notification
	temperature.Set(21)
	temperature.Update(func(c int) int { return c + 1 })
	// Output:
	// now 20
	// now 21
	// now 22
}

func ExampleMerge() {
	var kitchen, garage observer.Subject[bool]
	sub := observer.Merge(map[string]*observer.Subject[bool]{"kitchen": &kitchen, "garage": &garage},
		func(room string, open bool) { fmt.Println(room, "door open:", open) })
	garage.Notify(true)
	kitchen.Notify(false)
	sub.Unsubscribe()
	// Output:
	// garage door open: true
	// kitchen door open: false
}

type display struct{ name string }

func ExampleSubscribeWeak() {
	var s observer.Subject[string]
	d := &display{name: "lobby"}
	sub := observer.SubscribeWeak(&s, d, func(d *display, msg string) {
		fmt.Println(d.name, "shows", msg)
	})
	s.Notify("welcome")
	runtime.KeepAlive(d)

	// Nothing else refers to the display: once it is collected, the
	// subscription ends by itself.
	for i := 0; i < 1000 && sub.Active(); i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	fmt.Println("ended:", !sub.Active(), "subscribers left:", s.Len())
	// Output:
	// lobby shows welcome
	// ended: true subscribers left: 0
}
