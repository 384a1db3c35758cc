package fork

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Upgrade starts a new copy of this program (UpgradeOptions.Path, Args,
// Env) with Start, passing every open listener, packet socket and file of
// the Upgrader, and waits for it to call Ready.
//
// On success Upgrade returns nil, this process's Exit channel is closed,
// and further Upgrades fail with ErrUpgraded. Otherwise this process keeps
// serving as before: the error wraps ErrNotReady, ErrInProgress (another
// Upgrade is running), ErrUpgraded, ErrStopped, a start failure, or is an
// *UpgradeError wrapping ErrChildExited (the new process exited or crashed
// before Ready), os.ErrDeadlineExceeded (it was killed after ReadyTimeout) or
// ErrStopped (Stop was called meanwhile, as on SIGTERM); the new process
// has then been killed and reaped, and every descriptor made for it closed.
//
// After a failed upgrade the PID file (if configured) names this process
// again, and so does systemd's MAINPID (if NOTIFY_SOCKET is set), whatever
// the new process wrote before it died.
//
// Upgrade blocks until one of those outcomes, at most about ReadyTimeout.
func (u *Upgrader) Upgrade() error {
	u.mu.Lock()
	var err error
	switch {
	case u.stopped:
		err = ErrStopped
	case u.upgraded:
		err = ErrUpgraded
	case u.upgradeDone != nil:
		err = ErrInProgress
	case !u.ready:
		err = ErrNotReady
	}
	if err != nil {
		u.mu.Unlock()
		return fmt.Errorf("fork: upgrade: %w", err)
	}
	done := make(chan struct{})
	u.upgradeDone = done
	files, err := u.filesLocked()
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		u.upgradeDone = nil
		u.mu.Unlock()
		close(done)
	}()
	if err != nil {
		return fmt.Errorf("fork: upgrade: %w", err)
	}
	return u.spawn(files)
}

// spawn starts the new process with files (which it closes) and waits for
// its readiness.
func (u *Upgrader) spawn(files []NamedFile) error {
	defer closeAll(files)
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("fork: upgrade: %w", err)
	}
	aliveR, aliveW, err := os.Pipe()
	if err != nil {
		readyR.Close()
		readyW.Close()
		return fmt.Errorf("fork: upgrade: %w", err)
	}
	args := u.opts.Args
	if args == nil {
		args = os.Args[1:]
	}
	cmd := exec.Command(u.path, args...)
	if len(os.Args) > 0 {
		cmd.Args[0] = os.Args[0]
	}
	if u.opts.Env != nil {
		cmd.Env = append([]string(nil), u.opts.Env...)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = start(cmd, append(files,
		NamedFile{Name: readyName, File: readyW},
		NamedFile{Name: aliveName, File: aliveR}))
	readyW.Close()
	aliveR.Close()
	if err != nil {
		readyR.Close()
		aliveW.Close()
		return fmt.Errorf("fork: upgrade: starting %s: %w", u.path, err)
	}

	reaped := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the state is in cmd.ProcessState
		close(reaped)
	}()
	result := make(chan error, 1)
	_ = readyR.SetReadDeadline(time.Now().Add(u.opts.ReadyTimeout))
	go func() {
		var b [1]byte
		n, err := readyR.Read(b[:])
		switch {
		case n == 1 && b[0] == readyByte:
			err = nil
		case n == 1:
			err = fmt.Errorf("unexpected byte %#x on the ready pipe", b[0])
		case errors.Is(err, os.ErrDeadlineExceeded):
			err = os.ErrDeadlineExceeded
		case err == nil || err == io.EOF:
			err = ErrChildExited
		}
		result <- err
	}()
	var stopped bool
	select {
	case err = <-result:
	case <-u.stop:
		stopped = true
		_ = readyR.SetReadDeadline(time.Unix(1, 0))
		err = <-result
	}
	readyR.Close()
	if stopped {
		err = ErrStopped
	}
	if err == nil {
		u.mu.Lock()
		u.upgraded = true
		u.aliveWs = append(u.aliveWs, aliveW)
		u.successor = reaped
		u.closeExitLocked()
		u.mu.Unlock()
		return nil
	}
	_ = cmd.Process.Kill() // fails only if it already exited
	<-reaped
	aliveW.Close()
	u.reclaim()
	return &UpgradeError{PID: cmd.Process.Pid, State: cmd.ProcessState, Err: err}
}

// reclaim names this process again where the failed new process may have
// named itself before it died: its Ready replaces the PID file before it
// tells the parent, and a process killed in between (ReadyTimeout) or
// after a write the parent no longer read leaves the file naming a dead
// process; likewise systemd's MAINPID. The new process has been reaped, so
// nothing can replace the file after this.
func (u *Upgrader) reclaim() {
	self := os.Getpid()
	if path := u.opts.PIDFile; path != "" {
		b, err := os.ReadFile(path)
		if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(self) {
			_ = writePIDFile(path, self)
		}
	}
	if u.notify != "" {
		_ = sdNotify(u.notify, fmt.Sprintf("MAINPID=%d\n", self))
	}
}
