package fork

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
)

// sysCloseRange is close_range(2)'s number, the same on every Linux
// architecture (it is in the shared table since 5.9).
const sysCloseRange = 436

// closeRangeCloexec is CLOSE_RANGE_CLOEXEC (Linux 5.11).
const closeRangeCloexec = 1 << 2

// useCloseRange is cleared the first time close_range fails, and by tests
// that exercise the /proc fallback.
var useCloseRange atomic.Bool

func init() { useCloseRange.Store(true) }

// markCloseOnExec sets FD_CLOEXEC on every descriptor from 3 up, holding
// syscall.ForkLock for writing. See the package documentation for why
// this makes Start's child receive exactly the files it names.
func markCloseOnExec() error {
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	if useCloseRange.Load() {
		_, _, e := syscall.Syscall(sysCloseRange, firstFD, uintptr(^uint32(0)), closeRangeCloexec)
		if e == 0 {
			return nil
		}
		// ENOSYS (before 5.9), EINVAL (no CLOEXEC flag before 5.11) or
		// EPERM (a seccomp filter): scan /proc instead from now on.
		useCloseRange.Store(false)
	}
	return markByScan()
}

// markByScan sets FD_CLOEXEC on each descriptor listed in /proc/self/fd. It
// uses raw system calls only: nothing here may take ForkLock for reading.
func markByScan() error {
	dir, err := syscall.Open("/proc/self/fd", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return markByRange()
	}
	defer syscall.Close(dir)
	var buf [4096]byte
	names := make([]string, 0, 64)
	for {
		n, err := syscall.ReadDirent(dir, buf[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("getdents /proc/self/fd", err)
		}
		if n <= 0 {
			return nil
		}
		_, _, names = syscall.ParseDirent(buf[:n], -1, names[:0])
		for _, name := range names {
			fd, err := strconv.Atoi(name)
			if err != nil || fd < firstFD || fd == dir {
				continue
			}
			// EBADF: closed since the listing; nothing to do.
			_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, syscall.FD_CLOEXEC)
		}
	}
}

// markByRange is the last resort without /proc: try every descriptor
// below the soft limit.
func markByRange() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return os.NewSyscallError("getrlimit", err)
	}
	for fd := uint64(firstFD); fd < lim.Cur; fd++ {
		_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, syscall.FD_CLOEXEC)
	}
	return nil
}

// identity returns the device and inode of the open file behind fd.
func identity(fd int) (fileID, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return fileID{}, err
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, nil // their types differ between architectures
}

// fileIdentity is identity for an *os.File, without touching its
// blocking mode (os.File.Fd would).
func fileIdentity(f *os.File) (fileID, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return fileID{}, err
	}
	var id fileID
	var ierr error
	if err := rc.Control(func(fd uintptr) { id, ierr = identity(int(fd)) }); err != nil {
		return fileID{}, closedError(f)
	}
	return id, ierr
}

// dupFile returns a close-on-exec duplicate of f, in non-blocking mode when
// nonblock is set (the duplicate shares f's open file description, so this
// changes f's mode too).
func dupFile(f *os.File, nonblock bool) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var derr error
	err = rc.Control(func(fd uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", e)
			return
		}
		nfd = int(r)
		if nonblock {
			if err := syscall.SetNonblock(nfd, true); err != nil {
				derr = os.NewSyscallError("fcntl O_NONBLOCK", err)
				syscall.Close(nfd)
				nfd = -1
			}
		}
	})
	if err != nil {
		return nil, closedError(f)
	}
	if derr != nil {
		return nil, derr
	}
	return os.NewFile(uintptr(nfd), f.Name()), nil
}

// closedError reports f as closed: a raw Control fails only then, with an
// error that os.ErrClosed does not match.
func closedError(f *os.File) error {
	return &os.PathError{Op: "dup", Path: f.Name(), Err: os.ErrClosed}
}

// procStart returns the start time of process pid in clock ticks after
// boot (field 22 of /proc/pid/stat), 0 if it cannot be read, and whether
// the process runs (exists and is not a zombie).
func procStart(pid int) (start uint64, running bool) {
	// Raw system calls: Init runs this before the program starts, and an
	// *os.File would start the runtime's poller and shift the numbers of
	// its descriptors.
	fd, err := syscall.Open("/proc/"+strconv.Itoa(pid)+"/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	var buf [1024]byte
	n, err := syscall.Read(fd, buf[:])
	syscall.Close(fd)
	if err != nil || n <= 0 {
		return 0, false
	}
	b := buf[:n]
	// The command name, in parentheses, may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 20 {
		return 0, false
	}
	start, err = strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return 0, false
	}
	state := f[0][0]
	return start, state != 'Z' && state != 'X' && state != 'x'
}

var selfStart = sync.OnceValue(func() uint64 {
	start, _ := procStart(os.Getpid())
	return start
})
