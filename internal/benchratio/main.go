// Command benchratio measures every benchmark family of sturdy against its
// baseline and writes the README's benchmark table, from a run on a quiet
// machine only.
//
//	go run ./internal/benchratio                          # every family, print the table
//	go run ./internal/benchratio -readme README.md        # and write it into README.md (nothing else running)
//	go run ./internal/benchratio -readme README.md -force # even from a busy machine, stamped so in bold
//	go run ./internal/benchratio -family Get -rounds 10   # a subset (regexp on the family name)
//
// It builds each package's test binary once (go test -c) and runs, for
// each row of the table in families.go, the sturdy benchmarks and their
// baseline alternately: ours, baseline, baseline, ours, ... each run a
// short -benchtime. Each round gives one ratio ours/baseline per
// sub-benchmark, taken of cpu-ns/op where the benchmark reports it; the
// table shows the median ratio and its spread (min–max) over the rounds. A
// target counts as met only when the whole spread is within it.
//
// It also measures how busy the machine was meanwhile: the CPU time that
// processes other than itself and its children (the test binaries, the go
// command that builds them, the peers they start) used, from /proc/stat
// against /proc/self/stat, and the load average before and after. The
// stamp above the table says it, and -readme refuses to write a run in
// which the others used more than a tenth of one core on average: another
// program's work slows the sturdy side and the baseline unequally, and a
// reader who reruns the command on a quiet machine must get what the
// README says. -force writes it anyway, and the stamp then says so in
// bold.
//
// A row whose benchmarks are absent (renamed, not yet written, or in a
// package that does not build) is printed as "missing" with the reason;
// the command still exits 0, so one package's trouble does not hide the
// others' figures. -readme refuses to write a partial run (-family).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// family is one row group of the table: see families.go.
type family struct {
	Name      string // benchmark function without "Benchmark", as the table shows it
	Pkg       string // package directory, relative to the module root (or a nested module's root)
	Ours      string // -test.bench pattern of the sturdy side
	Base      string // -test.bench pattern of the baseline
	Only      string // if set, a regexp: only the rows whose benchmark name (key) matches
	Unit      string // metric(s) compared; see families.go
	Target    string // "<=X", ">=X" or ""
	Allocs    string // most allocs/op ours may make, or ""
	BenchTime string // overrides -benchtime
	Rounds    int    // if set, at most this many rounds (a metric the load does not move)
	CPU       string // if set, -test.cpu for both sides (GOMAXPROCS), else the machine's
	Label     string // what is compared, for the table
}

