package slowlog

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
)

func TestThresholdBoundary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opt    Option
		d      time.Duration
		logged bool
	}{
		{"default just below", nil, DefaultThreshold - 1, false},
		{"default at", nil, DefaultThreshold, true},
		{"default above", nil, DefaultThreshold + 1, true},
		{"custom below", Threshold(time.Second), time.Second - 1, false},
		{"custom at", Threshold(time.Second), time.Second, true},
		{"zero logs a zero-length call", Threshold(0), 0, true},
		{"negative logs nothing", Threshold(-1), time.Hour, false},
		{"empty tiers log nothing", Tiers(), time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, c, logs := newTest(t, tt.opt)
			timed(l, c, "q", tt.d)
			if got := logs.Len(); got != map[bool]int{false: 0, true: 1}[tt.logged] {
				t.Fatalf("%v call: %d lines, want logged=%v", tt.d, got, tt.logged)
			}
			st, ok := l.StatsOf("q")
			if !ok || st.Count != 1 {
				t.Fatalf("stats %+v, %v: want one call counted whether logged or not", st, ok)
			}
			if (st.Slow == 1) != tt.logged || (l.Len() == 1) != tt.logged {
				t.Fatalf("slow=%d ring=%d, want slow and kept iff logged (%v)", st.Slow, l.Len(), tt.logged)
			}
			if tt.logged {
				e := logs.All()[0]
				if e.Message != Message || e.Level != zapcore.InfoLevel {
					t.Fatalf("line %q at %v, want %q at info", e.Message, e.Level, Message)
				}
			}
		})
	}
}

func TestTiers(t *testing.T) {
	t.Parallel()
	opt := Tiers(
		Tier{Over: time.Second, Level: zapcore.WarnLevel},
		Tier{Over: 100 * time.Millisecond, Level: zapcore.DebugLevel}, // replaced below
		Tier{Over: 10 * time.Second, Level: zapcore.FatalLevel},       // lowered to Error
		Tier{Over: -time.Second, Level: zapcore.ErrorLevel},           // dropped
		Tier{Over: 100 * time.Millisecond, Level: zapcore.InfoLevel},
	)
	tests := []struct {
		d     time.Duration
		lines int
		level zapcore.Level
		tier  string
	}{
		{100*time.Millisecond - 1, 0, 0, ""},
		{100 * time.Millisecond, 1, zapcore.InfoLevel, "100ms"},
		{time.Second - 1, 1, zapcore.InfoLevel, "100ms"},
		{time.Second, 1, zapcore.WarnLevel, "1s"},
		{10*time.Second - 1, 1, zapcore.WarnLevel, "1s"},
		{10 * time.Second, 1, zapcore.ErrorLevel, "10s"},
		{time.Hour, 1, zapcore.ErrorLevel, "10s"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			t.Parallel()
			l, c, logs := newTest(t, opt)
			timed(l, c, "q", tt.d)
			if logs.Len() != tt.lines {
				t.Fatalf("%d lines, want %d", logs.Len(), tt.lines)
			}
			if tt.lines == 0 {
				return
			}
			e := logs.All()[0]
			if tier, _ := field(e, "tier"); e.Level != tt.level || tier != tt.tier {
				t.Fatalf("level %v tier %v, want %v %q", e.Level, tier, tt.level, tt.tier)
			}
			got := l.Entries()[0].Tier
			if got.Level != tt.level || got.Over.String() != tt.tier {
				t.Fatalf("entry tier %+v, want %v at %s", got, tt.level, tt.tier)
			}
		})
	}
}

func TestLineFields(t *testing.T) {
	t.Parallel()
	l, c, logs := newTest(t)
	d := 12345678 * time.Nanosecond
	s := l.Start("db.query")
	c.Advance(d)
	s.StopErr(errors.New("boom"))
	e := logs.All()[0]
	want := map[string]any{
		"name":     "db.query",
		"duration": d,
		"seconds":  "0.012345678",
		"err":      "boom",
		"tier":     "10ms",
	}
	got := e.ContextMap()
	if len(got) != len(want) {
		t.Fatalf("fields %v, want exactly %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %s = %#v, want %#v", k, got[k], v)
		}
	}
	if st, _ := l.StatsOf("db.query"); st.Errors != 1 {
		t.Errorf("errors = %d, want 1", st.Errors)
	}
}

