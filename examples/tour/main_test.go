package main

import (
	"bytes"
	"fmt"
	"os"
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
	var out bytes.Buffer
	if code := run(&out); code != 0 {
		t.Fatalf("tour exited with %d:\n%s", code, out.String())
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
