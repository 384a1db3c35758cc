//go:build linux

package fork

import (
	"errors"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/fork/forktest"
	"go.uber.org/goleak"
)

// upgradeFixture is an in-process parent: an Upgrader of this test
// process with one echo listener, ready, whose upgrades start the helper's
// "upgrade" role in the given mode.
type upgradeFixture struct {
	t      *testing.T
	u      *Upgrader
	ln     net.Listener
	out    string // the child's report
	pid    string // the child's PID file
	before forktest.FDs
}

func newFixture(t *testing.T, mode string, timeout time.Duration, env ...string) *upgradeFixture {
	t.Helper()
	return newFixtureExe(t, helper(t), mode, timeout, env...)
}

// newFixtureExe is newFixture with the child program exe: the helper, or
// this test binary, whose TestMain runs the same roles under the race
// detector (slower to start).
func newFixtureExe(t *testing.T, exe, mode string, timeout time.Duration, env ...string) *upgradeFixture {
	t.Helper()
	dir := t.TempDir()
	f := &upgradeFixture{
		t:   t,
		out: filepath.Join(dir, "report"),
		pid: filepath.Join(dir, "pid"),
	}
	f.before = snapshotFDs(t)
	u, err := NewUpgrader(UpgradeOptions{
		Path:         exe,
		Args:         []string{},
		ReadyTimeout: timeout,
		ListenConfig: &net.ListenConfig{Control: setReusePort},
		Env: roleEnv("upgrade", append([]string{
			envMode + "=" + mode,
			envOut + "=" + f.out,
			envPIDFile + "=" + f.pid,
			envAddr + "=127.0.0.1:0",
		}, env...)...),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Stop) // also when the test fails before done
	f.u = u
	if f.ln, err = u.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	go serveEcho(f.ln)
	if err := u.Upgrade(); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Upgrade before Ready: %v, want ErrNotReady", err)
	}
	if err := u.Ready(); err != nil {
		t.Fatal(err)
	}
	f.checkServing()
	return f
}

func serveEcho(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			// Not io.Copy: TCP-to-TCP copies splice through pipes the
			// runtime pools, which would look like leaked descriptors.
			buf := make([]byte, 512)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		}()
	}
}

