package observer

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

type widget struct {
	name  string
	calls *atomic.Int64
}

func TestSubscribeWeakEndsAfterGC(t *testing.T) {
	var s Subject[int]
	calls := new(atomic.Int64)
	w := &widget{name: "w", calls: calls}
	sub := SubscribeWeak(&s, w, func(w *widget, v int) { w.calls.Add(int64(v)) })
	s.Notify(2)
	if calls.Load() != 2 || s.Len() != 1 {
		t.Fatalf("calls %d Len %d while the widget is alive", calls.Load(), s.Len())
	}
	runtime.KeepAlive(w)
	w = nil
	stop := time.Now().Add(patience(t))
	for sub.Active() && time.Now().Before(stop) {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	waitClosed(t, "Done after GC", sub.Done())
	s.Notify(3)
	if calls.Load() != 2 || s.Len() != 0 {
		t.Fatalf("calls %d Len %d after the widget was collected", calls.Load(), s.Len())
	}
}

func TestSubscribeWeakUnsubscribe(t *testing.T) {
	var s Subject[int]
	calls := new(atomic.Int64)
	w := &widget{calls: calls}
	sub := SubscribeWeak(&s, w, func(w *widget, v int) { w.calls.Add(1) })
	sub.Unsubscribe()
	s.Notify(1)
	waitClosed(t, "Done", sub.Done())
	if calls.Load() != 0 {
		t.Fatal("called after Unsubscribe")
	}
	runtime.KeepAlive(w)
	s.Close()
	if sub := SubscribeWeak(&s, w, func(*widget, int) {}); sub.Active() {
		t.Fatal("weak subscription to a closed subject is active")
	}
}
