package bio

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"sync"
	"time"
)

// maxRecordPlaintext is the largest plaintext one TLS record carries.
const maxRecordPlaintext = 16384

// parkReason says why the engine goroutine stopped and what lets it go on.
type parkReason int

const (
	parkInput parkReason = iota // crypto/tls wants ciphertext: WriteIncoming or CloseIncoming
	parkSpace                   // the plaintext buffer is full: Read
	parkFlush                   // the outgoing buffer is over its limit: ReadOutgoing
)

// errKilled is what crypto/tls sees from the transport when the engine is
// stopped in the middle of an operation.
var errKilled = errors.New("bio: engine stopped")

// engine runs a crypto/tls Conn over an in-memory transport in a goroutine
// it owns. The caller and the goroutine hand control back and forth: the
// caller runs step, which resumes the goroutine and returns when it parks
// again (or returns), so exactly one of them runs at any time and every
// field below is handed over with the control. That is why the fields need
// no lock of their own beyond mu, which serializes callers.
//
// The engine never points back at the Conn that owns it, so an abandoned
// Conn can be collected and its cleanup can stop the goroutine.
type engine struct {
	mu sync.Mutex // held by every Conn method and by the cleanup

	tc       *tls.Conn
	lenient  bool
	maxIn    int
	maxOut   int
	maxPlain int
	local    net.Addr
	remote   net.Addr

	started bool
	exited  bool // run returned
	killed  bool // park was told to unwind

	next   func() (struct{}, bool) // runs the engine until it parks or returns
	stopFn func()                  // makes park report false, then waits for run to return
	yield  func(struct{}) bool     // parks the engine; false: unwind

	reason parkReason

	in      buffer    // incoming ciphertext the engine could not take yet
	feed    []byte    // the caller's WriteIncoming slice, only during a step
	inEOF   bool      // CloseIncoming was called
	eofSeen bool      // crypto/tls was told the transport ended
	out     buffer    // ciphertext waiting for ReadOutgoing
	appOut  bool      // a Write or Close on the caller's goroutine is writing to out
	replies bool      // out holds bytes the engine queued on its own (handshake, KeyUpdate, alert)
	plain   buffer    // decrypted application data waiting for Read
	first   [512]byte // where an idle engine waits for the next record
	filling bool      // the engine holds a slice of plain's free space

	hsDone  bool
	hsErr   error // handshake failure, sticky
	readErr error // io.EOF, ErrTruncated or a fatal error, sticky for Read
	fatal   error // an error that ends the connection in both directions
	state   tls.ConnectionState

	closedOut bool // Close was called
}

// start creates the engine's goroutine and runs it until it first parks.
// The goroutine is a coroutine (iter.Pull): control passes to it and back
// on the same thread, with no scheduler in between. Callers hold mu.
func (e *engine) start() {
	e.started = true
	e.next, e.stopFn = iter.Pull(func(yield func(struct{}) bool) {
		e.yield = yield
		e.run()
	})
	e.next()
}

// step hands control to the parked engine and takes it back when the
// engine parks again or returns. Callers hold mu and have checked that the
// engine is running.
func (e *engine) step() { e.next() }

// stop unwinds the engine and waits for it to return. Callers hold mu.
func (e *engine) stop() {
	if e.started && !e.exited {
		e.stopFn()
	}
}

// park gives control back to the caller until it is handed back. It
// reports false when the engine is being stopped.
func (e *engine) park(r parkReason) bool {
	if e.killed {
		return false
	}
	e.reason = r
	if !e.yield(struct{}{}) {
		e.killed = true
		return false
	}
	return true
}

