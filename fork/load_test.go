//go:build linux

package fork

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestUpgradeUnderLoad upgrades a loopback HTTP server again and again
// while clients keep sending requests, and counts every failed request
// (a failure is any error the client returns, after its own retries of
// idempotent requests on a reused connection closed by the server).
// The servers are the helper's "server" role: SIGHUP upgrades, the pid file
// names the current generation, SIGTERM drains and exits.
func TestUpgradeUnderLoad(t *testing.T) {
	upgrades, requests := 20, 10000
	if testing.Short() {
		upgrades, requests = 5, 2000
	}
	srv := startServer(t)
	cmd, readPID := srv.cmd, srv.pid
	url := "http://" + srv.addr + "/"
	gens := []int{readPID()}

	// Half the clients reuse connections, half open a new one per
	// request, so both the hand-over of the accept queue and the drain of
	// idle keep-alive connections are exercised.
	const workers = 4
	reuse := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: workers},
		Timeout:   30 * time.Second,
	}
	defer reuse.CloseIdleConnections()
	fresh := &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true},
		Timeout:   30 * time.Second,
	}
	var ok, failed atomic.Int64
	var mu sync.Mutex
	served := make(map[string]int)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		client := reuse
		if w%2 == 1 {
			client = fresh
		}
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(url)
				if err != nil {
					if failed.Add(1) <= 5 {
						t.Errorf("request failed: %v", err)
					}
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					if failed.Add(1) <= 5 {
						t.Errorf("request failed: %s %q %v", resp.Status, body, err)
					}
					continue
				}
				ok.Add(1)
				mu.Lock()
				served[string(body)]++
				mu.Unlock()
			}
		}()
	}

	start := time.Now()
	for i := 0; i < upgrades; i++ {
		old := gens[len(gens)-1]
		// Let the generation serve a moment before replacing it.
		for n := ok.Load(); ok.Load() < n+int64(requests/(2*upgrades)); {
			time.Sleep(time.Millisecond)
		}
		if err := syscall.Kill(old, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for readPID() == old {
			if time.Now().After(deadline) {
				t.Fatalf("upgrade %d: generation %d was not replaced", i+1, old)
			}
			time.Sleep(time.Millisecond)
		}
		gens = append(gens, readPID())
	}
	upgraded := time.Since(start)
	for deadline := time.Now().Add(60 * time.Second); ok.Load()+failed.Load() < int64(requests); {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	reuse.CloseIdleConnections()

	last := gens[len(gens)-1]
	if err := syscall.Kill(last, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("generation 0: %v", err)
	}
	for _, pid := range gens[1:] {
		if ws := reap(t, pid, 30*time.Second); ws.ExitStatus() != 0 {
			t.Errorf("generation %d: %v", pid, ws)
		}
	}
	checkNoChildren(t)

	t.Logf("%d upgrades in %v; %d requests served by %d of %d generations, %d failed",
		upgrades, upgraded, ok.Load(), len(served), len(gens), failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d requests failed", failed.Load())
	}
	if ok.Load() < int64(requests) {
		t.Errorf("only %d requests", ok.Load())
	}
	if served[strconv.Itoa(gens[0])] == 0 || served[strconv.Itoa(last)] == 0 {
		t.Errorf("the first or the last generation served nothing: %v", served)
	}
}

// TestParentDeath: a new process learns that its parent is gone from the
// end of a pipe, even when the parent is killed outright.
func TestParentDeath(t *testing.T) {
	srv := startServer(t)
	cmd, readPID, out := srv.cmd, srv.pid, srv.out
	parent := readPID()
	// A connection that never sends a request keeps the old process
	// draining (until its 10 s header timeout), so it is still alive when
	// it is killed below.
	idle, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := idle.Write([]byte("GET / HTTP/1.1\r\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // accepted by the only process there is
	if err := syscall.Kill(parent, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for readPID() == parent {
		if time.Now().After(deadline) {
			t.Fatal("no upgrade")
		}
		time.Sleep(time.Millisecond)
	}
	child := readPID()
	marker := out + ".parent-exited." + strconv.Itoa(child)
	time.Sleep(50 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the new process saw its parent go while the parent was still draining")
	}
	if err := syscall.Kill(parent, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("parent: %v, want killed", err)
	}
	waitFile(t, marker, 10*time.Second)
	if err := syscall.Kill(child, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if ws := reap(t, child, 30*time.Second); ws.ExitStatus() != 0 {
		t.Errorf("new process: %v", ws)
	}
	checkNoChildren(t)
}

// testServer is a first generation of the helper's "server" role.
type testServer struct {
	cmd  *exec.Cmd
	addr string     // where it listens
	out  string     // its report file
	pid  func() int // the pid in the PID file: the current generation
}

// startServer starts the server role with this process as subreaper, so
// that the later generations can be reaped.
func startServer(t *testing.T) *testServer {
	t.Helper()
	exe := helper(t)
	if !becomeSubreaper() {
		t.Skip("PR_SET_CHILD_SUBREAPER unavailable: later generations could not be reaped")
	}
	dir := t.TempDir()
	pidFile := dir + "/pid"
	s := &testServer{cmd: exec.Command(exe), out: dir + "/out"}
	s.cmd.Env = roleEnv("server", envAddr+"=127.0.0.1:0", envPIDFile+"="+pidFile, envOut+"="+s.out)
	s.cmd.Stderr = os.Stderr
	if err := Start(s.cmd); err != nil {
		t.Fatal(err)
	}
	s.addr = waitFile(t, s.out, 30*time.Second)
	s.pid = func() int {
		pid, _ := strconv.Atoi(strings.TrimSpace(waitFile(t, pidFile, 30*time.Second)))
		return pid
	}
	return s
}
