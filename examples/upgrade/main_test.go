package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/testpki"
)

const serverEnv = "STURDY_UPGRADE_EXAMPLE_SERVER"

// hangGuard bounds every wait: a wait that reaches it means something
// hangs; it is no speed threshold.
const hangGuard = 5 * time.Minute

func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) == "1" {
		main() // the server under test, and every generation it upgrades to
	}
	// Upgraded generations are orphaned when their parent exits; as a
	// subreaper this test inherits and reaps them.
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, 36 /* PR_SET_CHILD_SUBREAPER */, 1, 0)
	os.Exit(m.Run())
}

// writeLeaf issues a leaf for 127.0.0.1 and installs it as the server's
// certificate files.
func writeLeaf(t *testing.T, ca *testpki.CA, dir string) *testpki.Cert {
	t.Helper()
	leaf := ca.Leaf(t, testpki.IPs(net.IPv4(127, 0, 0, 1)))
	tmp := t.TempDir()
	certFile, keyFile := leaf.WritePEM(t, tmp)
	for _, mv := range [][2]string{{keyFile, "key.pem"}, {certFile, "cert.pem"}} {
		if err := os.Rename(mv[0], filepath.Join(dir, mv[1])); err != nil {
			t.Fatal(err)
		}
	}
	return leaf
}

// lines collects the server's output and lets the test wait for a line.
type lines struct {
	ch  chan string
	all strings.Builder
}

func (l *lines) wait(t *testing.T, re *regexp.Regexp, d time.Duration) []string {
	t.Helper()
	return l.waitAll(t, d, re)[0]
}

// waitAll waits until every pattern has matched a line, in any order: the
// lines of two generations interleave as they please. It returns each
// pattern's submatches.
func (l *lines) waitAll(t *testing.T, d time.Duration, res ...*regexp.Regexp) [][]string {
	t.Helper()
	found := make([][]string, len(res))
	left := len(res)
	deadline := time.After(d)
	for left > 0 {
		select {
		case line, ok := <-l.ch:
			if !ok {
				t.Fatalf("server output ended before %v:\n%s", res, l.all.String())
			}
			l.all.WriteString(line + "\n")
			for i, re := range res {
				if found[i] == nil {
					if m := re.FindStringSubmatch(line); m != nil {
						found[i] = m
						left--
						break
					}
				}
			}
		case <-deadline:
			t.Fatalf("not all of %v within %v:\n%s", res, d, l.all.String())
		}
	}
	return found
}