// checkServing proves that the listener still answers (whichever process
// accepts the connection).
func (f *upgradeFixture) checkServing() {
	f.t.Helper()
	c, err := net.DialTimeout("tcp", f.ln.Addr().String(), hangGuard)
	if err != nil {
		f.t.Fatalf("listener does not answer: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(hangGuard))
	msg := []byte("still serving")
	if _, err := c.Write(msg); err != nil {
		f.t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != string(msg) {
		f.t.Fatalf("echo: %q, %v", got, err)
	}
}

// done stops everything and checks that nothing leaked: descriptors,
// goroutines, processes.
func (f *upgradeFixture) done() {
	f.t.Helper()
	f.u.Stop()
	f.ln.Close()
	if s := f.u.successorDone(); s != nil {
		select {
		case <-s:
		case <-time.After(hangGuard):
			f.t.Fatal("the successor did not exit after its parent stopped")
		}
	}
	checkFDs(f.t, f.before)
	goleak.VerifyNone(f.t)
	checkNoChildren(f.t)
}

func (u *Upgrader) successorDone() chan struct{} {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.successor
}

func upgradeError(t *testing.T, err, want error) *UpgradeError {
	t.Helper()
	var ue *UpgradeError
	if !errors.As(err, &ue) || !errors.Is(err, want) {
		t.Fatalf("Upgrade: %v, want an *UpgradeError wrapping %v", err, want)
	}
	if ue.PID <= 0 || ue.State == nil {
		t.Fatalf("UpgradeError without process: %+v", ue)
	}
	if !strings.HasPrefix(err.Error(), "fork: upgrade: ") {
		t.Errorf("message %q", err)
	}
	return ue
}

func TestUpgrade(t *testing.T) {
	t.Run("helper", func(t *testing.T) { testUpgrade(t, helper(t)) })
	t.Run("race", func(t *testing.T) { testUpgrade(t, os.Args[0]) })
}

func testUpgrade(t *testing.T, exe string) {
	dir := t.TempDir()
	notifyPath := filepath.Join(dir, "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	sockPath, logPath := filepath.Join(dir, "s.sock"), filepath.Join(dir, "log")
	f := newFixtureExe(t, exe, "", hangGuard, "NOTIFY_SOCKET="+notifyPath,
		"FORKHELPER_UNIX="+sockPath, "FORKHELPER_FILE="+logPath)
	ul, err := f.u.Listen("unix", sockPath)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := f.u.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := f.u.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := logFile.WriteString("parent\n"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := f.u.Upgrade(); err != nil {
		t.Fatal(err)
	}
	t.Logf("spawn to ready: %v", time.Since(start))
	select {
	case <-f.u.Exit():
	default:
		t.Fatal("Exit not closed after a successful upgrade")
	}
	rep := readReport(t, f.out, hangGuard)
	if rep["addr"] != f.ln.Addr().String() {
		t.Errorf("the child listens on %s, not on the parent's %s", rep["addr"], f.ln.Addr())
	}
	if rep["parent"] != "true" || rep["child"] != "true" {
		t.Errorf("child report: %v", rep)
	}
	// The parent's ListenConfig made the socket; the child's ran for none
	// of the inherited ones.
	if rep["reuseport"] != "1" || rep["controls"] != "0" {
		t.Errorf("child's listener: SO_REUSEPORT %s, its ListenConfig.Control ran %s times; want 1 and 0", rep["reuseport"], rep["controls"])
	}
	if got, want := rep["unix"], target(t, ul.(*net.UnixListener)); got != want {
		t.Errorf("child's unix listener %s, parent's %s", got, want)
	}
	if got, want := rep["udp"], target(t, pc.(*net.UDPConn)); got != want {
		t.Errorf("child's UDP socket %s, parent's %s", got, want)
	}
	if b, err := os.ReadFile(logPath); err != nil || string(b) != "parent\nchild\n" {
		t.Errorf("shared log file holds %q, %v", b, err)
	}
	if want := "listen/tcp/127.0.0.1%3A0,listen/unix/" + strings.ReplaceAll(sockPath, "/", "%2F") +
		",packet/udp/127.0.0.1%3A0,file/" + strings.ReplaceAll(logPath, "/", "%2F") +
		"," + readyName + "," + aliveName; rep["names"] != want {
		t.Errorf("inherited names %q, want %q", rep["names"], want)
	}
	// Exactly stdio, the listener (the parent's very socket), the two
	// pipes, and what the child's runtime opened itself.
	fds := strings.Fields(rep["fds"])
	own, _ := f.ln.(*net.TCPListener).SyscallConn()
	var sock string
	_ = own.Control(func(fd uintptr) { sock, _ = os.Readlink("/proc/self/fd/" + strconv.Itoa(int(fd))) })
	// Beyond stdio and the runtime's own anonymous inodes: the parent's
	// listening socket and the two pipes, nothing else.
	var sockets, pipes, others int
	for _, fd := range fds {
		_, target, _ := strings.Cut(fd, "=")
		switch {
		case strings.HasPrefix(fd, "0=") || strings.HasPrefix(fd, "1=") || strings.HasPrefix(fd, "2="):
		case runtimeOwn(target):
		case target == sock:
			sockets++
		case strings.HasPrefix(target, "pipe:"):
			pipes++
		case target == rep["unix"] || target == rep["udp"] || target == logPath:
			others++
		default:
			t.Errorf("the child holds an unexpected descriptor %s", fd)
		}
	}
	if sockets != 1 || pipes != 2 || others != 3 {
		t.Errorf("the child holds %d copies of the parent's socket %s and %d pipes: %s", sockets, sock, pipes, rep["fds"])
	}
	if pid := strings.TrimSpace(waitFile(t, f.pid, hangGuard)); pid != rep["pid"] {
		t.Errorf("PID file holds %q, want the child's %s", pid, rep["pid"])
	}
	_ = notify.SetReadDeadline(time.Now().Add(hangGuard))
	buf := make([]byte, 256)
	n, err := notify.Read(buf)
	if err != nil {
		t.Fatalf("no sd_notify message: %v", err)
	}
	if want := "MAINPID=" + rep["pid"] + "\nREADY=1\n"; string(buf[:n]) != want {
		t.Errorf("sd_notify got %q, want %q", buf[:n], want)
	}
	f.checkServing()
	if err := f.u.Upgrade(); !errors.Is(err, ErrUpgraded) {
		t.Errorf("second Upgrade: %v, want ErrUpgraded", err)
	}
	// The old process's listener closes; the socket file stays for the
	// successor.
	ul.Close()
	pc.Close()
	logFile.Close()
	if _, err := os.Stat(sockPath); err != nil {
		t.Errorf("the old process removed the unix socket: %v", err)
	}
	f.done()
	// The successor, ready and never upgraded, removed it when it stopped.
	if _, err := os.Stat(sockPath); !os.IsNotExist(err) {
		t.Errorf("the last process left the unix socket: %v", err)
	}
	if err := f.u.Upgrade(); !errors.Is(err, ErrStopped) {
		t.Errorf("Upgrade after Stop: %v, want ErrStopped", err)
	}
	if err := f.u.Ready(); !errors.Is(err, ErrStopped) {
		t.Errorf("Ready after Stop: %v, want ErrStopped", err)
	}
}

func TestUpgradeChildExits(t *testing.T) {
	f := newFixture(t, "exit", hangGuard)
	for i := 0; i < 3; i++ {
		ue := upgradeError(t, f.u.Upgrade(), ErrChildExited)
		if ue.State.ExitCode() != 3 {
			t.Errorf("exit state %v, want status 3", ue.State)
		}
		f.checkServing()
	}
	select {
	case <-f.u.Exit():
		t.Fatal("Exit closed after failed upgrades")
	default:
	}
	f.done()
}

func TestUpgradeTimeout(t *testing.T) {
	f := newFixture(t, "hang", 300*time.Millisecond)
	start := time.Now()
	ue := upgradeError(t, f.u.Upgrade(), os.ErrDeadlineExceeded)
	if ws, ok := ue.State.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Errorf("the silent child ended %v, want killed", ue.State)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("gave up after %v", el)
	}
	f.checkServing()
	f.done()
}

func TestUpgradeCrashAfterReady(t *testing.T) {
	f := newFixture(t, "crash", hangGuard, "GOTRACEBACK=none")
	if err := f.u.Upgrade(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.u.successorDone():
	case <-time.After(hangGuard):
		t.Fatal("the crashed successor was not reaped")
	}
	// This process still has its listener and answers while it drains.
	f.checkServing()
	f.done()
}

func TestUpgradeChildKilled(t *testing.T) {
	f := newFixture(t, "hang", hangGuard)
	errc := make(chan error, 1)
	go func() { errc <- f.u.Upgrade() }()
	rep := readReport(t, f.out, hangGuard)
	pid, _ := strconv.Atoi(rep["pid"])
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ue := upgradeError(t, <-errc, ErrChildExited)
	if ws, ok := ue.State.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGTERM {
		t.Errorf("child ended %v, want SIGTERM", ue.State)
	}
	f.checkServing()
	f.done()
}

// TestUpgradeSIGTERM: the parent is told to stop (SIGTERM, handled by
// calling Stop, as a server does) while an upgrade waits for its child.
func TestUpgradeSIGTERM(t *testing.T) {
	f := newFixture(t, "hang", hangGuard)
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGTERM)
	defer signal.Stop(sigc)
	stopped := make(chan struct{})
	go func() {
		<-sigc
		f.u.Stop()
		close(stopped)
	}()
	errc := make(chan error, 1)
	go func() { errc <- f.u.Upgrade() }()
	readReport(t, f.out, hangGuard)
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ue := upgradeError(t, <-errc, ErrStopped)
	<-stopped
	if ws, ok := ue.State.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Errorf("child ended %v, want killed", ue.State)
	}
	select {
	case <-f.u.Exit():
	default:
		t.Error("Exit not closed after Stop")
	}
	f.checkServing() // draining: the listener is the application's to close
	f.done()
}

func TestUpgradeConcurrent(t *testing.T) {
	f := newFixture(t, "wait", hangGuard)
	errc := make(chan error, 1)
	go func() { errc <- f.u.Upgrade() }()
	// The child has started and waits for SIGUSR1 before Ready.
	rep := readReport(t, f.out, hangGuard)
	err := f.u.Upgrade()
	if !errors.Is(err, ErrInProgress) || err.Error() != "fork: upgrade: "+ErrInProgress.Error() {
		t.Errorf("concurrent Upgrade: %v, want ErrInProgress", err)
	}
	pid, _ := strconv.Atoi(rep["pid"])
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("first Upgrade: %v", err)
	}
	f.done()
}

func TestUpgraderRules(t *testing.T) {
	before := snapshotFDs(t)
	for _, opts := range []UpgradeOptions{{ReadyTimeout: -1}, {Linger: -1}, {DrainTimeout: -1}} {
		if _, err := NewUpgrader(opts); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("NewUpgrader(%+v): %v, want os.ErrInvalid", opts, err)
		}
	}
	u, err := NewUpgrader(UpgradeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewUpgrader(UpgradeOptions{}); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("second upgrader: %v, want os.ErrInvalid", err)
	}
	if u.HasParent() {
		t.Error("HasParent in the test process")
	}
	select {
	case <-u.ParentExited():
	default:
		t.Error("ParentExited open without a parent")
	}
	l, err := u.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Listen("tcp", "127.0.0.1:0"); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("second Listen: %v, want os.ErrInvalid", err)
	}
	if _, err := u.Listen("nope", "x"); err == nil || !strings.HasPrefix(err.Error(), "fork: listen nope x: ") {
		t.Errorf("bad network: %v", err)
	}
	pc, err := u.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "s.sock")
	ul, err := u.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ul.Close()
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("closing the unix listener removed its file: %v", err)
	}
	file, err := u.OpenFile(filepath.Join(t.TempDir(), "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Ready(); err != nil {
		t.Fatal(err)
	}
	if err := u.Ready(); err != nil {
		t.Errorf("second Ready: %v", err)
	}
	u.Stop()
	u.Stop()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("Stop of the last process left the socket file: %v", err)
	}
	if _, err := u.Listen("tcp", "127.0.0.1:0"); !errors.Is(err, ErrStopped) {
		t.Errorf("Listen after Stop: %v", err)
	}
	l.Close()
	pc.Close()
	file.Close()
	u2, err := NewUpgrader(UpgradeOptions{})
	if err != nil {
		t.Fatalf("NewUpgrader after Stop: %v", err)
	}
	u2.Stop()
	checkFDs(t, before)
	goleak.VerifyNone(t)
}

