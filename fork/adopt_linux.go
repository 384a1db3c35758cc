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
		ppid, ids, err := parseMarker(marker)
		if err != nil {
			return nil, false, fmt.Errorf("fork: init: %w", err)
		}
		if len(ids) != len(names) {
			return nil, false, fmt.Errorf("fork: init: %w: %s lists %d files, %s=%d", ErrBadEnv, EnvMarker, len(ids), EnvListenFDs, len(names))
		}
		child = sameFiles(ids) && (len(ids) > 0 || os.Getppid() == ppid)
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
	files := make([]NamedFile, 0, len(names))
	for i, name := range names {
		fd := firstFD + i
		if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, syscall.FD_CLOEXEC); e != 0 {
			for _, f := range files {
				f.File.Close()
			}
			return nil, false, fmt.Errorf("fork: init: %w: descriptor %d (%s) is not open: %v", ErrBadEnv, fd, name, e)
		}
		files = append(files, NamedFile{Name: name, File: os.NewFile(uintptr(fd), name)})
	}
	return files, child, nil
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
