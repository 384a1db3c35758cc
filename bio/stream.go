package bio

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// closeNotifyTimeout bounds how long Close tries to send close_notify.
const closeNotifyTimeout = 5 * time.Second

// streamBufSize is the size of the Stream's transfer buffers: one
// full-sized record with room for its header and overhead.
const streamBufSize = maxRecordPlaintext + 2048

// Stream runs a [Conn] over a transport the caller provides, an
// io.ReadWriter that need not be a socket (a pipe, a serial line, a stream
// inside another protocol), and is itself a net.Conn: Read, Write and
// Close block on the transport and pump the Conn for the caller, which is
// the callback mode of the sans-IO model.
//
// Read and Write may be called concurrently, as on any net.Conn; the
// transport's Read is called from one goroutine at a time, and so is its
// Write. As on a tls.Conn, each Write is atomic: concurrent Writes do not
// interleave their bytes. A Read sends only what reading produced (a
// KeyUpdate reply, an alert), never a concurrent Write's records, so it
// does not wait for a Write that is blocked on the transport unless it
// owes the peer such a reply, as with tls.Conn.
type Stream struct {
	c  *Conn
	rw io.ReadWriter

	rmu     sync.Mutex // held by the one goroutine reading from rw
	rbuf    []byte
	pending []byte // bytes read from rw that the Conn could not take yet
	rerr    error  // the transport's sticky read error

	progressMu sync.Mutex
	progress   chan struct{} // closed when a read from rw has been fed to the Conn

	writeMu sync.Mutex   // held for a whole Write, so concurrent Writes do not interleave
	active  atomic.Int32 // Writes in flight, times 2; bit 0: Close was called (as in tls.Conn)

	wmu  sync.Mutex // serializes writing to rw, so records stay in order
	wbuf []byte
	werr error // the transport's sticky write error

	closeOnce sync.Once
	closeErr  error
}

// NewStream returns a Stream that carries c's ciphertext over rw. The
// Stream owns both from now on: use them only through it. Close closes rw
// if it is an io.Closer.
func NewStream(c *Conn, rw io.ReadWriter) *Stream {
	return &Stream{c: c, rw: rw}
}

// Conn returns the Conn the Stream pumps.
func (s *Stream) Conn() *Conn { return s.c }

// ConnectionState returns the Conn's [Conn.ConnectionState].
func (s *Stream) ConnectionState() tls.ConnectionState { return s.c.ConnectionState() }

// Handshake runs the handshake to completion over the transport.
func (s *Stream) Handshake() error {
	for {
		// Taken before looking at the Conn: a concurrent reader that
		// completes the handshake after this look closes fed, so fill
		// cannot wait for a later read that may never come.
		fed := s.progressChan()
		err := s.c.Handshake()
		if ferr := s.flush(); ferr != nil && (err == nil || err == ErrWantRead) {
			return ferr
		}
		if err != ErrWantRead {
			return err
		}
		if err := s.fill(fed); err != nil {
			return err
		}
	}
}

// Read reads plaintext, reading ciphertext from the transport as needed.
// It returns io.EOF after the peer's close_notify.
func (s *Stream) Read(p []byte) (int, error) {
	for {
		fed := s.progressChan() // before looking, as in Handshake
		n, err := s.c.Read(p)
		// Reading may have queued replies (a KeyUpdate, an alert). Flush
		// only those: records of a concurrent Write are its to send, and
		// waiting here for a Write blocked on the transport can stall both
		// peers.
		if s.c.repliesWaiting() {
			if ferr := s.flushReplies(); ferr != nil && err == nil {
				err = ferr
			}
		}
		if n > 0 || err != ErrWantRead || len(p) == 0 {
			return n, err
		}
		if err := s.fill(fed); err != nil {
			return 0, err
		}
	}
}

