package bio

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// TestStreamWritesAreAtomic writes two large buffers from two goroutines
// at once: as on a tls.Conn, each Write's bytes must reach the peer
// together, not interleaved past the outgoing buffer's limit.
func TestStreamWritesAreAtomic(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	near, far := net.Pipe()
	const size = 256 << 10
	got := make(chan []byte, 1)
	go func() {
		defer far.Close() // no close_notify: nobody reads the pipe any more
		b, _ := io.ReadAll(io.LimitReader(tls.Server(far, p.serverConfig()), 2*size))
		got <- b
	}()
	s := NewStream(Client(p.clientConfig()), near)
	defer s.Close()
	if err := s.Handshake(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, c := range []byte{'a', 'b'} {
		wg.Go(func() {
			if _, err := s.Write(bytes.Repeat([]byte{c}, size)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	b := <-got
	runs := 1
	for i := 1; i < len(b); i++ {
		if b[i] != b[i-1] {
			runs++
		}
	}
	if len(b) != 2*size || runs != 2 {
		t.Fatalf("peer read %d bytes in %d runs of one letter; want %d bytes in 2 runs", len(b), runs, 2*size)
	}
}

// stuckSignal is a transport that closes stuck once a Write is blocked
// on it (after armed is closed). A transport with write deadlines is
// probed: a write that cannot finish within a millisecond is blocked on a
// peer that does not read, so the signal fires and the write goes on
// without a deadline. A transport without deadlines signals when a Write
// enters it.
type stuckSignal struct {
	io.ReadWriteCloser
	armed chan struct{}
	stuck chan struct{}
	once  sync.Once
}

func (s *stuckSignal) Write(p []byte) (int, error) {
	select {
	case <-s.armed:
	default:
		return s.ReadWriteCloser.Write(p)
	}
	d, ok := s.ReadWriteCloser.(interface{ SetWriteDeadline(time.Time) error })
	if !ok {
		s.once.Do(func() { close(s.stuck) })
		return s.ReadWriteCloser.Write(p)
	}
	d.SetWriteDeadline(time.Now().Add(time.Millisecond))
	n, err := s.ReadWriteCloser.Write(p)
	d.SetWriteDeadline(time.Time{})
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return n, err
	}
	s.once.Do(func() { close(s.stuck) })
	k, err := s.ReadWriteCloser.Write(p[n:])
	return n + k, err
}

// SetWriteDeadline passes the deadline on, as the Stream's Close uses it.
func (s *stuckSignal) SetWriteDeadline(t time.Time) error {
	if d, ok := s.ReadWriteCloser.(interface{ SetWriteDeadline(time.Time) error }); ok {
		return d.SetWriteDeadline(t)
	}
	return errors.ErrUnsupported
}

// pipes joins two io.Pipes into a transport that has Close but no
// deadlines.
type pipes struct {
	*io.PipeReader
	*io.PipeWriter
}

func (p pipes) Close() error {
	p.PipeReader.Close()
	return p.PipeWriter.Close()
}

// TestStreamCloseDuringBlockedWrite closes a Stream while its Write is
// blocked on a peer that stopped reading. Like tls.Conn.Close, Close must
// close the transport at once and skip close_notify: over two io.Pipes
// (no deadlines) it used to hang for ever, over TCP it waited for a
// 5-second write deadline, so the Write failed with a timeout instead of
// net.ErrClosed.
func TestStreamCloseDuringBlockedWrite(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	for _, kind := range []string{"io.Pipe", "tcp"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var near io.ReadWriteCloser
			var far net.Conn
			switch kind {
			case "io.Pipe":
				r1, w1 := io.Pipe()
				r2, w2 := io.Pipe()
				near = pipes{r1, w2}
				// The peer's side as a net.Conn for tls.Server.
				c1, c2 := net.Pipe()
				far = c1
				go io.Copy(c2, r2) // peer's input
				go func() { io.Copy(w1, c2); w1.Close() }()
			case "tcp":
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				accepted := make(chan net.Conn, 1)
				go func() {
					c, _ := ln.Accept()
					accepted <- c
				}()
				tcp, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				near, far = tcp, <-accepted
			}
			defer far.Close()
			handshook := make(chan struct{})
			go func() {
				peer := tls.Server(far, p.serverConfig())
				peer.Handshake()
				close(handshook)
				// Then the peer stops reading.
			}()
			bt := &stuckSignal{ReadWriteCloser: near, armed: make(chan struct{}), stuck: make(chan struct{})}
			s := NewStream(Client(p.clientConfig()), bt)
			if err := s.Handshake(); err != nil {
				t.Fatal(err)
			}
			<-handshook
			close(bt.armed)
			werr := make(chan error, 1)
			go func() {
				_, err := s.Write(make([]byte, 64<<20)) // more than any socket buffer
				werr <- err
			}()
			<-bt.stuck
			closed := make(chan error, 1)
			go func() { closed <- s.Close() }()
			select {
			case <-closed:
			case <-testDeadline(t):
				t.Fatal("Close hangs while a Write is blocked on the transport")
			}
			err := <-werr
			if !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.ErrClosedPipe) {
				t.Fatalf("blocked Write returned %v; want the error of a closed transport, not a deadline", err)
			}
			if _, err := s.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
			}
		})
	}
}

// testDeadline is closed shortly before the test binary's own timeout, so
// a hang fails with a message instead of a goroutine dump. Without a
// timeout it never closes.
func testDeadline(t *testing.T) <-chan time.Time {
	d, ok := t.Deadline()
	if !ok {
		return nil
	}
	return time.After(time.Until(d) - 5*time.Second)
}
