package main

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/bio"
)

func TestTLSPump(t *testing.T) {
	python := "python3"
	if _, err := exec.LookPath(python); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is required under CI=true")
		}
		t.Log("python3 not found: part two is skipped")
		python = ""
	}
	var out bytes.Buffer
	if code := run(&out, []string{"-python", python}); code != 0 {
		t.Fatalf("tlspump exited with %d:\n%s", code, out.String())
	}
	got := out.String()
	t.Log(got)
	want := []string{
		"handshake: TLS 1.3",
		`server read "hello over a channel"`,
		"server read io.EOF",
		"with the server key's pin: verified, TLS 1.3",
		"with a pin of another key: refused, ",
	}
	if python != "" {
		want = append(want, "handshake with Python: TLS 1.3", `Python echoed "HELLO, PYTHON"`, "Python exited cleanly")
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q", w)
		}
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if code := run(&out, []string{"-h"}); code != 0 {
		t.Fatalf("tlspump -h exited with %d, want 0", code)
	}
	for _, w := range []string{"usage: tlspump", "carries TLS over transports that are not sockets", "-python"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("-h output lacks %q:\n%s", w, out.String())
		}
	}
}

// peerFrames joins a crypto/tls peer to an endpoint: the peer's writes
// are buffered, and Recv hands them out in frames of exactly size bytes,
// fewer only when the peer has closed or waits for our bytes.
type peerFrames struct {
	mu          sync.Mutex
	cond        *sync.Cond
	size        int
	toPeer      []byte
	toUs        []byte
	peerWaiting bool
	peerClosed  bool
}

func newPeerFrames(size int) *peerFrames {
	f := &peerFrames{size: size}
	f.cond = sync.NewCond(&f.mu)
	return f
}

func (f *peerFrames) Send(p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.toPeer = append(f.toPeer, p...)
	f.cond.Broadcast()
	return nil
}

func (f *peerFrames) Recv() ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.toUs) < f.size && !f.peerClosed && !(f.peerWaiting && len(f.toPeer) == 0) {
		f.cond.Wait()
	}
	if len(f.toUs) == 0 && f.peerClosed {
		return nil, io.EOF
	}
	n := min(f.size, len(f.toUs))
	p := append([]byte(nil), f.toUs[:n]...)
	f.toUs = f.toUs[n:]
	return p, nil
}

// peerConn is the peer's side, as a net.Conn.
type peerConn struct{ f *peerFrames }

func (c peerConn) Read(p []byte) (int, error) {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.toPeer) == 0 {
		f.peerWaiting = true
		f.cond.Broadcast()
		f.cond.Wait()
	}
	f.peerWaiting = false
	n := copy(p, f.toPeer)
	f.toPeer = f.toPeer[n:]
	return n, nil
}

func (c peerConn) Write(p []byte) (int, error) {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.toUs = append(f.toUs, p...)
	f.cond.Broadcast()
	return len(p), nil
}

func (c peerConn) Close() error {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peerClosed = true
	f.cond.Broadcast()
	return nil
}

func (peerConn) LocalAddr() net.Addr              { return bio.Addr("peer") }
func (peerConn) RemoteAddr() net.Addr             { return bio.Addr("tlspump") }
func (peerConn) SetDeadline(time.Time) error      { return nil }
func (peerConn) SetReadDeadline(time.Time) error  { return nil }
func (peerConn) SetWriteDeadline(time.Time) error { return nil }

// TestLoopFrameSizes runs this program's loop against crypto/tls with
// frames of 1 byte to 1 MiB, larger than the Conn's buffers: every byte
// arrives. Then a failed handshake: the peer receives the alert.
func TestLoopFrameSizes(t *testing.T) {
	p, err := newPKI()
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 16 << 10, 256 << 10, 1 << 20} {
		payload := 3 << 20
		if size == 1 {
			payload = 64 << 10
		}
		want := make([]byte, payload)
		rand.Read(want)
		f := newPeerFrames(size)
		go func() {
			peer := tls.Server(peerConn{f}, p.serverConfig())
			peer.Write(want)
			peer.Close()
		}()
		e := newEndpoint(bio.Client(p.clientConfig()), f)
		got, err := e.readAll(len(want))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("frames of %d bytes: read %d bytes, %v; want the %d sent", size, len(got), err, len(want))
		}
		if err := e.readToEOF(); err != nil {
			t.Fatalf("frames of %d bytes: after the data: %v, want the close_notify", size, err)
		}
	}

	stranger, err := newPKI()
	if err != nil {
		t.Fatal(err)
	}
	f := newPeerFrames(1)
	peerErr := make(chan error, 1)
	go func() { peerErr <- tls.Server(peerConn{f}, p.serverConfig()).Handshake() }()
	e := newEndpoint(bio.Client(stranger.clientConfig()), f)
	if err := e.handshake(); !errors.As(err, new(*bio.HandshakeError)) {
		t.Fatalf("handshake with an unknown certificate = %v, want a *bio.HandshakeError", err)
	}
	if perr := <-peerErr; perr == nil || !strings.Contains(perr.Error(), "remote error: tls: bad certificate") {
		t.Fatalf("crypto/tls peer: %v, want the bad_certificate alert", perr)
	}
}
