package forktest

import (
	"strconv"
	"strings"
)

// FD is one open descriptor: its number and its /proc/self/fd link target.
type FD struct {
	Num    int
	Target string
}

// String returns "num=target".
func (d FD) String() string { return strconv.Itoa(d.Num) + "=" + d.Target }

// FDs is a snapshot of open descriptors, sorted by number.
type FDs []FD

// String returns the descriptors as space-separated "num=target" pairs.
func (s FDs) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, " ")
}

// Diff returns the descriptors of after that before lacks (same number and
// target) and those of before that after lacks.
func Diff(before, after FDs) (added, removed FDs) {
	in := func(s FDs, d FD) bool {
		for _, e := range s {
			if e == d {
				return true
			}
		}
		return false
	}
	for _, d := range after {
		if !in(before, d) {
			added = append(added, d)
		}
	}
	for _, d := range before {
		if !in(after, d) {
			removed = append(removed, d)
		}
	}
	return added, removed
}
