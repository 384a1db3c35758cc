//go:build linux

package fork

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
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

// hangGuard bounds every wait of the stress tests. It is no performance
// threshold: a wait that reaches it means something hangs.
const hangGuard = 5 * time.Minute

// loadModes are the client behaviours of TestUpgradeUnderLoad: a new
// connection per GET; GETs on kept-alive connections (which Go's client
// resends by itself when the server closes a reused connection under
// them, so the test counts resends); POSTs with a body the client cannot
// resend, on kept-alive connections.
var loadModes = []string{"fresh-get", "keepalive-get", "keepalive-post"}

// TestUpgradeUnderLoad upgrades a loopback HTTP server served by
// Upgrader.Serve again and again while four clients keep sending
// requests, in each client mode, and counts every failed request (any
// error the client returns, a status other than 200, a wrong body) and
// every silent resend (a request for which the client got a connection
// twice, seen through httptrace). Both must be 0. The servers are the
// helper's "server" role: SIGHUP upgrades, the pid file names the
// current generation, SIGTERM drains and exits.
//
// Each mode does 20 upgrades; with FORK_TEST_LONG=1 it sends at least
// 10,000 requests, otherwise 3,000 (-short: 5 upgrades, 1,000 requests).
func TestUpgradeUnderLoad(t *testing.T) {
	upgrades, requests := 20, 3000
	if os.Getenv(longEnv) != "" {
		requests = 10000
	} else if testing.Short() {
		upgrades, requests = 5, 1000
	}
	for _, mode := range loadModes {
		t.Run(mode, func(t *testing.T) { runLoad(t, mode, upgrades, requests) })
	}
}

func runLoad(t *testing.T, mode string, upgrades, requests int) {
	h2 := strings.HasPrefix(mode, "h2c-")
	var srv *testServer
	if h2 {
		srv = startServer(t, envH2C+"=1")
	} else {
		srv = startServer(t)
	}
	cmd, readPID := srv.cmd, srv.pid
	url := "http://" + srv.addr + "/"
	gens := []int{readPID()}

	workers := 4
	transport := &http.Transport{MaxIdleConnsPerHost: workers, DisableKeepAlives: mode == "fresh-get"}
	if h2 {
		// Many concurrent streams on each HTTP/2 connection.
		workers = 16
		transport.Protocols = new(http.Protocols)
		transport.Protocols.SetUnencryptedHTTP2(true)
	}
	var goaway atomic.Int64 // HTTP/2: requests lost to the GOAWAY race (see TestUpgradeHTTP2)
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	var ok, failed, resends atomic.Int64
	var mu sync.Mutex
	served := make(map[string]int)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	fail := func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); h2 && (strings.Contains(msg, "GOAWAY") || strings.Contains(msg, "cannot rewind body after connection loss")) {
			goaway.Add(1)
			return
		}
		if failed.Add(1) <= 5 {
			t.Errorf(mode+": request failed: "+format, args...)
		}
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := bytes.Repeat([]byte("x"), 512)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var req *http.Request
				var err error
				if mode == "keepalive-post" || mode == "h2c-post" {
					// A reader the client cannot rewind: no GetBody, so
					// it never resends this request.
					req, err = http.NewRequest(http.MethodPost, url, struct{ io.Reader }{bytes.NewReader(body)})
					req.ContentLength = int64(len(body))
				} else {
					req, err = http.NewRequest(http.MethodGet, url, nil)
				}
				if err != nil {
					t.Error(err)
					return
				}
				conns := 0
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
					GotConn: func(httptrace.GotConnInfo) { conns++ },
				}))
				resp, err := client.Do(req)
				if conns > 1 {
					resends.Add(int64(conns - 1))
				}
				if err != nil {
					fail("%v", err)
					continue
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				pid, n, _ := strings.Cut(string(got), " ")
				if err != nil || resp.StatusCode != http.StatusOK || (req.Method == http.MethodPost && n != strconv.Itoa(len(body))) {
					fail("%s %q %v", resp.Status, got, err)
					continue
				}
				ok.Add(1)
				mu.Lock()
				served[pid]++
				mu.Unlock()
			}
		}()
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(hangGuard); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s", mode, what)
			}
		}
	}
	start := time.Now()
	for i := 0; i < upgrades; i++ {
		old := gens[len(gens)-1]
		// Let the generation serve its share before replacing it.
		n := ok.Load()
		waitFor("no progress", func() bool { return ok.Load() >= n+int64(requests/(2*upgrades)) })
		if err := syscall.Kill(old, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		// The PID file names the new process from its Ready on, before
		// the old one knows; the old one reports its Upgrade's success.
		waitFile(t, srv.out+".upgraded."+strconv.Itoa(old), hangGuard)
		gens = append(gens, readPID())
	}
	upgraded := time.Since(start)
	last := gens[len(gens)-1]
	waitFor("too few requests", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return ok.Load()+failed.Load() >= int64(requests) && served[strconv.Itoa(last)] > 0
	})
	close(stop)
	wg.Wait()
	stop = make(chan struct{})
	transport.CloseIdleConnections()

	if err := syscall.Kill(last, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("generation 0: %v", err)
	}
	byParent := 0
	for _, pid := range gens[1:] {
		ws, seen := reapOrGone(t, pid, hangGuard)
		if !seen {
			byParent++
		} else if ws.ExitStatus() != 0 {
			t.Errorf("generation %d: %v", pid, ws)
		}
	}
	if byParent > 0 {
		t.Logf("%s: %d generations exited while their parent still drained, which reaped them", mode, byParent)
	}
	checkNoChildren(t)

	t.Logf("%s: %d upgrades in %v; %d requests served by %d of %d generations; %d failed, %d resent",
		mode, upgrades, upgraded.Round(time.Millisecond), ok.Load(), len(served), len(gens), failed.Load()+goaway.Load(), resends.Load())
	if h2 {
		t.Logf("%s: %d of the failed requests lost to the GOAWAY race (the HTTP/2 limit)", mode, goaway.Load())
	}
	if failed.Load() != 0 {
		t.Errorf("%s: %d requests failed", mode, failed.Load())
	}
	if resends.Load() != 0 && !h2 {
		t.Errorf("%s: the client resent %d requests: the server closed connections under them", mode, resends.Load())
	}
	if ok.Load() < int64(requests) {
		t.Errorf("%s: only %d requests", mode, ok.Load())
	}
	if served[strconv.Itoa(gens[0])] == 0 || served[strconv.Itoa(last)] == 0 {
		t.Errorf("%s: the first or the last generation served nothing: %v", mode, served)
	}
}

