package slowlog

import (
	"math/bits"
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

// MaxRelativeError bounds the error of the quantiles in Stats: a reported
// P50, P90 or P99 differs from the exact nearest-rank quantile of the
// recorded durations by at most this fraction of the exact value (half a
// bucket of a histogram with 16 buckets per power of two: 1/32).
const MaxRelativeError = 1.0 / (2 * subCount)

// stats are the statistics of one name. The histogram, max and counters
// are atomics: the hot path adds to one bucket and, rarely, raises max.
type stats struct {
	name    string
	buckets [nBuckets]atomic.Uint64
	max     atomic.Int64
	slow    atomic.Uint64
	errors  atomic.Uint64

	mu         sync.Mutex // the rate limit window below
	winStarted bool
	winStart   int64
	winCount   int
	suppressed uint64
}

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

func (s *stats) observe(d int64) {
	s.buckets[bucketOf(uint64(d))].Add(1)
	for {
		m := s.max.Load()
		if d <= m || s.max.CompareAndSwap(m, d) {
			return
		}
	}
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
}

func (s *stats) snapshot() Stats {
	var counts [nBuckets]uint64
	var n uint64
	for i := range s.buckets {
		counts[i] = s.buckets[i].Load()
		n += counts[i]
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
	m := *l.names.Load()
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
	st, ok := (*l.names.Load())[name]
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