func TestZeroDowntimeUpgrades(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several server processes")
	}
	dir := t.TempDir()
	ca := testpki.NewRoot(t)
	writeLeaf(t, ca, dir)

	cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0", "-admin", "127.0.0.2:0", "-certdir", dir, "-slow", "20ms")
	cmd.Env = append(os.Environ(), serverEnv+"=1")
	cmd.Stderr = io.Discard // zap's JSON lines for slow requests
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := &lines{ch: make(chan string, 256)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.ch <- sc.Text()
		}
		close(out.ch)
	}()
	pids := []int{cmd.Process.Pid}
	defer func() {
		// Whatever happened, no generation outlives the test.
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = cmd.Wait()
		for _, pid := range pids[1:] {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, 0, nil)
		}
	}()

	ms := out.waitAll(t, hangGuard, regexp.MustCompile(`^pid (\d+): serving https://(\S+)$`),
		regexp.MustCompile(`^pid \d+: admin on (http://\S+)/debug/slowlog$`))
	addr, adminBase := ms[0][2], ms[1][1]
	// Half the clients reuse connections, half open one per request: the
	// two ways a drain can drop a request.
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, MaxIdleConnsPerHost: 8}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	oneShot := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, DisableKeepAlives: true}}
	base := "https://" + addr

	// Clients hammer the server for the whole test.
	var ok, failed atomic.Int64
	var mu sync.Mutex
	var firstErr error
	seen := map[string]int{} // requests served, by pid
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		c := client
		if i%2 == 1 {
			c = oneShot
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Get(base + "/")
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %s", resp.Status)
					}
				}
				if err != nil {
					failed.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				ok.Add(1)
				mu.Lock()
				seen[resp.Header.Get("X-Pid")]++
				mu.Unlock()
			}
		}()
	}

	serving := regexp.MustCompile(`^pid (\d+): serving https://`)
	for i := 0; i < 3; i++ {
		old := pids[len(pids)-1]
		// Let requests reach this generation before replacing it.
		for deadline := time.Now().Add(hangGuard); ; time.Sleep(time.Millisecond) {
			mu.Lock()
			n := seen[strconv.Itoa(old)]
			mu.Unlock()
			if n >= 20 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("generation %d served only %d requests", old, n)
			}
		}
		if err := syscall.Kill(old, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		m := out.waitAll(t, hangGuard, serving, regexp.MustCompile(fmt.Sprintf(`^pid %d: drained, exiting$`, old)))
		pid, _ := strconv.Atoi(m[0][1])
		if pid == old {
			t.Fatalf("upgrade %d: the same pid %d announced serving again", i+1, pid)
		}
		pids = append(pids, pid)
	}
	current := pids[len(pids)-1]

	// A new certificate on disk, announced through the observer.
	newLeaf := writeLeaf(t, ca, dir)
	if err := syscall.Kill(current, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	out.wait(t, regexp.MustCompile(fmt.Sprintf(`^pid %d: serving certificate %s `, current, newLeaf.Cert.SerialNumber)), hangGuard)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	if got := conn.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(newLeaf.Cert.SerialNumber) != 0 {
		t.Errorf("after the reload the server presents serial %v, want %v", got, newLeaf.Cert.SerialNumber)
	}
	conn.Close()

	// A slow request shows up in /debug/slowlog, on the admin listener
	// only: the public one does not serve it.
	if resp, err := client.Get(base + "/slow"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if resp, err := client.Get(base + "/debug/slowlog"); err != nil {
		t.Fatal(err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "entries") {
			t.Errorf("the public listener serves the slow log: %s", body)
		}
	}
	resp, err := http.Get(adminBase + "/debug/slowlog")
	if err != nil {
		t.Fatal(err)
	}
	var debug map[string]json.RawMessage
	err = json.NewDecoder(resp.Body).Decode(&debug)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("/debug/slowlog is not JSON: %v", err)
	}
	if raw := fmt.Sprint(string(debug["entries"])); !strings.Contains(raw, "/slow") {
		t.Errorf("/debug/slowlog entries lack the slow request: %s", raw)
	}

	close(stop)
	wg.Wait()
	t.Logf("%d requests served across pids %v, %d failed", ok.Load(), pids, failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d requests failed during upgrades; first: %v", failed.Load(), firstErr)
	}
	if ok.Load() < 100 {
		t.Errorf("only %d requests succeeded", ok.Load())
	}
	mu.Lock()
	generations := len(seen)
	mu.Unlock()
	if generations < 3 {
		t.Errorf("requests reached %d generations, want at least 3 of %d", generations, len(pids))
	}

	if err := syscall.Kill(current, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	out.wait(t, regexp.MustCompile(fmt.Sprintf(`^pid %d: drained, exiting$`, current)), hangGuard)
}

func TestBadFlag(t *testing.T) {
	var out strings.Builder
	if code := run(&out, []string{"-nope"}); code != 2 {
		t.Fatalf("run(-nope) = %d, want 2", code)
	}
}

// TestHelp: -h prints a usage line, what the program does and its flags,
// and exits 0.
func TestHelp(t *testing.T) {
	var out strings.Builder
	if code := run(&out, []string{"-h"}); code != 0 {
		t.Fatalf("run(-h) = %d, want 0", code)
	}
	for _, want := range []string{"usage: upgrade ", "kill -HUP", "-addr", "-admin", "-certdir", "-slow"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-h output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestEnsureCert: the certificate the program makes for itself verifies
// against its ca.pem for localhost and both loopback addresses, and a
// second call keeps the files.
func TestEnsureCert(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	certFile, keyFile, err := ensureCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := pair.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	before, _ := os.ReadFile(certFile)
	if _, _, err := ensureCert(dir); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(certFile); string(after) != string(before) {
		t.Error("a second ensureCert replaced the certificate")
	}
}

// TestReloadAtOnce plays systemd with NotifyAccess=all and ExecReload=kill
// -HUP $MAINPID, at its most hurried: the moment a generation announces
// MAINPID and READY=1 on NOTIFY_SOCKET, it gets SIGHUP. Every generation
// must upgrade and exit cleanly, none may die of the signal, and a client
// sees no failed request throughout. With signal.Notify after Ready (the
// order this example had), the service stopped within 0–7 upgrades.
func TestReloadAtOnce(t *testing.T) {
	upgrades := 50
	if testing.Short() {
		upgrades = 10
	}
	dir := t.TempDir()
	ca := testpki.NewRoot(t)
	writeLeaf(t, ca, dir)
	sock := filepath.Join(dir, "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	pidFile := filepath.Join(dir, "pid")
	logFile, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0", "-admin", "", "-certdir", dir, "-pidfile", pidFile)
	cmd.Env = append(os.Environ(), serverEnv+"=1", "NOTIFY_SOCKET="+sock)
	cmd.Stdout, cmd.Stderr = logFile, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pids := []int{}
	reaped := map[int]bool{}
	defer func() {
		for _, pid := range pids {
			if !reaped[pid] {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = cmd.Wait()
		for _, pid := range pids[1:] {
			if !reaped[pid] {
				var ws syscall.WaitStatus
				_, _ = syscall.Wait4(pid, &ws, 0, nil)
			}
		}
	}()
	output := func() string { b, _ := os.ReadFile(logFile.Name()); return string(b) }

	// announced waits for the next generation's MAINPID and READY=1.
	announced := func() int {
		t.Helper()
		buf := make([]byte, 512)
		for {
			_ = notify.SetReadDeadline(time.Now().Add(hangGuard))
			n, err := notify.Read(buf)
			if err != nil {
				t.Fatalf("no generation announced itself after %d: %v\n%s", len(pids), err, output())
			}
			msg := string(buf[:n])
			if !strings.Contains(msg, "READY=1") {
				continue
			}
			for _, line := range strings.Split(msg, "\n") {
				if v, ok := strings.CutPrefix(line, "MAINPID="); ok {
					pid, _ := strconv.Atoi(v)
					return pid
				}
			}
		}
	}

	var addr string
	var failed, ok atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i <= upgrades; i++ {
		pid := announced()
		pids = append(pids, pid)
		if i == 0 {
			addr = out0(t, logFile.Name())
			transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}
			defer transport.CloseIdleConnections()
			client := &http.Client{Transport: transport}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					resp, err := client.Get("https://" + addr + "/")
					if err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					if err != nil {
						if failed.Add(1) == 1 {
							firstErr.Store(err)
						}
						continue
					}
					ok.Add(1)
				}
			}()
		}
		if i == upgrades {
			break
		}
		// The reload, the moment the generation announced itself.
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			t.Fatalf("generation %d (pid %d): %v", i, pid, err)
		}
	}
	close(stop)
	wg.Wait()
	last := pids[len(pids)-1]
	if b, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(last) {
		t.Errorf("PID file %q (%v), want the last generation %d", b, err, last)
	}
	if err := syscall.Kill(last, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Every generation drains and exits by itself, with status 0: one
	// killed by the signal would not say "drained, exiting". A generation
	// that exits before its parent is reaped by that parent, not by this
	// test (ECHILD here).
	if err := cmd.Wait(); err != nil {
		t.Errorf("generation 0: %v", err)
	}
	reaped[pids[0]] = true
	for i, pid := range pids[1:] {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		reaped[pid] = true
		if err == nil && (!ws.Exited() || ws.ExitStatus() != 0) {
			t.Errorf("generation %d (pid %d) ended %v", i+1, pid, describe(ws))
		}
	}
	// (ECHILD also comes at once for a generation whose parent still
	// drains: wait for its words.)
	for i, pid := range pids {
		line := fmt.Sprintf("pid %d: drained, exiting\n", pid)
		for deadline := time.Now().Add(hangGuard); !strings.Contains(output(), line); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("generation %d (pid %d) never said it drained", i, pid)
				break
			}
		}
	}
	t.Logf("%d upgrades, each reloaded the moment it announced itself; %d requests served, %d failed", upgrades, ok.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d requests failed; first: %v", failed.Load(), firstErr.Load())
	}
	if t.Failed() {
		t.Logf("output:\n%s", output())
	}
}

// out0 waits for the first generation's "serving" line in the log file
// and returns its address.
func out0(t *testing.T, path string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^pid \d+: serving https://(\S+)$`)
	for deadline := time.Now().Add(hangGuard); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		b, _ := os.ReadFile(path)
		if m := re.FindSubmatch(b); m != nil {
			return string(m[1])
		}
	}
	t.Fatal("the first generation never said where it serves")
	return ""
}

func describe(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return "with status " + strconv.Itoa(ws.ExitStatus())
}
