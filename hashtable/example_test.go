package hashtable_test

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/sturdy-go/sturdy/hashtable"
)

func ExampleNew() {
	m := hashtable.New[string, int]()
	m.Put("alpha", 1)
	m.Put("beta", 2)
	m.Put("alpha", 3)
	m.Delete("beta")

	v, ok := m.Get("alpha")
	fmt.Println(v, ok, m.Len())
	_, ok = m.Get("beta")
	fmt.Println(ok)
	// Output:
	// 3 true 1
	// false
}

func ExampleMap_All() {
	m := hashtable.New[int, string]()
	for i, s := range []string{"zero", "one", "two"} {
		m.Put(i, s)
	}
	// Iteration order depends on the random seed: sort for stable output.
	fmt.Println(slices.Sorted(maps.Keys(maps.Collect(m.All()))))
	// Output: [0 1 2]
}

func ExampleWithSeed() {
	// A fixed seed makes hashing identical in every process: here, to
	// agree on which of 4 workers owns a key.
	const k0, k1 = 0x0706050403020100, 0x0f0e0d0c0b0a0908
	for _, user := range []string{"ada", "grace", "linus"} {
		fmt.Println(user, hashtable.Hash(k0, k1, user)%4)
	}
	m := hashtable.New[string, bool](hashtable.WithSeed(k0, k1))
	m.Put("ada", true)
	m.Clear() // a fixed seed survives Clear
	fmt.Println(m.Stats().FixedSeed, m.Len())
	// Output:
	// ada 0
	// grace 2
	// linus 3
	// true 0
}

func ExampleGetBytes() {
	m := hashtable.New[string, int]()
	m.Put("content-length", 42)
	header := []byte("content-length")     // from a network buffer, say
	v, ok := hashtable.GetBytes(m, header) // no string conversion, no allocation
	fmt.Println(v, ok)
	// Output: 42 true
}

func ExampleNewFunc() {
	type point struct{ X, Y int32 }
	// Hash both coordinates as one 8-byte integer.
	h := func(k0, k1 uint64, p point) uint64 {
		return hashtable.HashUint64(k0, k1, uint64(uint32(p.X))<<32|uint64(uint32(p.Y)))
	}
	m := hashtable.NewFunc[point, string](h)
	m.Put(point{1, 2}, "a")
	fmt.Println(m.Get(point{1, 2}))
	// Output: a true
}

func ExampleMap_Stats() {
	m := hashtable.New[int, int]()
	for i := range 10000 {
		m.Put(i, i)
	}
	st := m.Stats()
	fmt.Println(st.Len, st.Reseeds, st.MeanProbe < 1.2)
	// Output: 10000 0 true
}

func ExampleSync() {
	s := hashtable.NewSync[string, int]()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				s.Put(fmt.Sprint(w, "/", i), i)
			}
		}()
	}
	wg.Wait()
	v, loaded := s.LoadOrStore("0/7", -1)
	fmt.Println(s.Len(), v, loaded)
	// Output: 400 7 true
}

// A Map prints like the builtin map holding the same entries, keys sorted,
// with every fmt verb; its seed never appears.
func ExampleMap_Format() {
	m := hashtable.New[string, int]()
	m.Put("b", 2)
	m.Put("a", 1)
	fmt.Println(m)
	fmt.Printf("%#v\n", m)
	type server struct{ Sessions *hashtable.Map[string, int] }
	fmt.Printf("%+v\n", server{m})
	// Output:
	// map[a:1 b:2]
	// map[string]int{"a":1, "b":2}
	// {Sessions:map[a:1 b:2]}
}
