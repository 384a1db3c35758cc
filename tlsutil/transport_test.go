package tlsutil

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sturdy-go/sturdy/internal/testpki"
)

// httpsServer serves "hello" over HTTPS (HTTP/2 enabled) with leaf.
func httpsServer(t *testing.T, leaf *testpki.Cert) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello "+r.Proto) }),
		TLSConfig:         ServerConfig(leaf.TLS()),
		ReadHeaderTimeout: hangGuard,
		ErrorLog:          log.New(io.Discard, "", 0), // refused handshakes are expected
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String()
}

// connectProxy is a minimal HTTP CONNECT proxy that counts tunnels.
type connectProxy struct {
	tunnels atomic.Int32
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	up, err := net.DialTimeout("tcp", r.Host, hangGuard)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	down, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		return
	}
	p.tunnels.Add(1)
	p.mu.Lock()
	p.conns = append(p.conns, up, down)
	p.mu.Unlock()
	_, _ = io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n")
	p.wg.Add(2)
	go func() { defer p.wg.Done(); _, _ = io.Copy(up, down); up.Close() }()
	go func() { defer p.wg.Done(); _, _ = io.Copy(down, up); down.Close() }()
}

func (p *connectProxy) close() {
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func startProxy(t *testing.T) (*connectProxy, *url.URL) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connectProxy{}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: hangGuard}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done; p.close() })
	return p, &url.URL{Scheme: "http", Host: ln.Addr().String()}
}

func get(t *testing.T, tr *http.Transport, u string) (string, error) {
	t.Helper()
	c := &http.Client{Transport: tr, Timeout: hangGuard}
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestTransport: HTTP/2 works, and the checks hold for direct requests and
// for requests tunneled through a CONNECT proxy.
func TestTransport(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	addr := httpsServer(t, p.inter.Leaf(t))
	_, port, _ := net.SplitHostPort(addr)
	u := "https://" + net.JoinHostPort("localhost", port) + "/"

	good := NewTransport(&Verifier{Roots: p.root.Pool()})
	defer good.CloseIdleConnections()
	body, err := get(t, good, u)
	if err != nil {
		t.Fatal(err)
	}
	if body != "hello HTTP/2.0" {
		t.Fatalf("body %q: HTTP/2 not negotiated", body)
	}

	bad := NewTransport(&Verifier{Roots: p.other.Pool()})
	defer bad.CloseIdleConnections()
	_, err = get(t, bad, u)
	wantReason(t, err, UnknownAuthority)

	proxy, proxyURL := startProxy(t)
	for _, tc := range []struct {
		name string
		v    *Verifier
		want Reason
	}{
		{"good", &Verifier{Roots: p.root.Pool()}, 0},
		{"unknown-root", &Verifier{Roots: p.other.Pool()}, UnknownAuthority},
		{"wrong-pin", &Verifier{Roots: p.root.Pool(), Pins: []Pin{PinOf(p.other.Cert)}}, PinMismatch},
	} {
		tr := NewTransport(tc.v)
		tr.Proxy = http.ProxyURL(proxyURL)
		before := proxy.tunnels.Load()
		body, err := get(t, tr, u)
		tr.CloseIdleConnections()
		if proxy.tunnels.Load() == before {
			t.Fatalf("%s: the request did not go through the proxy", tc.name)
		}
		wantReason(t, err, tc.want)
		if err == nil && !strings.HasPrefix(body, "hello") {
			t.Fatalf("%s: body %q", tc.name, body)
		}
	}

	tr := NewTransport(nil)
	if !tr.ForceAttemptHTTP2 || tr.TLSHandshakeTimeout <= 0 || tr.ResponseHeaderTimeout <= 0 || tr.IdleConnTimeout <= 0 {
		t.Fatal("transport timeouts or HTTP/2 not set")
	}
}