func TestSeconds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0.000000000"},
		{1, "0.000000001"},
		{12345678, "0.012345678"},
		{time.Second, "1.000000000"},
		{90*time.Second + 5, "90.000000005"},
		{math.MaxInt64, "9223372036.854775807"},
		{-5, "0.000000000"},
	}
	for _, tt := range tests {
		if got := seconds(tt.d); got != tt.want {
			t.Errorf("seconds(%d) = %q, want %q", int64(tt.d), got, tt.want)
		}
	}
	// Every value has nine decimals and parses back to the same duration,
	// so numeric order (sort -n) is duration order.
	nine := regexp.MustCompile(`^[0-9]+\.[0-9]{9}$`)
	prev := -1.0
	for d := time.Duration(1); d > 0 && d < math.MaxInt64/3; d = d*3 + 7 {
		s := seconds(d)
		if !nine.MatchString(s) {
			t.Fatalf("seconds(%d) = %q: want nine decimals", int64(d), s)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < prev {
			t.Fatalf("seconds(%d) = %q: does not sort after %v (%v)", int64(d), s, prev, err)
		}
		prev = f
	}
}

func TestAlwaysAndAfter(t *testing.T) {
	t.Parallel()
	l, c, logs := newTest(t, Tiers(Tier{Over: time.Second, Level: zapcore.WarnLevel}))
	timed(l, c, "fast", time.Millisecond, Always())
	e := logs.All()[0]
	if tier, _ := field(e, "tier"); tier != "always" || e.Level != zapcore.WarnLevel {
		t.Fatalf("always line: tier %v level %v, want always at the lowest tier's level", tier, e.Level)
	}
	if l.Len() != 0 {
		t.Fatalf("a fast Always call entered the ring")
	}
	if st, _ := l.StatsOf("fast"); st.Slow != 0 {
		t.Fatalf("a fast Always call counted slow")
	}
	timed(l, c, "slow", 2*time.Second, Always())
	if tier, _ := field(logs.All()[1], "tier"); tier != "1s" {
		t.Fatalf("slow Always call: tier %v, want the threshold 1s", tier)
	}

	timed(l, c, "batch", 2*time.Second, After(time.Minute))
	if logs.Len() != 2 {
		t.Fatalf("After(1m) call of 2s was logged")
	}
	timed(l, c, "batch", time.Minute, After(time.Minute))
	if tier, _ := field(logs.All()[2], "tier"); tier != "1m0s" {
		t.Fatalf("After(1m) call of 1m: tier %v", tier)
	}
	timed(l, c, "never", time.Hour, After(-1))
	if logs.Len() != 3 {
		t.Fatalf("After(-1) call was logged")
	}

	// Always still logs when logging of slow calls is off.
	l2, c2, logs2 := newTest(t, Threshold(-1))
	timed(l2, c2, "x", 0, Always())
	if logs2.Len() != 1 || logs2.All()[0].Level != zapcore.InfoLevel {
		t.Fatalf("Always with logging off: %d lines", logs2.Len())
	}
}

