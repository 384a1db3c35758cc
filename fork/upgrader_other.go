//go:build !linux

package fork

import (
	"fmt"
	"net"
	"os"
)

// Upgrader hands this process's listeners to a re-executed copy of itself.
// On this system it is not supported: NewUpgrader returns ErrUnsupported.
type Upgrader struct{}

// NewUpgrader returns ErrUnsupported on this system.
func NewUpgrader(opts UpgradeOptions) (*Upgrader, error) {
	return nil, fmt.Errorf("fork: new upgrader: %w", ErrUnsupported)
}

// Listen returns ErrUnsupported on this system.
func (u *Upgrader) Listen(network, addr string) (net.Listener, error) {
	return nil, fmt.Errorf("fork: listen: %w", ErrUnsupported)
}

// ListenPacket returns ErrUnsupported on this system.
func (u *Upgrader) ListenPacket(network, addr string) (net.PacketConn, error) {
	return nil, fmt.Errorf("fork: listen packet: %w", ErrUnsupported)
}

// OpenFile returns ErrUnsupported on this system.
func (u *Upgrader) OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	return nil, fmt.Errorf("fork: open file: %w", ErrUnsupported)
}

// Ready returns ErrUnsupported on this system.
func (u *Upgrader) Ready() error { return fmt.Errorf("fork: ready: %w", ErrUnsupported) }

// Upgrade returns ErrUnsupported on this system.
func (u *Upgrader) Upgrade() error { return fmt.Errorf("fork: upgrade: %w", ErrUnsupported) }

// Exit returns a channel that is never closed on this system.
func (u *Upgrader) Exit() <-chan struct{} { return nil }

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
