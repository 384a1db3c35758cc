//go:build linux

package fork

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

// runInherit starts the helper's "inherit" role with start (which starts
// the prepared cmd) and returns its report.
func runInherit(t *testing.T, start func(cmd *exec.Cmd) error, env ...string) map[string]string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report")
	cmd := exec.Command(helper(t))
	cmd.Env = roleEnv("inherit", append([]string{envOut + "=" + out}, env...)...)
	cmd.Stderr = os.Stderr
	if err := start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	return readReport(t, out, hangGuard)
}

// target is the readlink target of c's descriptor: the open object.
func target(t *testing.T, c syscall.Conn) string {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var s string
	_ = rc.Control(func(fd uintptr) { s, err = os.Readlink("/proc/self/fd/" + strconv.Itoa(int(fd))) })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStartExact: the child holds stdio and the named files, not the
// descriptors this process opened without close-on-exec, with both ways
// of marking (close_range and the /proc scan).
func TestStartExact(t *testing.T) {
	for _, useRange := range []bool{true, false} {
		t.Run("close_range="+strconv.FormatBool(useRange), func(t *testing.T) {
			saved := useCloseRange.Load()
			useCloseRange.Store(useRange)
			defer useCloseRange.Store(saved)

			secret := filepath.Join(t.TempDir(), "secret")
			if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			raw, err := syscall.Open(secret, syscall.O_RDONLY, 0) // inheritable
			if err != nil {
				t.Fatal(err)
			}
			defer syscall.Close(raw)
			dup, err := syscall.Dup(raw) // inheritable too
			if err != nil {
				t.Fatal(err)
			}
			defer syscall.Close(dup)
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			defer w.Close()
			data, err := os.Create(filepath.Join(t.TempDir(), "data"))
			if err != nil {
				t.Fatal(err)
			}
			defer data.Close()

			rep := runInherit(t, func(cmd *exec.Cmd) error {
				return Start(cmd, NamedFile{"pipe", w}, NamedFile{"data", data})
			})
			if rep["child"] != "true" || rep["names"] != "pipe,data" || rep["env"] != "" || rep["init"] != "<nil>" {
				t.Errorf("child report %v", rep)
			}
			want := map[string]string{"3": target(t, w), "4": target(t, data)}
			for _, fd := range strings.Fields(rep["fds"]) {
				n, tg, _ := strings.Cut(fd, "=")
				switch {
				case n == "0" || n == "1" || n == "2":
				case want[n] != "":
					if tg != want[n] {
						t.Errorf("descriptor %s is %s, want %s", n, tg, want[n])
					}
					delete(want, n)
				case runtimeOwn(tg):
				default:
					t.Errorf("the child inherited %s", fd)
				}
			}
			if len(want) != 0 {
				t.Errorf("the child lacks %v: %s", want, rep["fds"])
			}
			// The marking is sticky: both are close-on-exec now.
			for _, fd := range []int{raw, dup} {
				flags, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
				if e != 0 || flags&syscall.FD_CLOEXEC == 0 {
					t.Errorf("descriptor %d not marked close-on-exec (%v)", fd, e)
				}
			}
		})
	}
}

// TestStartNoFiles: a child given nothing gets stdio only, and still knows
// it was started by Start.
func TestStartNoFiles(t *testing.T) {
	rep := runInherit(t, func(cmd *exec.Cmd) error {
		cmd.Env = append(cmd.Env, "LISTEN_PID=1", "LISTEN_FDS=2", "LISTEN_FDNAMES=a:b", EnvMarker+"=stale")
		return Start(cmd)
	})
	if rep["child"] != "true" || rep["names"] != "" || rep["env"] != "" || rep["init"] != "<nil>" {
		t.Errorf("child report %v", rep)
	}
	for _, fd := range strings.Fields(rep["fds"]) {
		n, tg, _ := strings.Cut(fd, "=")
		if n != "0" && n != "1" && n != "2" && !runtimeOwn(tg) {
			t.Errorf("the child inherited %s", fd)
		}
	}
}

// TestStartKeepsNonblocking: passing a live listener must not switch it to
// blocking mode (exec.Cmd's ExtraFiles alone would), or its Close would
// hang behind a blocked accept.
func TestStartKeepsNonblocking(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helper(t))
	cmd.Env = roleEnv("inherit")
	if err := Start(cmd, NamedFile{"l", f}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	rc, _ := ln.(*net.TCPListener).SyscallConn()
	var flags uintptr
	_ = rc.Control(func(fd uintptr) { flags, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0) })
	if flags&syscall.O_NONBLOCK == 0 {
		t.Fatal("the listener was switched to blocking mode")
	}
	accepted := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		accepted <- err
	}()
	// Close while Accept waits in the poller: a blocking socket would
	// hang it in accept(2) instead, and Close behind it.
	waitGoroutine(t, "[IO wait", "Accept")
	ln.Close()
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Errorf("accept: %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	before := snapshotFDs(t)
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	closed, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	tests := []struct {
		name  string
		cmd   *exec.Cmd
		files []NamedFile
		want  error
	}{
		{"nil cmd", nil, nil, os.ErrInvalid},
		{"extra files", &exec.Cmd{Path: "/bin/true", ExtraFiles: []*os.File{f}}, nil, os.ErrInvalid},
		{"nil file", exec.Command("/bin/true"), []NamedFile{{"x", nil}}, os.ErrInvalid},
		{"empty name", exec.Command("/bin/true"), []NamedFile{{"", f}}, os.ErrInvalid},
		{"colon", exec.Command("/bin/true"), []NamedFile{{"a:b", f}}, os.ErrInvalid},
		{"control", exec.Command("/bin/true"), []NamedFile{{"a\nb", f}}, os.ErrInvalid},
		{"non-ASCII", exec.Command("/bin/true"), []NamedFile{{"é", f}}, os.ErrInvalid},
		{"long", exec.Command("/bin/true"), []NamedFile{{strings.Repeat("n", 256), f}}, os.ErrInvalid},
		{"closed file", exec.Command("/bin/true"), []NamedFile{{"c", closed}}, os.ErrClosed},
		{"no program", exec.Command(filepath.Join(t.TempDir(), "missing")), []NamedFile{{"ok", f}}, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Start(tt.cmd, tt.files...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Start: %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "fork: start: ") {
				t.Errorf("message %q", err)
			}
			if tt.cmd != nil && tt.name != "extra files" && len(tt.cmd.ExtraFiles) != 0 {
				t.Error("ExtraFiles left set")
			}
		})
	}
	started := exec.Command("/bin/sh", "-c", "exit 0")
	if err := Start(started); err != nil {
		t.Fatal(err)
	}
	if err := started.Wait(); err != nil {
		t.Fatal(err)
	}
	env := started.Env
	if err := Start(started, NamedFile{"f", f}); err == nil || !strings.Contains(err.Error(), "already started") {
		t.Errorf("second Start of one command: %v", err)
	}
	if len(started.Env) != len(env) || started.ExtraFiles != nil {
		t.Error("a refused Start changed the command")
	}
	f.Close()
	checkFDs(t, before)
	goleak.VerifyNone(t)
}

