//go:build linux

package fork

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/fork/forktest"
)

// Environment of the child roles (internal/forkroles, which the tests of
// this package cannot import: it imports this package).
const (
	envRole    = "FORKHELPER_ROLE"
	envMode    = "FORKHELPER_MODE"
	envOut     = "FORKHELPER_OUT"
	envAddr    = "FORKHELPER_ADDR"
	envPIDFile = "FORKHELPER_PIDFILE"
	envGen     = "FORKHELPER_GEN"
	envGens    = "FORKHELPER_GENS"
	envH2C     = "FORKHELPER_H2C"
)

// roleEnv is this process's environment plus the role and extra variables.
func roleEnv(role string, kv ...string) []string {
	env := append(os.Environ(), envRole+"="+role)
	return append(env, kv...)
}

var (
	subreaperOnce sync.Once
	subreaper     bool
)

// becomeSubreaper makes this test process adopt orphaned descendants
// (PR_SET_CHILD_SUBREAPER), so that tests can reap them and prove that no
// zombie remains. It reports whether that worked.
func becomeSubreaper() bool {
	subreaperOnce.Do(func() {
		const prSetChildSubreaper = 36
		_, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
		subreaper = e == 0
	})
	return subreaper
}

var (
	helperDir string // set by TestMain, which removes it
	helpersMu sync.Mutex
	helpers   = map[string]*builtHelper{}
)

type builtHelper struct {
	once sync.Once
	path string
	err  error
}

// helper builds internal/forkhelper, without the race detector, once per
// test run and returns its path. Stress tests start it instead of this
// binary, which takes a hundred milliseconds to start under -race.
func helper(t testing.TB) string {
	t.Helper()
	return buildHelper(t, "forkhelper")
}

// buildHelper builds the command internal/name once per test run.
func buildHelper(t testing.TB, name string) string {
	t.Helper()
	helpersMu.Lock()
	h := helpers[name]
	if h == nil {
		h = &builtHelper{}
		helpers[name] = h
	}
	helpersMu.Unlock()
	h.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			h.err = fmt.Errorf("no go command to build the helper %s: %w", name, err)
			return
		}
		if helperDir == "" {
			h.err = errors.New("TestMain did not set the helper directory")
			return
		}
		h.path = filepath.Join(helperDir, name)
		cmd := exec.Command(goTool, "build", "-o", h.path, "github.com/sturdy-go/sturdy/fork/internal/"+name)
		if out, err := cmd.CombinedOutput(); err != nil {
			h.err = fmt.Errorf("building the helper %s: %v\n%s", name, err, out)
		}
	})
	if h.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(h.err)
		}
		t.Skip(h.err)
	}
	return h.path
}

// readReport waits until the role's report file exists and returns its
// lines as key=value pairs.
func readReport(t testing.TB, path string, timeout time.Duration) map[string]string {
	t.Helper()
	s := waitFile(t, path, timeout)
	m := make(map[string]string)
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		k, v, _ := strings.Cut(line, "=")
		m[k] = v
	}
	return m
}

// waitFile waits until path exists and returns its contents.
func waitFile(t testing.TB, path string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(b) > 0 {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %v", path, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// snapshotFDs returns this process's descriptors for checkFDs.
func snapshotFDs(t testing.TB) forktest.FDs {
	t.Helper()
	fds, err := forktest.OpenFDs()
	if err != nil {
		t.Fatal(err)
	}
	return fds
}

// checkFDs fails t unless this process's descriptors are those of before.
// It retries briefly, since the runtime may close a descriptor on another
// goroutine (a reaped child's pidfd).
func checkFDs(t testing.TB, before forktest.FDs) {
	t.Helper()
	var added, removed forktest.FDs
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if added, removed = forktest.Diff(before, snapshotFDs(t)); len(added)+len(removed) == 0 {
			return
		}
	}
	t.Fatalf("descriptors leaked: %v; lost: %v", added, removed)
}

// reap waits for pid, which must be (or become, once its parent exits) a
// child of this process, and returns its wait status.
func reap(t testing.TB, pid int, timeout time.Duration) syscall.WaitStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		if err == nil && got == pid {
			return ws
		}
		if err != nil && err != syscall.ECHILD && err != syscall.EINTR {
			t.Errorf("wait4(%d): %v", pid, err)
			return ws
		}
		if time.Now().After(deadline) {
			t.Errorf("process %d was not reaped within %v", pid, timeout)
			return ws
		}
		time.Sleep(time.Millisecond)
	}
}

// reapOrGone is reap for a process that another process may reap first
// (an old server generation reaps its successor if that one exits while
// it still drains). seen is false when pid was gone, reaped by someone
// else, before this process could: its status is unknown then.
func reapOrGone(t testing.TB, pid int, timeout time.Duration) (ws syscall.WaitStatus, seen bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		switch {
		case err == nil && got == pid:
			return ws, true
		case err == syscall.ECHILD && syscall.Kill(pid, 0) == syscall.ESRCH:
			return ws, false
		case err != nil && err != syscall.ECHILD && err != syscall.EINTR:
			t.Errorf("wait4(%d): %v", pid, err)
			return ws, false
		}
	}
	t.Errorf("process %d was not reaped within %v", pid, timeout)
	return ws, false
}

// checkNoChildren fails t if any process still has this one as parent,
// running or zombie.
func checkNoChildren(t testing.TB) {
	t.Helper()
	var kids map[int]string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var err error
		if kids, err = forktest.Children(); err != nil {
			t.Fatal(err)
		}
		if len(kids) == 0 {
			return
		}
	}
	t.Fatalf("children left behind (pid: state): %v", kids)
}

// runtimeOwn reports whether a child's descriptor with this readlink
// target is one its Go runtime opened itself: the poller's anonymous
// inodes, and the cgroup CPU limit files Go 1.25 and later keep open.
func runtimeOwn(target string) bool {
	return strings.HasPrefix(target, "anon_inode:") || strings.HasPrefix(target, "/sys/fs/cgroup/")
}

// waitGoroutine waits until some goroutine's stack holds every one of
// parts (a state such as "[IO wait" and a function name).
func waitGoroutine(t testing.TB, parts ...string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(hangGuard); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		n := runtime.Stack(buf, true)
	stacks:
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			for _, p := range parts {
				if !strings.Contains(g, p) {
					continue stacks
				}
			}
			return
		}
	}
	t.Fatalf("no goroutine with %q", parts)
}
