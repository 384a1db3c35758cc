//go:build linux

package fork

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	helperOnce sync.Once
	helperDir  string // set by TestMain, which removes it
	helperPath string
	helperErr  error
)

// helper builds internal/forkhelper, without the race detector, once per
// test run and returns its path. Stress tests start it instead of this
// binary, which takes a hundred milliseconds to start under -race.
func helper(t testing.TB) string {
	t.Helper()
	helperOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			helperErr = fmt.Errorf("no go command to build the helper: %w", err)
			return
		}
		if helperDir == "" {
			helperErr = errors.New("TestMain did not set the helper directory")
			return
		}
		helperPath = filepath.Join(helperDir, "forkhelper")
		cmd := exec.Command(goTool, "build", "-o", helperPath, "github.com/sturdy-go/sturdy/fork/internal/forkhelper")
		if out, err := cmd.CombinedOutput(); err != nil {
			helperErr = fmt.Errorf("building the helper: %v\n%s", err, out)
		}
	})
	if helperErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(helperErr)
		}
		t.Skip(helperErr)
	}
	return helperPath
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

// fdEntry is one open descriptor: its number and readlink target, which
// for sockets, pipes and anonymous inodes includes the inode, so equal
// targets mean the very same open object.
type fdEntry struct {
	FD     int
	Target string
}

func (e fdEntry) String() string { return strconv.Itoa(e.FD) + "=" + e.Target }

// openFDs lists this process's descriptors, sorted.
func openFDs() ([]fdEntry, error) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	self := int(d.Fd())
	d.Close()
	if err != nil {
		return nil, err
	}
	var out []fdEntry
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd == self {
			continue
		}
		target, err := os.Readlink(filepath.Join("/proc/self/fd", n))
		if err != nil {
			continue // closed meanwhile
		}
		out = append(out, fdEntry{fd, target})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FD < out[j].FD })
	return out, nil
}

func fdString(fds []fdEntry) string {
	s := make([]string, len(fds))
	for i, e := range fds {
		s[i] = e.String()
	}
	return strings.Join(s, " ")
}

// snapshotFDs returns this process's descriptors for checkFDs.
func snapshotFDs(t testing.TB) []fdEntry {
	t.Helper()
	fds, err := openFDs()
	if err != nil {
		t.Fatal(err)
	}
	return fds
}

// checkFDs fails t unless this process's descriptors are those of before.
// It retries briefly, since the runtime may close a descriptor on another
// goroutine (a reaped child's pidfd).
func checkFDs(t testing.TB, before []fdEntry) {
	t.Helper()
	var now []fdEntry
	for i := 0; i < 200; i++ {
		now = snapshotFDs(t)
		if fdString(now) == fdString(before) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("descriptors leaked or lost:\nbefore: %s\nafter:  %s", fdString(before), fdString(now))
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

// children lists the processes whose parent is this process, with their
// state letter (Z for a zombie).
func children() (map[int]string, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	out := make(map[int]string)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == self {
			out[pid] = f[0]
		}
	}
	return out, nil
}

// checkNoChildren fails t if any process still has this one as parent,
// running or zombie.
func checkNoChildren(t testing.TB) {
	t.Helper()
	var kids map[int]string
	for i := 0; i < 500; i++ {
		var err error
		if kids, err = children(); err != nil {
			t.Fatal(err)
		}
		if len(kids) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("children left behind (pid: state): %v", kids)
}
