package weakhash

import (
	"fmt"
	"testing"
)

func TestCollidingKeysCollide(t *testing.T) {
	keys := CollidingKeys(10)
	if len(keys) != 1024 {
		t.Fatalf("got %d keys, want 1024", len(keys))
	}
	seen := map[string]bool{}
	h := DJBX33A(keys[0])
	for _, k := range keys {
		if seen[k] {
			t.Fatalf("duplicate key %q", k)
		}
		seen[k] = true
		if len(k) != 20 {
			t.Fatalf("key %q has length %d, want 20", k, len(k))
		}
		if DJBX33A(k) != h {
			t.Fatalf("key %q hashes to %d, not %d", k, DJBX33A(k), h)
		}
	}
}

func TestTableIsAMap(t *testing.T) {
	tab := NewTable()
	for i := range 1000 {
		tab.Put(fmt.Sprint(i), fmt.Sprint(i*i))
	}
	tab.Put("7", "seven")
	if tab.Len() != 1000 {
		t.Fatalf("Len = %d", tab.Len())
	}
	for i := range 1000 {
		want := fmt.Sprint(i * i)
		if i == 7 {
			want = "seven"
		}
		if v, ok := tab.Get(fmt.Sprint(i)); !ok || v != want {
			t.Fatalf("Get(%d) = %q, %v", i, v, ok)
		}
	}
	if _, ok := tab.Get("missing"); ok {
		t.Fatal("found a missing key")
	}
}

// TestFloodIsQuadratic shows the attack works: colliding keys cost the
// table about n²/2 comparisons, random keys about one per insert.
func TestFloodIsQuadratic(t *testing.T) {
	const bits = 10
	n := 1 << bits
	crafted, random := NewTable(), NewTable()
	for _, k := range CollidingKeys(bits) {
		crafted.Put(k, "")
	}
	for _, k := range RandomKeys(n, 2*bits, 42) {
		random.Put(k, "")
	}
	if want := n * (n - 1) / 2; crafted.Compares != want {
		t.Fatalf("crafted keys took %d comparisons, want n(n-1)/2 = %d", crafted.Compares, want)
	}
	if random.Compares > 2*n {
		t.Fatalf("random keys took %d comparisons for %d inserts", random.Compares, n)
	}
}

func TestRandomKeysDeterministic(t *testing.T) {
	a, b := RandomKeys(100, 20, 7), RandomKeys(100, 20, 7)
	for i := range a {
		if a[i] != b[i] || len(a[i]) != 20 {
			t.Fatalf("RandomKeys differs at %d: %q %q", i, a[i], b[i])
		}
	}
}
