package observer

import (
	"fmt"
	"math"
	"sync"
	"testing"
)

func TestValueFirstValueThenChanges(t *testing.T) {
	var v Value[string]
	v.Set("a")
	got := new(recorder[string])
	sub := v.Subscribe(got.add)
	v.Set("a") // unchanged: no notification
	v.Set("b")
	v.Set("b")
	if x := v.Update(func(s string) string { return s + "c" }); x != "bc" {
		t.Fatalf("Update returned %q", x)
	}
	v.Update(func(s string) string { return s }) // unchanged
	if !equal(got.get(), []string{"a", "b", "bc"}) {
		t.Fatalf("got %v", got.get())
	}
	if v.Get() != "bc" || v.Len() != 1 || v.Update(nil) != "bc" {
		t.Fatalf("Get %q Len %d", v.Get(), v.Len())
	}
	sub.Unsubscribe()
	v.Set("d")
	if len(got.get()) != 3 || v.Len() != 0 {
		t.Fatal("unsubscribed observer notified")
	}
}

func TestValueZeroFirstValue(t *testing.T) {
	var v Value[int]
	got := new(recorder[int])
	v.Subscribe(got.add)
	if !equal(got.get(), []int{0}) {
		t.Fatalf("got %v, want the zero value first", got.get())
	}
}

func TestValueNaNAlwaysChanges(t *testing.T) {
	var v Value[float64]
	n := 0
	v.Subscribe(func(float64) { n++ })
	v.Set(math.NaN())
	v.Set(math.NaN())
	if n != 3 {
		t.Fatalf("%d notifications, want 3 (first value and two NaN changes)", n)
	}
}

// TestValueReentrantSetIsBreadthFirst: a Set from inside an observer is
// delivered after the current value reached every observer.
func TestValueReentrantSetIsBreadthFirst(t *testing.T) {
	var v Value[int]
	var got []string
	var late *Subscription
	v.Subscribe(func(x int) {
		got = append(got, fmt.Sprint("a", x))
		if x == 1 {
			v.Set(2)
			late = v.Subscribe(func(x int) { got = append(got, fmt.Sprint("c", x)) })
		}
	})
	v.Subscribe(func(x int) { got = append(got, fmt.Sprint("b", x)) })
	within(t, "Set", func() { v.Set(1) })
	want := []string{"a0", "b0", "a1", "b1", "c1", "a2", "b2", "c2"}
	if !equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if !late.Active() {
		t.Fatal("subscription made inside an observer is not active")
	}
}

// TestValueConcurrentSets checks what every observer sees while several
// goroutines set and update: it starts at a value that was current, never
// repeats a value twice in a row, and ends at the final value.
func TestValueConcurrentSets(t *testing.T) {
	var v Value[int]
	const writers, sets = 4, 300
	type seen struct{ r *recorder[int] }
	var observers []seen
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < sets; i++ {
				if i%50 == 0 {
					r := new(recorder[int])
					mu.Lock()
					observers = append(observers, seen{r})
					mu.Unlock()
					v.Subscribe(r.add)
				}
				if i%2 == 0 {
					v.Set(w*sets + i)
				} else {
					v.Update(func(x int) int { return x + 1 })
				}
			}
		}()
	}
	within(t, "writers", wg.Wait)
	final := v.Get()
	for i, o := range observers {
		vals := o.r.get()
		if len(vals) == 0 || vals[len(vals)-1] != final {
			t.Fatalf("observer %d saw %v, want it to end at %d", i, vals, final)
		}
		for j := 1; j < len(vals); j++ {
			if vals[j] == vals[j-1] {
				t.Fatalf("observer %d saw %d twice in a row", i, vals[j])
			}
		}
	}
}

func TestValueAsyncAndClose(t *testing.T) {
	var v Value[int]
	v.Set(7)
	got := new(recorder[int])
	sub := v.Subscribe(got.add, Async(4, Block))
	v.Set(8)
	v.Close()
	waitClosed(t, "Done", sub.Done())
	if !equal(got.get(), []int{7, 8}) {
		t.Fatalf("got %v, want [7 8]", got.get())
	}
	v.Set(9)
	if v.Get() != 9 {
		t.Fatal("Set after Close did not store")
	}
	late := v.Subscribe(func(int) { t.Error("observer of a closed Value called") })
	waitClosed(t, "Done", late.Done())
}

func TestValuePanicIsolation(t *testing.T) {
	out := capturePanics(t)
	var v Value[int]
	got := new(recorder[int])
	v.Subscribe(func(x int) {
		if x == 1 {
			panic("first")
		}
	})
	v.Subscribe(got.add)
	v.Set(1)
	v.Set(2)
	if !equal(got.get(), []int{0, 1, 2}) || out.String() == "" {
		t.Fatalf("got %v, report %q", got.get(), out.String())
	}
}

// TestValueNoRepeatAfterRoundTrip: a value that goes A->B->A while a
// delivery is running ends where observers already are, so it is not
// delivered again.
func TestValueNoRepeatAfterRoundTrip(t *testing.T) {
	var v Value[int]
	got := new(recorder[int])
	v.Subscribe(func(x int) {
		got.add(x)
		if x == 1 && len(got.get()) == 2 {
			v.Set(2)
			v.Set(1)
		}
	})
	within(t, "Set", func() { v.Set(1) })
	if !equal(got.get(), []int{0, 1}) {
		t.Fatalf("got %v, want [0 1]: the round trip 1->2->1 ends at the value already delivered", got.get())
	}
	if v.Get() != 1 {
		t.Fatalf("Get = %d, want 1", v.Get())
	}
	v.Set(3)
	if !equal(got.get(), []int{0, 1, 3}) {
		t.Fatalf("got %v after Set(3)", got.get())
	}
}
