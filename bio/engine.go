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

// Record types the engine tells apart when it hands records over.
const recordTypeHandshake = 22

// fragBody is the most body bytes of one record the engine hands to
// crypto/tls while it re-frames handshake records sent in the clear.
//
// crypto/tls reads records into an input buffer that keeps, for the life of
// the connection, room for the largest record it has read plus 512 bytes:
// a ClientHello of 1.5 KB (one with a post-quantum key share, as Go's and
// browsers' are) leaves a 2.3 KB array behind on every idle server
// connection. TLS lets a handshake message be cut across records (RFC 8446
// section 5.1, RFC 5246 section 6.2.1), so the engine hands the handshake
// records of the clear-text first flight over cut into records of at most
// fragBody bytes: a 64-byte record fits the 576 bytes crypto/tls allocates
// first without making it grow. Only the framing changes: the messages,
// their bytes, their order and where they end are those the peer sent, so
// the transcript is too. Records after the first one of another type (a
// ChangeCipherSpec, an alert, application data: from there on records may
// be encrypted) are handed over as they came.
const fragBody = 59

// parkReason says why the handshake goroutine stopped and what lets it go
// on.
type parkReason int

const (
	parkInput parkReason = iota // crypto/tls wants ciphertext: WriteIncoming or CloseIncoming
	parkFlush                   // the outgoing buffer is over its limit: ReadOutgoing
)

// errKilled is what crypto/tls sees from the transport when the engine is
// stopped in the middle of an operation.
var errKilled = errors.New("bio: engine stopped")

// wouldBlock is what crypto/tls's Read sees from the transport when the
// input runs out after the handshake. It is a temporary net.Error, which
// crypto/tls takes as "try again later" (as with a read deadline): the
// connection stays intact, and a partial record stays in its buffer until
// the next call brings the rest.
type wouldBlock struct{}

func (wouldBlock) Error() string   { return "bio: no input" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

var errWouldBlock net.Error = wouldBlock{}

// engine runs a crypto/tls Conn over an in-memory transport.
//
// The handshake runs on a goroutine the engine owns, because crypto/tls's
// Handshake must wait for the peer: the caller and the goroutine hand
// control back and forth (the caller runs step, which resumes the
// goroutine and returns when it parks again or returns), so exactly one of
// them runs at any time and every field below is handed over with the
// control. After the handshake the goroutine ends, and records are read
// on the caller's goroutine, inside its call: crypto/tls's Read is told
// "no input yet" by a temporary error, which leaves the connection intact.
// An idle Conn after its handshake so has no goroutine at all.
//
// mu serializes callers. The engine never points back at the Conn that
// owns it, so an abandoned Conn can be collected and its cleanup can stop
// the goroutine of an unfinished handshake.
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
	exited  bool // the handshake goroutine returned
	killed  bool // park was told to unwind

	next   func() (struct{}, bool) // runs the handshake until it parks or returns
	stopFn func()                  // makes park report false, then waits for the goroutine to return
	yield  func(struct{}) bool     // parks the handshake; false: unwind

	reason parkReason

	in      buffer // incoming ciphertext not taken yet
	feed    []byte // the caller's WriteIncoming slice, only during the call
	inEOF   bool   // CloseIncoming was called
	eofSeen bool   // crypto/tls was told the transport ended

	// Handing records to crypto/tls: see transfer and fragBody.
	hdr     [5]byte // the header of the incoming record being handed over, as far as read
	hdrN    int     // header bytes read; 5: the body is being handed over
	body    int     // body bytes of that record still to hand over
	split   bool    // that record is handed over in fragments of fragBody
	frag    int     // body bytes of the current fragment still to hand over
	sealed  bool    // a record other than handshake came: records are handed over as they came
	emit    [5]byte // a record header for crypto/tls, handed over from emitN to emitLen
	emitN   int     //
	emitLen int     //
	emitEnd bool    // the record ends with that header (its body is empty)

	out     buffer // ciphertext waiting for ReadOutgoing
	appOut  bool   // a Write or Close is writing to out
	replies bool   // out holds bytes crypto/tls queued on its own (handshake, KeyUpdate, alert)
	plain   buffer // decrypted application data waiting for Read
	stalled bool   // decrypt stopped for room (plain full or out over its limit), not for input

	hsDone  bool
	hsErr   error // handshake failure, sticky
	readErr error // io.EOF, ErrTruncated or a fatal error, sticky for Read
	fatal   error // an error that ends the connection in both directions

	closedOut bool // Close was called
}

// start creates the handshake goroutine and runs it until it first parks.
// The goroutine is a coroutine (iter.Pull): control passes to it and back
// on the same thread, with no scheduler in between. Callers hold mu.
func (e *engine) start() {
	e.started = true
	e.next, e.stopFn = iter.Pull(func(yield func(struct{}) bool) {
		e.yield = yield
		e.run()
	})
	e.step()
}

// step hands control to the parked handshake and takes it back when it
// parks again or returns. Callers hold mu and have checked running.
func (e *engine) step() {
	e.next()
	e.dropCoroutine()
}

// stop unwinds the handshake goroutine and waits for it to return.
// Callers hold mu.
func (e *engine) stop() {
	if e.started && !e.exited {
		e.stopFn()
		e.dropCoroutine()
	}
}

