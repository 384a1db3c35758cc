package fork

import (
	"errors"
	"fmt"
	"os"
)

// Errors of the Upgrader that a caller branches on. Each is returned
// wrapped, so test with errors.Is.
//
// The package's other errors wrap standard ones: misuse and malformed
// input (a bad file name, a nil file or command, cmd.ExtraFiles already
// set, an option out of range, a second Listen of one address, a second
// Upgrader, a malformed inherited environment) wrap os.ErrInvalid, with a
// message that says what was wrong; a new process that missed
// ReadyTimeout, and a drain that missed DrainTimeout, wrap
// os.ErrDeadlineExceeded; on systems other than Linux every call wraps
// errors.ErrUnsupported.
var (
	// ErrInProgress: Upgrade was called while another Upgrade of the same
	// Upgrader had not returned yet (two SIGHUPs in a row). The running
	// one carries on.
	ErrInProgress = errors.New("an upgrade is already in progress")
	// ErrNotReady: Upgrade was called before Ready. A process that is not
	// serving yet must not hand its listeners on.
	ErrNotReady = errors.New("this process has not called Ready: call u.Ready() once it serves, then Upgrade")
	// ErrUpgraded: a previous Upgrade succeeded; this process has handed
	// over and should drain and exit (see Exit).
	ErrUpgraded = errors.New("already upgraded; this process should exit")
	// ErrStopped: the Upgrader was stopped (Stop, as on SIGTERM). An
	// Upgrade that Stop aborted returns an *UpgradeError wrapping it.
	ErrStopped = errors.New("upgrader stopped")
	// ErrChildExited: the new process exited, crashed, or stopped its
	// Upgrader before it called Ready. The error is an *UpgradeError with
	// its exit state.
	ErrChildExited = errors.New("new process exited before it was ready")
)

// invalid returns an error wrapping os.ErrInvalid.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{os.ErrInvalid}, args...)...)
}

// UpgradeError describes a failed upgrade attempt after the new process was
// started. Err is ErrChildExited, os.ErrDeadlineExceeded (it did not call
// Ready within ReadyTimeout) or ErrStopped. The parent keeps serving; the
// new process has been killed (if it was still running) and reaped.
type UpgradeError struct {
	PID   int              // the new process
	State *os.ProcessState // how it ended; nil if it could not be reaped
	Err   error
}

// Error describes the failed upgrade, with the process's exit state.
func (e *UpgradeError) Error() string {
	why := e.Err.Error()
	if errors.Is(e.Err, os.ErrDeadlineExceeded) {
		why = "new process did not call Ready in time, killed"
	}
	if e.State != nil {
		return fmt.Sprintf("fork: upgrade: process %d: %s (%v)", e.PID, why, e.State)
	}
	return fmt.Sprintf("fork: upgrade: process %d: %s", e.PID, why)
}

// Unwrap returns e.Err.
func (e *UpgradeError) Unwrap() error { return e.Err }
