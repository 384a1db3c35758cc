package fork

import (
	"errors"
	"fmt"
	"os"
)

// ErrUnsupported is returned by Start, NewUpgrader and the Upgrader's
// methods on systems where this package cannot control inheritance (every
// system but Linux). errors.Is(err, errors.ErrUnsupported) also holds.
var ErrUnsupported error = unsupportedError{}

type unsupportedError struct{}

func (unsupportedError) Error() string {
	return "not supported on this system (Linux only)"
}

// Is makes errors.Is(ErrUnsupported, errors.ErrUnsupported) hold.
func (unsupportedError) Is(target error) bool { return target == errors.ErrUnsupported }

// Errors about the arguments of Start and of the Upgrader's Listen methods.
var (
	// ErrBadName: a NamedFile's name is empty, longer than 255 bytes, or
	// holds a byte that LISTEN_FDNAMES cannot carry (a control character,
	// a non-ASCII byte or ':').
	ErrBadName = errors.New("invalid file name")
	// ErrNilFile: a NamedFile has no File, or a nil *exec.Cmd was given.
	ErrNilFile = errors.New("nil file or command")
	// ErrExtraFiles: cmd.ExtraFiles is already set; pass the files to
	// Start as NamedFiles instead, so that they get names.
	ErrExtraFiles = errors.New("cmd.ExtraFiles is set; pass the files to Start instead")
	// ErrBadEnv: LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID or the package's
	// own marker hold a malformed value. Init reports it and adopts nothing.
	ErrBadEnv = errors.New("malformed inherited environment")
)

// Errors of the Upgrader. Each is returned wrapped, so test with errors.Is.
var (
	// ErrInProgress: Upgrade was called while another Upgrade of the same
	// Upgrader had not returned yet.
	ErrInProgress = errors.New("an upgrade is already in progress")
	// ErrNotReady: Upgrade was called before Ready. A process that is not
	// serving yet must not hand its listeners on.
	ErrNotReady = errors.New("this process has not called Ready")
	// ErrUpgraded: a previous Upgrade succeeded; this process has handed
	// over and should drain and exit (see Exit).
	ErrUpgraded = errors.New("already upgraded; this process should exit")
	// ErrStopped: the Upgrader was stopped.
	ErrStopped = errors.New("upgrader stopped")
	// ErrChildExited: the new process exited, crashed, or stopped its
	// Upgrader before it called Ready. The error is an *UpgradeError with
	// its exit state.
	ErrChildExited = errors.New("new process exited before it was ready")
	// ErrReadyTimeout: the new process did not call Ready within
	// UpgradeOptions.ReadyTimeout; it was killed.
	ErrReadyTimeout = errors.New("new process did not become ready in time")
	// ErrUpgraderExists: NewUpgrader was called while another Upgrader of
	// this process had not been stopped. A process has one Upgrader at a time.
	ErrUpgraderExists = errors.New("another upgrader is active in this process")
	// ErrListening: Listen, ListenPacket or File was called twice with the
	// same network and address (or name) on one Upgrader.
	ErrListening = errors.New("already listening on this address")
	// ErrBadOption: an UpgradeOptions field is out of range.
	ErrBadOption = errors.New("invalid option")
)

// UpgradeError describes a failed upgrade attempt after the new process was
// started. Err is ErrChildExited, ErrReadyTimeout or ErrStopped. The parent
// keeps serving; the new process has been killed (if it was still running)
// and reaped.
type UpgradeError struct {
	PID   int              // the new process
	State *os.ProcessState // how it ended; nil if it could not be reaped
	Err   error
}

// Error describes the failed upgrade, with the process's exit state.
func (e *UpgradeError) Error() string {
	if e.State != nil {
		return fmt.Sprintf("fork: upgrade: process %d: %v (%v)", e.PID, e.Err, e.State)
	}
	return fmt.Sprintf("fork: upgrade: process %d: %v", e.PID, e.Err)
}

// Unwrap returns e.Err.
func (e *UpgradeError) Unwrap() error { return e.Err }
