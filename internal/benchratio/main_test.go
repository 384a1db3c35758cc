package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkGet/hashtable/n=1000/hit-2   	 100	 30.0 ns/op	 20.0 cpu-ns/op	 0 B/op	 0 allocs/op
BenchmarkGet/hashtable/n=1000/hit-2   	 100	 34.0 ns/op	 22.0 cpu-ns/op	 0 B/op	 0 allocs/op
BenchmarkGet/hashtable/n=1000/hit-2   	 100	 90.0 ns/op	 21.0 cpu-ns/op	 0 B/op	 0 allocs/op
BenchmarkGet/builtin/n=1000/hit-2     	 100	 15.0 ns/op	 10.0 cpu-ns/op	 0 B/op	 0 allocs/op
BenchmarkGet/builtin/n=1000/hit-2     	 100	 17.0 ns/op	 11.0 cpu-ns/op	 0 B/op	 0 allocs/op
BenchmarkThroughput/bio-2             	 100	 10000 ns/op	 1638.40 MB/s
BenchmarkThroughput/tlspipe-2         	 100	 20000 ns/op	 819.20 MB/s
BenchmarkFlood/hashtable/n=16384/adversarial-2 	 1	 8000000 ns/op
BenchmarkFlood/hashtable/n=16384/random-2      	 1	 8000000 ns/op
BenchmarkLonely/x-2                   	 100	 1 ns/op
PASS
`

func TestRatios(t *testing.T) {
	var out strings.Builder
	if err := run(strings.NewReader(sample), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		// medians: hashtable 34 vs builtin 16 (mean of 15 and 17)
		"Get/hashtable/n=1000/hit vs builtin",
		"ns/op 34/16 = 2.12x",
		"cpu-ns/op 21/10.5 = 2.00x",
		"allocs/op 0 vs 0",
		"Throughput/bio vs tlspipe",
		"MB/s 1.64e+03/819 = 2.00x (higher is faster)",
		"Flood/hashtable/n=16384/adversarial vs random",
		"ns/op 8e+06/8e+06 = 1.00x",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Lonely") {
		t.Errorf("a benchmark without a baseline got a ratio:\n%s", got)
	}
}

func TestNoInput(t *testing.T) {
	var out strings.Builder
	if err := run(strings.NewReader("PASS\n"), &out); err == nil {
		t.Fatal("empty input accepted")
	}
	if err := run(strings.NewReader("BenchmarkLonely/x-2 100 1 ns/op\n"), &out); err == nil {
		t.Fatal("input without any pair accepted")
	}
}
