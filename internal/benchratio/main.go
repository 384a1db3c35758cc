// Command benchratio reads `go test -bench` output and prints, for every
// benchmark family, the median of each sturdy implementation over the
// median of the baseline measured in the same run: the ratios the README
// quotes.
//
//	go test -run '^$' -bench . -benchmem -count 6 ./... | tee bench.txt
//	go run ./internal/benchratio < bench.txt
//
// A family's sub-benchmarks are named Family/impl/rest; the table below
// says which impl is ours and which is the baseline. The ratio is
// ours/baseline of the medians;
// every unit a benchmark reports is compared (ns/op, cpu-ns/op, B/op,
// custom metrics); for MB/s, where more is better, the line says so.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// pair names the implementation measured and its baseline in a family.
type pair struct{ ours, base string }

// families maps a benchmark family to its comparisons, in the order
// printed.
var families = map[string][]pair{
	"Notify":      {{"observer", "loop"}},
	"NotifyAsync": {{"observer", "chan"}},
	"FastPath":    {{"slowlog", "bare"}},
	"SlowPath":    {{"slowlog", "zap"}},
	"Get":         {{"hashtable", "builtin"}, {"tableonly", "builtin"}},
	"Put":         {{"hashtable", "builtin"}},
	"Sync":        {{"hashtable", "syncmap"}, {"hashtable", "rwmutex"}},
	"Dial":        {{"tlsutil", "cryptotls"}},
	"Throughput":  {{"bio", "tlspipe"}},
	"Handshake":   {{"bio", "tlspipe"}},
	"VsPython":    {{"bio", "python-memorybio"}},
	"Start":       {{"fork", "exec"}},
}

// withinFamily are families whose ratio is between two inputs of one
// implementation: Flood compares adversarial keys with random ones.
var withinFamily = map[string]pair{"Flood": {"adversarial", "random"}}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "benchratio: %v\n", err)
		os.Exit(1)
	}
}

// samples holds every value seen, by benchmark name and unit.
type samples map[string]map[string][]float64

// parse returns the samples and the units in the order first seen.
func parse(r io.Reader) (samples, []string, error) {
	s := samples{}
	var units []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // drop the -GOMAXPROCS suffix
			}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			if s[name] == nil {
				s[name] = map[string][]float64{}
			}
			if !slices.Contains(units, f[i+1]) {
				units = append(units, f[i+1])
			}
			s[name][f[i+1]] = append(s[name][f[i+1]], v)
		}
	}
	return s, units, sc.Err()
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func ratioLine(s samples, units []string, label, ours, base string) string {
	var parts []string
	for _, unit := range units {
		a, b := s[ours][unit], s[base][unit]
		if len(a) == 0 || len(b) == 0 {
			continue
		}
		ma, mb := median(a), median(b)
		if mb == 0 {
			if ma == 0 {
				parts = append(parts, unit+" 0 vs 0")
			}
			continue
		}
		r := ma / mb
		note := ""
		if unit == "MB/s" {
			note = " (higher is faster)"
		}
		parts = append(parts, fmt.Sprintf("%s %.3g/%.3g = %.2fx%s", unit, ma, mb, r, note))
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("%-44s %s", label, strings.Join(parts, "; "))
}

func run(r io.Reader, w io.Writer) error {
	s, units, err := parse(r)
	if err != nil {
		return err
	}
	if len(s) == 0 {
		return fmt.Errorf("no benchmark lines on standard input")
	}
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	printed := 0
	for _, name := range names {
		seg := strings.Split(name, "/")
		if len(seg) < 2 {
			continue
		}
		fam := seg[0]
		for _, p := range families[fam] {
			if seg[1] != p.ours {
				continue
			}
			base := strings.Join(append([]string{fam, p.base}, seg[2:]...), "/")
			if _, ok := s[base]; !ok {
				continue
			}
			if line := ratioLine(s, units, name+" vs "+p.base, name, base); line != "" {
				fmt.Fprintln(w, line)
				printed++
			}
		}
		if p, ok := withinFamily[fam]; ok && seg[len(seg)-1] == p.ours {
			base := strings.Join(append(slices.Clone(seg[:len(seg)-1]), p.base), "/")
			if _, ok := s[base]; ok {
				if line := ratioLine(s, units, name+" vs "+p.base, name, base); line != "" {
					fmt.Fprintln(w, line)
					printed++
				}
			}
		}
	}
	if printed == 0 {
		return fmt.Errorf("no family with both an implementation and its baseline")
	}
	return nil
}
