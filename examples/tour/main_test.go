package main

import (
	"bytes"
	"strings"
	"testing"
)

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
