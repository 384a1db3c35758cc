package bio

import (
	"crypto/tls"
	"errors"
	"net"
	"runtime"
)

// Default limits, used when the matching [Options] field is zero or less.
const (
	DefaultMaxIncoming  = 64 << 10
	DefaultMaxPlaintext = 64 << 10
	DefaultMaxOutgoing  = 64 << 10
)

// Options tune a [Conn]. The zero value gives the defaults: [Client] and
// [Server] are Options{}.Client and Options{}.Server.
type Options struct {
	// MaxIncoming bounds the ciphertext WriteIncoming keeps when the
	// engine cannot take it yet (plaintext or outgoing buffer full).
	// Beyond it WriteIncoming returns a *BufferError. Zero or less:
	// DefaultMaxIncoming.
	MaxIncoming int

	// MaxPlaintext bounds decrypted data waiting for Read; the engine
	// stops decrypting at this mark until Read drains it. Zero or less:
	// DefaultMaxPlaintext.
	MaxPlaintext int

	// MaxOutgoing bounds ciphertext waiting for ReadOutgoing. Write stops
	// accepting plaintext at this mark (it may pass it by one record) and
	// returns a *BufferError; the engine stops consuming incoming
	// ciphertext past it, so replies it owes the peer cannot pile up.
	// Zero or less: DefaultMaxOutgoing.
	MaxOutgoing int

	// AllowTruncation makes a transport EOF at a record boundary without
	// close_notify read as io.EOF instead of ErrTruncated. Only for peers
	// known to skip close_notify, whose protocol detects truncation itself.
	AllowTruncation bool

	// LocalAddr and RemoteAddr are what crypto/tls (and its hooks) see as
	// the transport's addresses. A client with no tls.Config.ServerName
	// keys its ClientSessionCache by RemoteAddr().String(), so set
	// RemoteAddr to the peer's identity to resume sessions. Nil: an Addr
	// named after ServerName (or "bio" when there is none).
	LocalAddr  net.Addr
	RemoteAddr net.Addr
}

// Addr is a transport address for a Conn that has no socket.
type Addr string

// Network returns "bio".
func (Addr) Network() string { return "bio" }

// String returns the address itself.
func (a Addr) String() string { return string(a) }

// Conn is one TLS connection whose ciphertext goes in and out through
// memory. See the package documentation for the model and the pump loop.
//
// Conn is safe for concurrent use: its methods are serialized, and none of
// them waits for the peer. crypto/tls runs only inside a method call: the
// handshake on a goroutine the Conn owns until the handshake ends, records
// after it on the caller's goroutine. tls.Config callbacks run in the
// handshake, so they must not call back into the same Conn. Nor should
// they hold a reference to it: a Conn reachable from its own config is
// never collected, so the cleanup that ends the handshake goroutine of an
// abandoned Conn cannot run.
type Conn struct {
	e *engine
}

// Client returns the client side of a TLS connection configured by cfg,
// with the default [Options]. As with [tls.Client], cfg must set
// ServerName or InsecureSkipVerify; cfg must not be changed afterwards.
// TLS 1.2 renegotiation is not supported: with cfg.Renegotiation set, the
// handshake fails with a *HandshakeError that says so.
func Client(cfg *tls.Config) *Conn { return Options{}.Client(cfg) }

// Server returns the server side of a TLS connection configured by cfg,
// with the default [Options]. cfg must supply at least one certificate
// (Certificates or GetCertificate).
func Server(cfg *tls.Config) *Conn { return Options{}.Server(cfg) }

// Client returns the client side of a TLS connection configured by cfg,
// as the function [Client] does, with the options o:
//
//	conn := bio.Options{MaxIncoming: 1 << 20}.Client(cfg)
func (o Options) Client(cfg *tls.Config) *Conn { return newConn(cfg, o, true) }

// Server returns the server side of a TLS connection configured by cfg,
// as the function [Server] does, with the options o.
func (o Options) Server(cfg *tls.Config) *Conn { return newConn(cfg, o, false) }

