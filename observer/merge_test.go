package observer

import (
	"fmt"
	"sort"
	"testing"
)

func TestMergeKnowsTheSource(t *testing.T) {
	var temp, humidity Subject[float64]
	got := new(recorder[string])
	sub := Merge(map[string]*Subject[float64]{"temp": &temp, "humidity": &humidity},
		func(k string, v float64) { got.add(fmt.Sprint(k, "=", v)) })
	temp.Notify(21.5)
	humidity.Notify(40)
	temp.Notify(22)
	if want := []string{"temp=21.5", "humidity=40", "temp=22"}; !equal(got.get(), want) {
		t.Fatalf("got %v, want %v", got.get(), want)
	}
	sub.Unsubscribe()
	waitClosed(t, "Done", sub.Done())
	if temp.Len() != 0 || humidity.Len() != 0 {
		t.Fatal("Unsubscribe left subscriptions on the sources")
	}
	temp.Notify(30)
	if len(got.get()) != 3 {
		t.Fatal("notified after Unsubscribe")
	}
}

func TestMergeEndsWhenAllSourcesClose(t *testing.T) {
	var a, b Subject[int]
	got := new(recorder[string])
	sub := Merge(map[int]*Subject[int]{1: &a, 2: &b, 3: nil},
		func(k, v int) { got.add(fmt.Sprint(k, ":", v)) }, Async(8, Block))
	a.Notify(10)
	b.Notify(20)
	a.Close()
	b.Notify(21)
	select {
	case <-sub.Done():
		t.Fatal("merged subscription ended while a source is open")
	default:
	}
	b.Close()
	waitClosed(t, "Done", sub.Done())
	vals := got.get()
	sort.Strings(vals)
	if want := []string{"1:10", "2:20", "2:21"}; !equal(vals, want) {
		t.Fatalf("got %v, want %v", vals, want)
	}
	empty := Merge(map[int]*Subject[int]{}, func(int, int) {})
	waitClosed(t, "Done of a merge of nothing", empty.Done())
}
