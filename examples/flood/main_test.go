package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"github.com/sturdy-go/sturdy/internal/weakhash"
)

func TestFlood(t *testing.T) {
	const bits = 11
	var out bytes.Buffer
	if code := run(&out, []string{"-bits", strconv.Itoa(bits)}); code != 0 {
		t.Fatalf("flood exited with %d:\n%s", code, out.String())
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
	for _, args := range [][]string{{"-bits", "2"}, {"-bits", "40"}, {"-nope"}} {
		var out bytes.Buffer
		if code := run(&out, args); code != 2 {
			t.Errorf("run(%q) = %d, want 2; output:\n%s", args, code, out.String())
		}
	}
}

func TestParseFormRejectsBadEscapes(t *testing.T) {
	if err := parseForm(bytes.NewReader([]byte("a=1&%zz=2")), weakhash.NewTable()); err == nil {
		t.Fatal("a bad escape was accepted")
	}
}
