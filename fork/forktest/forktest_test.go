//go:build linux

package forktest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestOpenFDsAndDiff(t *testing.T) {
	before, err := OpenFDs()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	after, err := OpenFDs()
	if err != nil {
		t.Fatal(err)
	}
	added, removed := Diff(before, after)
	if len(added) != 2 || len(removed) != 0 || added[0].Target != added[1].Target || !strings.HasPrefix(added[0].Target, "pipe:[") {
		t.Fatalf("a pipe: added %v, removed %v", added, removed)
	}
	if !strings.Contains(after.String(), added[0].String()) {
		t.Errorf("%q lacks %q", after, added[0])
	}
	r.Close()
	w.Close()
	again, err := OpenFDs()
	if err != nil {
		t.Fatal(err)
	}
	if added, removed := Diff(before, again); len(added)+len(removed) != 0 {
		t.Errorf("after closing: added %v, removed %v", added, removed)
	}
}

func TestChildren(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "exit 0")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	// Not yet waited for: a child, running or a zombie.
	kids, err := Children()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := kids[cmd.Process.Pid]; !ok {
		t.Errorf("child %d missing from %v", cmd.Process.Pid, kids)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	kids, err = Children()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := kids[cmd.Process.Pid]; ok {
		t.Errorf("reaped child %d still listed", cmd.Process.Pid)
	}
}
