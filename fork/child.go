package fork

import (
	"os"
	"sync"
)

// NamedFile is a file passed from parent to child under a name. On the
// wire the names are systemd's LISTEN_FDNAMES, so a name must be 1 to 255
// bytes of printable ASCII without ':'.
type NamedFile struct {
	Name string
	File *os.File
}

var inherited struct {
	once  sync.Once
	err   error
	mu    sync.Mutex
	files []NamedFile
	child bool
}

// Init adopts the files this process inherited and must be called once, at
// the start of main, before anything else opens files or starts processes.
//
// It recognises two senders: a parent that used Start (or an Upgrader),
// identified by the EnvMarker variable and the identity of every passed
// descriptor, and systemd socket activation (or any sender of the
// sd_listen_fds(3) protocol) when LISTEN_PID is this process's pid. The
// adopted descriptors are marked close-on-exec, so they reach a further
// child only when passed to Start again. Init then unsets LISTEN_PID,
// LISTEN_FDS, LISTEN_FDNAMES and EnvMarker, so that processes started later
// cannot misread them, and, if this process was started by this package,
// runs the child hooks registered with AtFork, in registration order.
//
// Later calls do nothing and return the first call's result. Init returns
// an error wrapping ErrBadEnv when the variables are malformed; nothing is
// adopted then, and the variables are still unset. On systems other than
// Linux, Init adopts nothing and returns nil, so it is safe as the first
// line of a portable main.
func Init() error {
	first, child := false, false
	inherited.once.Do(func() {
		files, isChild, err := adopt()
		inherited.mu.Lock()
		inherited.files, inherited.child, inherited.err = files, isChild, err
		inherited.mu.Unlock()
		first, child = true, isChild
	})
	if first && child {
		// Outside the Once, so that a hook may call Inherited or IsChild.
		runChild(hookSnapshot())
	}
	inherited.mu.Lock()
	defer inherited.mu.Unlock()
	return inherited.err
}

// IsChild reports whether this process was started by Start or by an
// Upgrader of this package. It calls Init if that has not happened yet.
func IsChild() bool {
	_ = Init()
	inherited.mu.Lock()
	defer inherited.mu.Unlock()
	return inherited.child
}

// Inherited returns the files this process inherited, in descriptor order
// (the first has descriptor 3), except those an Upgrader has claimed. It
// calls Init if that has not happened yet. The caller may use and close the
// files; the slice is a copy.
func Inherited() []NamedFile {
	_ = Init()
	inherited.mu.Lock()
	defer inherited.mu.Unlock()
	return append([]NamedFile(nil), inherited.files...)
}

// claimInherited removes the inherited file called name from the list and
// returns it, or nil.
func claimInherited(name string) *os.File {
	_ = Init()
	inherited.mu.Lock()
	defer inherited.mu.Unlock()
	for i, nf := range inherited.files {
		if nf.Name == name {
			inherited.files = append(inherited.files[:i:i], inherited.files[i+1:]...)
			return nf.File
		}
	}
	return nil
}

// claimFile removes f from the inherited list, reporting whether it was
// there.
func claimFile(f *os.File) bool {
	inherited.mu.Lock()
	defer inherited.mu.Unlock()
	for i, nf := range inherited.files {
		if nf.File == f {
			inherited.files = append(inherited.files[:i:i], inherited.files[i+1:]...)
			return true
		}
	}
	return false
}
