package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"go/parser"
	"go/token"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sturdy-go/sturdy/internal/testpki"
	"github.com/sturdy-go/sturdy/tlsutil"
)

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}

// silentServer accepts connections and never answers, until the test ends.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func server(t *testing.T, cert tls.Certificate, mut ...func(*tls.Config)) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("hello from " + r.Host + "\n"))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	for _, m := range mut {
		m(srv.TLS)
	}
	// Refused handshakes are the point of several cases: keep them quiet.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return port
}

func TestFetch(t *testing.T) {
	root := testpki.NewRoot(t)
	inter := root.Intermediate(t)
	leaf := inter.Leaf(t, testpki.DNS("app.example.test"), testpki.IPs(net.IPv4(127, 0, 0, 1)))
	plain := server(t, leaf.TLS())
	stapled := leaf.TLS()
	stapled.OCSPStaple = inter.OCSP(t, leaf.Cert, testpki.OCSPGood)
	withStaple := server(t, stapled)
	revoked := leaf.TLS()
	revoked.OCSPStaple = inter.OCSP(t, leaf.Cert, testpki.OCSPRevoked)
	withRevoked := server(t, revoked)

	ca := testpki.WriteCAPEM(t, t.TempDir(), root)
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("no PEM here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	closedPort := closedPort(t)
	silent := silentServer(t)
	client := root.Leaf(t, testpki.EKU(x509.ExtKeyUsageClientAuth))
	clientCert, clientKey := client.WritePEM(t, t.TempDir())
	_, otherKey := root.Leaf(t).WritePEM(t, t.TempDir())
	mutual := server(t, leaf.TLS(), func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = root.Pool()
	})
	rootPin := tlsutil.PinOf(root.Cert).String()
	otherPin := tlsutil.PinOf(testpki.NewRoot(t).Cert).String()

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr []string
	}{
		{"verified by IP", []string{"-cacert", ca, "https://127.0.0.1:" + plain + "/"}, exitOK, "hello from 127.0.0.1", nil},
		{"connect-to verifies the URL's host", []string{"-cacert", ca, "-connect-to", "127.0.0.1:" + plain, "https://app.example.test/"}, exitOK, "hello from app.example.test", nil},
		{"wrong name", []string{"-cacert", ca, "-connect-to", "127.0.0.1:" + plain, "https://other.example.test/"}, exitVerifyPeer, "", []string{"refused", "other.example.test", "app.example.test"}},
		{"unknown authority", []string{"https://127.0.0.1:" + plain + "/"}, exitVerifyPeer, "", []string{"refused"}},
		{"pin on the root", []string{"-cacert", ca, "-pin", rootPin, "https://127.0.0.1:" + plain + "/"}, exitOK, "hello", nil},
		{"backup pin", []string{"-cacert", ca, "-pin", otherPin, "-pin", rootPin, "https://127.0.0.1:" + plain + "/"}, exitOK, "hello", nil},
		{"pin mismatch", []string{"-cacert", ca, "-pin", otherPin, "https://127.0.0.1:" + plain + "/"}, exitPinMismatch, "", []string{"refused", "pin", otherPin}},
		{"cert-status without a staple", []string{"-cacert", ca, "-cert-status", "https://127.0.0.1:" + plain + "/"}, exitCertStatus, "", []string{"refused", "OCSP"}},
		{"cert-status with a good staple", []string{"-cacert", ca, "-cert-status", "https://127.0.0.1:" + withStaple + "/"}, exitOK, "hello", nil},
		{"cert-status with a revoked staple", []string{"-cacert", ca, "-cert-status", "https://127.0.0.1:" + withRevoked + "/"}, exitCertStatus, "", []string{"refused", "revoked"}},
		{"verbose describes the connection", []string{"-cacert", ca, "-v", "https://127.0.0.1:" + withStaple + "/"}, exitOK, "hello", []string{"TLS 1.3", "app.example.test", "200 OK"}},
		{"http error", []string{"-cacert", ca, "https://127.0.0.1:" + plain + "/missing"}, exitHTTP, "404 page not found", []string{"404"}},
		{"bad pin", []string{"-pin", "sha1//abc", "https://x.test/"}, exitUsage, "", []string{"sha256//"}},
		{"not https", []string{"http://x.test/"}, exitUsage, "", []string{"not an https:// URL"}},
		{"no URL", nil, exitUsage, "", []string{"usage: fetch"}},
		{"bad connect-to", []string{"-connect-to", "nohostport", "https://x.test/"}, exitUsage, "", []string{"want host:port"}},
		{"missing cacert", []string{"-cacert", t.TempDir() + "/none.pem", "https://x.test/"}, exitCACert, "", []string{"none.pem"}},
		{"cacert without certificates", []string{"-cacert", empty, "https://x.test/"}, exitCACert, "", []string{"no certificate"}},
		{"help", []string{"-h"}, exitOK, "usage: fetch", nil},
		{"help says what fetch does", []string{"-h"}, exitOK, "always verifies the server", nil},
		{"help lists the flags", []string{"-help"}, exitOK, "-cert-status", nil},
		{"connection refused", []string{"-cacert", ca, "https://127.0.0.1:" + closedPort + "/"}, exitConnect, "", []string{"cannot connect"}},
		{"timeout", []string{"-cacert", ca, "-timeout", "100ms", "https://127.0.0.1:" + silent + "/"}, exitTimeout, "", []string{"timed out"}},
		{"name does not resolve", []string{"-cacert", ca, "https://nonexistent.invalid/"}, exitResolve, "", []string{"cannot resolve"}},
		{"client certificate", []string{"-cacert", ca, "-cert", clientCert, "-key", clientKey, "https://127.0.0.1:" + mutual + "/"}, exitOK, "hello", nil},
		{"no client certificate", []string{"-cacert", ca, "https://127.0.0.1:" + mutual + "/"}, exitTLS, "", []string{"certificate required"}},
		{"bad client key", []string{"-cacert", ca, "-cert", clientCert, "-key", otherKey, "https://127.0.0.1:" + mutual + "/"}, exitClientCert, "", []string{"client certificate"}},
		{"cert without key", []string{"-cert", clientCert, "https://x.test/"}, exitUsage, "", []string{"-cert and -key"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(&stdout, &stderr, tc.args)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tc.stdout)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
		})
	}
}

// TestCopyable: main.go imports nothing from this module's internal
// packages, so a user can copy it into a module of their own.
func TestCopyable(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range f.Imports {
		if strings.Contains(imp.Path.Value, "/internal/") {
			t.Errorf("main.go imports %s", imp.Path.Value)
		}
	}
}
