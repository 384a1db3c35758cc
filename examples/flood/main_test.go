package main

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestFlood(t *testing.T) {
	const bits = 11
	var out, errs bytes.Buffer
	if code := run(&out, &errs, []string{"-bits", strconv.Itoa(bits)}); code != 0 {
		t.Fatalf("flood exited with %d:\n%s%s", code, out.String(), errs.String())
	}
	got := out.String()
	t.Log(got)
	// Counts, not times, so the test is not at the mercy of a busy
	// machine: the naive table compares every crafted key with every
	// earlier one; the SipHash map never probes far.
	n := 1 << bits
	naive := regexp.MustCompile(fmt.Sprintf(`naive +crafted .* %d key comparisons`, n*(n-1)/2))
	if !naive.MatchString(got) {
		t.Errorf("the naive table did not go quadratic on the crafted body:\n%s", got)
	}
	probes := regexp.MustCompile(`sturdy +crafted .* longest probe (\d+)`).FindStringSubmatch(got)
	if probes == nil {
		t.Fatalf("no sturdy crafted line:\n%s", got)
	}
	if p, _ := strconv.Atoi(probes[1]); p > 16 {
		t.Errorf("hashtable.Map probed %d groups on crafted keys; a random hash keeps that small", p)
	}
}

func TestFloodRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-bits", "2"}, {"-bits", "40"}, {"-nope"}, {"extra"}} {
		var out, errs bytes.Buffer
		if code := run(&out, &errs, args); code != 2 || out.Len() != 0 || errs.Len() == 0 {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q: want 2 and a message on stderr", args, code, out.String(), errs.String())
		}
	}
}

func TestHelp(t *testing.T) {
	for _, h := range []string{"-h", "-help", "--help"} {
		var out, errs bytes.Buffer
		if code := run(&out, &errs, []string{h}); code != 0 || errs.Len() != 0 {
			t.Fatalf("%s: exit %d, stderr %q: want 0 and nothing on stderr", h, code, errs.String())
		}
		for _, want := range []string{"usage: flood [-bits n]", "DJBX33A", "hashtable.Map", "-bits n", "(default 14)"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s: usage lacks %q:\n%s", h, want, out.String())
			}
		}
	}
}

func TestParseFormRejectsBadEscapes(t *testing.T) {
	if err := parseForm(bytes.NewReader([]byte("a=1&%zz=2")), newNaiveTable()); err == nil {
		t.Fatal("a bad escape was accepted")
	}
}

func TestCollidingKeys(t *testing.T) {
	keys := collidingKeys(10)
	seen := map[string]bool{}
	for _, k := range keys {
		if djbx33a(k) != djbx33a(keys[0]) {
			t.Fatalf("%q and %q hash differently", k, keys[0])
		}
		seen[k] = true
	}
	if len(seen) != 1<<10 {
		t.Fatalf("%d distinct keys, want 1024", len(seen))
	}
	r := randomKeys(1000, 20, 1)
	if len(r) != 1000 || len(r[0]) != 20 {
		t.Fatalf("randomKeys: %d keys of %d bytes", len(r), len(r[0]))
	}
}

// TestCopyable checks that the program imports nothing internal, so that
// a user can copy it into their own module.
func TestCopyable(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); strings.Contains(p, "/internal/") {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}
