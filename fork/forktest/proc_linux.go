package forktest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// OpenFDs returns this process's open descriptors, without the one it uses
// to read /proc/self/fd.
func OpenFDs() (FDs, error) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return nil, fmt.Errorf("forktest: %w", err)
	}
	names, err := d.Readdirnames(-1)
	self := strconv.Itoa(int(d.Fd()))
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("forktest: %w", err)
	}
	out := make(FDs, 0, len(names))
	for _, n := range names {
		num, err := strconv.Atoi(n)
		if err != nil || n == self {
			continue
		}
		target, err := os.Readlink(filepath.Join("/proc/self/fd", n))
		if err != nil {
			continue // closed meanwhile
		}
		out = append(out, FD{num, target})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Num < out[j].Num })
	return out, nil
}

// Children returns the processes whose parent is this process, each with
// its state letter from /proc/<pid>/stat ("Z" for a zombie, "S" for a
// sleeping process, ...).
func Children() (map[int]string, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("forktest: %w", err)
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
			continue // exited meanwhile
		}
		// "pid (comm) state ppid ...": comm may hold spaces and ')'.
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
