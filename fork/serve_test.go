//go:build linux

package fork

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/testpki"
	"go.uber.org/goleak"
)

// serveFixture is an Upgrader of this process serving srv through Serve.
type serveFixture struct {
	t      *testing.T
	u      *Upgrader
	ln     net.Listener
	addr   string
	served chan error
}

func newServeFixture(t *testing.T, opts UpgradeOptions, srv *http.Server, wrap func(net.Listener) net.Listener) *serveFixture {
	t.Helper()
	u, err := NewUpgrader(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := u.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		u.Stop()
		t.Fatal(err)
	}
	f := &serveFixture{t: t, u: u, ln: ln, addr: ln.Addr().String(), served: make(chan error, 1)}
	if wrap != nil {
		ln = wrap(ln)
	}
	go func() { f.served <- u.Serve(srv, ln) }()
	if err := u.Ready(); err != nil {
		t.Fatal(err)
	}
	return f
}

// drain stops the Upgrader and waits until Serve has closed the listener:
// the drain has begun.
func (f *serveFixture) drain() {
	f.t.Helper()
	f.u.Stop()
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(time.Millisecond) {
		c, err := net.Dial("tcp", f.addr)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			f.t.Fatal("Serve still accepts after Stop")
		}
	}
}

// rawConn is an HTTP/1.1 client connection driven by hand.
type rawConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, r: bufio.NewReader(c)}
}

// get sends GET path and returns the response, its body read.
func (rc *rawConn) get(path string) (*http.Response, string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		rc.t.Fatalf("GET %s: %v", path, err)
	}
	return rc.read(path)
}

func (rc *rawConn) read(path string) (*http.Response, string) {
	rc.t.Helper()
	resp, err := http.ReadResponse(rc.r, nil)
	if err != nil {
		rc.t.Fatalf("GET %s: no answer: %v", path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		rc.t.Fatalf("GET %s: %v", path, err)
	}
	return resp, string(b)
}

// closed reports whether the server closed the connection (EOF, no bytes).
func (rc *rawConn) closed() bool {
	_, err := rc.r.ReadByte()
	return err == io.EOF
}

// TestServeDrainHTTP1: a connection accepted before the drain whose first
// request arrives after it began, a kept-alive connection whose next
// request arrives after it, and a request in its handler when it began are
// all answered, each with "Connection: close", and then closed by the
// server; Serve returns nil once they are gone. Linger is long, so no
// connection is closed for being idle.
func TestServeDrainHTTP1(t *testing.T) {
	before := snapshotFDs(t)
	states := make(chan http.ConnState, 64)
	entered, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })
	mux.HandleFunc("/wait", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})
	srv := &http.Server{Handler: mux, ConnState: func(_ net.Conn, s http.ConnState) { states <- s }}
	f := newServeFixture(t, UpgradeOptions{Linger: time.Hour}, srv, nil)
	waitState := func(want http.ConnState) {
		t.Helper()
		if s := <-states; s != want {
			t.Fatalf("ConnState %v, want %v", s, want)
		}
	}

	fresh := dialRaw(t, f.addr) // accepted, silent
	waitState(http.StateNew)
	kept := dialRaw(t, f.addr) // one request answered, idle
	waitState(http.StateNew)
	if resp, body := kept.get("/"); body != "hello" || resp.Close {
		t.Fatalf("before the drain: %q, close %v", body, resp.Close)
	}
	waitState(http.StateActive)
	waitState(http.StateIdle)
	busy := dialRaw(t, f.addr) // in its handler
	waitState(http.StateNew)
	if _, err := io.WriteString(busy.c, "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-entered

	f.drain()
	for name, rc := range map[string]*rawConn{"fresh": fresh, "kept-alive": kept} {
		resp, body := rc.get("/")
		if body != "hello" || !resp.Close {
			t.Errorf("%s connection during the drain: %q, Connection: close %v", name, body, resp.Close)
		}
		if !rc.closed() {
			t.Errorf("%s connection still open after its last response", name)
		}
	}
	close(release)
	if resp, _ := busy.read("/wait"); resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("request in flight when the drain began: %s, Connection: close %v", resp.Status, resp.Close)
	}
	if !busy.closed() {
		t.Error("busy connection still open after its response")
	}
	if err := <-f.served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	f.ln.Close()
	for _, rc := range []*rawConn{fresh, kept, busy} {
		rc.c.Close()
	}
	checkFDs(t, before)
	goleak.VerifyNone(t)
}