// Write encrypts p and writes the records to the transport before it
// returns. It completes the handshake first if needed. Concurrent Writes
// are serialized: each one's bytes reach the peer together.
func (s *Stream) Write(p []byte) (int, error) {
	// Interlock with Close, as tls.Conn does: a Close that finds a Write
	// in flight closes the transport instead of queueing close_notify
	// behind it.
	for {
		x := s.active.Load()
		if x&1 != 0 {
			return 0, errClosed
		}
		if s.active.CompareAndSwap(x, x+2) {
			break
		}
	}
	defer s.active.Add(-2)
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.Handshake(); err != nil {
		return 0, err
	}
	written := 0
	for {
		n, err := s.c.Write(p[written:])
		written += n
		if ferr := s.flush(); ferr != nil {
			return written, ferr
		}
		if !errors.Is(err, ErrBufferFull) {
			return written, err
		}
	}
}

// Close sends close_notify, ends the Conn and closes the transport if it
// is an io.Closer. It does not wait for the peer's close_notify; call
// CloseWrite and then Read until io.EOF for that.
//
// As with tls.Conn.Close, a Close during a Write is taken as a way to
// break that Write: it closes the transport at once and skips
// close_notify, which could wait behind the Write for a peer that does
// not read.
func (s *Stream) Close() error {
	s.closeOnce.Do(func() {
		var x int32
		for {
			x = s.active.Load()
			if s.active.CompareAndSwap(x, x|1) {
				break
			}
		}
		if x != 0 {
			s.closeErr = s.abort()
			return
		}
		err := s.c.Close()
		// Like tls.Conn.Close: a peer that does not read must not hold
		// Close forever.
		if d, ok := s.rw.(interface{ SetWriteDeadline(time.Time) error }); ok {
			d.SetWriteDeadline(time.Now().Add(closeNotifyTimeout))
		}
		if ferr := s.flush(); err == nil {
			err = ferr
		}
		s.c.CloseIncoming()
		if cl, ok := s.rw.(io.Closer); ok {
			if cerr := cl.Close(); err == nil {
				err = cerr
			}
		}
		s.closeErr = err
	})
	return s.closeErr
}

// abort ends the Stream without close_notify: the transport is closed
// first, so a Write blocked on it returns, then the Conn is ended.
func (s *Stream) abort() error {
	var err error
	if cl, ok := s.rw.(io.Closer); ok {
		err = cl.Close()
	}
	s.c.Close()
	s.c.CloseIncoming()
	return err
}

// CloseWrite sends close_notify and keeps the read side open. It waits
// for a Write in flight to finish first, as tls.Conn.CloseWrite does.
func (s *Stream) CloseWrite() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err := s.c.Close()
	if ferr := s.flush(); err == nil {
		err = ferr
	}
	return err
}

// flush writes everything the Conn has for the peer to the transport. After
// it lets the transport go it looks once more: a reader may have queued a
// reply meanwhile and left it to this call (see flushReplies).
func (s *Stream) flush() error {
	for {
		s.wmu.Lock()
		err := s.flushLocked()
		s.wmu.Unlock()
		if err != nil || s.c.OutgoingLen() == 0 {
			return err
		}
	}
}

// flushReplies sends what a Read queued for the peer (a KeyUpdate answer,
// the end of a handshake, an alert) unless a writer holds the transport.
// Waiting for that writer could stall both peers: it may be blocked until
// the peer can write, and the peer until this goroutine reads. The writer
// sends the reply instead: flush looks again after it lets go.
func (s *Stream) flushReplies() error {
	if !s.wmu.TryLock() {
		return nil
	}
	err := s.flushLocked()
	s.wmu.Unlock()
	if err == nil && s.c.OutgoingLen() > 0 {
		return s.flushReplies()
	}
	return err
}

// flushLocked is flush's loop; s.wmu is held.
func (s *Stream) flushLocked() error {
	if s.werr != nil {
		return s.werr
	}
	for {
		if s.wbuf == nil {
			if s.c.OutgoingLen() == 0 {
				return nil
			}
			s.wbuf = make([]byte, streamBufSize)
		}
		n, _ := s.c.ReadOutgoing(s.wbuf)
		if n == 0 {
			return nil
		}
		if _, err := s.rw.Write(s.wbuf[:n]); err != nil {
			s.werr = fmt.Errorf("bio: writing to the transport: %w", err)
			return s.werr
		}
	}
}

