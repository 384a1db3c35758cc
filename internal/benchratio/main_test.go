package main

import (
	"math"
	"regexp"
	"strings"
	"testing"
)

// Canned go test output: two rounds of each side of the Get family.
var (
	oursRound = []string{`goos: linux
BenchmarkGet/tableonly/n=1000/hit-2     	 100	 30.0 ns/op	 20.0 cpu-ns/op	 0 B/op	 0 allocs/op
BenchmarkGet/tableonly/n=100000/hit-2   	 100	 60.0 ns/op	 44.0 cpu-ns/op	 0 B/op	 0 allocs/op
some log line a benchmark printed
PASS
`, `BenchmarkGet/tableonly/n=1000/hit-2     	 100	 90.0 ns/op	 22.0 cpu-ns/op	 0 B/op	 0 allocs/op
BenchmarkGet/tableonly/n=100000/hit-2   	 100	 70.0 ns/op	 48.0 cpu-ns/op	 0 B/op	 1 allocs/op
BenchmarkGet/tableonly/n=100000/hit-2   	 100	 1.0 ns/op	 1.0 cpu-ns/op	 0 B/op	 0 allocs/op
`}
	baseRound = []string{`BenchmarkGet/builtin/n=1000/hit-2     	 100	 15.0 ns/op	 20.0 cpu-ns/op	 0 B/op	 0 allocs/op
BenchmarkGet/builtin/n=100000/hit-2   	 100	 30.0 ns/op	 40.0 cpu-ns/op	 0 B/op	 0 allocs/op
`, `BenchmarkGet/builtin/n=1000/hit-2     	 100	 17.0 ns/op	 20.0 cpu-ns/op	 0 B/op	 0 allocs/op
BenchmarkGet/builtin/n=100000/hit-2   	 100	 30.0 ns/op	 40.0 cpu-ns/op	 0 B/op	 0 allocs/op
`}
)

func rounds(ours, base []string) []runPair {
	var p []runPair
	for i := range ours {
		p = append(p, runPair{
			ours: runResult{bench: parse([]byte(ours[i]))},
			base: runResult{bench: parse([]byte(base[i]))},
		})
	}
	return p
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestParse(t *testing.T) {
	got := parse([]byte(oursRound[1]))
	m := got["Get/tableonly/n=100000/hit"]
	if m == nil || m["cpu-ns/op"] != 48 || m["allocs/op"] != 1 {
		t.Fatalf("first line of a repeated name not kept: %v", got)
	}
	if len(got) != 2 {
		t.Fatalf("parsed %d names, want 2: %v", len(got), got)
	}
	if got := parse([]byte("BenchmarkX-2 is slow, see 3 ns/op\n")); len(got) != 0 {
		t.Fatalf("a log line parsed as a result: %v", got)
	}
	if trimProcs("Get/n=1000-2") != "Get/n=1000" || trimProcs("Get/n=-x") != "Get/n=-x" {
		t.Fatal("trimProcs")
	}
}

func TestSummarize(t *testing.T) {
	f := family{Name: "Get", Ours: "^Get$/tableonly/n=/hit$", Base: "^Get$/builtin/n=/hit$",
		Unit: "cpu", Target: "<=1.1", Allocs: "0"}
	rows := summarize(f, rounds(oursRound, baseRound))
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2: %+v", len(rows), rows)
	}
	small, large := rows[0], rows[1]
	if small.key != "Get/n=1000/hit" || large.key != "Get/n=100000/hit" {
		t.Fatalf("keys %q, %q (want n=1000 first)", small.key, large.key)
	}
	// n=1000: cpu ratios 20/20 = 1.0 and 22/20 = 1.1: the whole spread
	// is within 1.1.
	if small.unit != "cpu-ns/op" || !near(small.ratio, 1.05) || !near(small.lo, 1.0) || !near(small.hi, 1.1) || small.n != 2 {
		t.Fatalf("n=1000: %+v", small)
	}
	if small.verdict != "met" || !near(small.ours, 21) || !near(small.base, 20) || small.impls != "tableonly vs builtin" {
		t.Fatalf("n=1000: %+v", small)
	}
	// n=100000: ratios 1.1 and 1.2 (median 1.15), and one round made an
	// allocation: not met on both counts.
	if !near(large.ratio, 1.15) || !near(large.hi, 1.2) || large.allocs != 1 || large.verdict != "not met" {
		t.Fatalf("n=100000: %+v", large)
	}

	// Only keeps the rows it matches.
	f.Only = "n=100000/"
	if rows := summarize(f, rounds(oursRound, baseRound)); len(rows) != 1 || rows[0].key != "Get/n=100000/hit" {
		t.Fatalf("Only: %+v", rows)
	}

	// Wall time where cpu-ns/op is not reported; MB/s is higher-better.
	f = family{Name: "T", Ours: "^T$/bio$", Base: "^T$/pipe$", Unit: "MB/s", Target: ">=1.0"}
	rows = summarize(f, rounds(
		[]string{"BenchmarkT/bio-2 10 100 ns/op 2000 MB/s\n", "BenchmarkT/bio-2 10 100 ns/op 1900 MB/s\n"},
		[]string{"BenchmarkT/pipe-2 10 100 ns/op 1000 MB/s\n", "BenchmarkT/pipe-2 10 100 ns/op 2000 MB/s\n"}))
	if len(rows) != 1 || !near(rows[0].lo, 0.95) || !near(rows[0].hi, 2) || rows[0].verdict != "not met" || !rows[0].higherBetter {
		t.Fatalf("MB/s: %+v", rows)
	}
	f.Unit = "cpu"
	rows = summarize(f, rounds([]string{"BenchmarkT/bio-2 10 100 ns/op\n"}, []string{"BenchmarkT/pipe-2 10 50 ns/op\n"}))
	if len(rows) != 1 || rows[0].unit != "ns/op" || !near(rows[0].ratio, 2) {
		t.Fatalf("ns/op fallback: %+v", rows)
	}

	// A family run on one core: go test names its benchmarks without the
	// -N suffix, and the row says which -cpu it ran with.
	f.CPU = "1"
	rows = summarize(f, rounds([]string{"BenchmarkT/bio 10 100 ns/op 30 cpu-ns/op\n"}, []string{"BenchmarkT/pipe 10 50 ns/op 20 cpu-ns/op\n"}))
	if len(rows) != 1 || rows[0].key != "T -cpu 1" || !near(rows[0].ratio, 1.5) {
		t.Fatalf("-cpu 1: %+v", rows)
	}
}