// TestServeLinger: a kept-alive connection that stays idle through the
// drain is closed by the server after Linger, at a moment when no request
// is on it, and Serve returns nil.
func TestServeLinger(t *testing.T) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })}
	f := newServeFixture(t, UpgradeOptions{Linger: 20 * time.Millisecond}, srv, nil)
	idle := dialRaw(t, f.addr)
	if _, body := idle.get("/"); body != "hello" {
		t.Fatalf("got %q", body)
	}
	f.drain()
	if err := <-f.served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if !idle.closed() {
		t.Error("the idle connection was not closed")
	}
	f.ln.Close()
}

// TestServeDrainTimeout: a request that never ends is cut at
// DrainTimeout, and Serve says how many connections it cut.
func TestServeDrainTimeout(t *testing.T) {
	entered := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	})}
	f := newServeFixture(t, UpgradeOptions{DrainTimeout: 50 * time.Millisecond}, srv, nil)
	stuck := dialRaw(t, f.addr)
	if _, err := io.WriteString(stuck.c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-entered
	f.drain()
	err := <-f.served
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "1 connection still open") {
		t.Errorf("Serve: %v, want 1 connection cut, wrapping os.ErrDeadlineExceeded", err)
	}
	f.ln.Close()
}

// TestServeClosed: a server closed by its caller before Exit ends Serve
// with http.ErrServerClosed.
func TestServeClosed(t *testing.T) {
	srv := &http.Server{}
	f := newServeFixture(t, UpgradeOptions{}, srv, nil)
	defer f.u.Stop()
	defer f.ln.Close()
	srv.Close()
	if err := <-f.served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v, want http.ErrServerClosed", err)
	}
}

// TestServeHTTP2: over TLS with HTTP/2, a stream in flight when the drain
// begins finishes, the connection gets GOAWAY, and Serve returns nil.
func TestServeHTTP2(t *testing.T) {
	cert, pool, err := testpki.SelfSignedTLS("localhost")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.Proto) })
	mux.HandleFunc("/wait", func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(entered) })
		<-release
		_, _ = io.WriteString(w, "done")
	})
	srv := &http.Server{Handler: mux}
	config := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	f := newServeFixture(t, UpgradeOptions{Linger: time.Hour}, srv, func(ln net.Listener) net.Listener { return tls.NewListener(ln, config) })
	defer f.ln.Close()
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}, ForceAttemptHTTP2: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	url := "https://" + f.addr
	resp, err := client.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("the client speaks %s, want HTTP/2", resp.Proto)
	}
	type result struct {
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		resp, err := client.Get(url + "/wait")
		if err != nil {
			slow <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- result{string(b), err}
	}()
	<-entered
	f.drain()
	close(release)
	if r := <-slow; r.err != nil || r.body != "done" {
		t.Errorf("stream in flight when the drain began: %q, %v", r.body, r.err)
	}
	if err := <-f.served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// hijackServer hijacks every request and keeps the connection until its
// RegisterOnShutdown hook says goodbye, then (when polite) writes "bye"
// and closes it once release is closed, or never.
type hijackServer struct {
	srv     *http.Server
	held    chan net.Conn // the server's side of each hijacked connection
	goodbye chan struct{} // closed by the shutdown hook
	release chan struct{}
}

func newHijackServer(polite bool) *hijackServer {
	h := &hijackServer{held: make(chan net.Conn, 16), goodbye: make(chan struct{}), release: make(chan struct{})}
	h.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		_, _ = brw.WriteString("hijacked\n")
		_ = brw.Flush()
		h.held <- c
		go func() {
			<-h.goodbye
			if polite {
				_, _ = io.WriteString(c, "bye\n")
				<-h.release
				c.Close()
			}
		}()
	})}
	var once sync.Once
	h.srv.RegisterOnShutdown(func() { once.Do(func() { close(h.goodbye) }) })
	return h
}