func newConn(cfg *tls.Config, o Options, client bool) *Conn {
	e := &engine{
		lenient:  o.AllowTruncation,
		maxIn:    orDefault(o.MaxIncoming, DefaultMaxIncoming),
		maxOut:   orDefault(o.MaxOutgoing, DefaultMaxOutgoing),
		maxPlain: orDefault(o.MaxPlaintext, DefaultMaxPlaintext),
		local:    o.LocalAddr,
		remote:   o.RemoteAddr,
	}
	if e.local == nil {
		e.local = Addr("bio")
	}
	if e.remote == nil {
		e.remote = Addr("bio")
		if cfg != nil && cfg.ServerName != "" {
			e.remote = Addr(cfg.ServerName)
		}
	}
	switch {
	case cfg == nil:
		e.hsErr = &HandshakeError{Err: errors.New("nil *tls.Config")}
		e.fatal = e.hsErr
	case client && cfg.Renegotiation != tls.RenegotiateNever:
		// A renegotiation holds crypto/tls's handshake lock while it waits
		// for the peer, and Write would wait for that lock inside a call.
		e.hsErr = &HandshakeError{Err: errRenegotiation}
		e.fatal = e.hsErr
	case client:
		e.tc = tls.Client(e, cfg)
	default:
		e.tc = tls.Server(e, cfg)
	}
	c := &Conn{e: e}
	runtime.AddCleanup(c, cleanup, e)
	return c
}

// cleanup ends the engine goroutine of a Conn that was dropped unfinished.
func cleanup(e *engine) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stop()
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

// ensureStarted starts the engine if it has not run yet and may. Callers
// hold mu.
func (e *engine) ensureStarted() {
	if !e.started && e.fatal == nil && !e.closedOut {
		e.start()
	}
}

// running reports whether the handshake goroutine is parked and can be
// stepped.
func (e *engine) running() bool { return e.started && !e.exited }

