//go:build linux

package fork

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReloadBeforeHandler: a server that calls Ready before it handles
// SIGHUP (the order that let systemctl reload kill the new process, its
// predecessor gone) survives a SIGHUP sent the moment its PID file names
// it. Before the Upgrader caught SIGHUP, the process died of it.
func TestReloadBeforeHandler(t *testing.T) {
	exe := helper(t)
	dir := t.TempDir()
	pidFile, out := filepath.Join(dir, "pid"), filepath.Join(dir, "out")
	cmd := exec.Command(exe)
	cmd.Env = roleEnv("hupready", envPIDFile+"="+pidFile, envOut+"="+out)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(waitFile(t, pidFile, hangGuard)))
	if pid != cmd.Process.Pid {
		t.Fatalf("PID file names %d, want %d", pid, cmd.Process.Pid)
	}
	// The reload first, then the signal the program does handle.
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if err != nil {
		t.Fatalf("the process ended %v, want status 0: a SIGHUP right after Ready killed it", err)
	}
	if got := waitFile(t, out, hangGuard); got != "alive" {
		t.Errorf("report %q", got)
	}
}

// TestUpgradeFailureReclaimsPIDFile: a new process that named itself in
// the PID file and died before its Ready reached the parent (as one killed
// at ReadyTimeout inside Ready does) leaves the file, and systemd's
// MAINPID, naming the parent again once Upgrade has failed.
func TestUpgradeFailureReclaimsPIDFile(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	sock := filepath.Join(dir, "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	u, err := NewUpgrader(UpgradeOptions{
		Path:    helper(t),
		Args:    []string{},
		PIDFile: pidFile,
		Env:     roleEnv("upgrade", envMode+"=pidexit", envPIDFile+"="+pidFile, envAddr+"=127.0.0.1:0"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Stop()
	ln, err := u.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := u.Ready(); err != nil {
		t.Fatal(err)
	}
	self := strconv.Itoa(os.Getpid())
	readNotify := func() string {
		t.Helper()
		_ = notify.SetReadDeadline(time.Now().Add(hangGuard))
		buf := make([]byte, 256)
		n, err := notify.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	if got := readNotify(); got != "MAINPID="+self+"\nREADY=1\n" {
		t.Fatalf("Ready sent %q", got)
	}
	ue := upgradeError(t, u.Upgrade(), ErrChildExited)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != self {
		t.Errorf("after the failed upgrade the PID file names %s (the new process was %d), want this process, %s", got, ue.PID, self)
	}
	if got := readNotify(); got != "MAINPID="+self+"\n" {
		t.Errorf("after the failed upgrade systemd was told %q, want MAINPID=%s", got, self)
	}
}