func TestSample(t *testing.T) {
	t.Parallel()
	const n = 20000
	tests := []struct {
		rate float64
		want float64
	}{
		{0, 0}, {-1, 0}, {math.NaN(), 0}, {0.25, 0.25}, {1, 1}, {7, 1},
	}
	for _, tt := range tests {
		l, c, logs := newTest(t, Sample(tt.rate))
		for range n {
			timed(l, c, "q", time.Microsecond)
		}
		got := float64(logs.Len())
		sigma := math.Sqrt(n * tt.want * (1 - tt.want))
		if math.Abs(got-n*tt.want) > 5*sigma {
			t.Errorf("Sample(%v): %v of %d logged, want %v ± %v", tt.rate, got, n, n*tt.want, 5*sigma)
		}
		for _, e := range logs.All() {
			if tier, _ := field(e, "tier"); e.Level != zapcore.DebugLevel || tier != "sample" {
				t.Fatalf("sampled line at %v tier %v, want debug sample", e.Level, tier)
			}
		}
		if l.Len() != 0 {
			t.Fatalf("sampled calls entered the ring")
		}
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	l, c, logs := newTest(t, Threshold(0), RateLimit(2, time.Second))
	for range 5 {
		timed(l, c, "hot", time.Millisecond)
	}
	timed(l, c, "cold", time.Millisecond)
	if logs.Len() != 3 {
		t.Fatalf("%d lines in the first window, want 2 for hot and 1 for cold", logs.Len())
	}
	for _, e := range logs.All() {
		if _, ok := field(e, "suppressed"); ok {
			t.Fatalf("line with suppressed before anything was suppressed")
		}
	}
	c.Advance(time.Second)
	timed(l, c, "hot", time.Millisecond)
	last := logs.All()[logs.Len()-1]
	if v, _ := field(last, "suppressed"); v != uint64(3) {
		t.Fatalf("suppressed = %v, want 3", v)
	}
	timed(l, c, "hot", time.Millisecond)
	if _, ok := field(logs.All()[logs.Len()-1], "suppressed"); ok {
		t.Fatalf("suppressed repeated on the following line")
	}
	if l.Len() != 8 {
		t.Fatalf("ring has %d, want all 8 slow calls", l.Len())
	}
	if st, _ := l.StatsOf("hot"); st.Count != 7 || st.Slow != 7 {
		t.Fatalf("stats %+v, want 7 calls counted", st)
	}
}

func TestRing(t *testing.T) {
	t.Parallel()
	l, c, _ := newTest(t, Keep(3), Threshold(time.Millisecond))
	start := c.Now()
	for i := range 5 {
		timed(l, c, "call"+strconv.Itoa(i), time.Duration(i+1)*time.Millisecond)
	}
	es := l.Entries()
	if len(es) != 3 || l.Len() != 3 {
		t.Fatalf("%d entries, want 3", len(es))
	}
	for i, e := range es {
		k := 4 - i
		if e.ID != uint64(k+1) || e.Name != "call"+strconv.Itoa(k) || e.Duration != time.Duration(k+1)*time.Millisecond {
			t.Fatalf("entry %d = %+v, want call%d, newest first", i, e, k)
		}
	}
	// Start is the clock at Start: the sum of the earlier durations.
	if want := start.Add(10 * time.Millisecond); !es[0].Start.Equal(want) {
		t.Fatalf("start %v, want %v", es[0].Start, want)
	}
	es[0].Name = "changed"
	if l.Entries()[0].Name == "changed" {
		t.Fatalf("Entries returned the ring itself")
	}
	l.Reset()
	if len(l.Entries()) != 0 || len(l.Stats()) != 0 {
		t.Fatalf("Reset left %d entries, %d stats", len(l.Entries()), len(l.Stats()))
	}
	timed(l, c, "after", time.Second)
	if e := l.Entries(); len(e) != 1 || e[0].ID != 6 {
		t.Fatalf("after Reset: %+v, want one entry with ID 6", e)
	}

	l0, c0, logs0 := newTest(t, Keep(0))
	timed(l0, c0, "x", time.Second)
	if l0.Entries() != nil || l0.Len() != 0 || logs0.Len() != 1 {
		t.Fatalf("Keep(0): entries %v, lines %d", l0.Entries(), logs0.Len())
	}
}

func TestMaxNames(t *testing.T) {
	t.Parallel()
	l, c, logs := newTest(t, MaxNames(2))
	for _, n := range []string{"a", "b", "c", "d", "a"} {
		timed(l, c, n, time.Second)
	}
	var names []string
	for _, s := range l.Stats() {
		names = append(names, s.Name+"="+strconv.FormatUint(s.Count, 10))
	}
	if got := names; len(got) != 3 || got[0] != OtherName+"=2" || got[1] != "a=2" || got[2] != "b=1" {
		t.Fatalf("stats %v, want (other)=2 a=2 b=1", got)
	}
	if v, _ := field(logs.All()[3], "name"); v != "d" {
		t.Fatalf("line name %v, want the call's own name d", v)
	}
	if _, ok := l.StatsOf("c"); ok {
		t.Fatalf("StatsOf(c) found stats past the limit")
	}
	if st, ok := l.StatsOf(OtherName); !ok || st.Count != 2 {
		t.Fatalf("StatsOf(OtherName) = %+v, %v", st, ok)
	}
}

func TestClockBackwards(t *testing.T) {
	t.Parallel()
	l, c, logs := newTest(t, Threshold(0))
	timed(l, c, "q", -time.Second)
	if e := l.Entries()[0]; e.Duration != 0 {
		t.Fatalf("duration %v on a clock going back, want 0", e.Duration)
	}
	if v, _ := field(logs.All()[0], "seconds"); v != "0.000000000" {
		t.Fatalf("seconds %v", v)
	}
}

func TestNilLogAndZeroSpan(t *testing.T) {
	t.Parallel()
	var l *Log
	l.Start("x", Always()).Stop()
	Span{}.Stop()
	Span{}.StopErr(errors.New("x"))
	l.Reset()
	l.Close()
	if l.Entries() != nil || l.Len() != 0 || l.Stats() != nil {
		t.Fatalf("nil Log returned data")
	}
	if _, ok := l.StatsOf("x"); ok {
		t.Fatalf("nil Log has stats")
	}
	New(nil, nil).Start("x").Stop() // nil logger and nil option are ignored
}

func TestFastPathAllocs(t *testing.T) {
	l := New(nil, Threshold(time.Hour))
	l.Start("warm").Stop()
	if n := testing.AllocsPerRun(1000, func() { l.Start("warm").Stop() }); n != 0 {
		t.Fatalf("below-threshold Start/Stop: %v allocs, want 0", n)
	}
	// Sampled calls whose Debug line is disabled cost no allocation either.
	z, _ := observed(zapcore.InfoLevel)
	lc := New(z, WithClock(newClock().Now), Threshold(time.Hour), Sample(0.5))
	lc.Start("warm").Stop()
	if n := testing.AllocsPerRun(1000, func() { lc.Start("warm").Stop() }); n != 0 {
		t.Fatalf("with WithClock and Sample at Info, unlogged call: %v allocs, want 0", n)
	}
}

// TestStress runs calls, readers and Reset at once under the race
// detector; without Reset every call must be counted.
func TestStress(t *testing.T) {
	t.Parallel()
	workers, calls := 8, 2000
	if testing.Short() {
		calls = 200
	}
	names := []string{"a", "b", "c", "d"}
	run := func(l *Log, extra func()) {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range calls {
					s := l.Start(names[(w+i)%len(names)], Always())
					if i%3 == 0 {
						s.StopErr(errors.New("x"))
					} else {
						s.Stop()
					}
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		for {
			select {
			case <-done:
				return
			default:
				extra()
			}
		}
	}
	z, _ := observed(zapcore.InfoLevel)
	l := New(z, Threshold(0), Keep(16), RateLimit(5, time.Millisecond), Watch(time.Millisecond))
	defer l.Close()
	run(l, func() { _ = l.Entries(); _ = l.Stats(); l.scan() })
	var total uint64
	for _, s := range l.Stats() {
		total += s.Count
		if s.Count != s.Slow {
			t.Errorf("%s: count %d slow %d, want every call slow", s.Name, s.Count, s.Slow)
		}
	}
	if total != uint64(workers*calls) {
		t.Fatalf("counted %d calls, want %d", total, workers*calls)
	}
	es := l.Entries()
	for i := 1; i < len(es); i++ {
		if es[i].ID >= es[i-1].ID {
			t.Fatalf("entries not newest first: %d then %d", es[i-1].ID, es[i].ID)
		}
	}
	l2 := New(z, Threshold(0))
	run(l2, func() { l2.Reset(); _ = l2.Stats() })
}

func TestOptionBounds(t *testing.T) {
	t.Parallel()
	if l := New(nil, Keep(math.MaxInt)); len(l.ring.buf) != MaxKeep {
		t.Fatalf("Keep(MaxInt) allocated %d entries, want MaxKeep", len(l.ring.buf))
	}
	if l := New(nil, Keep(-3)); len(l.ring.buf) != 0 {
		t.Fatalf("Keep(-3) allocated %d", len(l.ring.buf))
	}
	if l := New(nil, MaxNames(-1)); l.maxNames != 1 {
		t.Fatalf("MaxNames(-1) = %d", l.maxNames)
	}
	if l := New(nil, RateLimit(0, time.Second)); l.limitN != 0 {
		t.Fatalf("RateLimit(0, 1s) limits")
	}
	l := New(nil, WithClock(nil), Watch(-time.Second))
	if l.now != nil || l.w != nil {
		t.Fatalf("WithClock(nil) or Watch(-1s) took effect")
	}
	l.Start("x").Stop()
}
