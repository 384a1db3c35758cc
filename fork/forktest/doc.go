// Package forktest helps the tests of programs that start processes prove
// that nothing leaks across a start, an upgrade or a thousand generations:
// open descriptors, compared by identity rather than by count, and child
// processes, zombies included.
//
// A descriptor's identity is its /proc/self/fd link target: a path for
// files, and "socket:[inode]", "pipe:[inode]" or "anon_inode:[...]" for the
// rest, so two equal snapshots hold the very same open objects under the
// same numbers. A leak that closes one descriptor and opens another of the
// same kind keeps the count but changes the snapshot.
//
//	before, _ := forktest.OpenFDs()
//	// ... start, upgrade, stop ...
//	after, _ := forktest.OpenFDs()
//	if added, removed := forktest.Diff(before, after); len(added)+len(removed) > 0 {
//		t.Errorf("descriptors leaked %v, lost %v", added, removed)
//	}
//
// Linux only (it reads /proc); elsewhere the functions return an error
// wrapping errors.ErrUnsupported.
package forktest