func main() {
	var (
		famRE     = flag.String("family", "", "run only the families whose name matches this regexp")
		rounds    = flag.Int("rounds", 8, "rounds: each runs ours and the baseline once")
		benchtime = flag.String("benchtime", "200ms", "-test.benchtime of one run (rows may override it)")
		readme    = flag.String("readme", "", "write the table between the benchratio markers of this file")
		list      = flag.Bool("list", false, "print the families and exit")
		timeout   = flag.Duration("timeout", 5*time.Minute, "give up on one run of a test binary after this long")
		raw       = flag.String("raw", "", "also write every run's output to this file, for checking a figure")
		force     = flag.Bool("force", false, "write -readme even if other processes kept the machine busy (the stamp says so in bold)")
	)
	flag.Parse()
	o := options{family: *famRE, rounds: *rounds, benchtime: *benchtime, readme: *readme, list: *list,
		timeout: *timeout, raw: *raw, force: *force, proc: "/proc"}
	if err := run(os.Stdout, os.Stderr, o); err != nil {
		fmt.Fprintf(os.Stderr, "benchratio: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	family    string
	rounds    int
	benchtime string
	readme    string
	list      bool
	timeout   time.Duration
	raw       string
	force     bool
	proc      string // where /proc is; tests point it at synthetic files
}

func run(stdout, stderr io.Writer, o options) error {
	fams := families
	if o.family != "" {
		re, err := regexp.Compile(o.family)
		if err != nil {
			return fmt.Errorf("-family: %v", err)
		}
		fams = slices.DeleteFunc(slices.Clone(fams), func(f family) bool { return !re.MatchString(f.Name) })
		if len(fams) == 0 {
			return fmt.Errorf("no family matches %q", o.family)
		}
		if o.readme != "" {
			return errors.New("-readme writes the whole table: run without -family")
		}
	}
	if o.list {
		for _, f := range fams {
			fmt.Fprintf(stdout, "%-12s %-12s %-45s %-45s %-10s %s\n", f.Name, f.Pkg, f.Ours, f.Base, f.Unit, f.Target)
		}
		return nil
	}
	if o.rounds < 1 {
		return errors.New("-rounds must be at least 1")
	}
	// From the first build on: the go command building the test
	// binaries is one of our children, whose CPU is ours.
	meter := startLoad(newProcfs(o.proc))
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "benchratio")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	r := &runner{root: root, tmp: tmp, log: stderr, timeout: o.timeout,
		bins: map[string]binary{}, memo: map[runKey]runResult{}, raw: io.Discard}
	if o.raw != "" {
		f, err := os.Create(o.raw)
		if err != nil {
			return err
		}
		defer f.Close()
		r.raw = f
	}
	start := time.Now()
	res := make([][]runPair, len(fams))
	for round := range o.rounds {
		progress := ""
		if round > 0 {
			if l := meter.now(); l.measured {
				progress = fmt.Sprintf(", others %.2f cores so far", l.others)
			}
		}
		fmt.Fprintf(stderr, "round %d/%d (%v%s)\n", round+1, o.rounds, time.Since(start).Round(time.Second), progress)
		for i, f := range fams {
			if f.Rounds > 0 && round >= f.Rounds {
				continue
			}
			bt := o.benchtime
			if f.BenchTime != "" {
				bt = f.BenchTime
			}
			// Alternate which side runs first, so that neither always
			// gets the warmer (or the more disturbed) slot.
			var p runPair
			if round%2 == 0 {
				p.ours = r.run(f.Pkg, f.Ours, bt, f.CPU, round)
				p.base = r.run(f.Pkg, f.Base, bt, f.CPU, round)
			} else {
				p.base = r.run(f.Pkg, f.Base, bt, f.CPU, round)
				p.ours = r.run(f.Pkg, f.Ours, bt, f.CPU, round)
			}
			res[i] = append(res[i], p)
		}
	}
	var rows []row
	for i, f := range fams {
		rows = append(rows, summarize(f, res[i])...)
	}
	st := stamp{
		date:      time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		nproc:     runtime.NumCPU(),
		cpu:       cpuModel(),
		goVersion: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		rounds:    o.rounds,
		benchtime: o.benchtime,
		took:      time.Since(start).Round(time.Second),
		load:      meter.now(),
	}
	st.forced = o.force && st.load.busy()
	writeText(stdout, st, rows)
	if o.readme != "" {
		if err := writeReadme(o.readme, st, rows, o.force); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote the table into %s\n", o.readme)
	}
	return nil
}

// writeReadme puts the table into the file readme, unless the machine was
// busy and force is false.
func writeReadme(readme string, st stamp, rows []row, force bool) error {
	if err := refuse(st.load, force); err != nil {
		return err
	}
	old, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	out, err := replaceMarked(old, markdown(st, rows))
	if err != nil {
		return fmt.Errorf("%s: %v", readme, err)
	}
	return os.WriteFile(readme, out, 0o644)
}

// moduleRoot finds the directory of the go.mod above the working directory.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside a Go module: run from the sturdy checkout")
	}
	return filepath.Dir(mod), nil
}

// --- running test binaries ---

type binary struct {
	path string
	err  error // the build failed
}

type runKey struct {
	pkg, pattern, benchtime, cpu string
	round                        int
}

