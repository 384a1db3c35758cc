package main

import (
	byteorder "encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// maxOthers is the most CPU, in cores on average over the run, that
// processes other than benchratio and its children may use for the
// table to be written into the README. Another program's work slows ours
// and the baselines' unequally (it takes the caches and memory bandwidth a
// lookup waits on), so a busy machine's ratios are wrong both ways.
const maxOthers = 0.1

// procfs reads how busy the machine is from a /proc file system: the
// whole machine's non-idle CPU time (stat), this process's own and its
// waited-for children's CPU time (self/stat), and the load average
// (loadavg). Tests point root at synthetic files.
type procfs struct {
	root string
	hz   float64 // clock ticks per second of stat and self/stat
}

func newProcfs(root string) procfs {
	return procfs{root: root, hz: clockTicks(filepath.Join(root, "self", "auxv"))}
}

// sample is one look at the machine.
type sample struct {
	at      time.Time
	hz      float64 // clock ticks per second
	busy    uint64  // ticks all processors spent not idle since boot
	own     uint64  // ticks of CPU this process and its waited-for children used
	loadavg float64 // the 1-minute load average
}

func (p procfs) sample() (sample, error) {
	s := sample{at: time.Now(), hz: p.hz}
	b, err := os.ReadFile(filepath.Join(p.root, "stat"))
	if err != nil {
		return s, err
	}
	if s.busy, err = parseStat(b); err != nil {
		return s, err
	}
	b, err = os.ReadFile(filepath.Join(p.root, "self", "stat"))
	if err != nil {
		return s, err
	}
	if s.own, err = parseSelfStat(b); err != nil {
		return s, err
	}
	b, err = os.ReadFile(filepath.Join(p.root, "loadavg"))
	if err != nil {
		return s, err
	}
	if s.loadavg, err = parseLoadavg(b); err != nil {
		return s, err
	}
	return s, nil
}

// parseStat returns the clock ticks all processors spent not idle, from
// the "cpu" line of /proc/stat: user, nice, system, irq, softirq and steal
// (time a hypervisor gave another guest: a neighbour's work too). Idle and
// iowait are the rest; guest time is already counted in user and nice.
func parseStat(b []byte) (uint64, error) {
	for l := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] != "cpu" {
			continue
		}
		if len(f) < 5 {
			return 0, fmt.Errorf("/proc/stat: short cpu line %q", l)
		}
		var busy uint64
		for i, v := range f[1:] {
			if i == 3 || i == 4 || i >= 8 { // idle, iowait, guest, guest_nice
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/stat: cpu line %q: %v", l, err)
			}
			busy += n
		}
		return busy, nil
	}
	return 0, errors.New("/proc/stat: no cpu line")
}

// parseSelfStat returns the clock ticks of CPU that a process and its
// waited-for children used, from its /proc/PID/stat: utime, stime, cutime
// and cstime, fields 14 to 17. The command name (field 2) may hold spaces
// and parentheses, so the fields are counted from its last ')'.
func parseSelfStat(b []byte) (uint64, error) {
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("/proc/self/stat: no command name")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3, the state
	if len(f) < 15 {
		return 0, fmt.Errorf("/proc/self/stat: %d fields after the command name, want at least 15", len(f))
	}
	var t uint64
	for _, v := range f[11:15] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/self/stat: %v", err)
		}
		t += n
	}
	return t, nil
}

// parseLoadavg returns the 1-minute load average of /proc/loadavg.
func parseLoadavg(b []byte) (float64, error) {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, errors.New("/proc/loadavg: empty")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/loadavg: %v", err)
	}
	return v, nil
}

// clockTicks returns the clock ticks per second of /proc's CPU times
// (USER_HZ), which the kernel passes every process in its auxiliary vector
// as AT_CLKTCK; 100, its value on nearly every Linux, if that cannot be
// read.
func clockTicks(auxv string) float64 {
	const atClktck = 17
	b, err := os.ReadFile(auxv)
	if err != nil {
		return 100
	}
	word := int(unsafe.Sizeof(uintptr(0)))
	get := func(p []byte) uint64 {
		if word == 4 {
			return uint64(byteorder.NativeEndian.Uint32(p))
		}
		return byteorder.NativeEndian.Uint64(p)
	}
	for i := 0; i+2*word <= len(b); i += 2 * word {
		if k, v := get(b[i:]), get(b[i+word:]); k == atClktck && v > 0 {
			return float64(v)
		}
	}
	return 100
}

// load is how busy the machine was between two samples.
type load struct {
	measured bool
	why      string        // why not measured
	wall     time.Duration // between the samples
	others   float64       // cores that processes other than ours used on average
	before   float64       // 1-minute load average at the first sample
	after    float64       // and at the second
}

// between accounts for the CPU the machine spent between a and b: all of
// its non-idle time, less what this process and its children used (its
// test binaries, the go command that built them, and their own children,
// such as a Python peer, once waited for), is the other processes'.
func between(a, b sample) load {
	l := load{measured: true, wall: b.at.Sub(a.at), before: a.loadavg, after: b.loadavg}
	if l.wall <= 0 {
		return load{why: "no time passed between the samples"}
	}
	// Tick rounding can make it slightly negative on an idle machine.
	others := (float64(b.busy) - float64(a.busy)) - (float64(b.own) - float64(a.own))
	l.others = max(0, others) / a.hz / l.wall.Seconds()
	return l
}

// busy says whether the load is too high for the README, or unknown.
func (l load) busy() bool { return !l.measured || l.others > maxOthers }

// String is the load as the table's stamp says it.
func (l load) String() string {
	if !l.measured {
		return "load not measured (" + l.why + ")"
	}
	return fmt.Sprintf("other processes used %.2f cores on average (limit %.1f), load average %.2f before and %.2f after (with benchratio's own)",
		l.others, maxOthers, l.before, l.after)
}

// loadMeter follows the load from the start of a run.
type loadMeter struct {
	proc  procfs
	start sample
	err   error // the first sample failed: nothing measured
}

func startLoad(p procfs) *loadMeter {
	s, err := p.sample()
	return &loadMeter{proc: p, start: s, err: err}
}

// now returns the load from the start until now.
func (m *loadMeter) now() load {
	if m.err != nil {
		return load{why: m.err.Error()}
	}
	s, err := m.proc.sample()
	if err != nil {
		return load{why: err.Error()}
	}
	return between(m.start, s)
}

// refuse returns why a run with this load must not be written into the
// README, or nil.
func refuse(l load, force bool) error {
	switch {
	case force || !l.busy():
		return nil
	case !l.measured:
		return fmt.Errorf("cannot tell how busy the machine was (%s), so the table was not written into the README; run on Linux, or pass -force and the stamp will say so", l.why)
	default:
		return fmt.Errorf("the machine was busy: processes other than benchratio used %.2f cores on average (limit %.1f), so the table was not written into the README; stop the other work (a test suite, a second benchmark, a build) and run again, or pass -force and the stamp will say so",
			l.others, maxOthers)
	}
}
