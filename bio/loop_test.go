package bio_test

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/bio"
	"github.com/sturdy-go/sturdy/internal/testpki"
)

// published returns the text of example_test.go between the begin and
// end markers, unindented by depth tabs.
func published(t *testing.T, begin, end string, depth int) []string {
	t.Helper()
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	ind := strings.Repeat("\t", depth)
	b, e := ind+"// "+begin+"\n", ind+"// "+end+"\n"
	i := strings.Index(s, b)
	j := strings.Index(s, e)
	if i < 0 || j < i {
		t.Fatalf("example_test.go has no %q ... %q markers", begin, end)
	}
	var lines []string
	for _, l := range strings.Split(s[i+len(b):j], "\n") {
		lines = append(lines, strings.TrimPrefix(l, ind))
	}
	return lines[:len(lines)-1]
}

// godocBlock is lines as a code block of a doc comment.
func godocBlock(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		if l == "" {
			b.WriteString("//\n")
		} else {
			b.WriteString("//\t" + l + "\n")
		}
	}
	return b.String()
}

// TestPublishedLoopIsVerbatim checks that the pump loop and its steps, as
// the package documentation shows them, are word for word the ones the
// tests run, and that the README, if it shows the loop, shows this one.
func TestPublishedLoopIsVerbatim(t *testing.T) {
	t.Parallel()
	loop := published(t, "pump loop", "end of pump loop", 1)
	steps := published(t, "steps", "end of steps", 1)
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), godocBlock(loop)) {
		t.Error("doc.go's pump loop is not the loop in example_test.go")
	}
	if !strings.Contains(string(doc), godocBlock(steps)) {
		t.Error("doc.go's steps are not the steps in example_test.go")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(readme), "conn.OutgoingLen() > 0") &&
		!strings.Contains(string(readme), "```go\n"+strings.Join(loop, "\n")+"\n") {
		t.Error("the README shows a pump loop that is not the loop in example_test.go")
	}
}

// duplex joins a peer, as a net.Conn, to the loop's transport in memory.
// It buffers without limit, and Recv hands out exactly size bytes at a
// time, fewer only when waiting for more could never end: the peer has
// closed, or it waits to read what we have not sent.
type duplex struct {
	mu          sync.Mutex
	cond        *sync.Cond
	size        int
	toPeer      []byte
	toUs        []byte
	peerWaiting bool // the peer is blocked in Read with nothing to read
	peerClosed  bool
	usClosed    bool
}

func newDuplex(size int) (*duplex, net.Conn) {
	d := &duplex{size: size}
	d.cond = sync.NewCond(&d.mu)
	return d, peerEnd{d}
}

// Send and Recv are the loop's transport; Read and Write make it an
// io.ReadWriter for a Stream.
func (d *duplex) Send(p []byte) error { d.Write(p); return nil }

func (d *duplex) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.toPeer = append(d.toPeer, p...)
	d.cond.Broadcast()
	return len(p), nil
}

func (d *duplex) Recv(p []byte) (int, error) { return d.Read(p) }

func (d *duplex) Read(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	want := min(len(p), d.size)
	for len(d.toUs) < want && !d.peerClosed && !(d.peerWaiting && len(d.toPeer) == 0) {
		d.cond.Wait()
	}
	n := copy(p[:want], d.toUs)
	d.toUs = d.toUs[n:]
	if n == 0 && d.peerClosed {
		return 0, io.EOF
	}
	return n, nil
}

func (d *duplex) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.usClosed = true
	d.cond.Broadcast()
	return nil
}

// peerEnd is the peer's side of a duplex.
type peerEnd struct{ d *duplex }

func (e peerEnd) Read(p []byte) (int, error) {
	d := e.d
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.toPeer) == 0 && !d.usClosed {
		d.peerWaiting = true
		d.cond.Broadcast()
		d.cond.Wait()
	}
	d.peerWaiting = false
	if len(d.toPeer) == 0 {
		return 0, io.EOF
	}
	n := copy(p, d.toPeer)
	d.toPeer = d.toPeer[n:]
	return n, nil
}

func (e peerEnd) Write(p []byte) (int, error) {
	d := e.d
	d.mu.Lock()
	defer d.mu.Unlock()
	d.toUs = append(d.toUs, p...)
	d.cond.Broadcast()
	return len(p), nil
}

func (e peerEnd) Close() error {
	d := e.d
	d.mu.Lock()
	defer d.mu.Unlock()
	d.peerClosed = true
	d.cond.Broadcast()
	return nil
}

func (peerEnd) LocalAddr() net.Addr              { return bio.Addr("peer") }
func (peerEnd) RemoteAddr() net.Addr             { return bio.Addr("us") }
func (peerEnd) SetDeadline(time.Time) error      { return nil }
func (peerEnd) SetReadDeadline(time.Time) error  { return nil }
func (peerEnd) SetWriteDeadline(time.Time) error { return nil }

var receiveSizes = []struct {
	name    string
	size    int
	payload int
}{
	{"1B", 1, 64 << 10},
	{"16KiB", 16 << 10, 3 << 20},
	{"256KiB", 256 << 10, 3 << 20},
	{"1MiB", 1 << 20, 3 << 20},
}