// runResult is what one run of a test binary printed.
type runResult struct {
	bench map[string]metrics // by benchmark name (no "Benchmark", no -GOMAXPROCS)
	err   error              // the build or the run failed (bench may still hold lines)
}

type runPair struct{ ours, base runResult }

type runner struct {
	root, tmp string
	log       io.Writer
	timeout   time.Duration
	bins      map[string]binary
	memo      map[runKey]runResult
	raw       io.Writer // every run's output, each after a "# round" line
}

// binary returns pkg's test binary, building it on first use.
func (r *runner) binary(pkg string) binary {
	if b, ok := r.bins[pkg]; ok {
		return b
	}
	path := filepath.Join(r.tmp, strings.NewReplacer("/", "_", ".", "_").Replace(pkg)+".test")
	fmt.Fprintf(r.log, "building %s\n", pkg)
	cmd := exec.Command("go", "test", "-c", "-o", path, pkg)
	cmd.Dir = r.root
	if pkg != "." && isModule(filepath.Join(r.root, pkg)) {
		// A module of its own (examples/eventloop): built from its
		// directory, with its own go.mod.
		cmd = exec.Command("go", "test", "-c", "-o", path, ".")
		cmd.Dir = filepath.Join(r.root, pkg)
	}
	out, err := cmd.CombinedOutput()
	b := binary{path: path}
	if err != nil {
		b.err = fmt.Errorf("does not build: %s", firstLine(out, err))
	} else if _, err := os.Stat(path); err != nil {
		b.err = errors.New("has no tests to build") // go test -c writes nothing then
	}
	r.bins[pkg] = b
	return b
}

// isModule reports whether dir holds a go.mod of its own.
func isModule(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "go.mod"))
	return err == nil
}

// run runs the benchmarks of pkg matching pattern once, with -test.cpu set
// to cpu unless it is empty. A run with the same arguments in the same
// round (two rows sharing a side) is done once.
func (r *runner) run(pkg, pattern, benchtime, cpu string, round int) runResult {
	k := runKey{pkg, pattern, benchtime, cpu, round}
	if res, ok := r.memo[k]; ok {
		return res
	}
	b := r.binary(pkg)
	if b.err != nil {
		return runResult{err: b.err}
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	args := []string{"-test.run", "^$", "-test.bench", testPattern(pattern),
		"-test.benchtime", benchtime, "-test.count", "1", "-test.benchmem"}
	if cpu != "" {
		args = append(args, "-test.cpu", cpu)
	}
	cmd := exec.CommandContext(ctx, b.path, args...)
	cmd.Dir = filepath.Join(r.root, pkg) // as go test does: testdata is relative to it
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	fmt.Fprintf(r.raw, "# round %d %s %s (%v)\n%s", round+1, pkg, pattern, time.Since(t0).Round(time.Millisecond), out.Bytes())
	res := runResult{bench: parse(out.Bytes())}
	if err != nil {
		res.err = fmt.Errorf("%s -test.bench %q failed: %s", pkg, pattern, failLine(out.Bytes(), err))
		fmt.Fprintf(r.log, "  %v\n", res.err)
	}
	r.memo[k] = res
	return res
}

func firstLine(out []byte, err error) string {
	for l := range strings.SplitSeq(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return err.Error()
}

// failLine picks the most telling line of a failed run's output.
func failLine(out []byte, err error) string {
	lines := strings.Split(string(out), "\n")
	for _, l := range lines {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "--- FAIL") || strings.HasPrefix(t, "panic:") {
			return t
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if t := strings.TrimSpace(lines[i]); t != "" && t != "FAIL" && !strings.HasPrefix(t, "exit status") {
			return t
		}
	}
	return err.Error()
}

// --- parsing ---

// metrics is one benchmark line's values by unit.
type metrics map[string]float64

// parse reads the benchmark lines of go test output: "BenchmarkName-N
// iterations value unit value unit ...". A name seen twice keeps its
// first line.
func parse(out []byte) map[string]metrics {
	res := map[string]metrics{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // not a result line (a benchmark's own log output)
		}
		name := trimProcs(strings.TrimPrefix(f[0], "Benchmark"))
		if _, ok := res[name]; ok {
			continue
		}
		m := metrics{}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				m[f[i+1]] = v
			}
		}
		if len(m) > 0 {
			res[name] = m
		}
	}
	return res
}

