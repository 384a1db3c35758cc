package bio

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestStreamOverPlainReadWriter runs a Stream over an io.ReadWriter that
// is no socket: no addresses, no deadlines, no Close.
func TestStreamOverPlainReadWriter(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	c := Options{LocalAddr: Addr("me"), RemoteAddr: Addr("you")}.Client(p.clientConfig())
	s := NewStream(c, struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(nil), io.Discard})
	if s.LocalAddr().String() != "me" || s.RemoteAddr().String() != "you" || s.RemoteAddr().Network() != "bio" {
		t.Fatalf("addresses %v %v", s.LocalAddr(), s.RemoteAddr())
	}
	if err := s.SetDeadline(time.Now()); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("SetDeadline = %v, want errors.ErrUnsupported", err)
	}
	// The transport is empty: the handshake ends as truncated.
	if err := s.Handshake(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Handshake over an empty transport = %v, want ErrTruncated", err)
	}
	if _, err := s.Write([]byte("x")); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Write = %v, want the sticky handshake error", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if s.Conn() != c || !finished(c) {
		t.Fatal("engine still runs after Close")
	}
}

// TestStreamTransportWriteError makes the transport fail on write.
func TestStreamTransportWriteError(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	broken := errors.New("cable cut")
	s := NewStream(Client(p.clientConfig()), struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(nil), failWriter{broken}})
	if err := s.Handshake(); !errors.Is(err, broken) {
		t.Fatalf("Handshake = %v, want the transport's error", err)
	}
	s.Close()
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

// TestStreamConcurrentReadWrite writes and reads at the same time through
// a synchronous transport (net.Pipe) to an echo peer: a Read must not wait
// for a Write that is blocked on the transport, or both sides stall.
func TestStreamConcurrentReadWrite(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	near, far := net.Pipe()
	go func() {
		peer := tls.Server(far, p.serverConfig())
		defer peer.Close()
		io.Copy(peer, peer)
	}()
	s := NewStream(Client(p.clientConfig()), near)
	defer s.Close()
	s.SetDeadline(time.Now().Add(peerTimeout)) // against a hang only
	const total = 256 << 10
	want := make([]byte, total)
	rand.Read(want)
	werr := make(chan error, 1)
	go func() {
		for off := 0; off < total; off += 1000 {
			if _, err := s.Write(want[off:min(off+1000, total)]); err != nil {
				werr <- err
				return
			}
		}
		werr <- s.CloseWrite()
	}()
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatalf("ReadAll after %d bytes: %v", len(got), err)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echo differs: got %d bytes, want %d", len(got), total)
	}
}
