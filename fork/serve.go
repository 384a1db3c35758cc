//go:build linux

package fork

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// retryDeadline is how soon the drain sets the read deadline of an
// expired idle connection again: net/http resets a connection's deadline
// when it starts to read a request, and may do so just after ours.
const retryDeadline = 10 * time.Millisecond

// hijackPoll is how often the drain looks whether the hijacked
// connections it waits for have been closed: net/http says nothing once
// a connection is hijacked.
const hijackPoll = 10 * time.Millisecond

// drainer is the state of one Serve: the connections of srv, tracked
// through its ConnState hook, and whether the drain has begun.
type drainer struct {
	srv      *http.Server
	next     http.Handler                                    // the caller's handler
	hook     func(net.Conn, http.ConnState)                  // the caller's ConnState
	connCtx  func(context.Context, net.Conn) context.Context // the caller's ConnContext
	draining atomic.Bool

	mu        sync.Mutex
	conns     map[net.Conn]connInfo
	hijacked  map[net.Conn]struct{} // hijacked connections that may still be open
	pruneAt   int                   // prune hijacked when it reaches this size
	changed   chan struct{}         // a connection changed state during the drain
	hooksDone bool                  // the RegisterOnShutdown hooks ran when the drain began
}

type connInfo struct {
	state http.ConnState
	since time.Time // when it entered state; set during the drain only
	h2    bool      // HTTP/2 over TLS; known once past StateNew
	known bool      // h2 is known
	mark  *connMark
	reqs  int64 // mark.reqs when the connection last became active
}

// connMark is what a connection's requests tell the drain about it.
type connMark struct {
	reqs atomic.Int64 // requests that reached the handler
	h2   atomic.Bool  // one of them was HTTP/2: h2c, as HTTP/2 over TLS is known from the handshake
}

type markKey struct{}