// trimProcs drops the -GOMAXPROCS suffix of a benchmark name.
func trimProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

// testPattern turns a pattern of families.go, whose names lack the
// "Benchmark" prefix, into the -test.bench pattern: "^Get$/x" becomes
// "^BenchmarkGet$/x", "Get/x" becomes "BenchmarkGet/x".
func testPattern(p string) string {
	if rest, ok := strings.CutPrefix(p, "^"); ok {
		return "^Benchmark" + rest
	}
	return "Benchmark" + p
}

// splitPattern splits a -test.bench pattern into its levels, at slashes
// outside brackets and parentheses, as the testing package does.
func splitPattern(p string) []string {
	var levels []string
	depth, start := 0, 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '[', '(':
			depth++
		case ']', ')':
			depth--
		case '\\':
			i++
		case '/':
			if depth == 0 {
				levels = append(levels, p[start:i])
				start = i + 1
			}
		}
	}
	return append(levels, p[start:])
}

// pairKey returns the name of benchmark name with the levels at which the
// family's two patterns differ left out: the key under which a sturdy
// benchmark and its baseline meet. "Get/tableonly/n=1000/hit" under the
// patterns "Get/tableonly/n=/hit" and "Get/builtin/n=/hit" is
// "Get/n=1000/hit", as is "Get/builtin/n=1000/hit".
func pairKey(name string, ours, base []string) string {
	seg := strings.Split(name, "/")
	var key []string
	for i, s := range seg {
		if i < len(ours) && i < len(base) && ours[i] != base[i] {
			continue
		}
		key = append(key, s)
	}
	return strings.Join(key, "/")
}

// differing returns the levels of name at which the two patterns differ:
// the implementation's name.
func differing(name string, ours, base []string) string {
	var d []string
	for i, s := range strings.Split(name, "/") {
		if i < len(ours) && i < len(base) && ours[i] != base[i] {
			d = append(d, s)
		}
	}
	return strings.Join(d, "/")
}

// --- summarizing ---

// row is one line of the table.
type row struct {
	family, key, label string
	impls              string // "ours vs base": the levels where the two names differ
	unit               string
	higherBetter       bool
	ours, base         float64 // medians over the rounds
	ratio, lo, hi      float64 // median, min and max of the per-round ratios
	n                  int     // rounds with both sides measured
	allocs             float64 // most allocs/op ours made in a round; -1 if not reported
	target, verdict    string
	missing            string // why there is no ratio
}

// cpuSuffix is what a row's name carries when its family sets -test.cpu,
// so that it reads apart from the same benchmark on all cores.
func cpuSuffix(f family) string {
	if f.CPU == "" {
		return ""
	}
	return " -cpu " + f.CPU
}