// run is the goroutine: the handshake, then reading records for as long as
// the connection lives, so post-handshake messages (NewSessionTicket,
// KeyUpdate) are handled whenever they arrive.
func (e *engine) run() {
	defer func() {
		e.exited = true
		e.feed = nil
		if e.hsErr == nil && e.readErr == nil {
			// run ended with no result: a tls.Config callback panicked.
			// The panic goes on to the caller; the Conn stays failed.
			e.fatal = errPanicked
			e.readErr = errPanicked
			if !e.hsDone {
				e.hsErr = &HandshakeError{Err: errPanicked}
			}
		}
	}()
	if err := e.tc.Handshake(); err != nil {
		e.hsErr = e.handshakeError(err)
		e.fatal = e.hsErr
		return
	}
	e.state = e.tc.ConnectionState()
	e.hsDone = true
	// drained: crypto/tls has no decrypted bytes left, so its next Read
	// may wait for a record. The engine then waits in a small array of its
	// own rather than in plain's free space, so an idle Conn holds no
	// plaintext buffer (Read releases it once empty).
	drained := true
	for {
		if e.plain.Len() >= e.maxPlain {
			if !e.park(parkSpace) {
				e.readErr = errClosed
				return
			}
			continue
		}
		var n int
		var err error
		if drained {
			n, err = e.tc.Read(e.first[:])
			if n > 0 {
				e.plain.write(e.first[:n])
			}
			drained = n < len(e.first)
		} else {
			e.filling = true
			buf := e.plain.tail(maxRecordPlaintext)
			n, err = e.tc.Read(buf)
			e.plain.commit(n)
			e.filling = false
			drained = n < len(buf)
		}
		if err != nil {
			e.readErr = e.readError(err)
			if e.readErr != io.EOF && !errors.Is(e.readErr, ErrTruncated) {
				e.fatal = e.readErr
			}
			return
		}
	}
}

// handshakeError turns what crypto/tls returned into the sticky error.
func (e *engine) handshakeError(err error) error {
	switch {
	case e.killed:
		return errClosed
	case e.eofSeen && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
		return &HandshakeError{Err: ErrTruncated}
	}
	return &HandshakeError{Err: err}
}

// readError turns what crypto/tls Read returned into the sticky error.
// crypto/tls reports both a close_notify and a bare transport EOF as
// io.EOF; only eofSeen tells them apart.
func (e *engine) readError(err error) error {
	switch {
	case e.killed:
		return errClosed
	case err == io.EOF && !e.eofSeen:
		return io.EOF // the peer's close_notify
	case err == io.EOF && e.lenient:
		return io.EOF // a bare EOF at a record boundary, accepted on request
	case e.eofSeen && (err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF)):
		return ErrTruncated
	}
	return fmt.Errorf("bio: reading records failed: %w", err)
}

// The engine is the net.Conn crypto/tls runs over. Its methods are called
// only by crypto/tls, on the engine goroutine or inside a caller's Write.

// Read gives crypto/tls incoming ciphertext, parking until there is some.
func (e *engine) Read(p []byte) (int, error) {
	for {
		if e.out.Len() > e.maxOut {
			// Stop consuming while the caller does not drain what we send,
			// so replies to the peer cannot grow without bound.
			if !e.park(parkFlush) {
				return 0, errKilled
			}
			continue
		}
		switch {
		case e.in.Len() > 0:
			return e.in.read(p), nil
		case len(e.feed) > 0:
			n := copy(p, e.feed)
			e.feed = e.feed[n:]
			return n, nil
		case e.inEOF:
			e.eofSeen = true
			return 0, io.EOF
		}
		if !e.park(parkInput) {
			return 0, errKilled
		}
	}
}

// Write queues ciphertext for ReadOutgoing; it never blocks.
func (e *engine) Write(p []byte) (int, error) {
	e.out.write(p)
	if !e.appOut {
		e.replies = true
	}
	return len(p), nil
}

// Close is called by crypto/tls only on paths bio never takes (tls.Conn.Close).
func (e *engine) Close() error { return nil }

func (e *engine) LocalAddr() net.Addr              { return e.local }
func (e *engine) RemoteAddr() net.Addr             { return e.remote }
func (e *engine) SetDeadline(time.Time) error      { return nil }
func (e *engine) SetReadDeadline(time.Time) error  { return nil }
func (e *engine) SetWriteDeadline(time.Time) error { return nil }
