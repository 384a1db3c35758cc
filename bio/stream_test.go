package bio

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// TestStreamOverPlainReadWriter runs a Stream over an io.ReadWriter that
// is no socket: no addresses, no deadlines, no Close.
func TestStreamOverPlainReadWriter(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	c := ClientWith(p.clientConfig(), Options{LocalAddr: Addr("me"), RemoteAddr: Addr("you")})
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
