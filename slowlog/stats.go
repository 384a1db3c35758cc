package slowlog

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The histogram has exact buckets for 0..15 ns and then 16 buckets per
// power of two. A bucket [lo, lo+w) above 15 ns has w/lo <= 1/16, and a
// quantile is reported as its bucket's midpoint (never above the observed
// maximum), so a reported quantile is within MaxRelativeError of the exact
// one. The buckets cover every time.Duration.
const (
	subBits  = 4
	subCount = 1 << subBits
	nBuckets = (62 - subBits + 2) << subBits // the last bucket holds math.MaxInt64
)

// MaxRelativeError bounds the error of the quantiles and the sum in Stats:
// a reported P50, P90 or P99 differs from the exact nearest-rank quantile
// of the recorded durations by at most this fraction of the exact value,
// and Sum from the exact total likewise. It is half a bucket of a
// histogram with 16 buckets per power of two: 1/32, about 3.1%.
const MaxRelativeError = 1.0 / 32

// stats are the statistics of one name. The histogram, max and counters
// are atomics: the hot path adds to one bucket and, rarely, raises max.
//
// A name called from many goroutines at once would make every core fight
// for the cache line of one bucket. So the first add that loses a race
// (its compare-and-swap fails) gives the name stripes: one histogram per
// P, up to maxStripes, each add going to a random one. Names that never
// see contention keep the single histogram and its 7.5 KiB.
type stats struct {
	name       string
	since      time.Time // wall clock when the stats were made
	max        atomic.Int64
	slow       atomic.Uint64
	errors     atomic.Uint64
	mu         sync.Mutex // the rate limit window below
	winStarted bool
	winStart   int64
	winCount   int
	suppressed uint64
	_          [64]byte // keep the fields above off the buckets' lines

	h       histogram
	stripes atomic.Pointer[[]histogram] // nil until contention is seen
}

type histogram struct {
	buckets [nBuckets]atomic.Uint64
}

// maxStripes bounds the stripes of a contended name (120 KiB).
const maxStripes = 16

func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - 1
	return (e-subBits+1)<<subBits | int(v>>(e-subBits)&(subCount-1))
}

// bucketMid is the value reported for a quantile that falls in bucket i.
func bucketMid(i int) int64 {
	if i < subCount {
		return int64(i)
	}
	e := i>>subBits + subBits - 1
	m := i & (subCount - 1)
	lo := uint64(subCount+m) << (e - subBits)
	w := uint64(1) << (e - subBits)
	return int64(lo + w/2)
}

// observe adds a call of d nanoseconds. Log.finish does the same, written
// out.
func (s *stats) observe(d int64) {
	i := bucketOf(uint64(d))
	if st := s.stripes.Load(); st != nil {
		(*st)[rand.Uint32()&uint32(len(*st)-1)].buckets[i].Add(1)
	} else if b := &s.h.buckets[i]; !b.CompareAndSwap(b.Load(), b.Load()+1) {
		s.contended(i)
	}
	if d > s.max.Load() {
		s.raiseMax(d)
	}
}

// contended adds to bucket i after a compare-and-swap on it failed because
// another goroutine updated it at once, and stripes s.
func (s *stats) contended(i int) {
	s.h.buckets[i].Add(1)
	s.stripe()
}

// raiseMax raises the maximum to d unless another call raised it higher.
func (s *stats) raiseMax(d int64) {
	for {
		m := s.max.Load()
		if d <= m || s.max.CompareAndSwap(m, d) {
			return
		}
	}
}

// stripe gives s its stripes, once.
func (s *stats) stripe() {
	n := 1
	for n < min(runtime.GOMAXPROCS(0), maxStripes) {
		n *= 2
	}
	st := make([]histogram, n)
	s.stripes.CompareAndSwap(nil, &st)
}

// Stats are the statistics of one name since it was first seen or since
// the last Reset. The quantiles come from a fixed log-bucketed histogram:
// each is within MaxRelativeError of the exact nearest-rank quantile. A
// Stats is read bucket by bucket while calls may still be recorded, so it
// is not one atomic snapshot; Count is always the sum of the histogram.
type Stats struct {
	Name   string        `json:"name"`
	Count  uint64        `json:"count"`  // calls that ended
	Slow   uint64        `json:"slow"`   // calls that reached a threshold
	Errors uint64        `json:"errors"` // calls that ended with an error
	P50    time.Duration `json:"p50_ns"`
	P90    time.Duration `json:"p90_ns"`
	P99    time.Duration `json:"p99_ns"`
	Max    time.Duration `json:"max_ns"`
	Sum    time.Duration `json:"sum_ns"` // total time, within MaxRelativeError: each call counted at its bucket's midpoint
}