// fill reads once from the transport and feeds the Conn. At the
// transport's EOF it calls CloseIncoming. If another goroutine is reading
// from the transport already, fill waits for that read to be fed instead
// and lets its caller look again: the other reader may have completed the
// handshake this caller waits for, and a second reader would wait on the
// transport for bytes that may never come. fed is the progress channel the
// caller took before it last looked at the Conn; a read fed since then
// has closed it already, so no wake-up is lost between the look and the
// wait.
func (s *Stream) fill(fed chan struct{}) error {
	if !s.rmu.TryLock() {
		<-fed
		return nil
	}
	select {
	case <-fed:
		// Another read was fed after the caller looked (and released
		// the lock before this call took it): look again before
		// blocking on the transport for bytes that may never come.
		s.rmu.Unlock()
		return nil
	default:
	}
	// Unlock before signalling, so a waiter woken by the signal never
	// finds the lock still held by this call.
	defer s.signalProgress()
	defer s.rmu.Unlock()
	if len(s.pending) > 0 {
		// The Conn refused these before; Read has drained it since.
		// A fatal error comes back from the Conn's next call, after the
		// caller has flushed the alert.
		n, _ := s.c.WriteIncoming(s.pending)
		s.pending = s.pending[n:]
		return nil
	}
	if s.rerr != nil {
		return s.rerr
	}
	if s.rbuf == nil {
		s.rbuf = make([]byte, streamBufSize)
	}
	n, err := s.rw.Read(s.rbuf)
	if n > 0 {
		m, werr := s.c.WriteIncoming(s.rbuf[:n])
		if errors.Is(werr, ErrBufferFull) {
			s.pending = append(s.pending[:0], s.rbuf[m:n]...)
		}
	}
	switch {
	case err == io.EOF:
		s.c.CloseIncoming()
	case isTimeout(err):
		// A deadline passed: the caller may set a new one and read again.
		return fmt.Errorf("bio: reading from the transport: %w", err)
	case err != nil:
		s.rerr = fmt.Errorf("bio: reading from the transport: %w", err)
		return s.rerr
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// progressChan returns the channel the next fed read closes.
func (s *Stream) progressChan() chan struct{} {
	s.progressMu.Lock()
	defer s.progressMu.Unlock()
	if s.progress == nil {
		s.progress = make(chan struct{})
	}
	return s.progress
}

// signalProgress wakes the goroutines waiting in fill.
func (s *Stream) signalProgress() {
	s.progressMu.Lock()
	defer s.progressMu.Unlock()
	if s.progress != nil {
		close(s.progress)
		s.progress = nil
	}
}

// LocalAddr returns the transport's local address if it has one, else the
// Conn's (see [Options].LocalAddr).
func (s *Stream) LocalAddr() net.Addr {
	if a, ok := s.rw.(interface{ LocalAddr() net.Addr }); ok {
		return a.LocalAddr()
	}
	return s.c.e.local
}

// RemoteAddr returns the transport's remote address if it has one, else
// the Conn's (see [Options].RemoteAddr).
func (s *Stream) RemoteAddr() net.Addr {
	if a, ok := s.rw.(interface{ RemoteAddr() net.Addr }); ok {
		return a.RemoteAddr()
	}
	return s.c.e.remote
}

// SetDeadline sets the transport's deadlines if it supports them; else it
// returns an error matching errors.ErrUnsupported.
func (s *Stream) SetDeadline(t time.Time) error {
	if d, ok := s.rw.(interface{ SetDeadline(time.Time) error }); ok {
		return d.SetDeadline(t)
	}
	return errNoDeadline
}

// SetReadDeadline is like SetDeadline, for reads.
func (s *Stream) SetReadDeadline(t time.Time) error {
	if d, ok := s.rw.(interface{ SetReadDeadline(time.Time) error }); ok {
		return d.SetReadDeadline(t)
	}
	return errNoDeadline
}

// SetWriteDeadline is like SetDeadline, for writes.
func (s *Stream) SetWriteDeadline(t time.Time) error {
	if d, ok := s.rw.(interface{ SetWriteDeadline(time.Time) error }); ok {
		return d.SetWriteDeadline(t)
	}
	return errNoDeadline
}

var errNoDeadline = fmt.Errorf("bio: the transport has no deadlines: %w", errors.ErrUnsupported)

var _ net.Conn = (*Stream)(nil)