// TestUpgradeHTTP2 measures what Go's HTTP/2 client sees through upgrades:
// sixteen workers send POSTs with bodies the client cannot resend, as
// concurrent streams on one h2c connection, while the server upgrades 20
// times (-short: 5). Every failure must be of the two kinds net/http's
// HTTP/2 server and client leave possible (see "HTTP/2" in the package
// documentation): a stream the client sent after the server's single
// GOAWAY had left, which the client cannot retry once the body was written
// ("graceful shutdown GOAWAY after Request.Body was written"), and a
// request the client had given to a connection that received GOAWAY
// before the request was sent, which it retries only with a body it can
// rewind ("cannot rewind body after connection loss"). Any other failure
// fails the test; the count of these is logged, and so are the GETs the
// client resent silently.
func TestUpgradeHTTP2(t *testing.T) {
	upgrades, requests := 20, 3000
	if testing.Short() {
		upgrades, requests = 5, 1000
	}
	runLoad(t, "h2c-post", upgrades, requests)
}

// TestParentDeath: a new process learns that its parent is gone from the
// end of a pipe, even when the parent is killed outright.
func TestParentDeath(t *testing.T) {
	srv := startServer(t)
	cmd, readPID, out := srv.cmd, srv.pid, srv.out
	parent := readPID()
	// A request the parent holds keeps it draining, so it is still alive
	// when it is killed below.
	held, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if _, err := held.Write([]byte("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := readUntil(bufio.NewReader(held), "holding"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(parent, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFile(t, out+".upgraded."+strconv.Itoa(parent), hangGuard)
	child := readPID()
	marker := out + ".parent-exited." + strconv.Itoa(child)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the new process saw its parent go while the parent was still draining")
	}
	if err := syscall.Kill(parent, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("parent: %v, want killed", err)
	}
	waitFile(t, marker, hangGuard)
	if err := syscall.Kill(child, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if ws := reap(t, child, hangGuard); ws.ExitStatus() != 0 {
		t.Errorf("new process: %v", ws)
	}
	checkNoChildren(t)
}

// readUntil reads lines from r until one holds s.
func readUntil(r *bufio.Reader, s string) error {
	for {
		line, err := r.ReadString('\n')
		if strings.Contains(line, s) {
			return nil
		}
		if err != nil {
			return err
		}
	}
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
func startServer(t *testing.T, env ...string) *testServer {
	t.Helper()
	exe := helper(t)
	if !becomeSubreaper() {
		t.Skip("PR_SET_CHILD_SUBREAPER unavailable: later generations could not be reaped")
	}
	dir := t.TempDir()
	pidFile := dir + "/pid"
	s := &testServer{cmd: exec.Command(exe), out: dir + "/out"}
	// FORK_TEST_DRAIN=shutdown runs the servers with srv.Shutdown instead
	// of Serve, to see the load test catch what Serve prevents.
	s.cmd.Env = roleEnv("server", envAddr+"=127.0.0.1:0", envPIDFile+"="+pidFile, envOut+"="+s.out,
		envMode+"="+os.Getenv("FORK_TEST_DRAIN"))
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stderr = os.Stderr
	if err := Start(s.cmd); err != nil {
		t.Fatal(err)
	}
	s.addr = waitFile(t, s.out, hangGuard)
	s.pid = func() int {
		pid, _ := strconv.Atoi(strings.TrimSpace(waitFile(t, pidFile, hangGuard)))
		return pid
	}
	return s
}
