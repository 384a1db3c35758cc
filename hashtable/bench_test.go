package hashtable

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/sturdy-go/sturdy/internal/benchcpu"
)

var benchSizes = []int{1000, 100000, 1000000}

// benchKeyCache holds generated keys: the n=1000000 benchmarks reuse them
// instead of generating two million strings per sub-benchmark.
var benchKeyCache = struct {
	sync.Mutex
	m map[[2]int][]string
}{m: map[[2]int][]string{}}

// benchKeys returns n random 20-byte keys; different salts give disjoint
// key sets in practice (62^20 possible keys).
func benchKeys(n, salt int) []string {
	benchKeyCache.Lock()
	defer benchKeyCache.Unlock()
	if k, ok := benchKeyCache.m[[2]int{n, salt}]; ok {
		return k
	}
	rng := rand.New(rand.NewPCG(uint64(n), uint64(salt)))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	buf := make([]byte, 20*n) // one backing array, like keys read from a buffer
	keys := make([]string, n)
	for i := range keys {
		b := buf[20*i : 20*i+20]
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		keys[i] = string(b)
	}
	benchKeyCache.m[[2]int{n, salt}] = keys
	return keys
}

// BenchmarkGet looks up present (hit) and absent (miss) keys, in the
// order they were inserted. Besides the builtin map it runs:
//
//   - "hashtable13": the map with WithSipHash13;
//   - "tableonly": this package's table with hash/maphash (the runtime's
//     AES-based hash) in place of SipHash-2-4, through NewFunc: the
//     difference between hashtable and tableonly is the price of SipHash,
//     the difference between tableonly and builtin that of the table;
//   - "budget" and "budget13": what a lookup would cost if the builtin map
//     paid for SipHash-2-4 (or 1-3) instead of its own hash, nothing more
//     (each with the faster of this package's two implementations of it
//     on its own, BenchmarkHash's siphash24 and siphash13vector):
//     the builtin map's lookups plus, timed over the same keys in the same
//     order, SipHash minus hash/maphash.String. Its cpu-ns/op and ns/op
//     are that sum, not one loop's time.
func BenchmarkGet(b *testing.B) { benchGet(b, benchSizes, false) }

// BenchmarkGetShuffled is BenchmarkGet's hits at a million entries, looked
// up in a shuffled order: each lookup also misses the cache for its key's
// bytes, as keys from a network would.
func BenchmarkGetShuffled(b *testing.B) { benchGet(b, []int{1000000}, true) }

func benchGet(b *testing.B, sizes []int, shuffle bool) {
	for _, impl := range []string{"hashtable", "hashtable13", "builtin", "tableonly", "budget", "budget13"} {
		b.Run(impl, func(b *testing.B) {
			for _, n := range sizes {
				b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
					hits, misses := benchKeys(n, 1), benchKeys(n, 2)
					if shuffle {
						hits = slices.Clone(hits)
						rand.New(rand.NewPCG(uint64(n), 7)).Shuffle(len(hits), func(i, j int) { hits[i], hits[j] = hits[j], hits[i] })
						misses = nil
					}
					switch impl {
					case "hashtable", "hashtable13", "tableonly":
						var m *Map[string, int]
						switch impl {
						case "hashtable":
							m = New[string, int]()
						case "hashtable13":
							m = New[string, int](WithSipHash13())
						case "tableonly":
							ms := maphash.MakeSeed()
							m = NewFunc[string, int](func(k0, _ uint64, k string) uint64 { return maphash.String(ms, k) ^ k0 })
						}
						for i, k := range hits {
							m.Put(k, i)
						}
						b.Run("hit", func(b *testing.B) { benchGetHashtable(b, m, hits, true) })
						if misses != nil {
							b.Run("miss", func(b *testing.B) { benchGetHashtable(b, m, misses, false) })
						}
					case "builtin", "budget", "budget13":
						m := map[string]int{}
						for i, k := range hits {
							m[k] = i
						}
						var hash func(k0, k1 uint64, key string) uint64
						switch impl {
						case "budget":
							// The scalar code, a little faster than
							// the vector code on its own (see
							// BenchmarkHash): the stricter budget.
							hash = Hash
						case "budget13":
							// The vector code, faster than the
							// scalar code on its own where it runs.
							hash = func(k0, k1 uint64, k string) uint64 { return sipVec13(k0, k1, unsafe.StringData(k), len(k)) }
						}
						b.Run("hit", func(b *testing.B) { benchGetBuiltin(b, m, hits, true, hash) })
						if misses != nil {
							b.Run("miss", func(b *testing.B) { benchGetBuiltin(b, m, misses, false, hash) })
						}
					}
				})
			}
		})
	}
}