// A family whose benchmarks are gone, renamed or failed is one "missing"
// row that says why; it never takes the others down.
func TestMissing(t *testing.T) {
	f := family{Name: "Get", Ours: "^Get$/tableonly/n=/hit$", Base: "^Get$/builtin/n=/hit$", Unit: "cpu", Target: "<=1.1"}
	cases := []struct {
		name       string
		ours, base []string
		want       string
	}{
		{"both absent", []string{"PASS\n"}, []string{"PASS\n"}, "no benchmark matches ^Get$/tableonly/n=/hit$ or"},
		{"baseline renamed", oursRound[:1], []string{"BenchmarkGet/gomap/n=1000/hit-2 1 1 ns/op\n"}, "no benchmark matches ^Get$/builtin"},
		{"metric absent", []string{"BenchmarkGet/tableonly/n=1000/hit-2 1 1 B/op\n"}, []string{"BenchmarkGet/builtin/n=1000/hit-2 1 1 B/op\n"}, "neither side reports cpu"},
	}
	for _, c := range cases {
		rows := summarize(f, rounds(c.ours, c.base))
		if len(rows) != 1 || rows[0].verdict != "missing" || !strings.Contains(rows[0].missing, c.want) {
			t.Errorf("%s: %+v, want a missing row with %q", c.name, rows, c.want)
		}
	}
	// An unanchored level matches two benchmarks that pair under one key.
	g := family{Name: "VsPython", Ours: "^VsPython$/bio$", Base: "^VsPython$/^python-memorybio$", Unit: "MB/s"}
	both := "BenchmarkVsPython/bio-2 1 1 ns/op 2000 MB/s\nBenchmarkVsPython/python-memorybio-2 1 1 ns/op 1000 MB/s\n"
	rows := summarize(g, rounds([]string{both}, []string{both}))
	if len(rows) != 1 || !strings.Contains(rows[0].missing, "ambiguous") {
		t.Errorf("unanchored pattern: %+v", rows)
	}
	failed := []runPair{{ours: runResult{err: errString("./hashtable does not build: x.go:1: syntax error")}, base: runResult{err: errString("./hashtable does not build: x.go:1: syntax error")}}}
	rows = summarize(f, failed)
	if len(rows) != 1 || !strings.Contains(rows[0].missing, "does not build") {
		t.Fatalf("build failure: %+v", rows)
	}
	var out strings.Builder
	writeText(&out, stamp{}, rows)
	if !strings.Contains(out.String(), "missing: ") {
		t.Fatalf("text output: %s", out.String())
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestPairKey(t *testing.T) {
	for _, c := range []struct{ name, ours, base, want string }{
		{"Get/tableonly/n=1000/hit", "^Get$/tableonly/n=/hit$", "^Get$/builtin/n=/hit$", "Get/n=1000/hit"},
		{"Flood/hashtable/n=16384/random", "Flood/hashtable/n=16384/adversarial", "Flood/hashtable/n=16384/random", "Flood/hashtable/n=16384"},
		{"NotifyAsync/chan/subs=100", "^NotifyAsync$/observer/", "^NotifyAsync$/chan/", "NotifyAsync/subs=100"},
		{"Put/hashtable/n=100000/presized", "^Put$/hashtable/n=(100000|1000000)$/", "^Put$/builtin/n=(100000|1000000)$/", "Put/n=100000/presized"},
	} {
		if got := pairKey(c.name, splitPattern(c.ours), splitPattern(c.base)); got != c.want {
			t.Errorf("pairKey(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	if got := splitPattern(`a/(b|c/d)/[/]/e\/f`); strings.Join(got, "|") != `a|(b|c/d)|[/]|e\/f` {
		t.Errorf("splitPattern: %q", got)
	}
	if testPattern("^Get$/x") != "^BenchmarkGet$/x" || testPattern("Get/x") != "BenchmarkGet/x" {
		t.Error("testPattern")
	}
}

func TestMatch(t *testing.T) {
	got := parse([]byte(`BenchmarkNotify/observer/subs=1-2 1 1 ns/op
BenchmarkNotify/observer/subs=100-2 1 1 ns/op
BenchmarkNotifyAsync/observer/subs=1-2 1 1 ns/op
BenchmarkNotify/observer-2 1 1 ns/op
`))
	_, re := parsePattern("^Notify$/observer/subs=1$")
	m := match(got, re)
	if len(m) != 1 || m["Notify/observer/subs=1"] == nil {
		t.Fatalf("match: %v", m)
	}
}

func TestFamiliesCompile(t *testing.T) {
	for _, f := range families {
		for _, p := range []string{f.Ours, f.Base} {
			for _, l := range splitPattern(p) {
				if _, err := regexp.Compile(l); err != nil {
					t.Errorf("%s: %q: %v", f.Name, p, err)
				}
			}
		}
		if f.Pkg == "" || f.Unit == "" || f.Label == "" || f.Ours == f.Base {
			t.Errorf("incomplete family %+v", f)
		}
		if f.Only != "" {
			if _, err := regexp.Compile(f.Only); err != nil {
				t.Errorf("%s: Only %q: %v", f.Name, f.Only, err)
			}
		}
		if f.Target != "" && !regexp.MustCompile(`^(<=|>=)[0-9.]+$`).MatchString(f.Target) {
			t.Errorf("%s: target %q", f.Name, f.Target)
		}
	}
}

func TestReadme(t *testing.T) {
	rows := []row{
		{key: "Get/n=1000/hit", label: "hit", unit: "cpu-ns/op", ours: 21, base: 20, ratio: 1.05, lo: 1, hi: 1.1, n: 2, target: "<=1.1", verdict: "met"},
		{key: "Get/n=100000/hit", label: "hit", unit: "cpu-ns/op", ours: 1500, base: 1000, ratio: 1.5, lo: 1.2, hi: 1.7, n: 2, target: "<=1.1", verdict: "not met"},
		{key: "T", label: "put", unit: "live-B/entry", ours: 36.4, base: 35, ratio: 1.04, lo: 1.04, hi: 1.04, n: 2, target: "<=1.3", verdict: "met"},
		{key: "Serve", label: "serve", missing: "no benchmark matches ^Serve$/upgrader$", verdict: "missing"},
	}
	st := stamp{date: "2026-12-01 22:00 UTC", nproc: 2, cpu: "AMD EPYC", goVersion: "go1.26.8 linux/amd64", rounds: 8, benchtime: "200ms"}
	md := markdown(st, rows)
	for _, want := range []string{
		"2026-12-01 22:00 UTC, nproc 2, AMD EPYC",
		"| `Get/n=1000/hit` | hit | 21 ns | 20 ns | 1.05× | 1.00–1.10× | ≤ 1.1× | met |",
		"| 1.5 µs | 1 µs | 1.50× | 1.20–1.70× | ≤ 1.1× | **not met** |",
		"put (live-B/entry) | 36.4 live-B/entry |",
		"missing: no benchmark matches ^Serve$/upgrader$",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	doc := "# x\n\nbefore\n" + beginMarker + "\nold table\n" + endMarker + "\nafter\n"
	out, err := replaceMarked([]byte(doc), md)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(out); !strings.Contains(s, "before\n"+beginMarker+"\nMeasured ") || !strings.HasSuffix(s, "|\n"+endMarker+"\nafter\n") || strings.Contains(s, "old table") {
		t.Fatalf("replaced:\n%s", s)
	}
	// Regenerating replaces the table again rather than appending.
	again, _ := replaceMarked(out, md)
	if string(again) != string(out) {
		t.Fatal("regenerating the same table changed the file")
	}
	if _, err := replaceMarked([]byte("no markers\n"), md); err == nil {
		t.Fatal("a file without markers accepted")
	}
}

func TestNumber(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{{21, "cpu-ns/op", "21 ns"}, {1500, "ns/op", "1.5 µs"}, {2.4e7, "cpu-ns/op", "24 ms"}, {1.34e9, "ns/op", "1.34 s"}, {36.4, "live-B/entry", "36.4"}, {7175.4, "B/conn", "7175"}, {12.5, "B/conn", "12.5"}} {
		if got := number(c.v, c.unit); got != c.want {
			t.Errorf("number(%v, %s) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}

func TestNatural(t *testing.T) {
	if !naturalLess("n=1000/hit", "n=100000/hit") || naturalLess("n=100000", "n=1000") || !naturalLess("a/hit", "a/miss") {
		t.Fatal("naturalLess")
	}
}