// TestInitRecognition: which senders Init trusts.
func TestInitRecognition(t *testing.T) {
	data, err := os.Create(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	other, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	id, err := fileIdentity(data)
	if err != nil {
		t.Fatal(err)
	}
	good := EnvMarker + "=" + formatMarker(marker{ppid: os.Getpid(), start: selfStart(), ids: []fileID{id}})
	plain := func(files ...*os.File) func(*exec.Cmd) error {
		return func(cmd *exec.Cmd) error { cmd.ExtraFiles = files; return cmd.Start() }
	}
	// sh keeps its pid across exec: the wrapper the documentation shows.
	wrapped := func(files ...*os.File) func(*exec.Cmd) error {
		return func(cmd *exec.Cmd) error {
			cmd.Args = []string{"/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, cmd.Path}
			cmd.Path = "/bin/sh"
			cmd.ExtraFiles = files
			return cmd.Start()
		}
	}
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	tests := []struct {
		name  string
		start func(*exec.Cmd) error
		env   []string
		child string
		names string
		init  string
	}{
		{"our marker", plain(data), []string{"LISTEN_FDS=1", "LISTEN_FDNAMES=d", good}, "true", "d", "<nil>"},
		// From a parent built with an older sturdy: upgrades across versions.
		{"version 1 marker", plain(data), []string{"LISTEN_FDS=1", "LISTEN_FDNAMES=d",
			EnvMarker + "=1 " + strconv.Itoa(os.Getpid()) + " " + strings.Fields(formatMarker(marker{ids: []fileID{id}}))[3]}, "true", "d", "<nil>"},
		{"marker for other files", plain(other), []string{"LISTEN_FDS=1", "LISTEN_FDNAMES=d", good}, "false", "", "<nil>"},
		{"LISTEN_FDS alone", plain(data), []string{"LISTEN_FDS=1"}, "false", "", "<nil>"},
		{"LISTEN_PID of another", plain(data), []string{"LISTEN_FDS=1", "LISTEN_PID=1"}, "false", "", "<nil>"},
		{"systemd via wrapper", wrapped(data), []string{"LISTEN_FDS=1", "LISTEN_FDNAMES=web"}, "false", "web", "<nil>"},
		{"systemd without names", wrapped(data), []string{"LISTEN_FDS=1"}, "false", "unknown", "<nil>"},
		{"Start via wrapper", func(cmd *exec.Cmd) error {
			cmd.Args = []string{"/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, cmd.Path}
			cmd.Path = "/bin/sh"
			return Start(cmd, NamedFile{"d", data})
		}, nil, "true", "d", "<nil>"},
		{"malformed count", plain(data), []string{"LISTEN_FDS=x", good}, "false", "", "invalid argument"},
		{"names mismatch", plain(data), []string{"LISTEN_FDS=1", "LISTEN_FDNAMES=a:b", good}, "false", "", "invalid argument"},
		{"malformed marker", plain(data), []string{"LISTEN_FDS=1", EnvMarker + "=9 x"}, "false", "", "invalid argument"},
		// Descriptor 3 is the child runtime's own (Go keeps cgroup files
		// open), or none: not inherited either way.
		{"descriptor not open", wrapped(), []string{"LISTEN_FDS=1"}, "false", "", "was not inherited"},
		// A refusal closes nothing: descriptor 3 is still the program's.
		{"second descriptor not open", wrapped(data), []string{"LISTEN_FDS=2"}, "false", "", "was not inherited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := runInherit(t, tt.start, tt.env...)
			if rep["child"] != tt.child || rep["names"] != tt.names || !strings.Contains(rep["init"], tt.init) || rep["env"] != "" {
				t.Errorf("report %v; want child=%s names=%q init~%q", rep, tt.child, tt.names, tt.init)
			}
			if tt.name == "second descriptor not open" && !strings.Contains(" "+rep["fds"], " 3="+target(t, data)) {
				t.Errorf("the refused adoption closed descriptor 3: %s", rep["fds"])
			}
		})
	}
}

// TestInitGrandchildren: behind a shell that does not exec, the processes
// the shell starts are not the one Start started and adopt nothing,
// although they hold the very files the marker names.
func TestInitGrandchildren(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	data, err := os.Create(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	out := filepath.Join(t.TempDir(), "report")
	cmd := exec.Command("/bin/sh", "-c", `"$0"; FORKHELPER_OUT="$FORKHELPER_OUT.2" "$0"`, helper(t))
	cmd.Env = roleEnv("inherit", envOut+"="+out)
	cmd.Stderr = os.Stderr
	if err := Start(cmd, NamedFile{"d", data}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{out, out + ".2"} {
		rep := readReport(t, path, hangGuard)
		if rep["child"] != "false" || rep["names"] != "" || rep["init"] != "<nil>" {
			t.Errorf("grandchild %s: %v; want child=false, nothing adopted", filepath.Base(path), rep)
		}
	}
}

// TestInitOrphan: a child whose parent exited right after Start (before
// the child's Init) still adopts its files: it was reparented, and it is
// the process Start started.
func TestInitOrphan(t *testing.T) {
	if !becomeSubreaper() {
		t.Skip("PR_SET_CHILD_SUBREAPER unavailable: the orphan could not be reaped")
	}
	out := filepath.Join(t.TempDir(), "report")
	cmd := exec.Command(helper(t))
	cmd.Env = roleEnv("orphan", envOut+"="+out)
	cmd.Stderr = os.Stderr
	if err := Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	rep := readReport(t, out, hangGuard)
	if rep["child"] != "true" || rep["names"] != "orphaned" || rep["init"] != "<nil>" {
		t.Errorf("orphaned child: %v; want child=true names=orphaned", rep)
	}
	pid, _ := strconv.Atoi(rep["pid"])
	if ws := reap(t, pid, hangGuard); ws.ExitStatus() != 0 {
		t.Errorf("orphan: %v", ws)
	}
	checkNoChildren(t)
}

// TestAtForkOrder checks the pthread_atfork rules: prepare in reverse
// order of registration, parent in order (also when the start fails), and
// child in order in the child's Init.
func TestAtForkOrder(t *testing.T) {
	saved := hookSnapshot()
	defer func() {
		hooks.mu.Lock()
		hooks.list = saved
		hooks.mu.Unlock()
	}()
	var log []string
	for i := 1; i <= 3; i++ {
		n := strconv.Itoa(i)
		AtFork(func() { log = append(log, "prepare"+n) }, func() { log = append(log, "parent"+n) }, nil)
	}
	AtFork(nil, nil, nil)
	want := "prepare3,prepare2,prepare1,parent1,parent2,parent3"

	out := filepath.Join(t.TempDir(), "report")
	cmd := exec.Command(helper(t))
	cmd.Env = roleEnv("hooks", envOut+"="+out)
	if err := Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(log, ","); got != want {
		t.Errorf("parent side: %s, want %s", got, want)
	}
	if got, want := waitFile(t, out, hangGuard), "child1,child2,child3,inherited0 child=true"; got != want {
		t.Errorf("child side: %s, want %s", got, want)
	}

	log = nil
	if err := Start(exec.Command(filepath.Join(t.TempDir(), "missing"))); err == nil {
		t.Fatal("started a missing program")
	}
	if got := strings.Join(log, ","); got != want {
		t.Errorf("failed start: %s, want %s", got, want)
	}
}

// TestListenSystemd: under socket activation, Listen returns the socket
// systemd passed for the address, whatever its name.
func TestListenSystemd(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := target(t, f)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, tt := range []struct {
		addr string
		same bool
	}{
		{ln.Addr().String(), true},
		{"127.0.0.1:0", false},       // no port to match
		{"127.0.0.2:" + port, false}, // another address
	} {
		t.Run(tt.addr, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report")
			cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0"`, helper(t))
			cmd.Env = roleEnv("systemd", envOut+"="+out, envAddr+"="+tt.addr, "LISTEN_FDS=1", "LISTEN_FDNAMES=web")
			cmd.ExtraFiles = []*os.File{f}
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				t.Fatal(err)
			}
			rep := readReport(t, out, hangGuard)
			if got := rep["socket"] == want; got != tt.same {
				t.Errorf("Listen(%q) got %s, systemd passed %s", tt.addr, rep["socket"], want)
			}
			if left := map[bool]string{true: "", false: "web"}[tt.same]; rep["left"] != left {
				t.Errorf("unclaimed %q, want %q", rep["left"], left)
			}
		})
	}
}

// TestSocketMatch: the rules by which Listen recognises a socket from
// systemd.
func TestSocketMatch(t *testing.T) {
	fdOf := func(c syscall.Conn) int {
		rc, err := c.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var fd int
		_ = rc.Control(func(u uintptr) { fd = int(u) })
		return fd
	}
	one, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	all, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	path := filepath.Join(t.TempDir(), "s")
	unix, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close()
	port := func(a net.Addr) string { _, p, _ := net.SplitHostPort(a.String()); return p }
	oneFD, allFD, udpFD, unixFD := fdOf(one.(*net.TCPListener)), fdOf(all.(*net.TCPListener)), fdOf(udp.(*net.UDPConn)), fdOf(unix.(*net.UnixListener))
	tests := []struct {
		network, addr string
		fd            int
		want          bool
	}{
		{"tcp", one.Addr().String(), oneFD, true},
		{"tcp4", one.Addr().String(), oneFD, true},
		{"tcp6", one.Addr().String(), oneFD, false},
		{"tcp", ":" + port(one.Addr()), oneFD, false},
		{"tcp", "127.0.0.2:" + port(one.Addr()), oneFD, false},
		{"tcp", ":" + port(all.Addr()), allFD, true},
		{"tcp", "0.0.0.0:" + port(all.Addr()), allFD, true},
		{"tcp", "127.0.0.1:" + port(all.Addr()), allFD, false},
		{"tcp", "127.0.0.1:0", oneFD, false},
		{"udp", udp.LocalAddr().String(), udpFD, true},
		{"tcp", udp.LocalAddr().String(), udpFD, false},
		{"unix", path, unixFD, true},
		{"unix", path + "x", unixFD, false},
		{"unixgram", path, unixFD, false},
		{"unix", path, oneFD, false},
		{"ip", "127.0.0.1", oneFD, false},
	}
	for _, tt := range tests {
		w, ok := wantedSocket(tt.network, tt.addr)
		if got := ok && w.matches(tt.fd); got != tt.want {
			t.Errorf("%s %s against descriptor %d: %v, want %v", tt.network, tt.addr, tt.fd, got, tt.want)
		}
	}
}