func benchGetHashtable(b *testing.B, m *Map[string, int], keys []string, want bool) {
	b.ReportAllocs()
	j := 0
	cpu := benchcpu.Start()
	for b.Loop() {
		if _, ok := m.Get(keys[j]); ok != want {
			b.Fatalf("Get(%q) = %v", keys[j], ok)
		}
		if j++; j == len(keys) {
			j = 0
		}
	}
	cpu.Report(b, 1)
}

// benchGetBuiltin looks keys up in the builtin map. With sip set it is a
// budget: it also times sip and hash/maphash.String over the same keys, as
// many times, and reports the lookups' time plus sip's minus maphash's.
func benchGetBuiltin(b *testing.B, m map[string]int, keys []string, want bool, sip func(k0, k1 uint64, key string) uint64) {
	b.ReportAllocs()
	j := 0
	cpu := benchcpu.Start()
	cpu0, _ := processCPU()
	for b.Loop() {
		if _, ok := m[keys[j]]; ok != want {
			b.Fatalf("m[%q] = %v", keys[j], ok)
		}
		if j++; j == len(keys) {
			j = 0
		}
	}
	if sip == nil {
		cpu.Report(b, 1)
		return
	}
	cpu1, cpuOK := processCPU()
	lookups, lookupsCPU := b.Elapsed(), cpu1-cpu0
	ms := maphash.MakeSeed()
	var sink uint64
	hashTime := func(h func(string) uint64) (wall, cpuTime time.Duration) {
		start := time.Now()
		c0, _ := processCPU()
		j := 0
		for range b.N {
			sink += h(keys[j])
			if j++; j == len(keys) {
				j = 0
			}
		}
		c1, _ := processCPU()
		return time.Since(start), c1 - c0
	}
	sipWall, sipCPU := hashTime(func(k string) uint64 { return sip(1, 2, k) })
	rtWall, rtCPU := hashTime(func(k string) uint64 { return maphash.String(ms, k) })
	benchSink = sink
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	b.ReportMetric(per(lookups+sipWall-rtWall), "ns/op")
	if cpuOK {
		b.ReportMetric(per(lookupsCPU+sipCPU-rtCPU), "cpu-ns/op")
	}
}

var benchSink uint64

// BenchmarkGetChained looks up present keys one after another where each
// key depends on the value the previous lookup returned (each value names
// the next key, in a random cycle through all keys), so no lookup can start
// before the previous one has finished: the latency of one lookup, where
// BenchmarkGet's independent lookups let the processor overlap several.
// It is the same comparison as BenchmarkGet's hits under a different
// access pattern, not a replacement for it.
func BenchmarkGetChained(b *testing.B) {
	for _, impl := range []string{"hashtable", "builtin"} {
		b.Run(impl, func(b *testing.B) {
			for _, n := range benchSizes {
				b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
					keys := benchKeys(n, 1)
					next := rand.New(rand.NewPCG(uint64(n), 5)).Perm(n)
					b.ReportAllocs()
					var cpu benchcpu.Meter // started once the map is built
					defer func() { cpu.Report(b, 1) }()
					j := 0
					switch impl {
					case "hashtable":
						m := New[string, int]()
						for i, k := range keys {
							m.Put(k, next[i])
						}
						b.ResetTimer()
						cpu = benchcpu.Start()
						for b.Loop() {
							v, ok := m.Get(keys[j])
							if !ok {
								b.Fatal("miss")
							}
							j = v
						}
					case "builtin":
						m := make(map[string]int)
						for i, k := range keys {
							m[k] = next[i]
						}
						b.ResetTimer()
						cpu = benchcpu.Start()
						for b.Loop() {
							v, ok := m[keys[j]]
							if !ok {
								b.Fatal("miss")
							}
							j = v
						}
					}
				})
			}
		})
	}
}

