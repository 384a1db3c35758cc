package fork

import (
	"fmt"
	"os"
	"syscall"
)

// adopt reads and unsets the inheritance variables and returns the files
// meant for this process, and whether this package's Start sent them.
func adopt() ([]NamedFile, bool, error) {
	pidS, hasPID := os.LookupEnv(EnvListenPID)
	fdsS, hasFDs := os.LookupEnv(EnvListenFDs)
	namesS, hasNames := os.LookupEnv(EnvListenFDNames)
	marker, hasMarker := os.LookupEnv(EnvMarker)
	for _, k := range []string{EnvListenPID, EnvListenFDs, EnvListenFDNames, EnvMarker} {
		_ = os.Unsetenv(k)
	}
	if !hasFDs && !hasMarker {
		return nil, false, nil
	}
	var names []string
	if hasFDs {
		var err error
		if names, err = parseListen(fdsS, namesS, hasNames); err != nil {
			return nil, false, fmt.Errorf("fork: init: %w", err)
		}
	}
	child := false
	if hasMarker {
		m, err := parseMarker(marker)
		if err != nil {
			return nil, false, fmt.Errorf("fork: init: %w", err)
		}
		if len(m.ids) != len(names) {
			return nil, false, fmt.Errorf("fork: init: %w", invalid("%s lists %d files, %s=%d", EnvMarker, len(m.ids), EnvListenFDs, len(names)))
		}
		child = startedBy(m) && sameFiles(m.ids)
	}
	if hasPID {
		pid, err := parsePID(pidS)
		if err != nil {
			return nil, false, fmt.Errorf("fork: init: %w", err)
		}
		if pid != os.Getpid() {
			// Meant for another process: an ancestor that did not
			// call Init passed its environment down.
			return nil, false, nil
		}
	} else if !child {
		// LISTEN_FDS without LISTEN_PID or a matching marker is not
		// addressed to us (sd_listen_fds(3) requires LISTEN_PID).
		return nil, false, nil
	}
	// Look at every descriptor before touching any, so that a refusal
	// leaves them all as they were: they may be this program's own or the
	// runtime's by now. An inherited descriptor crossed exec, so it is
	// not close-on-exec; everything Go opens is.
	for i, name := range names {
		fd := firstFD + i
		flags, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
		var why string
		switch {
		case e != 0:
			why = e.Error()
		case flags&syscall.FD_CLOEXEC != 0:
			why = "it is close-on-exec, so this program opened it"
		default:
			continue
		}
		return nil, false, fmt.Errorf("fork: init: %w", invalid("%s=%d but descriptor %d (%s) was not inherited: %s", EnvListenFDs, len(names), fd, name, why))
	}
	files := make([]NamedFile, 0, len(names))
	for i, name := range names {
		fd := firstFD + i
		_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, syscall.FD_CLOEXEC)
		files = append(files, NamedFile{Name: name, File: os.NewFile(uintptr(fd), name)})
	}
	return files, child, nil
}

// startedBy reports whether this process is the one that m's process
// started: its parent is that process, or was until it exited (this
// process was then reparented to an ancestor of it, which started before
// it). A process started by an intermediate that did not exec, such as a
// shell running two commands, has a parent that started after it, or
// sees it still running.
func startedBy(m marker) bool {
	ppid := os.Getppid()
	if ppid == m.ppid {
		return true
	}
	if m.start == 0 {
		return false // the parent could not tell its start time
	}
	if start, running := procStart(m.ppid); running && start == m.start {
		return false // it runs, and is not our parent
	}
	start, _ := procStart(ppid)
	return start != 0 && start < m.start
}

// sameFiles reports whether descriptors 3, 4, ... are the files ids names.
func sameFiles(ids []fileID) bool {
	for i, want := range ids {
		got, err := identity(firstFD + i)
		if err != nil || got != want {
			return false
		}
	}
	return true
}
