//go:build linux

package fork

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// longEnv asks for the long form of the stress tests (4096 generations).
const longEnv = "FORK_TEST_LONG"

// TestChain is the story's worst case: generation after generation starts
// the next and exits. The generations run internal/forkhelper, which starts
// in a millisecond or two where this race-instrumented binary takes a
// hundred. Every generation must see exactly the descriptors the
// first saw (same numbers, same open objects), although each one opens two
// descriptors without close-on-exec, and no process may be left behind.
func TestChain(t *testing.T) {
	gens := 1024
	if os.Getenv(longEnv) != "" {
		gens = 4096
	} else if testing.Short() {
		gens = 128
	}
	subreaper := becomeSubreaper()
	if !subreaper {
		t.Log("PR_SET_CHILD_SUBREAPER unavailable: orphaned generations cannot be reaped here, zombies not checked")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lf, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(helper(t))
	cmd.Env = append(os.Environ(), envRole+"=chain", envGen+"=0", envGens+"="+strconv.Itoa(gens))
	cmd.Stderr = os.Stderr
	start := time.Now()
	err = Start(cmd, NamedFile{"listener", lf}, NamedFile{"report", w})
	lf.Close()
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("generation 0: %v", err)
	}

	pids := make(chan int, gens)
	reaped := make(chan int)
	go func() {
		n := 0
		for pid := range pids {
			if subreaper {
				if ws := reap(t, pid, hangGuard); ws.ExitStatus() != 0 {
					t.Errorf("process %d: %v", pid, ws)
				}
			}
			n++
		}
		reaped <- n
	}()

	sc := bufio.NewScanner(r)
	// A generation that hangs fails the test; a long chain does not.
	_ = r.SetReadDeadline(time.Now().Add(hangGuard))
	var first string
	n := 0
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 3)
		if len(f) != 3 {
			t.Fatalf("bad report %q", sc.Text())
		}
		gen, _ := strconv.Atoi(f[0])
		pid, _ := strconv.Atoi(f[1])
		if gen != n {
			t.Fatalf("report of generation %d, want %d", gen, n)
		}
		if gen > 0 {
			pids <- pid
		}
		if gen == 0 {
			first = f[2]
			t.Logf("generation 0 descriptors: %s", first)
		} else if f[2] != first {
			t.Errorf("generation %d descriptors differ:\n  got  %s\n  want %s", gen, f[2], first)
		}
		n++
		_ = r.SetReadDeadline(time.Now().Add(hangGuard))
	}
	close(pids)
	if err := sc.Err(); err != nil {
		t.Fatalf("after %d generations: %v", n, err)
	}
	if n != gens {
		t.Fatalf("%d generations reported, want %d", n, gens)
	}
	if got := <-reaped; got != gens-1 {
		t.Fatalf("reaped %d", got)
	}
	elapsed := time.Since(start)
	t.Logf("%d generations in %v (%v each)", gens, elapsed, elapsed/time.Duration(gens))
	// The reference itself: stdio, then exactly the two passed files.
	want := []string{"3=socket:[", "4=pipe:["}
	fds := strings.Fields(first)
	if len(fds) < 5 || !strings.HasPrefix(fds[3], want[0]) || !strings.HasPrefix(fds[4], want[1]) {
		t.Errorf("generation 0 did not get stdio plus the listener and the pipe: %s", first)
	}
	for _, fd := range fds {
		if strings.Contains(fd, "/proc/version") {
			t.Errorf("a descriptor without close-on-exec reached a child: %s", fd)
		}
	}
	if subreaper {
		checkNoChildren(t)
	}
}