// BenchmarkPut builds a map of n entries per iteration, into a map sized
// for n up front (presized) or grown from empty (growing). Besides ns/op
// (per map) it reports ns/entry, and live-B/entry: the heap the finished
// map holds per entry, keys' bytes excluded.
func BenchmarkPut(b *testing.B) {
	for _, impl := range []string{"hashtable", "builtin"} {
		b.Run(impl, func(b *testing.B) {
			for _, n := range benchSizes {
				b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
					keys := benchKeys(n, 1)
					for _, mode := range []string{"presized", "growing"} {
						hint := 0
						if mode == "presized" {
							hint = n
						}
						b.Run(mode, func(b *testing.B) {
							var build func() any
							switch impl {
							case "hashtable":
								build = func() any {
									m := New[string, int](WithCapacity(hint))
									for i, k := range keys {
										m.Put(k, i)
									}
									return m
								}
							case "builtin":
								build = func() any {
									m := make(map[string]int, hint)
									for i, k := range keys {
										m[k] = i
									}
									return m
								}
							}
							live := liveBytes(build) / float64(n)
							b.ReportAllocs()
							cpu := benchcpu.Start()
							for b.Loop() {
								build()
							}
							cpu.Report(b, 1)
							b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
							b.ReportMetric(live, "live-B/entry")
						})
					}
				})
			}
		})
	}
}

var liveSink any

// liveBytes returns the heap that the value built by build keeps alive.
func liveBytes(build func() any) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	liveSink = build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	liveSink = nil
	return float64(after.HeapAlloc) - float64(before.HeapAlloc)
}

// chained is the table PHP had before 5.3.9: DJBX33A, separate chaining.
type chained struct {
	buckets [][]slot[string, int]
	n       int
}

func (c *chained) put(k string, v int) {
	if c.buckets == nil {
		c.buckets = make([][]slot[string, int], 8)
	}
	b := &c.buckets[djbx33a(k)&uint64(len(c.buckets)-1)]
	for i := range *b {
		if (*b)[i].key == k {
			(*b)[i].val = v
			return
		}
	}
	*b = append(*b, slot[string, int]{k, v})
	if c.n++; c.n > len(c.buckets) {
		old := c.buckets
		c.buckets = make([][]slot[string, int], 2*len(old))
		for _, ob := range old {
			for _, s := range ob {
				nb := &c.buckets[djbx33a(s.key)&uint64(len(c.buckets)-1)]
				*nb = append(*nb, s)
			}
		}
	}
}

// BenchmarkFlood inserts 16384 keys that all collide under DJBX33A
// (adversarial) or 16384 random keys of the same 28-byte length (random),
// per iteration, into our map and into a DJBX33A chained table.
func BenchmarkFlood(b *testing.B) {
	const blocks = 14
	sets := map[string][]string{
		"adversarial": equivalentKeys(blocks),
		"random":      randomKeys(1<<blocks, 2*blocks, 3),
	}
	for _, impl := range []string{"hashtable", "djbx33a"} {
		b.Run(impl, func(b *testing.B) {
			b.Run(fmt.Sprintf("n=%d", 1<<blocks), func(b *testing.B) {
				for _, set := range []string{"adversarial", "random"} {
					keys := sets[set]
					b.Run(set, func(b *testing.B) {
						b.ReportAllocs()
						cpu := benchcpu.Start()
						defer cpu.Report(b, 1)
						for b.Loop() {
							switch impl {
							case "hashtable":
								m := New[string, int]()
								for i, k := range keys {
									m.Put(k, i)
								}
							case "djbx33a":
								var c chained
								for i, k := range keys {
									c.put(k, i)
								}
							}
						}
					})
				}
			})
		})
	}
}

// BenchmarkSync runs 90% Get and 10% Put of 10000 20-byte keys from every
// core at once: Sync with SipHash-2-4 (hashtable) and SipHash-1-3
// (hashtable13), sync.Map, and a builtin map behind a sync.RWMutex.
func BenchmarkSync(b *testing.B) { benchSync(b, 26) }

// BenchmarkSyncReads is BenchmarkSync with reads only.
func BenchmarkSyncReads(b *testing.B) { benchSync(b, 0) }

