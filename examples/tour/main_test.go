package main

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sturdy-go/sturdy/fork"
)

// TestMain lets the test binary play the tour's child: the fork section
// re-executes os.Executable, which under go test is this binary.
func TestMain(m *testing.M) {
	if err := fork.Init(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if os.Getenv(childEnv) == "1" {
		os.Exit(forkChild())
	}
	os.Exit(m.Run())
}

func TestTour(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(&out, &errs, nil); code != 0 || errs.Len() != 0 {
		t.Fatalf("tour exited with %d:\n%s%s", code, out.String(), errs.String())
	}
	got := out.String()
	for _, s := range sections {
		if !strings.Contains(got, "== "+s.name+":") {
			t.Errorf("tour output lacks the %s section", s.name)
		}
	}
	if strings.Contains(got, "FAILED") {
		t.Errorf("a section failed:\n%s", got)
	}
	if !strings.Contains(got, "tour finished") {
		t.Errorf("tour did not finish:\n%s", got)
	}
	t.Log(got)
}

func TestHelp(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(&out, &errs, []string{"-h"}); code != 0 || errs.Len() != 0 {
		t.Fatalf("-h: exit %d, stderr %q: want 0 and nothing on stderr", code, errs.String())
	}
	for _, want := range []string{"usage: tour [-only list]", "offline", "-only list"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
	for _, s := range sections {
		if !strings.Contains(out.String(), s.name+" ") {
			t.Errorf("usage does not list the %s section", s.name)
		}
	}
	if strings.Contains(out.String(), "== ") {
		t.Errorf("-h ran the tour:\n%s", out.String())
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"-only", "nosuch"}, {"extra"}} {
		var out, errs bytes.Buffer
		if code := run(&out, &errs, args); code != 2 || out.Len() != 0 || !strings.Contains(errs.String(), "usage: tour") {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q: want 2 and the usage on stderr", args, code, out.String(), errs.String())
		}
	}
}

func TestOnly(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(&out, &errs, []string{"-only", "observer, hashtable"}); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errs.String())
	}
	got := out.String()
	if !strings.Contains(got, "== observer:") || !strings.Contains(got, "== hashtable:") || strings.Contains(got, "== tlsutil:") ||
		strings.Index(got, "== observer:") > strings.Index(got, "== hashtable:") || !strings.Contains(got, "tour finished: 2 sections") {
		t.Fatalf("-only observer,hashtable ran:\n%s", got)
	}
}

// TestCopyable checks that the tour imports nothing internal, so that a
// user can copy it into their own module.
func TestCopyable(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
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
