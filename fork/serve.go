//go:build linux

package fork

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// retryDeadline is how soon the drain sets the read deadline of an
// expired idle connection again: net/http resets a connection's deadline
// when it starts to read a request, and may do so just after ours.
const retryDeadline = 10 * time.Millisecond

// drainer is the state of one Serve: the connections of srv, tracked
// through its ConnState hook, and whether the drain has begun.
type drainer struct {
	srv      *http.Server
	next     http.Handler                   // the caller's handler
	hook     func(net.Conn, http.ConnState) // the caller's ConnState
	draining atomic.Bool

	mu      sync.Mutex
	conns   map[net.Conn]connInfo
	changed chan struct{} // a connection changed state during the drain
}

type connInfo struct {
	state http.ConnState
	since time.Time // when it entered state; set during the drain only
	h2    bool      // HTTP/2 over TLS; known once past StateNew
	known bool      // h2 is known
}

// serve is Upgrader.Serve with its parameters.
func serve(srv *http.Server, ln net.Listener, exit <-chan struct{}, linger, timeout time.Duration) error {
	d := &drainer{
		srv:     srv,
		next:    srv.Handler,
		hook:    srv.ConnState,
		conns:   make(map[net.Conn]connInfo),
		changed: make(chan struct{}, 1),
	}
	if d.next == nil {
		d.next = http.DefaultServeMux
	}
	srv.Handler = http.HandlerFunc(d.serveHTTP)
	srv.ConnState = d.connState

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		// Ended before Exit: the caller closed srv, or Accept failed.
		return fmt.Errorf("fork: serve: %w", err)
	case <-exit:
	}
	d.draining.Store(true)
	// The successor holds the same socket and its queue: what this
	// process no longer accepts, it does.
	ln.Close()
	// Once srv.Serve has returned, every connection it accepted has been
	// through StateNew: the set to drain is complete. (Whatever made it
	// return, what it accepted is drained.)
	<-served
	return d.drain(linger, timeout)
}

// serveHTTP asks the client to close the connection after the response
// once the drain has begun: for HTTP/1 the response carries
// "Connection: close", for HTTP/2 the server sends GOAWAY and finishes
// the connection's streams.
func (d *drainer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if d.draining.Load() {
		w.Header().Set("Connection", "close")
	}
	d.next.ServeHTTP(w, r)
	if d.draining.Load() {
		// The drain began during the handler; this has effect if the
		// response has not been written yet.
		w.Header().Set("Connection", "close")
	}
}

func (d *drainer) connState(c net.Conn, s http.ConnState) {
	draining := d.draining.Load()
	d.mu.Lock()
	switch s {
	case http.StateClosed, http.StateHijacked:
		delete(d.conns, c)
	default:
		ci := d.conns[c]
		ci.state = s
		if draining {
			ci.since = time.Now()
		}
		d.conns[c] = ci
	}
	d.mu.Unlock()
	if draining {
		select {
		case d.changed <- struct{}{}:
		default:
		}
	}
	if d.hook != nil {
		d.hook(c, s)
	}
}

// drain waits until every HTTP/1 connection has ended at a response
// boundary or after lingering idle, then shuts srv down, which sends
// GOAWAY to the HTTP/2 connections and waits for their streams. net/http's
// Shutdown alone would close idle connections under clients already
// sending on them, and drop a request that arrives on a connection it
// accepted just before (it checks for shutdown after reading a request).
func (d *drainer) drain(linger, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	d.mu.Lock()
	now := time.Now()
	for c, ci := range d.conns {
		ci.since = now
		d.conns[c] = ci
	}
	d.mu.Unlock()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var expired []net.Conn
	for {
		now := time.Now()
		if !now.Before(deadline) {
			return d.cut(timeout)
		}
		wait := deadline.Sub(now)
		http1 := 0
		expired = expired[:0]
		d.mu.Lock()
		for c, ci := range d.conns {
			if !ci.known && ci.state != http.StateNew {
				ci.h2, ci.known = isHTTP2(c), true
				d.conns[c] = ci
			}
			if ci.h2 {
				continue
			}
			http1++
			if ci.state != http.StateIdle && ci.state != http.StateNew {
				continue
			}
			if left := ci.since.Add(linger).Sub(now); left > 0 {
				wait = min(wait, left)
			} else {
				expired = append(expired, c)
			}
		}
		d.mu.Unlock()
		if http1 == 0 {
			break
		}
		// Not Close: a read deadline ends a connection that waits for a
		// request, while one whose request has begun to arrive is read
		// and answered (net/http sets its own deadline for that).
		for _, c := range expired {
			_ = c.SetReadDeadline(time.Unix(1, 0))
		}
		if len(expired) > 0 {
			wait = min(wait, retryDeadline)
		}
		timer.Reset(wait)
		select {
		case <-d.changed:
		case <-timer.C:
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := d.srv.Shutdown(ctx); err != nil {
		return d.cut(timeout)
	}
	return nil
}

// cut closes every connection left and reports how many there were.
func (d *drainer) cut(timeout time.Duration) error {
	d.mu.Lock()
	n := len(d.conns)
	d.mu.Unlock()
	_ = d.srv.Close()
	what := "connections"
	if n == 1 {
		what = "connection"
	}
	return fmt.Errorf("fork: serve: drain: %d %s still open after %v, closed: %w", n, what, timeout, os.ErrDeadlineExceeded)
}

// isHTTP2 reports whether c, past its TLS handshake, speaks HTTP/2.
func isHTTP2(c net.Conn) bool {
	tc, ok := c.(*tls.Conn)
	return ok && tc.ConnectionState().NegotiatedProtocol == "h2"
}