// benchSync runs the maps under writes/256 puts of present keys, the rest
// gets.
func benchSync(b *testing.B, writes uint32) {
	keys := benchKeys(10000, 4)
	mixed := func(b *testing.B, get func(string), put func(string, int)) {
		b.ReportAllocs()
		cpu := benchcpu.Start()
		defer cpu.Report(b, 1)
		b.RunParallel(func(pb *testing.PB) {
			rng := rand.New(rand.NewPCG(rand.Uint64(), 0))
			for pb.Next() {
				r := rng.Uint32()
				k := keys[r%uint32(len(keys))]
				if r>>24 < writes {
					put(k, int(r))
				} else {
					get(k)
				}
			}
		})
	}
	for _, impl := range []string{"hashtable", "hashtable13"} {
		b.Run(impl, func(b *testing.B) {
			var opts []Option
			if impl == "hashtable13" {
				opts = append(opts, WithSipHash13())
			}
			s := NewSync[string, int](opts...)
			for i, k := range keys {
				s.Put(k, i)
			}
			mixed(b, func(k string) { s.Get(k) }, s.Put)
		})
	}
	b.Run("syncmap", func(b *testing.B) {
		var s sync.Map
		for i, k := range keys {
			s.Store(k, i)
		}
		mixed(b, func(k string) { s.Load(k) }, func(k string, v int) { s.Store(k, v) })
	})
	b.Run("rwmutex", func(b *testing.B) {
		var mu sync.RWMutex
		m := map[string]int{}
		for i, k := range keys {
			m[k] = i
		}
		mixed(b, func(k string) {
			mu.RLock()
			_ = m[k]
			mu.RUnlock()
		}, func(k string, v int) {
			mu.Lock()
			m[k] = v
			mu.Unlock()
		})
	})
}

// BenchmarkGetBytes looks up []byte keys in a string-keyed map: no
// allocation, unlike Get(string(b)) where the conversion escapes.
func BenchmarkGetBytes(b *testing.B) {
	keys := benchKeys(1000, 1)
	m := New[string, int]()
	bkeys := make([][]byte, len(keys))
	for i, k := range keys {
		m.Put(k, i)
		bkeys[i] = []byte(k)
	}
	b.ReportAllocs()
	j := 0
	for b.Loop() {
		if _, ok := GetBytes(m, bkeys[j]); !ok {
			b.Fatal("miss")
		}
		if j++; j == len(bkeys) {
			j = 0
		}
	}
}

// BenchmarkHash measures the hash of a 20-byte key: SipHash-2-4 (Hash),
// SipHash-1-3 (what WithSipHash13 uses), both also in vector registers
// (large maps use them where the processor allows it; elsewhere the
// "vector" rows run the scalar code), and the runtime's hash through
// hash/maphash.
func BenchmarkHash(b *testing.B) {
	k := benchKeys(1000, 1)[0]
	ms := maphash.MakeSeed()
	for _, c := range []struct {
		name string
		hash func(string) uint64
	}{
		{"siphash24", func(k string) uint64 { return Hash(1, 2, k) }},
		{"siphash13", func(k string) uint64 { return hash13(1, 2, k) }},
		{"siphash24vector", func(k string) uint64 { return sipVec24(1, 2, unsafe.StringData(k), len(k)) }},
		{"siphash13vector", func(k string) uint64 { return sipVec13(1, 2, unsafe.StringData(k), len(k)) }},
		{"maphash", func(k string) uint64 { return maphash.String(ms, k) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var sink uint64
			for b.Loop() {
				sink += c.hash(k)
			}
			benchSink = sink
		})
	}
}

// BenchmarkGetInt looks up present random int64 keys, in the order they
// were inserted, in a Map and in the builtin map.
func BenchmarkGetInt(b *testing.B) {
	for _, impl := range []string{"hashtable", "builtin"} {
		b.Run(impl, func(b *testing.B) {
			for _, n := range benchSizes {
				b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
					rng := rand.New(rand.NewPCG(uint64(n), 8))
					keys := make([]int64, n)
					for i := range keys {
						keys[i] = int64(rng.Uint64())
					}
					b.ReportAllocs()
					var cpu benchcpu.Meter // started once the map is built
					defer func() { cpu.Report(b, 1) }()
					j := 0
					switch impl {
					case "hashtable":
						m := New[int64, int]()
						for i, k := range keys {
							m.Put(k, i)
						}
						b.ResetTimer()
						cpu = benchcpu.Start()
						for b.Loop() {
							if _, ok := m.Get(keys[j]); !ok {
								b.Fatalf("key %d missing", keys[j])
							}
							if j++; j == len(keys) {
								j = 0
							}
						}
					case "builtin":
						m := make(map[int64]int)
						for i, k := range keys {
							m[k] = i
						}
						b.ResetTimer()
						cpu = benchcpu.Start()
						for b.Loop() {
							if _, ok := m[keys[j]]; !ok {
								b.Fatalf("key %d missing", keys[j])
							}
							if j++; j == len(keys) {
								j = 0
							}
						}
					}
				})
			}
		})
	}
}