// TestServeHijacked: the drain runs the server's RegisterOnShutdown hooks
// when it begins, and waits for the hijacked connection (a WebSocket, say)
// that the hook closes: Serve returns nil, and only once that connection
// is closed. Before, Serve returned with it open, and the program exited
// under it.
func TestServeHijacked(t *testing.T) {
	h := newHijackServer(true)
	f := newServeFixture(t, UpgradeOptions{Linger: time.Hour}, h.srv, nil)
	defer f.ln.Close()
	rc := dialRaw(t, f.addr)
	if _, err := io.WriteString(rc.c, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	sc := <-h.held
	if line, err := rc.r.ReadString('\n'); err != nil || line != "hijacked\n" {
		t.Fatalf("%q, %v", line, err)
	}
	type result struct {
		err    error
		closed bool // the hijacked connection, when Serve returned
	}
	done := make(chan result, 1)
	go func() {
		err := <-f.served
		done <- result{err, isClosed(sc)}
	}()
	f.drain()
	if line, err := rc.r.ReadString('\n'); err != nil || line != "bye\n" {
		t.Fatalf("the hook's goodbye: %q, %v", line, err)
	}
	// Give a Serve that does not wait for hijacked connections the time
	// to return (this only lets the old behaviour show; it cannot fail
	// the new one).
	time.Sleep(50 * time.Millisecond)
	close(h.release)
	if got, err := io.ReadAll(rc.r); err != nil || len(got) != 0 {
		t.Errorf("after the goodbye: %q, %v; want the end of the stream", got, err)
	}
	r := <-done
	if r.err != nil {
		t.Errorf("Serve: %v", r.err)
	}
	if !r.closed {
		t.Error("Serve returned while the hijacked connection was still open")
	}
}

// TestServeHijackedCut: a hijacked connection nobody closes is cut at
// DrainTimeout and counted in Serve's error.
func TestServeHijackedCut(t *testing.T) {
	h := newHijackServer(false)
	f := newServeFixture(t, UpgradeOptions{DrainTimeout: 100 * time.Millisecond}, h.srv, nil)
	defer f.ln.Close()
	rc := dialRaw(t, f.addr)
	if _, err := io.WriteString(rc.c, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	sc := <-h.held
	defer sc.Close()
	f.drain()
	err := <-f.served
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "1 connection (1 hijacked) still open") {
		t.Errorf("Serve: %v, want 1 hijacked connection cut, wrapping os.ErrDeadlineExceeded", err)
	}
	_ = rc.c.SetReadDeadline(time.Now().Add(hangGuard))
	if got, _ := io.ReadAll(rc.r); string(got) != "hijacked\n" {
		t.Errorf("the client read %q", got)
	}
}

// h2Frame is one HTTP/2 frame's header as read off the wire.
type h2Frame struct {
	typ, flags byte
	stream     uint32
	payload    []byte
}

func readH2Frame(r io.Reader) (h2Frame, error) {
	var hdr [9]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return h2Frame{}, err
	}
	n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
	f := h2Frame{typ: hdr[3], flags: hdr[4], stream: uint32(hdr[5]&0x7f)<<24 | uint32(hdr[6])<<16 | uint32(hdr[7])<<8 | uint32(hdr[8])}
	f.payload = make([]byte, n)
	_, err := io.ReadFull(r, f.payload)
	return f, err
}

// TestServeH2CIdleGoAway: an h2c connection (HTTP/2 without TLS) that is
// idle when the drain begins gets GOAWAY before the server closes it, so
// its client does not start a request on a connection about to close.
func TestServeH2CIdleGoAway(t *testing.T) {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Protocols: &protocols, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	f := newServeFixture(t, UpgradeOptions{Linger: 20 * time.Millisecond}, srv, nil)
	defer f.ln.Close()
	rc := dialRaw(t, f.addr)
	// The client preface and an empty SETTINGS frame.
	if _, err := io.WriteString(rc.c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"); err != nil {
		t.Fatal(err)
	}
	if fr, err := readH2Frame(rc.r); err != nil || fr.typ != 4 {
		t.Fatalf("the server's first frame: type %d, %v; want SETTINGS", fr.typ, err)
	}
	f.drain()
	var types []byte
	for {
		fr, err := readH2Frame(rc.r)
		if err != nil {
			break
		}
		types = append(types, fr.typ)
		if fr.typ == 7 { // GOAWAY
			break
		}
	}
	if len(types) == 0 || types[len(types)-1] != 7 {
		t.Errorf("the idle h2c connection got frames of types %v and no GOAWAY before it closed", types)
	}
	rc.c.Close()
	if err := <-f.served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