// WriteIncoming gives the Conn ciphertext received from the peer. It
// returns once the engine has processed all of it that it can: decrypted
// data is ready for Read, replies are ready for ReadOutgoing. It takes the
// first call as the start of the handshake.
//
// Feeding never reports a TLS failure. It returns the count it kept and
// nil; or, when its buffer is full, a [*BufferError] with the count it
// kept (Read, then feed the rest). A failed handshake or a bad record is
// returned by the next Handshake, Read or Write, sticky, with its fatal
// alert already waiting in ReadOutgoing, and plaintext decrypted before a
// bad record is returned by Read first. So a loop keeps feeding and
// reading apart, as with rustls's read_tls, OpenSSL's BIO_write on the
// network BIO or Python's MemoryBIO.write. Once the connection has failed,
// or after the peer's close_notify, bytes are taken and discarded. The
// only error about the call itself comes after CloseIncoming.
func (c *Conn) WriteIncoming(p []byte) (int, error) {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inEOF {
		return 0, errIncomingClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	e.ensureStarted()
	if e.running() && e.reason != parkInput {
		// The handshake waits for ReadOutgoing; keep the bytes.
		return e.keep(p)
	}
	e.feed = p
	if e.running() {
		e.step() // the handshake takes what it needs
	}
	if e.open() {
		e.decrypt() // records after the handshake, on this goroutine
	}
	rest := e.feed
	e.feed = nil
	if !e.running() && !e.open() {
		return len(p), nil // failed, closed or finished: the next call says which
	}
	n, err := e.keep(rest)
	e.in.release()
	return len(p) - len(rest) + n, err
}

// keep buffers what the engine could not take yet, up to the limit.
func (e *engine) keep(p []byte) (int, error) {
	room := e.maxIn - e.in.Len()
	if room >= len(p) {
		e.in.write(p)
		return len(p), nil
	}
	room = max(room, 0)
	e.in.write(p[:room])
	return room, &BufferError{Buffer: "incoming", Limit: e.maxIn}
}

// CloseIncoming tells the Conn that the transport reached EOF: no more
// ciphertext will come. Without the peer's close_notify first, Read then
// returns [ErrTruncated] (or io.EOF with [Options].AllowTruncation). A
// handshake in progress fails with an error matching ErrTruncated.
// Calling it again does nothing.
func (c *Conn) CloseIncoming() {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inEOF {
		return
	}
	e.inEOF = true
	if e.running() && e.reason == parkInput && e.in.Len() == 0 {
		e.step()
	}
	if e.open() {
		e.decrypt() // the end of the stream, once what was kept is read
	}
}

// ReadOutgoing moves ciphertext for the peer into p. It returns 0, nil when
// nothing waits. The bytes are sent exactly once, in order: after a failed
// handshake they include the fatal alert, after Close the close_notify.
func (c *Conn) ReadOutgoing(p []byte) (int, error) {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.out.read(p)
	if e.running() && e.reason == parkFlush && e.out.Len() <= e.maxOut {
		e.step()
	}
	if e.stalled && e.open() && e.out.Len() <= e.maxOut {
		e.decrypt() // stopped while the replies were not drained
	}
	if e.out.Len() == 0 {
		e.replies = false
		e.out.release()
	}
	return n, nil
}

// OutgoingLen reports how many bytes ReadOutgoing has ready: when it is
// not zero, the Conn wants to write to the transport.
func (c *Conn) OutgoingLen() int {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.out.Len()
}

// Handshake starts the handshake if needed and reports where it is: nil
// once it is complete, [ErrWantRead] while it waits for the peer (or for
// the outgoing buffer to be drained), or the sticky handshake error (a
// [*HandshakeError]). Read and Write drive the handshake too, so calling
// Handshake is optional.
func (c *Conn) Handshake() error {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.handshake()
}

func (e *engine) handshake() error {
	e.ensureStarted()
	switch {
	case e.hsDone:
		return nil
	case e.hsErr != nil:
		return e.hsErr
	case e.closedOut:
		return errClosed
	}
	return ErrWantRead
}

// Read moves decrypted application data into p. With none buffered it
// returns [ErrWantRead] (the handshake, or the next record, needs more
// ciphertext), io.EOF after the peer's close_notify, [ErrTruncated] after
// CloseIncoming without one, or the connection's fatal error. Data that
// arrived before any of these is returned first. Read drives the
// handshake.
func (c *Conn) Read(p []byte) (int, error) {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.plain.Len() == 0 && e.stalled && e.open() {
		e.decrypt() // stopped while buffers were full
	}
	if e.plain.Len() > 0 {
		if len(p) == 0 {
			return 0, nil
		}
		n := e.plain.read(p)
		if e.stalled && e.open() {
			e.decrypt() // room now: go on where decrypt stopped
		}
		e.plain.release()
		return n, nil
	}
	if err := e.handshake(); err != nil {
		return 0, err
	}
	if e.readErr != nil {
		return 0, e.readErr
	}
	return 0, ErrWantRead
}

// Write encrypts p for the peer; the records are ready for ReadOutgoing
// when it returns. It never waits for the peer. Before the handshake is
// complete it drives the handshake and returns 0, [ErrWantRead] until the
// handshake is done. When the outgoing buffer reaches [Options].MaxOutgoing
// it returns the count written and a *BufferError.
func (c *Conn) Write(p []byte) (int, error) {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closedOut {
		return 0, errClosed
	}
	if err := e.handshake(); err != nil {
		return 0, err
	}
	if e.fatal != nil {
		return 0, e.fatal
	}
	// crypto/tls writes on this goroutine while the engine is parked: the
	// transport's Write never blocks and the engine holds no lock that
	// tls.Conn.Write needs, so no hand-off is needed.
	written := 0
	for written < len(p) {
		if e.out.Len() >= e.maxOut {
			return written, &BufferError{Buffer: "outgoing", Limit: e.maxOut}
		}
		chunk := p[written:min(len(p), written+maxRecordPlaintext)]
		e.appOut = true
		n, err := e.tc.Write(chunk)
		e.appOut = false
		written += n
		if err != nil {
			e.fatal = &WriteError{Err: err}
			return written, e.fatal
		}
	}
	return written, nil
}

// Close queues close_notify for the peer; it is ready for ReadOutgoing when
// Close returns. Later Writes fail, but Read goes on, so the peer's last
// data and its close_notify (io.EOF) can still be read. Before the
// handshake is complete Close abandons it and sends nothing. Calling Close
// again does nothing.
//
// Before the handshake is complete its goroutine ends here; after it, a
// Conn has no goroutine.
func (c *Conn) Close() error {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closedOut {
		return nil
	}
	e.closedOut = true
	switch {
	case e.hsDone && e.fatal == nil:
		e.appOut = true
		err := e.tc.CloseWrite()
		e.appOut = false
		if err != nil {
			e.fatal = &WriteError{Err: err}
			return e.fatal
		}
	case !e.started:
		e.hsErr = errClosed
		e.fatal = errClosed
	case e.running():
		e.stop() // a handshake in progress; the engine records errClosed
	}
	return nil
}

// repliesWaiting reports whether bytes the engine queued on its own (a
// handshake flight, a KeyUpdate, an alert) wait in the outgoing buffer, as
// opposed to only records from Write and Close, whose callers flush them.
func (c *Conn) repliesWaiting() bool {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.replies
}

// ConnectionState returns the negotiated parameters once the handshake is
// complete, and the zero value before.
func (c *Conn) ConnectionState() tls.ConnectionState {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.hsDone {
		return tls.ConnectionState{}
	}
	// The handshake goroutine has ended: nothing holds crypto/tls's
	// handshake lock.
	return e.tc.ConnectionState()
}

// WriteError is the sticky error of a failed write. Err is what crypto/tls
// reported.
type WriteError struct {
	Err error
}

// Error returns "bio: write failed: " and the cause.
func (e *WriteError) Error() string { return "bio: write failed: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *WriteError) Unwrap() error { return e.Err }