// TestUpgradeLatency runs 100 upgrades to internal/forkready and reports
// the spawn-to-ready p50 and p99 (BenchmarkUpgrade measures the same
// without the race detector in this process).
func TestUpgradeLatency(t *testing.T) {
	n := 100
	if testing.Short() {
		n = 20
	}
	exe := buildHelper(t, "forkready")
	before := snapshotFDs(t)
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		u, err := NewUpgrader(UpgradeOptions{Path: exe, Args: []string{}, Env: append(os.Environ(), envAddr+"=127.0.0.1:0")})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := u.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := u.Ready(); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := u.Upgrade(); err != nil {
			t.Fatalf("upgrade %d: %v", i, err)
		}
		lat = append(lat, time.Since(start))
		u.Stop()
		ln.Close()
		<-u.successorDone()
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("spawn to ready over %d upgrades: p50 %v, p99 %v", n, lat[n/2], lat[(n*99-1)/100])
	checkFDs(t, before)
	checkNoChildren(t)
	goleak.VerifyNone(t)
}

// TestUpgradeStartFails: a new binary that cannot be started leaves the
// parent as it was.
func TestUpgradeStartFails(t *testing.T) {
	before := snapshotFDs(t)
	u, err := NewUpgrader(UpgradeOptions{Path: filepath.Join(t.TempDir(), "missing")})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := u.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Ready(); err != nil {
		t.Fatal(err)
	}
	err = u.Upgrade()
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "fork: upgrade: starting ") {
		t.Fatalf("Upgrade: %v", err)
	}
	select {
	case <-u.Exit():
		t.Fatal("Exit closed")
	default:
	}
	u.Stop()
	ln.Close()
	checkFDs(t, before)
	goleak.VerifyNone(t)
}