// TestPublishedLoop runs the published loop and its three steps against
// crypto/tls with receives of 1 byte to 1 MiB: the handshake completes, a
// request larger than the outgoing buffer (so Write stops at
// *bio.BufferError and goes on with the rest) reaches the peer whole, and
// every byte of the answer arrives, in order. Receives larger than the
// Conn's buffers are where a loop that drops WriteIncoming's count loses
// data.
func TestPublishedLoop(t *testing.T) {
	t.Parallel()
	cert, roots, err := testpki.SelfSignedTLS("loop.test")
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range receiveSizes {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(rs.name+"/"+tls.VersionName(v), func(t *testing.T) {
				t.Parallel()
				want := make([]byte, rs.payload)
				rand.Read(want)
				req := make([]byte, 3*bio.DefaultMaxOutgoing+123)
				rand.Read(req)
				near, far := newDuplex(rs.size)
				peerGot := make(chan []byte, 1)
				go func() {
					peer := tls.Server(far, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: v})
					got := make([]byte, len(req))
					n, _ := io.ReadFull(peer, got)
					peerGot <- got[:n]
					peer.Write(want)
					peer.Close()
				}()
				conn := bio.Client(&tls.Config{RootCAs: roots, ServerName: "loop.test"})
				var got []byte
				err := exchange(conn, near, req, make([]byte, 16<<10), make([]byte, 16<<10), make([]byte, rs.size),
					func(p []byte) { got = append(got, p...) })
				if err != nil {
					t.Fatalf("loop returned %v after %d bytes", err, len(got))
				}
				if pg := <-peerGot; !bytes.Equal(pg, req) {
					t.Fatalf("peer read %d bytes, want the %d sent, identical", len(pg), len(req))
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("read %d bytes, want the %d sent, identical", len(got), len(want))
				}
			})
		}
	}
	t.Run("failed-handshake", func(t *testing.T) {
		t.Parallel()
		_, strangers, err := testpki.SelfSignedTLS("loop.test")
		if err != nil {
			t.Fatal(err)
		}
		near, far := newDuplex(1)
		peerErr := make(chan error, 1)
		go func() {
			peer := tls.Server(far, &tls.Config{Certificates: []tls.Certificate{cert}})
			peerErr <- peer.Handshake()
			far.Close()
		}()
		conn := bio.Client(&tls.Config{RootCAs: strangers, ServerName: "loop.test"})
		err = exchange(conn, near, []byte("never sent"), make([]byte, 100), make([]byte, 100), make([]byte, 1), func([]byte) {})
		if !errors.As(err, new(*bio.HandshakeError)) {
			t.Fatalf("loop returned %v, want a *bio.HandshakeError", err)
		}
		if perr := <-peerErr; perr == nil || !strings.Contains(perr.Error(), "remote error: tls: bad certificate") {
			t.Fatalf("crypto/tls peer: %v, want the loop's bad_certificate alert", perr)
		}
	})
	t.Run("send-error", func(t *testing.T) {
		t.Parallel()
		// A transport that fails to send ends the loop with its error.
		broken := errors.New("link down")
		conn := bio.Client(&tls.Config{RootCAs: roots, ServerName: "loop.test"})
		err := exchange(conn, failingTransport{broken}, nil, make([]byte, 100), make([]byte, 100), make([]byte, 100), func([]byte) {})
		if err != broken {
			t.Fatalf("loop returned %v, want the transport's %v", err, broken)
		}
	})
}

// failingTransport fails every Send and Recv with err.
type failingTransport struct{ err error }

func (f failingTransport) Send([]byte) error        { return f.err }
func (f failingTransport) Recv([]byte) (int, error) { return 0, f.err }

// TestStreamReceives runs a Stream, the loop in callback form, against
// crypto/tls with receives of 1 byte to 1 MiB (a Stream receives at most
// its own buffer at once), and after a failed handshake.
func TestStreamReceives(t *testing.T) {
	t.Parallel()
	cert, roots, err := testpki.SelfSignedTLS("loop.test")
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range receiveSizes {
		t.Run(rs.name, func(t *testing.T) {
			t.Parallel()
			want := make([]byte, rs.payload)
			rand.Read(want)
			near, far := newDuplex(rs.size)
			go func() {
				peer := tls.Server(far, &tls.Config{Certificates: []tls.Certificate{cert}})
				peer.Write(want)
				peer.Close()
			}()
			s := bio.NewStream(bio.Client(&tls.Config{RootCAs: roots, ServerName: "loop.test"}), near)
			defer s.Close()
			got, err := io.ReadAll(s)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("read %d bytes, %v; want the %d sent, identical", len(got), err, len(want))
			}
		})
	}
	t.Run("failed-handshake", func(t *testing.T) {
		t.Parallel()
		_, strangers, err := testpki.SelfSignedTLS("loop.test")
		if err != nil {
			t.Fatal(err)
		}
		near, far := newDuplex(1)
		peerErr := make(chan error, 1)
		go func() {
			peer := tls.Server(far, &tls.Config{Certificates: []tls.Certificate{cert}})
			peerErr <- peer.Handshake()
			far.Close()
		}()
		s := bio.NewStream(bio.Client(&tls.Config{RootCAs: strangers, ServerName: "loop.test"}), near)
		defer s.Close()
		if _, err := s.Read(make([]byte, 10)); !errors.As(err, new(*bio.HandshakeError)) {
			t.Fatalf("Read = %v, want a *bio.HandshakeError", err)
		}
		if perr := <-peerErr; perr == nil || !strings.Contains(perr.Error(), "remote error: tls: bad certificate") {
			t.Fatalf("crypto/tls peer: %v, want the Stream's bad_certificate alert", perr)
		}
	})
}