func summarize(f family, rounds []runPair) []row {
	op, oursRE := parsePattern(f.Ours)
	bp, baseRE := parsePattern(f.Base)
	type side struct {
		ours, base         metrics
		oursName, baseName string
	}
	byKey := map[string][]side{} // per key, one entry per round
	impls := map[string]string{}
	var ambiguous []string // two benchmarks of one side that pair under one key
	var keys []string
	var errs []string
	oursSeen, baseSeen := false, false
	for ri, p := range rounds {
		for _, e := range []error{p.ours.err, p.base.err} {
			if e != nil && !slices.Contains(errs, e.Error()) {
				errs = append(errs, e.Error())
			}
		}
		ours := match(p.ours.bench, oursRE)
		base := match(p.base.bench, baseRE)
		oursSeen = oursSeen || len(ours) > 0
		baseSeen = baseSeen || len(base) > 0
		for name, m := range ours {
			k := pairKey(name, op, bp)
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
				byKey[k] = make([]side, len(rounds))
				impls[k] = differing(name, op, bp)
			}
			if prev := byKey[k][ri].oursName; prev != "" {
				ambiguous = append(ambiguous, prev+" and "+name)
			}
			byKey[k][ri].ours, byKey[k][ri].oursName = m, name
		}
		for name, m := range base {
			k := pairKey(name, op, bp)
			if s, ok := byKey[k]; ok {
				if prev := s[ri].baseName; prev != "" {
					ambiguous = append(ambiguous, prev+" and "+name)
				}
				s[ri].base, s[ri].baseName = m, name
				if !strings.Contains(impls[k], " vs ") {
					impls[k] += " vs " + differing(name, op, bp)
				}
			}
		}
	}
	if f.Only != "" {
		re := regexp.MustCompile(f.Only) // TestFamiliesCompile checks it compiles
		keys = slices.DeleteFunc(keys, func(k string) bool { return !re.MatchString(k) })
	}
	sort.Slice(keys, func(i, j int) bool { return naturalLess(keys[i], keys[j]) })
	missingRow := func(why string) row {
		if len(errs) > 0 {
			why = errs[0] + " (" + why + ")"
		}
		return row{family: f.Name, key: f.Name + cpuSuffix(f), label: f.Label, target: f.Target, missing: why, verdict: "missing"}
	}
	switch {
	case len(ambiguous) > 0:
		return []row{missingRow("ambiguous patterns: " + ambiguous[0] + " both match one row; anchor the levels with ^ and $")}
	case !oursSeen && !baseSeen:
		return []row{missingRow("no benchmark matches " + f.Ours + " or " + f.Base)}
	case !oursSeen:
		return []row{missingRow("no benchmark matches " + f.Ours)}
	case !baseSeen:
		return []row{missingRow("no benchmark matches " + f.Base)}
	}
	var rows []row
	for _, k := range keys {
		r := row{family: f.Name, key: k + cpuSuffix(f), impls: impls[k], label: f.Label, target: f.Target, allocs: -1}
		var ratios, ours, base []float64
		for _, s := range byKey[k] {
			if s.ours == nil || s.base == nil {
				continue
			}
			u, ok := pickUnit(f.Unit, s.ours, s.base)
			if !ok {
				continue
			}
			if r.unit == "" {
				r.unit = u
			}
			if u != r.unit || s.base[u] == 0 {
				continue
			}
			ours = append(ours, s.ours[u])
			base = append(base, s.base[u])
			ratios = append(ratios, s.ours[u]/s.base[u])
			if a, ok := s.ours["allocs/op"]; ok {
				r.allocs = max(r.allocs, a)
			}
		}
		if len(ratios) == 0 {
			why := "no round measured both sides"
			if r.unit == "" {
				why = "neither side reports " + f.Unit
			}
			mr := missingRow(why)
			mr.key = k
			rows = append(rows, mr)
			continue
		}
		r.n = len(ratios)
		r.higherBetter = strings.HasSuffix(r.unit, "/s")
		r.ours, r.base = median(ours), median(base)
		r.ratio, r.lo, r.hi = median(ratios), slices.Min(ratios), slices.Max(ratios)
		r.verdict = verdict(f.Target, f.Allocs, r)
		rows = append(rows, r)
	}
	return rows
}

// parsePattern splits a pattern into levels and compiles them.
func parsePattern(p string) ([]string, []*regexp.Regexp) {
	levels := splitPattern(p)
	res := make([]*regexp.Regexp, len(levels))
	for i, l := range levels {
		res[i] = regexp.MustCompile(l) // families_test checks every pattern compiles
	}
	return levels, res
}