// setReusePort is a ListenConfig.Control that sets SO_REUSEPORT on TCP
// and UDP sockets.
func setReusePort(network, _ string, rc syscall.RawConn) error {
	if strings.HasPrefix(network, "unix") {
		return nil
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
	}); err != nil {
		return err
	}
	return serr
}

// TestListenConfig: Listen and ListenPacket create their sockets with
// UpgradeOptions.ListenConfig.
func TestListenConfig(t *testing.T) {
	var calls []string
	u, err := NewUpgrader(UpgradeOptions{ListenConfig: &net.ListenConfig{Control: func(network, addr string, rc syscall.RawConn) error {
		calls = append(calls, network)
		return setReusePort(network, addr, rc)
	}}})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Stop()
	l, err := u.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pc, err := u.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, c := range []syscall.Conn{l.(*net.TCPListener), pc.(*net.UDPConn)} {
		rc, _ := c.SyscallConn()
		v := -1
		_ = rc.Control(func(fd uintptr) { v, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort) })
		if v != 1 {
			t.Errorf("%T: SO_REUSEPORT %d, want 1", c, v)
		}
	}
	if strings.Join(calls, ",") != "tcp4,udp4" {
		t.Errorf("Control ran for %v, want tcp4,udp4", calls)
	}
}

// soReusePort is SO_REUSEPORT on the common Linux architectures (the
// syscall package lacks it).
const soReusePort = 15
