package fork

import (
	"net"
	"time"
)

// Defaults of UpgradeOptions.
const (
	// DefaultReadyTimeout is how long Upgrade waits for the new process
	// to call Ready when UpgradeOptions.ReadyTimeout is zero.
	DefaultReadyTimeout = time.Minute
	// DefaultLinger is how long Serve's drain leaves an idle connection
	// open for its client's next request when UpgradeOptions.Linger is
	// zero.
	DefaultLinger = time.Second
	// DefaultDrainTimeout bounds Serve's drain when
	// UpgradeOptions.DrainTimeout is zero.
	DefaultDrainTimeout = 30 * time.Second
)

// UpgradeOptions configures an Upgrader. The zero value is ready to use:
// re-execute this binary with the same arguments and environment, wait up
// to DefaultReadyTimeout, drain with DefaultLinger and DefaultDrainTimeout,
// write no PID file.
type UpgradeOptions struct {
	// ReadyTimeout bounds how long Upgrade waits for the new process to
	// call Ready before killing it. Zero means DefaultReadyTimeout;
	// negative is an error.
	ReadyTimeout time.Duration

	// Linger is how long Serve's drain keeps a connection that is idle
	// (between two requests, or accepted and silent) open for its
	// client's next request, which is answered with "Connection: close".
	// An HTTP/1 connection can only be ended without racing its client at
	// a response; a client that sends nothing for Linger is taken to be
	// done. Zero means DefaultLinger; negative is an error.
	Linger time.Duration

	// DrainTimeout bounds Serve's drain: connections still open after it
	// are closed and Serve reports how many. Zero means
	// DefaultDrainTimeout; negative is an error.
	DrainTimeout time.Duration

	// ListenConfig, if set, creates the sockets of Listen and
	// ListenPacket (its Control function can set SO_REUSEPORT and the
	// like, its KeepAlive fields configure accepted TCP connections). It
	// applies only when this process creates a socket: a socket inherited
	// from the parent keeps the options it was created with, and
	// connections accepted on it get Go's default TCP keep-alive. Nil
	// means the zero net.ListenConfig, as net.Listen uses.
	ListenConfig *net.ListenConfig

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