// match returns the benchmarks of got whose names match the pattern's
// levels, as the testing package matches them: each level's regexp,
// unanchored, against that level of the name; levels beyond the pattern
// match anything. A name with fewer levels than the pattern does not
// match (it is a parent of what the pattern selects).
func match(got map[string]metrics, levels []*regexp.Regexp) map[string]metrics {
	res := map[string]metrics{}
	for name, m := range got {
		seg := strings.Split(name, "/")
		if len(seg) < len(levels) {
			continue
		}
		ok := true
		for i, re := range levels {
			if !re.MatchString(seg[i]) {
				ok = false
				break
			}
		}
		if ok {
			res[name] = m
		}
	}
	return res
}

// pickUnit returns the first of the "|"-separated units that both sides
// report; "cpu" stands for cpu-ns/op, then ns/op.
func pickUnit(spec string, a, b metrics) (string, bool) {
	spec = strings.ReplaceAll(spec, "cpu", "cpu-ns/op|ns/op")
	for u := range strings.SplitSeq(spec, "|") {
		_, okA := a[u]
		_, okB := b[u]
		if okA && okB {
			return u, true
		}
	}
	return "", false
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

// verdict says whether the whole spread is within the target.
func verdict(target, allocs string, r row) string {
	v := ""
	switch {
	case target == "":
	case strings.HasPrefix(target, "<="):
		x, _ := strconv.ParseFloat(target[2:], 64)
		v = "met"
		if r.hi > x {
			v = "not met"
		}
	case strings.HasPrefix(target, ">="):
		x, _ := strconv.ParseFloat(target[2:], 64)
		v = "met"
		if r.lo < x {
			v = "not met"
		}
	}
	if allocs != "" && r.allocs >= 0 {
		a, _ := strconv.ParseFloat(allocs, 64)
		if r.allocs > a {
			v = "not met"
			if target == "" {
				v = "not met (allocs)"
			}
		}
	}
	return v
}

// naturalLess orders "n=1000" before "n=100000".
func naturalLess(a, b string) bool {
	na, nb := splitDigits(a), splitDigits(b)
	for i := 0; i < len(na) && i < len(nb); i++ {
		if na[i] == nb[i] {
			continue
		}
		x, errX := strconv.Atoi(na[i])
		y, errY := strconv.Atoi(nb[i])
		if errX == nil && errY == nil {
			return x < y
		}
		return na[i] < nb[i]
	}
	return len(na) < len(nb)
}

func splitDigits(s string) []string {
	var parts []string
	start := 0
	for i := 1; i <= len(s); i++ {
		if i == len(s) || isDigit(s[i]) != isDigit(s[i-1]) {
			parts = append(parts, s[start:i])
			start = i
		}
	}
	return parts
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// --- output ---

type stamp struct {
	date, cpu, goVersion string
	nproc, rounds        int
	benchtime            string
	took                 time.Duration
	load                 load
	forced               bool // written with -force although busy or unmeasured
}

func (s stamp) String() string { return s.base() + "; " + s.load.String() }

func (s stamp) base() string {
	return fmt.Sprintf("%s, nproc %d, %s, %s: %d interleaved rounds of -benchtime %s (rows may override), %v",
		s.date, s.nproc, s.cpu, s.goVersion, s.rounds, s.benchtime, s.took)
}

// markdown is the stamp as the README shows it: a forced run's load in
// bold.
func (s stamp) markdown() string {
	if s.forced {
		why := "over the limit"
		if !s.load.measured {
			why = "so the machine may have been busy"
		}
		return fmt.Sprintf("Measured %s; **%s, %s: written with -force, these are not a quiet machine's figures**.", s.base(), s.load, why)
	}
	return fmt.Sprintf("Measured %s.", s)
}

func writeText(w io.Writer, st stamp, rows []row) {
	fmt.Fprintf(w, "benchratio %s\n", st)
	if st.load.busy() {
		fmt.Fprintf(w, "NOT A QUIET MACHINE: %s\n", st.load)
	}
	tw := bufio.NewWriter(w)
	defer tw.Flush()
	fmt.Fprintf(tw, "%-28s %-32s %-12s %10s %10s %7s %-12s %2s %-7s %s\n", "benchmark", "ours vs baseline", "unit", "ours", "baseline", "ratio", "spread", "n", "target", "verdict")
	for _, r := range rows {
		if r.missing != "" {
			fmt.Fprintf(tw, "%-28s missing: %s\n", r.key, r.missing)
			continue
		}
		fmt.Fprintf(tw, "%-28s %-32s %-12s %10s %10s %6.2fx %-12s %2d %-7s %s\n", r.key, r.impls, r.unit,
			number(r.ours, r.unit), number(r.base, r.unit), r.ratio,
			fmt.Sprintf("%.2f-%.2fx", r.lo, r.hi), r.n, r.target, r.verdict)
	}
}

// value formats a median with its unit: times as ns, µs, ms or s.
func value(v float64, unit string) string {
	if isTime(unit) {
		return number(v, unit)
	}
	return number(v, unit) + " " + unit
}

func isTime(unit string) bool { return strings.HasSuffix(unit, "ns/op") || unit == "ns/entry" }

// number formats a median: times with their unit, anything else bare;
// bytes per thing (B/conn) whole, as "7175" rather than "7.18e+03".
func number(v float64, unit string) string {
	if strings.HasPrefix(unit, "B/") && v >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	if isTime(unit) {
		switch {
		case v >= 1e9:
			return fmt.Sprintf("%.3g s", v/1e9)
		case v >= 1e6:
			return fmt.Sprintf("%.3g ms", v/1e6)
		case v >= 1e3:
			return fmt.Sprintf("%.3g µs", v/1e3)
		default:
			return fmt.Sprintf("%.3g ns", v)
		}
	}
	return fmt.Sprintf("%.3g", v)
}

const (
	beginPrefix = "<!-- benchratio:begin"
	beginMarker = beginPrefix + " (generated by go run ./internal/benchratio -readme README.md; do not edit) -->"
	endMarker   = "<!-- benchratio:end -->"
)

// markdown renders the README's table.
func markdown(st stamp, rows []row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", st.markdown())
	b.WriteString("| benchmark | comparison | sturdy | baseline | ratio | spread | target | |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		if r.missing != "" {
			fmt.Fprintf(&b, "| `%s` | %s | | | | | %s | missing: %s |\n", r.key, r.label, mdTarget(r.target), mdEscape(r.missing))
			continue
		}
		unit := ""
		if r.unit != "cpu-ns/op" {
			unit = " (" + r.unit + ")"
		}
		v := r.verdict
		if v == "not met" || strings.HasPrefix(v, "not met") {
			v = "**" + v + "**"
		}
		fmt.Fprintf(&b, "| `%s` | %s%s | %s | %s | %.2f× | %.2f–%.2f× | %s | %s |\n",
			r.key, mdEscape(r.label), unit, value(r.ours, r.unit), value(r.base, r.unit), r.ratio, r.lo, r.hi, mdTarget(r.target), v)
	}
	return b.String()
}

func mdTarget(t string) string {
	t = strings.Replace(t, "<=", "≤ ", 1)
	t = strings.Replace(t, ">=", "≥ ", 1)
	if t != "" {
		t += "×"
	}
	return t
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// replaceMarked puts table between the markers in doc, replacing what was
// there. The begin marker is matched by its prefix, so its advice text may
// change.
func replaceMarked(doc []byte, table string) ([]byte, error) {
	s := string(doc)
	i := strings.Index(s, beginPrefix)
	if i < 0 {
		return nil, fmt.Errorf("no %q marker", beginPrefix)
	}
	j := strings.Index(s[i:], endMarker)
	if j < 0 {
		return nil, fmt.Errorf("no %q marker after the begin marker", endMarker)
	}
	return []byte(s[:i] + beginMarker + "\n" + table + s[i+j:]), nil
}

// cpuModel returns the processor's model name, as /proc/cpuinfo tells it.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for l := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH + " (model unknown)"
}