// serve is Upgrader.Serve with its parameters.
func serve(srv *http.Server, ln net.Listener, exit <-chan struct{}, linger, timeout time.Duration) error {
	d := &drainer{
		srv:      srv,
		next:     srv.Handler,
		hook:     srv.ConnState,
		connCtx:  srv.ConnContext,
		conns:    make(map[net.Conn]connInfo),
		hijacked: make(map[net.Conn]struct{}),
		pruneAt:  64,
		changed:  make(chan struct{}, 1),
	}
	if d.next == nil {
		d.next = http.DefaultServeMux
	}
	srv.Handler = http.HandlerFunc(d.serveHTTP)
	srv.ConnState = d.connState
	srv.ConnContext = d.connContext

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
	// As Shutdown does: the hooks tell hijacked connections (WebSockets)
	// to close, and net/http's own sends GOAWAY to HTTP/2 connections,
	// h2c ones included, idle or not.
	d.hooksDone = runShutdownHooks(srv, func(func()) bool { return true })
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
	if m, _ := r.Context().Value(markKey{}).(*connMark); m != nil {
		m.reqs.Add(1)
		if r.ProtoMajor == 2 {
			m.h2.Store(true)
		}
	}
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

// connContext gives each connection a mark its requests update.
func (d *drainer) connContext(ctx context.Context, c net.Conn) context.Context {
	if d.connCtx != nil {
		ctx = d.connCtx(ctx, c)
	}
	m := new(connMark)
	d.mu.Lock()
	ci := d.conns[c] // ConnContext runs before StateNew
	ci.mark = m
	d.conns[c] = ci
	d.mu.Unlock()
	return context.WithValue(ctx, markKey{}, m)
}

func (d *drainer) connState(c net.Conn, s http.ConnState) {
	draining := d.draining.Load()
	d.mu.Lock()
	switch s {
	case http.StateClosed:
		delete(d.conns, c)
	case http.StateHijacked:
		delete(d.conns, c)
		if canTellClosed(c) {
			d.hijacked[c] = struct{}{}
			if len(d.hijacked) >= d.pruneAt {
				// Connections hijacked long before a drain close long
				// before it: forget those, at a cost spread thin.
				for hc := range d.hijacked {
					if isClosed(hc) {
						delete(d.hijacked, hc)
					}
				}
				d.pruneAt = max(64, 2*len(d.hijacked))
			}
		}
	default:
		ci := d.conns[c]
		if s == http.StateActive && ci.mark != nil {
			ci.reqs = ci.mark.reqs.Load()
		}
		if s == http.StateIdle && ci.state == http.StateActive && ci.mark != nil && ci.mark.reqs.Load() == ci.reqs {
			// Active and idle again with no request between: the HTTP/2
			// server starting on a connection that sent the h2c preface
			// (HTTP/1 goes active only to read a request).
			ci.mark.h2.Store(true)
		}
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
// boundary or after lingering idle, and every hijacked connection has
// been closed by its handler, then shuts srv down, which sends GOAWAY to
// the HTTP/2 connections (again: the shutdown hooks sent it when the drain
// began) and waits for their streams. net/http's Shutdown alone would
// close idle connections under clients already sending on them, and drop
// a request that arrives on a connection it accepted just before (it
// checks for shutdown after reading a request).
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
			if ci.h2 || (ci.mark != nil && ci.mark.h2.Load()) {
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
		for c := range d.hijacked {
			if isClosed(c) {
				delete(d.hijacked, c)
			}
		}
		hijacked := len(d.hijacked)
		d.mu.Unlock()
		if http1 == 0 && hijacked == 0 {
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
		if hijacked > 0 {
			wait = min(wait, hijackPoll)
		}
		timer.Reset(wait)
		select {
		case <-d.changed:
		case <-timer.C:
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var err error
	if d.hooksDone {
		// The caller's hooks ran when the drain began; Shutdown runs
		// only net/http's own again (GOAWAY for an HTTP/2 connection that
		// finished its handshake since).
		restore := swapShutdownHooks(d.srv, isNetHTTP)
		err = d.srv.Shutdown(ctx)
		restore()
	} else {
		err = d.srv.Shutdown(ctx)
	}
	if err != nil {
		return d.cut(timeout)
	}
	return nil
}

// cut closes every connection left, hijacked ones included, and reports
// how many there were.
func (d *drainer) cut(timeout time.Duration) error {
	d.mu.Lock()
	n := len(d.conns)
	var hijacked []net.Conn
	for c := range d.hijacked {
		if !isClosed(c) {
			hijacked = append(hijacked, c)
		}
	}
	clear(d.hijacked)
	d.mu.Unlock()
	for _, c := range hijacked {
		_ = c.Close()
	}
	_ = d.srv.Close()
	n += len(hijacked)
	what := "connections"
	if n == 1 {
		what = "connection"
	}
	how := ""
	if len(hijacked) > 0 {
		how = fmt.Sprintf(" (%d hijacked)", len(hijacked))
	}
	return fmt.Errorf("fork: serve: drain: %d %s%s still open after %v, closed: %w", n, what, how, timeout, os.ErrDeadlineExceeded)
}

// netConnOf unwraps c (a *tls.Conn, or any wrapper with NetConn) down to
// the connection that holds the descriptor.
func netConnOf(c net.Conn) net.Conn {
	for i := 0; i < 8; i++ {
		w, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = w.NetConn()
	}
	return c
}

// canTellClosed reports whether isClosed can see c closed: its descriptor
// is reachable. A hijacked connection of another kind is not waited for.
func canTellClosed(c net.Conn) bool {
	_, ok := netConnOf(c).(syscall.Conn)
	return ok
}

// isClosed reports whether c has been closed, by whoever owns it now.
func isClosed(c net.Conn) bool {
	sc, ok := netConnOf(c).(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	return rc.Control(func(uintptr) {}) != nil
}

// serverHooks reaches the functions srv.RegisterOnShutdown collected, and
// the mutex that guards them. net/http runs them only in Shutdown, which
// cannot begin a drain (see drain); Serve must run them when its drain
// begins, as Shutdown would. If a later Go renames the fields, ok is false
// and the hooks run at the end of the drain, in Shutdown.
func serverHooks(srv *http.Server) (hooks *[]func(), mu *sync.Mutex, ok bool) {
	v := reflect.ValueOf(srv).Elem()
	hf, mf := v.FieldByName("onShutdown"), v.FieldByName("mu")
	if !hf.IsValid() || hf.Type() != reflect.TypeFor[[]func()]() || !mf.IsValid() || mf.Type() != reflect.TypeFor[sync.Mutex]() {
		return nil, nil, false
	}
	return (*[]func())(unsafe.Pointer(hf.UnsafeAddr())), (*sync.Mutex)(unsafe.Pointer(mf.UnsafeAddr())), true
}

// runShutdownHooks starts each hook of srv that keep selects, each on its
// own goroutine, as Shutdown does, and reports whether it could.
func runShutdownHooks(srv *http.Server, keep func(func()) bool) bool {
	hooks, mu, ok := serverHooks(srv)
	if !ok {
		return false
	}
	mu.Lock()
	fs := slices.Clone(*hooks)
	mu.Unlock()
	for _, f := range fs {
		if keep(f) {
			go f()
		}
	}
	return true
}

// swapShutdownHooks leaves only the hooks keep selects registered with
// srv, and returns the function that puts the others back (keeping any
// registered meanwhile).
func swapShutdownHooks(srv *http.Server, keep func(func()) bool) (restore func()) {
	hooks, mu, ok := serverHooks(srv)
	if !ok {
		return func() {}
	}
	mu.Lock()
	saved := *hooks
	kept := slices.DeleteFunc(slices.Clone(saved), func(f func()) bool { return !keep(f) })
	*hooks = kept
	mu.Unlock()
	return func() {
		mu.Lock()
		*hooks = append(saved, (*hooks)[len(kept):]...)
		mu.Unlock()
	}
}

// isNetHTTP reports whether f is one of net/http's own hooks (its HTTP/2
// server's graceful shutdown).
func isNetHTTP(f func()) bool {
	fn := runtime.FuncForPC(reflect.ValueOf(f).Pointer())
	return fn != nil && strings.HasPrefix(fn.Name(), "net/http.")
}

// isHTTP2 reports whether c, past its TLS handshake, speaks HTTP/2.
func isHTTP2(c net.Conn) bool {
	tc, ok := c.(*tls.Conn)
	return ok && tc.ConnectionState().NegotiatedProtocol == "h2"
}
