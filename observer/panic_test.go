package observer

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

// panicLog collects what a subject's panic handler receives.
type panicLog[T any] struct {
	mu sync.Mutex
	ps []Panic[T]
}

func (l *panicLog[T]) handle(p Panic[T]) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ps = append(l.ps, p)
}

func (l *panicLog[T]) get() []Panic[T] {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Panic[T](nil), l.ps...)
}

// panicOnEven is an observer that panics on even values; its name is what
// the stack in a Panic must show.
func panicOnEven(v int) {
	if v%2 == 0 {
		panic(fmt.Sprintf("even %d", v))
	}
}

// TestSubjectPanicHandler: one handler receives the panics of every
// subscription, synchronous and Async, with the value being delivered, the
// stack and the subscription; the other observers still get every value;
// nothing reaches standard error.
func TestSubjectPanicHandler(t *testing.T) {
	out := capturePanics(t)
	var s Subject[int]
	log := new(panicLog[int])
	s.SetPanicHandler(log.handle)
	before, after := new(recorder[int]), new(recorder[int])
	s.Subscribe(before.add)
	syncSub := s.Subscribe(panicOnEven)
	asyncSub := s.Subscribe(func(v int) {
		if v == 3 {
			panic(io.ErrUnexpectedEOF)
		}
	}, Async(8, Block))
	s.Subscribe(after.add)
	within(t, "Notify", func() {
		for v := 1; v <= 4; v++ {
			s.Notify(v)
		}
	})
	s.Close()
	waitClosed(t, "Async Done", asyncSub.Done())

	if want := []int{1, 2, 3, 4}; !equal(before.get(), want) || !equal(after.get(), want) {
		t.Fatalf("healthy observers got %v and %v, want %v each", before.get(), after.get(), want)
	}
	ps := log.get()
	if len(ps) != 3 {
		t.Fatalf("handler got %d panics, want 3: %v", len(ps), ps)
	}
	byValue := map[int]Panic[int]{}
	for _, p := range ps {
		byValue[p.Value] = p
	}
	for _, want := range []struct {
		value     int
		recovered any
		sub       *Subscription
		frame     string
	}{
		{2, "even 2", syncSub, "observer.panicOnEven"},
		{4, "even 4", syncSub, "observer.panicOnEven"},
		{3, io.ErrUnexpectedEOF, asyncSub, "observer.TestSubjectPanicHandler"},
	} {
		p, ok := byValue[want.value]
		switch {
		case !ok:
			t.Errorf("no panic reported for value %d", want.value)
		case p.Recovered != want.recovered:
			t.Errorf("value %d: Recovered = %v, want %v", want.value, p.Recovered, want.recovered)
		case p.Subscription != want.sub:
			t.Errorf("value %d: Subscription is not the panicking observer's", want.value)
		case !strings.Contains(string(p.Stack), want.frame):
			t.Errorf("value %d: Stack lacks the observer's frame %q:\n%s", want.value, want.frame, p.Stack)
		}
	}
	if p := byValue[3]; !errors.Is(p, io.ErrUnexpectedEOF) || p.Error() != "observer: observer panicked: unexpected EOF" {
		t.Errorf("Panic as an error: %q, errors.Is(io.ErrUnexpectedEOF) = %v", p.Error(), errors.Is(p, io.ErrUnexpectedEOF))
	}
	if p := byValue[2]; errors.Unwrap(p) != nil {
		t.Errorf("Unwrap of a string panic = %v, want nil", errors.Unwrap(p))
	}
	if s := out.String(); s != "" {
		t.Errorf("standard error got a report although the subject has a handler:\n%s", s)
	}
}

