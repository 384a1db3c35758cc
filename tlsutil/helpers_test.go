package tlsutil

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/leaktest"
	"github.com/sturdy-go/sturdy/internal/testpki"
)

// hangGuard bounds every wait of these tests on a peer, a handshake or a
// background goroutine. It only keeps a broken test from hanging: the
// machine may be busy, so it is never a performance threshold, and no
// test passes or fails by how fast something happened.
const hangGuard = 2 * time.Minute

func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}

// server is a loopback TLS server for tests: it completes handshakes,
// writes one byte (so TLS 1.3 clients receive their session tickets), then
// drains the connection until the client closes it.
type server struct {
	Addr string
	ln   net.Listener
	wg   sync.WaitGroup

	mu    sync.Mutex
	snis  []string
	errs  []error
	count int
}

// serve starts a server for cfg; it is stopped at cleanup.
func serve(t testing.TB, cfg *tls.Config) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{Addr: ln.Addr().String(), ln: ln}
	cfg = cfg.Clone()
	base := cfg.GetConfigForClient
	cfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		s.mu.Lock()
		s.snis = append(s.snis, h.ServerName)
		s.mu.Unlock()
		if base != nil {
			return base(h)
		}
		return nil, nil
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handle(c, cfg)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *server) handle(c net.Conn, cfg *tls.Config) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(hangGuard))
	tc := tls.Server(c, cfg)
	err := tc.Handshake()
	s.mu.Lock()
	s.count++
	if err != nil {
		s.errs = append(s.errs, err)
	}
	s.mu.Unlock()
	if err != nil {
		return
	}
	if _, err := tc.Write([]byte{'!'}); err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, tc)
}

func (s *server) lastSNI() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.snis) == 0 {
		return "<no hello>"
	}
	return s.snis[len(s.snis)-1]
}

// serveCert serves the chain of c (or chain, when not nil) with staple.
func serveCert(t testing.TB, c *testpki.Cert, staple []byte, mut func(*tls.Config)) *server {
	t.Helper()
	tc := c.TLS()
	tc.OCSPStaple = staple
	cfg := ServerConfig(tc)
	if mut != nil {
		mut(cfg)
	}
	return serve(t, cfg)
}

// readOne reads the byte the test server sends after the handshake, which
// also makes a TLS 1.3 client process its session tickets.
func readOne(t testing.TB, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(hangGuard))
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatalf("read after handshake: %v", err)
	}
}

// wantReason checks err against want (0: success) and that the message
// holds every substring of msgs.
func wantReason(t testing.TB, err error, want Reason, msgs ...string) {
	t.Helper()
	if want == 0 {
		if err != nil {
			t.Fatalf("want success, got %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("want %v, got success", want)
	}
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("want *VerifyError %v, got %T: %v", want, err, err)
	}
	if ve.Reason != want {
		t.Fatalf("want reason %v, got %v: %v", want, ve.Reason, err)
	}
	if !errors.Is(err, want) {
		t.Fatalf("errors.Is(err, %v) is false", want)
	}
	for _, m := range msgs {
		if !strings.Contains(err.Error(), m) {
			t.Fatalf("message lacks %q:\n%v", m, err)
		}
	}
}
