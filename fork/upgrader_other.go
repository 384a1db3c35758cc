//go:build !linux

package fork

import (
	"net"
	"net/http"
	"os"
	"time"
)

// Upgrader hands this process's listeners to a re-executed copy of itself.
// On this system it is not supported: NewUpgrader returns an error
// wrapping errors.ErrUnsupported.
type Upgrader struct{}

// NewUpgrader returns an error wrapping errors.ErrUnsupported on this system.
func NewUpgrader(opts UpgradeOptions) (*Upgrader, error) {
	return nil, unsupported("new upgrader")
}

// Listen returns an error wrapping errors.ErrUnsupported on this system.
func (u *Upgrader) Listen(network, addr string) (net.Listener, error) {
	return nil, unsupported("listen")
}

// ListenPacket returns an error wrapping errors.ErrUnsupported on this system.
func (u *Upgrader) ListenPacket(network, addr string) (net.PacketConn, error) {
	return nil, unsupported("listen packet")
}

// OpenFile returns an error wrapping errors.ErrUnsupported on this system.
func (u *Upgrader) OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	return nil, unsupported("open file")
}

// Ready returns an error wrapping errors.ErrUnsupported on this system.
func (u *Upgrader) Ready() error { return unsupported("ready") }

// Upgrade returns an error wrapping errors.ErrUnsupported on this system.
func (u *Upgrader) Upgrade() error { return unsupported("upgrade") }

// Serve returns an error wrapping errors.ErrUnsupported on this system.
func (u *Upgrader) Serve(srv *http.Server, ln net.Listener) error { return unsupported("serve") }

// Exit returns a channel that is never closed on this system.
func (u *Upgrader) Exit() <-chan struct{} { return nil }

// DrainTimeout returns 0 on this system.
func (u *Upgrader) DrainTimeout() time.Duration { return 0 }

// ParentExited returns a closed channel on this system: there is no parent.
func (u *Upgrader) ParentExited() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// HasParent reports false on this system.
func (u *Upgrader) HasParent() bool { return false }

// Stop does nothing on this system.
func (u *Upgrader) Stop() {}
