package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sturdy-go/sturdy/observer"
)

// config is what the tour keeps in an observer.Value.
type config struct {
	LogLevel string
	MaxConns int
}

func tourObserver(w io.Writer) error {
	var mu sync.Mutex // the tour's writer is shared with async observers
	say := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "   "+format+"\n", a...)
	}

	// A Value: subscribers get the current configuration first, then
	// only real changes.
	var cfg observer.Value[config]
	cfg.Set(config{LogLevel: "info", MaxConns: 100})
	var changes atomic.Int32
	sub := cfg.Subscribe(func(c config) {
		changes.Add(1)
		say("config observer sees %+v", c)
	})
	cfg.Set(config{LogLevel: "info", MaxConns: 100}) // same value: nobody is told
	cfg.Update(func(c config) config { c.MaxConns *= 2; return c })
	sub.Unsubscribe()
	cfg.Set(config{LogLevel: "debug"}) // after Unsubscribe: not delivered
	if n := changes.Load(); n != 2 {
		return fmt.Errorf("config observer ran %d times, want 2 (current value, one change)", n)
	}

	// A panicking observer harms no one: the others still get the value.
	// The subject's one panic handler, where a service would write its
	// structured log, learns every observer's panic, the value being
	// delivered and the stack.
	var events observer.Subject[string]
	var reported atomic.Pointer[observer.Panic[string]]
	events.SetPanicHandler(func(p observer.Panic[string]) { reported.Store(&p) })
	events.Subscribe(func(e string) { say("first observer got %q", e) })
	events.Subscribe(func(e string) { panic("observer bug") })
	events.Subscribe(func(e string) { say("third observer got %q, after the second one panicked", e) })
	events.Notify("deploy finished")
	p := reported.Load()
	if p == nil || p.Value != "deploy finished" || len(p.Stack) == 0 {
		return fmt.Errorf("the subject's panic handler got %+v, want the panic while delivering \"deploy finished\"", p)
	}
	say("the panic was isolated; the subject's panic handler got %q while %q was delivered, with the stack", p.Recovered, p.Value)
	events.Close()

	// A ticking clock: Notify never waits for the slow observer, which
	// is stuck on its first tick until the clock stops and whose queue
	// keeps only the latest tick.
	var clock observer.Subject[time.Time]
	var fast, slow atomic.Int32
	stuck := make(chan struct{})
	clock.Subscribe(func(time.Time) { fast.Add(1) })
	slowSub := clock.Subscribe(func(time.Time) {
		if slow.Add(1) == 1 {
			<-stuck
		}
	}, observer.Async(1, observer.Latest))
	const ticks = 50
	ticker := time.NewTicker(2 * time.Millisecond)
	defer ticker.Stop()
	worst := time.Duration(0)
	for range ticks {
		now := <-ticker.C
		start := time.Now()
		clock.Notify(now)
		worst = max(worst, time.Since(start))
	}
	close(stuck)
	clock.Close()
	<-slowSub.Done()
	say("clock ticked %d times; the fast observer saw %d ticks, the stuck one (keeps the latest) %d", ticks, fast.Load(), slow.Load())
	say("the slowest Notify took %v: a stuck observer never holds up the clock", worst.Round(time.Microsecond))
	if fast.Load() != ticks || slow.Load() >= fast.Load() {
		return fmt.Errorf("fast observer saw %d of %d ticks, stuck one %d", fast.Load(), ticks, slow.Load())
	}
	return nil
}
