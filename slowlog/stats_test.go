package slowlog

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	t.Parallel()
	if got := bucketOf(math.MaxInt64); got != nBuckets-1 {
		t.Fatalf("bucketOf(MaxInt64) = %d, want the last bucket %d", got, nBuckets-1)
	}
	r := rand.New(rand.NewPCG(1, 2))
	check := func(v uint64) {
		i := bucketOf(v)
		mid := bucketMid(i)
		if err := math.Abs(float64(mid)-float64(v)) / math.Max(float64(v), 1); err > MaxRelativeError {
			t.Fatalf("value %d in bucket %d reported as %d: relative error %v > %v", v, i, mid, err, MaxRelativeError)
		}
		if i > 0 && bucketOf(v-1) > i {
			t.Fatalf("bucketOf not monotonic at %d", v)
		}
	}
	for v := range uint64(5000) {
		check(v)
	}
	for range 100000 {
		check(r.Uint64N(math.MaxInt64) >> r.UintN(63))
	}
	for e := range 63 {
		check(1 << e)
		check(1<<e - 1)
	}
}

// TestPercentiles checks the histogram's quantiles against an exact sort
// of the same durations, within MaxRelativeError.
func TestPercentiles(t *testing.T) {
	t.Parallel()
	dists := map[string]func(r *rand.Rand) time.Duration{
		"log-uniform 1ns..10s": func(r *rand.Rand) time.Duration {
			return time.Duration(math.Exp(r.Float64() * math.Log(10e9)))
		},
		"normal around 5ms": func(r *rand.Rand) time.Duration {
			return time.Duration(max(0, 5e6+r.NormFloat64()*1e6))
		},
		"few distinct": func(r *rand.Rand) time.Duration {
			return []time.Duration{3, time.Millisecond, time.Second}[r.IntN(3)]
		},
		"one value": func(r *rand.Rand) time.Duration { return 777 * time.Microsecond },
	}
	for name, dist := range dists {
		for _, n := range []int{1, 2, 99, 100, 101, 5000} {
			l, c, _ := newTest(t, Threshold(time.Second))
			r := rand.New(rand.NewPCG(uint64(n), 7))
			ds := make([]time.Duration, n)
			var slow uint64
			for i := range ds {
				ds[i] = dist(r)
				if ds[i] >= time.Second {
					slow++
				}
				timed(l, c, "q", ds[i])
			}
			slices.Sort(ds)
			st, _ := l.StatsOf("q")
			if st.Count != uint64(n) || st.Slow != slow || st.Max != ds[n-1] {
				t.Fatalf("%s n=%d: count %d slow %d max %v, want %d %d %v", name, n, st.Count, st.Slow, st.Max, n, slow, ds[n-1])
			}
			for _, q := range []struct {
				p   int
				got time.Duration
			}{{50, st.P50}, {90, st.P90}, {99, st.P99}} {
				rank := (n*q.p + 99) / 100 // nearest rank: ceil(n*p/100)
				exact := ds[max(rank, 1)-1]
				if err := math.Abs(float64(q.got-exact)) / math.Max(float64(exact), 1); err > MaxRelativeError {
					t.Errorf("%s n=%d: p%d = %v, exact %v: relative error %.4f > %.4f", name, n, q.p, q.got, exact, err, MaxRelativeError)
				}
			}
		}
	}
}

func TestStatsEmpty(t *testing.T) {
	t.Parallel()
	var s stats
	if got := s.snapshot(); got != (Stats{}) {
		t.Fatalf("empty stats = %+v", got)
	}
}

