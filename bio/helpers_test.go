package bio

import (
	"bytes"
	"crypto/tls"
	"testing"

	"github.com/sturdy-go/sturdy/internal/testpki"
)

// pki is one test CA with a server and a client certificate.
type pki struct {
	ca     *testpki.CA
	server *testpki.Cert
	client *testpki.Cert
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	ca := testpki.NewRoot(t)
	return &pki{ca: ca, server: ca.Leaf(t), client: ca.Leaf(t, testpki.DNS("client.test"))}
}

func (p *pki) serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.server.TLS()}}
}

func (p *pki) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: p.ca.Pool(), ServerName: "localhost"}
}

// move transfers everything src has for the peer into dst, in chunks of at
// most chunk bytes (chunk(i) picks the size of the i-th piece). It reports
// whether any byte moved.
func move(t testing.TB, src, dst *Conn, chunk func() int) bool {
	t.Helper()
	buf := make([]byte, 64<<10)
	moved := false
	for {
		n, err := src.ReadOutgoing(buf)
		if err != nil {
			t.Fatalf("ReadOutgoing: %v", err)
		}
		if n == 0 {
			return moved
		}
		moved = true
		for p := buf[:n]; len(p) > 0; {
			k := min(len(p), chunk())
			m, err := dst.WriteIncoming(p[:k])
			if err != nil {
				// A fatal error on dst: the rest is moot.
				return moved
			}
			if m != k {
				t.Fatalf("WriteIncoming took %d of %d bytes without an error", m, k)
			}
			p = p[k:]
		}
	}
}

func whole() int { return 1 << 30 }

// pump moves bytes both ways until neither side has anything to send.
func pump(t testing.TB, a, b *Conn, chunk func() int) {
	t.Helper()
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatal("pump: no quiescence after 1000 rounds")
		}
		ab := move(t, a, b, chunk)
		ba := move(t, b, a, chunk)
		if !ab && !ba {
			return
		}
	}
}

// handshake completes the handshake of a client and a server Conn.
func handshake(t testing.TB, client, server *Conn, chunk func() int) {
	t.Helper()
	if err := client.Handshake(); err != ErrWantRead {
		t.Fatalf("client Handshake before any input = %v, want ErrWantRead", err)
	}
	pump(t, client, server, chunk)
	if err := client.Handshake(); err != nil {
		t.Fatalf("client Handshake: %v", err)
	}
	if err := server.Handshake(); err != nil {
		t.Fatalf("server Handshake: %v", err)
	}
}

// readAll reads plaintext from c until it has n bytes or c wants input.
func readAvailable(t testing.TB, c *Conn) ([]byte, error) {
	t.Helper()
	var got bytes.Buffer
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			return got.Bytes(), err
		}
	}
}

// send writes msg on from, moves it to to and reads it there.
func send(t testing.TB, from, to *Conn, msg []byte) {
	t.Helper()
	if n, err := from.Write(msg); err != nil || n != len(msg) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(msg))
	}
	pump(t, from, to, whole)
	got, err := readAvailable(t, to)
	if err != ErrWantRead {
		t.Fatalf("Read after the data: %v, want ErrWantRead", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("read %d bytes %.40q, want %d bytes %.40q", len(got), got, len(msg), msg)
	}
}

// finished reports whether the Conn is done: no handshake goroutine, and
// the handshake failed or the read side has ended.
func finished(c *Conn) bool {
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	return !c.e.running() && (c.e.hsErr != nil || c.e.readErr != nil)
}