func (s *stats) snapshot() Stats {
	var counts [nBuckets]uint64
	return s.snapshotInto(&counts)
}

// snapshotInto reads the histogram into counts and returns the Stats.
func (s *stats) snapshotInto(counts *[nBuckets]uint64) Stats {
	var n uint64
	add := func(h *histogram) {
		for i := range h.buckets {
			c := h.buckets[i].Load()
			counts[i] += c
			n += c
		}
	}
	add(&s.h)
	if st := s.stripes.Load(); st != nil {
		for i := range *st {
			add(&(*st)[i])
		}
	}
	mx := s.max.Load()
	out := Stats{
		Name:   s.name,
		Count:  n,
		Slow:   s.slow.Load(),
		Errors: s.errors.Load(),
		Max:    time.Duration(mx),
	}
	if n == 0 {
		return out
	}
	var sum uint64
	for i, k := range counts {
		if k == 0 {
			continue
		}
		hi, lo := bits.Mul64(k, uint64(min(bucketMid(i), mx)))
		var carry uint64
		sum, carry = bits.Add64(sum, lo, 0)
		if hi != 0 || carry != 0 || sum > math.MaxInt64 {
			sum = math.MaxInt64
			break
		}
	}
	out.Sum = time.Duration(sum)
	q := func(num, den uint64) time.Duration {
		// nearest rank: the ceil(n*num/den)-th smallest value
		hi, lo := bits.Mul64(n, num)
		rank, rem := bits.Div64(hi, lo, den)
		if rem != 0 {
			rank++
		}
		rank = max(rank, 1)
		var c uint64
		for i, k := range counts {
			c += k
			if c >= rank {
				return time.Duration(min(bucketMid(i), mx))
			}
		}
		return time.Duration(mx)
	}
	out.P50, out.P90, out.P99 = q(50, 100), q(90, 100), q(99, 100)
	return out
}

// Stats returns the statistics of every name seen since the last Reset,
// sorted by name; the calls past the MaxNames limit are under OtherName.
func (l *Log) Stats() []Stats {
	if l == nil {
		return nil
	}
	m := l.names.Load().m
	out := make([]Stats, 0, len(m)+1)
	for _, st := range m {
		out = append(out, st.snapshot())
	}
	if st := l.other.Load(); st != nil {
		out = append(out, st.snapshot())
	}
	slices.SortFunc(out, func(a, b Stats) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// StatsOf returns the statistics of one name, and false when no call of
// that name has ended since the last Reset.
func (l *Log) StatsOf(name string) (Stats, bool) {
	if l == nil {
		return Stats{}, false
	}
	st, ok := l.names.Load().m[name]
	if !ok {
		if name != OtherName {
			return Stats{}, false
		}
		if st = l.other.Load(); st == nil {
			return Stats{}, false
		}
	}
	return st.snapshot(), true
}

// A Histogram is the distribution of one name's durations over bounds
// that the reader chooses, for metric systems that aggregate histograms
// across processes (see the module otelslowlog).
type Histogram struct {
	Stats
	// Start is when these statistics began: when the first call of the
	// name since New or the last Reset ended.
	Start time.Time
	// Counts has one count more than the bounds: Counts[i] is the number
	// of calls that took more than bounds[i-1] and at most bounds[i], the
	// last the calls above every bound. A call is placed by the midpoint
	// of its bucket in the Log's histogram, as for Sum, so a call within
	// MaxRelativeError of a bound may be counted on its other side.
	Counts []uint64
}

// Histograms returns the histogram of every name seen since the last
// Reset over bounds, sorted by name, like Stats. Bounds must ascend; a
// bound not above the one before it is ignored (its count stays 0).
// Histograms only reads: it costs the timed calls nothing.
func (l *Log) Histograms(bounds []time.Duration) []Histogram {
	if l == nil {
		return nil
	}
	t := l.names.Load()
	all := make([]*stats, 0, len(t.m)+1)
	for _, st := range t.m {
		all = append(all, st)
	}
	if st := l.other.Load(); st != nil {
		all = append(all, st)
	}
	out := make([]Histogram, 0, len(all))
	var counts [nBuckets]uint64
	for _, st := range all {
		clear(counts[:])
		h := Histogram{Stats: st.snapshotInto(&counts), Start: st.since, Counts: make([]uint64, len(bounds)+1)}
		j := 0
		for i, k := range counts {
			if k == 0 {
				continue
			}
			// v does not decrease with i, so the bound only moves up.
			v := time.Duration(min(bucketMid(i), int64(h.Max)))
			for j < len(bounds) && bounds[j] < v {
				j++
			}
			h.Counts[j] += k
		}
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Histogram) int { return strings.Compare(a.Name, b.Name) })
	return out
}
