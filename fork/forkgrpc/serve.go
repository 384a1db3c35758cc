package forkgrpc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/sturdy-go/sturdy/fork"
	"google.golang.org/grpc"
)

// Serve serves srv on ln, as srv.Serve(ln) does, until u's Exit channel
// is closed, then drains so that no RPC a client has started fails, and
// returns. It does not call u.Ready: call that once Serve runs.
//
// The drain, after a successful Upgrade or Stop:
//
//   - stops accepting by closing ln; the successor holds the same socket
//     and accepts what is queued on it;
//   - lets every connection already accepted finish its handshake: a
//     bare srv.GracefulStop closes a connection accepted just before it
//     whose handshake had not begun, and the client that opened it for
//     its call fails ("error reading server preface");
//   - then calls srv.GracefulStop, which sends each connection a GOAWAY
//     (two, with a PING between, so that no stream the client sent in
//     the meantime is lost), lets the running RPCs finish and closes the
//     connections. Clients send later RPCs to the successor: grpc-go's
//     channels reconnect by themselves, and retry transparently an RPC the
//     server did not take;
//   - returns nil once every connection is closed. Past
//     UpgradeOptions.DrainTimeout it calls srv.Stop, which closes the
//     connections left, and returns an error wrapping
//     os.ErrDeadlineExceeded that says how many it closed. An RPC still
//     running then, a long server stream say, ends with codes.Unavailable,
//     the status gRPC clients treat as "retry": the client opens the
//     stream again, on the successor.
//
// A stream handler that can end earlier should: watch u.Exit() and return
// status.Error(codes.Unavailable, ...) so that its client moves at once.
//
// If srv stops before Exit (srv.Stop or srv.GracefulStop, or a failing
// Accept), Serve returns that error, wrapped (grpc.ErrServerStopped when
// it was stopped).
func Serve(u *fork.Upgrader, srv *grpc.Server, ln net.Listener) error {
	if u == nil || srv == nil || ln == nil {
		return fmt.Errorf("forkgrpc: serve: %w: nil Upgrader, Server or Listener", os.ErrInvalid)
	}
	timeout := u.DrainTimeout()
	gl := &gateListener{Listener: ln, pending: make(map[*conn]struct{}), open: make(map[*conn]struct{}), settled: make(chan struct{}, 1)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(gl) }()
	select {
	case err := <-served:
		if err == nil {
			err = grpc.ErrServerStopped
		}
		return fmt.Errorf("forkgrpc: serve: %w", err)
	case <-u.Exit():
	}
	deadline := time.Now().Add(timeout)
	// The successor holds the same socket: what this process no longer
	// accepts, it does.
	ln.Close()
	// srv.Serve returns once its Accept fails; every connection it
	// accepted has been handed to its handshake by then.
	<-served
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	// GracefulStop closes, without a word, each accepted connection whose
	// handshake has not begun; wait until every one has begun (grpc-go
	// sets the handshake's deadline first thing) or closed.
	for gl.waiting() > 0 {
		select {
		case <-gl.settled:
		case <-timer.C:
			err := gl.cut(timeout)
			srv.Stop()
			return err
		}
	}
	stopped := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
		return nil
	case <-timer.C:
		err := gl.cut(timeout)
		srv.Stop()
		<-stopped
		return err
	}
}

// gateListener tracks the connections it hands to grpc-go: accepted and
// not yet past the start of their handshake (pending), and not yet closed
// (open).
type gateListener struct {
	net.Listener
	mu      sync.Mutex
	pending map[*conn]struct{}
	open    map[*conn]struct{}
	settled chan struct{} // a pending connection began its handshake or closed
}

func (l *gateListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	gc := &conn{Conn: c, l: l}
	l.mu.Lock()
	l.pending[gc] = struct{}{}
	l.open[gc] = struct{}{}
	l.mu.Unlock()
	return gc, nil
}

func (l *gateListener) waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// settle marks c past the start of its handshake; closed also marks it
// closed.
func (l *gateListener) settle(c *conn, closed bool) {
	l.mu.Lock()
	delete(l.pending, c)
	if closed {
		delete(l.open, c)
	}
	l.mu.Unlock()
	select {
	case l.settled <- struct{}{}:
	default:
	}
}

// cut reports the connections still open, which srv.Stop closes.
func (l *gateListener) cut(timeout time.Duration) error {
	l.mu.Lock()
	n := len(l.open)
	l.mu.Unlock()
	what := "connections"
	if n == 1 {
		what = "connection"
	}
	return fmt.Errorf("forkgrpc: serve: drain: %d %s still open after %v, closed: %w", n, what, timeout, os.ErrDeadlineExceeded)
}

// conn is an accepted connection that tells its listener when grpc-go
// begins its handshake (its first call is SetDeadline) and when it closes.
type conn struct {
	net.Conn
	l    *gateListener
	once sync.Once
}

func (c *conn) SetDeadline(t time.Time) error {
	c.l.settle(c, false)
	return c.Conn.SetDeadline(t)
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.settle(c, true) })
	return err
}

// NetConn returns the accepted connection.
func (c *conn) NetConn() net.Conn { return c.Conn }

// SyscallConn reaches the accepted connection's descriptor, for socket
// options.
func (c *conn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}