// TestPanicHandlerPrecedence: a subscription's OnPanic wins over the
// subject's handler; a nil handler restores the default report; a handler
// that panics is reported to standard error with both panics.
func TestPanicHandlerPrecedence(t *testing.T) {
	out := capturePanics(t)
	var s Subject[int]
	log := new(panicLog[int])
	s.SetPanicHandler(log.handle)
	var own []any
	s.Subscribe(func(v int) { panic("mine") }, OnPanic(func(r any) { own = append(own, r) }))
	s.Notify(1)
	if len(own) != 1 || own[0] != "mine" || len(log.get()) != 0 {
		t.Fatalf("OnPanic got %v and the subject's handler %v; want OnPanic alone", own, log.get())
	}

	var s2 Subject[int]
	s2.Subscribe(func(v int) { panic("to stderr") })
	s2.SetPanicHandler(log.handle)
	s2.SetPanicHandler(nil)
	s2.Notify(1)
	if len(log.get()) != 0 || !strings.Contains(out.String(), "observer: observer panicked: to stderr") {
		t.Fatalf("after SetPanicHandler(nil): handler got %v, standard error %q", log.get(), out.String())
	}

	var s3 Subject[int]
	got := new(recorder[int])
	s3.SetPanicHandler(func(Panic[int]) { panic("handler broke") })
	s3.Subscribe(func(v int) { panic("first") })
	s3.Subscribe(got.add)
	within(t, "Notify", func() { s3.Notify(7) })
	if !equal(got.get(), []int{7}) {
		t.Fatalf("the next observer got %v, want [7]", got.get())
	}
	if want := "first (and the subject's panic handler panicked: handler broke)"; !strings.Contains(out.String(), want) {
		t.Fatalf("standard error lacks %q:\n%s", want, out.String())
	}

	var nilSubject *Subject[int]
	nilSubject.SetPanicHandler(log.handle) // a nil subject is closed: nothing to do, no panic
}

// TestPanicHandlerUnsubscribes: the handler may end the panicking
// subscription from inside the delivery without deadlock, and that
// observer receives nothing more.
func TestPanicHandlerUnsubscribes(t *testing.T) {
	capturePanics(t)
	var s Subject[int]
	got := new(recorder[int])
	s.SetPanicHandler(func(p Panic[int]) { p.Subscription.Unsubscribe() })
	bad := s.Subscribe(func(v int) {
		got.add(v)
		panic("once")
	})
	within(t, "Notify", func() {
		s.Notify(1)
		s.Notify(2)
	})
	waitClosed(t, "Done", bad.Done())
	if !equal(got.get(), []int{1}) || s.Len() != 0 {
		t.Fatalf("the panicking observer got %v (want [1]); %d subscriptions left (want 0)", got.get(), s.Len())
	}

	// The same from an Async observer's own goroutine.
	gotAsync := new(recorder[int])
	badAsync := s.Subscribe(func(v int) {
		gotAsync.add(v)
		panic("once")
	}, Async(4, Block))
	s.Notify(3)
	waitClosed(t, "Async Done", badAsync.Done())
	s.Notify(4)
	if !equal(gotAsync.get(), []int{3}) {
		t.Fatalf("the panicking Async observer got %v, want [3]", gotAsync.get())
	}
}

// TestValuePanicHandler: a Value's handler receives panics of first values
// and of changes.
func TestValuePanicHandler(t *testing.T) {
	out := capturePanics(t)
	var v Value[string]
	v.Set("a")
	log := new(panicLog[string])
	v.SetPanicHandler(log.handle)
	v.Subscribe(func(s string) { panic("got " + s) })
	v.Set("b")
	ps := log.get()
	if len(ps) != 2 || ps[0].Value != "a" || ps[0].Recovered != "got a" || ps[1].Value != "b" || ps[1].Recovered != "got b" {
		t.Fatalf("handler got %+v, want the panics for the first value a and the change to b", ps)
	}
	if out.String() != "" {
		t.Fatalf("standard error got a report:\n%s", out.String())
	}
}

// TestMergePanicHandler: a panic of Merge's observer goes to the handler of
// the source that sent the value, with that source's value and the merged
// subscription.
func TestMergePanicHandler(t *testing.T) {
	out := capturePanics(t)
	var kitchen, garage Subject[bool]
	kLog, gLog := new(panicLog[bool]), new(panicLog[bool])
	kitchen.SetPanicHandler(kLog.handle)
	garage.SetPanicHandler(gLog.handle)
	merged := Merge(map[string]*Subject[bool]{"kitchen": &kitchen, "garage": &garage}, func(room string, open bool) {
		if room == "garage" {
			panic("garage door")
		}
	})
	kitchen.Notify(true)
	garage.Notify(false)
	if len(kLog.get()) != 0 {
		t.Fatalf("kitchen's handler got %v, want nothing", kLog.get())
	}
	ps := gLog.get()
	if len(ps) != 1 || ps[0].Recovered != "garage door" || ps[0].Value != false || ps[0].Subscription != merged {
		t.Fatalf("garage's handler got %+v, want the garage door panic with the merged subscription", ps)
	}
	if out.String() != "" {
		t.Fatalf("standard error got a report:\n%s", out.String())
	}
	merged.Unsubscribe()
}
