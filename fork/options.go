package fork

import "time"

// DefaultReadyTimeout is how long Upgrade waits for the new process to call
// Ready when UpgradeOptions.ReadyTimeout is zero.
const DefaultReadyTimeout = time.Minute

// UpgradeOptions configures an Upgrader. The zero value is ready to use:
// re-execute this binary with the same arguments and environment, wait up
// to DefaultReadyTimeout, write no PID file.
type UpgradeOptions struct {
	// ReadyTimeout bounds how long Upgrade waits for the new process to
	// call Ready before killing it. Zero means DefaultReadyTimeout;
	// negative is an error.
	ReadyTimeout time.Duration

	// PIDFile, if set, is replaced atomically (written beside it, then
	// renamed over it) with this process's pid when Ready is called, so
	// a reader sees either the old or the new pid, never a partial file.
	PIDFile string

	// Path is the program Upgrade starts. Empty means this process's own
	// executable, resolved when NewUpgrader runs (so a binary replaced on
	// disk under the same name is the one started).
	Path string

	// Args are the arguments after the program name. Nil means
	// os.Args[1:].
	Args []string

	// Env is the environment of the new process. Nil means os.Environ()
	// at the time of Upgrade. The inheritance variables are replaced in
	// either case (see Start).
	Env []string
}
