package main

import (
	"fmt"
	"io"
	"time"

	"github.com/sturdy-go/sturdy/hashtable"
)

func tourHashtable(w io.Writer) error {
	const bits = 14
	crafted := collidingKeys(bits)
	random := randomKeys(len(crafted), 2*bits, uint64(time.Now().UnixNano()))
	fmt.Fprintf(w, "   %d keys that all collide under DJBX33A (\"EzEz...\", \"EzFY...\"), and %d random keys\n", len(crafted), len(random))

	naive := func(keys []string) (time.Duration, int) {
		t := newNaiveTable()
		start := time.Now()
		for _, k := range keys {
			t.Put(k, "")
		}
		return time.Since(start), t.compares
	}
	sturdy := func(keys []string) (time.Duration, hashtable.Stats) {
		m := hashtable.New[string, string]()
		start := time.Now()
		for _, k := range keys {
			m.Put(k, "")
		}
		return time.Since(start), m.Stats()
	}
	nr, nrc := naive(random)
	nc, ncc := naive(crafted)
	sr, srs := sturdy(random)
	sc, scs := sturdy(crafted)
	fmt.Fprintf(w, "   naive DJBX33A table:  random %10v  crafted %10v  (%d vs %d key comparisons)\n", nr.Round(time.Microsecond), nc.Round(time.Microsecond), nrc, ncc)
	fmt.Fprintf(w, "   hashtable.Map:        random %10v  crafted %10v  (longest probe %d vs %d groups)\n", sr.Round(time.Microsecond), sc.Round(time.Microsecond), srs.MaxProbe, scs.MaxProbe)
	fmt.Fprintf(w, "   crafted keys cost the naive table %.0fx its random time; hashtable.Map %.1fx\n", float64(nc)/float64(nr), float64(sc)/float64(sr))
	small := hashtable.New[string, int]()
	small.Put("b", 2)
	small.Put("a", 1)
	fmt.Fprintf(w, "   a hashtable.Map prints like a builtin map, never its seed: %v\n", small)
	if ncc <= nrc*100 {
		return fmt.Errorf("the crafted keys did not flood the naive table (%d comparisons)", ncc)
	}
	return nil
}