// dropCoroutine lets go of the handshake goroutine's state once it has
// returned, so an idle Conn does not keep it.
func (e *engine) dropCoroutine() {
	if e.exited {
		e.next, e.stopFn, e.yield = nil, nil, nil
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

// run is the handshake goroutine. Input the handshake did not need stays
// in feed or in for decrypt.
func (e *engine) run() {
	done := false
	defer func() {
		e.exited = true
		if !done {
			// A tls.Config callback panicked. The panic goes on to the
			// caller; the Conn stays failed.
			e.feed = nil
			e.fatal = errPanicked
			e.readErr = errPanicked
			e.hsErr = &HandshakeError{Err: errPanicked}
		}
	}()
	if err := e.tc.Handshake(); err != nil {
		e.hsErr = e.handshakeError(err)
		e.fatal = e.hsErr
		done = true
		return
	}
	e.hsDone = true
	done = true
}

// open reports whether records are read: the handshake is done and the
// read side has not ended.
func (e *engine) open() bool { return e.hsDone && e.readErr == nil }

// decrypt reads records into plain, on the caller's goroutine, while there
// is input, room in plain, and room in out for the replies crypto/tls may
// queue (NewSessionTicket is read, KeyUpdate answered, here). Callers hold
// mu.
func (e *engine) decrypt() {
	e.stalled = false
	for e.open() {
		if e.plain.Len() >= e.maxPlain {
			e.stalled = true // Read resumes
			break
		}
		if e.in.Len() == 0 && len(e.feed) == 0 && (!e.inEOF || e.eofSeen) {
			break // crypto/tls holds no whole record (see recordSpan)
		}
		n, err := e.tc.Read(e.plain.tail(maxRecordPlaintext))
		e.plain.commit(n)
		if err == errWouldBlock {
			// Out of input, or out over its limit (ReadOutgoing resumes).
			// crypto/tls may hold ciphertext it read ahead either way.
			e.stalled = e.out.Len() > e.maxOut
			break
		}
		if err != nil {
			e.readErr = e.readError(err)
			if e.readErr != io.EOF && !errors.Is(e.readErr, ErrTruncated) {
				e.fatal = e.readErr
			}
		}
	}
	e.plain.release() // when empty: an idle Conn holds no plaintext storage
	e.in.release()
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
// only by crypto/tls, on the handshake goroutine or inside a caller's call.

// Read gives crypto/tls incoming ciphertext. During the handshake it parks
// until there is some; after it, it reports errWouldBlock instead.
func (e *engine) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		switch {
		case e.out.Len() > e.maxOut:
			// Stop consuming while the caller does not drain what we
			// send, so replies to the peer cannot grow without bound.
		case e.emitN < e.emitLen || e.in.Len() > 0:
			n, used := e.transfer(p, e.in.b[e.in.r:])
			e.in.r += used
			if n > 0 {
				return n, nil
			}
			continue // a record header, read but not handed over yet
		case len(e.feed) > 0:
			n, used := e.transfer(p, e.feed)
			e.feed = e.feed[used:]
			if n > 0 {
				return n, nil
			}
			continue
		case e.inEOF && e.hdrN > 0 && e.hdrN < len(e.hdr):
			// The transport ended inside a record header: hand over what
			// came of it, so crypto/tls sees the truncation as it was.
			e.emit, e.emitN, e.emitLen = e.hdr, 0, e.hdrN
			e.hdrN = 0
			continue
		case e.inEOF:
			e.eofSeen = true
			return 0, io.EOF
		}
		if e.hsDone {
			return 0, errWouldBlock
		}
		r := parkInput
		if e.out.Len() > e.maxOut {
			r = parkFlush
		}
		if !e.park(r) {
			return 0, errKilled
		}
	}
}

// transfer moves the next bytes crypto/tls reads from src into p and
// returns how many it wrote to p and how many of src it used. It stops at
// the end of each record it hands over, so crypto/tls never reads ahead,
// and when the Conn holds no input, crypto/tls holds no whole record:
// decrypt need not ask it. A record header is read whole before it is
// handed over (as it came, or as the first of the fragments of its record:
// see fragBody), so a call may use bytes of src and write none.
func (e *engine) transfer(p, src []byte) (n, used int) {
	for n < len(p) {
		if e.emitN < e.emitLen {
			k := copy(p[n:], e.emit[e.emitN:e.emitLen])
			e.emitN += k
			n += k
			if e.emitN == e.emitLen && e.emitEnd {
				e.emitEnd = false
				return n, used
			}
			continue
		}
		if e.hdrN < len(e.hdr) {
			if used == len(src) {
				return n, used
			}
			e.hdr[e.hdrN] = src[used]
			e.hdrN++
			used++
			if e.hdrN == len(e.hdr) {
				e.startRecord()
			}
			continue
		}
		if e.split && e.frag == 0 {
			f := min(e.body, fragBody)
			e.emit = [5]byte{e.hdr[0], e.hdr[1], e.hdr[2], byte(f >> 8), byte(f)}
			e.emitN, e.emitLen = 0, len(e.emit)
			e.frag = f
			continue
		}
		if used == len(src) {
			return n, used
		}
		span := e.body
		if e.split {
			span = e.frag
		}
		k := copy(p[n:], src[used:used+min(span, len(src)-used)])
		n += k
		used += k
		e.body -= k
		if e.split {
			e.frag -= k
		}
		if e.body == 0 {
			e.hdrN, e.split = 0, false
			return n, used
		}
		if e.split && e.frag == 0 {
			return n, used // the end of a fragment is the end of a record
		}
	}
	return n, used
}

// startRecord decides, with a record's header read, how to hand it over.
func (e *engine) startRecord() {
	e.body = int(e.hdr[3])<<8 | int(e.hdr[4])
	if e.hdr[0] != recordTypeHandshake {
		e.sealed = true
	}
	// A record over the size limit goes as it came, for crypto/tls to
	// refuse it as it would.
	e.split = !e.sealed && e.body > fragBody && e.body <= maxRecordPlaintext
	if e.split {
		e.frag = 0
		return
	}
	e.emit, e.emitN, e.emitLen = e.hdr, 0, len(e.hdr)
	if e.body == 0 {
		e.hdrN = 0
		e.emitEnd = true
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