// TestStripes checks that a contended name's stripes are all counted.
func TestStripes(t *testing.T) {
	t.Parallel()
	var s stats
	for range 10 {
		s.observe(int64(time.Millisecond))
	}
	s.stripe()
	s.stripe() // once only
	first := s.stripes.Load()
	s.stripe()
	if s.stripes.Load() != first {
		t.Fatalf("stripe replaced the stripes")
	}
	for range 1000 {
		s.observe(int64(time.Second))
	}
	got := s.snapshot()
	if got.Count != 1010 || got.Max != time.Second || got.P50 < time.Second*31/32 {
		t.Fatalf("striped snapshot %+v, want 1010 calls, median ~1s", got)
	}
	if n := len(*first); n&(n-1) != 0 || n > maxStripes {
		t.Fatalf("%d stripes, want a power of two up to %d", n, maxStripes)
	}
}

// TestContention makes goroutines race on one name until it stripes, and
// checks that no call is lost either way.
func TestContention(t *testing.T) {
	t.Parallel()
	l := New(nil, Threshold(time.Hour))
	const workers, calls = 4, 5000
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				l.Start("hot").Stop()
			}
		}()
	}
	wg.Wait()
	if st, _ := l.StatsOf("hot"); st.Count != workers*calls {
		t.Fatalf("count %d, want %d", st.Count, workers*calls)
	}
}

func TestSumAndHistograms(t *testing.T) {
	t.Parallel()
	l, c, _ := newTest(t, Threshold(time.Hour))
	ds := []time.Duration{3, 7, 1000, 1000, 999_999, time.Millisecond, 5 * time.Millisecond, 2 * time.Second}
	var exact time.Duration
	for _, d := range ds {
		timed(l, c, "q", d)
		exact += d
	}
	st, _ := l.StatsOf("q")
	if diff := float64(st.Sum - exact); diff > float64(exact)*MaxRelativeError || -diff > float64(exact)*MaxRelativeError {
		t.Fatalf("Sum %v, exact %v: off by more than MaxRelativeError", st.Sum, exact)
	}
	bounds := []time.Duration{10, time.Microsecond, time.Millisecond, time.Second}
	hs := l.Histograms(bounds)
	if len(hs) != 1 || hs[0].Name != "q" || hs[0].Count != uint64(len(ds)) || hs[0].Sum != st.Sum {
		t.Fatalf("Histograms = %+v, want one for q matching its Stats %+v", hs, st)
	}
	if want := newClock().Now().Add(3); !hs[0].Start.Equal(want) {
		t.Fatalf("Start %v, want %v, when the first call ended", hs[0].Start, want)
	}
	got := hs[0].Counts
	var n uint64
	for _, k := range got {
		n += k
	}
	if n != uint64(len(ds)) {
		t.Fatalf("counts %v sum to %d, want %d", got, n, len(ds))
	}
	// Each call lands on the side of a bound where its bucket's midpoint
	// is: check against that rule directly.
	var rule [5]uint64
	for _, d := range ds {
		v := time.Duration(min(bucketMid(bucketOf(uint64(d))), int64(st.Max)))
		j := 0
		for j < len(bounds) && bounds[j] < v {
			j++
		}
		rule[j]++
	}
	for i := range rule {
		if got[i] != rule[i] {
			t.Fatalf("counts %v, want %v by the midpoint rule", got, rule)
		}
	}
	if got[0] != 2 || got[4] != 1 {
		t.Fatalf("counts %v: want the two exact small calls first and the 2s call above every bound", got)
	}
	// Bounds that do not ascend get nothing; a nil Log has nothing.
	if hs := l.Histograms([]time.Duration{time.Second, time.Millisecond}); hs[0].Counts[1] != 0 || hs[0].Counts[0]+hs[0].Counts[2] != uint64(len(ds)) {
		t.Fatalf("descending bounds: %v", hs[0].Counts)
	}
	var nl *Log
	if nl.Histograms(bounds) != nil {
		t.Fatal("nil Log has histograms")
	}
}

func TestMaxRelativeErrorIsHalfABucket(t *testing.T) {
	if MaxRelativeError != 1.0/(2*subCount) {
		t.Fatalf("MaxRelativeError = %v, want half a bucket of %d per power of two", MaxRelativeError, subCount)
	}
}
