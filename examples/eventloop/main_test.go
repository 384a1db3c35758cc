package main

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/testpeer"
)

// peerTimeout bounds each wait for a client or the server. It is there
// against hangs only: far above what any step takes, even under -race on a
// machine whose cores are all busy, so it never decides a result.
const peerTimeout = 2 * time.Minute

// start runs a server on a free loopback port and returns it with a
// client config that trusts its certificate.
func start(t *testing.T, maxPending int) (*Server, *tls.Config, tls.Certificate) {
	t.Helper()
	cert, err := SelfSigned("localhost")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{
		Config:     &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		MaxPending: maxPending,
		Loops:      2,
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	return srv, &tls.Config{RootCAs: roots, ServerName: "localhost"}, cert
}

// waitClosed waits until the server has closed every connection it
// opened, then checks that each one's bio.Conn ended in OnClose.
func waitClosed(t *testing.T, srv *Server) {
	t.Helper()
	deadline := time.Now().Add(peerTimeout)
	for st := srv.Stats(); st.Closed < st.Opened; st = srv.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("the server still holds %d connections the clients closed", st.Opened-st.Closed)
		}
		time.Sleep(time.Millisecond)
	}
	if st := srv.Stats(); st.Ended != st.Closed {
		t.Fatalf("%d of %d closed connections left their bio.Conn running", st.Closed-st.Ended, st.Closed)
	}
}

// echo sends size random bytes over a crypto/tls client while reading
// the echo, then sends close_notify and expects the server's.
func echo(cfg *tls.Config, addr string, size int) error {
	raw, err := net.DialTimeout("tcp", addr, peerTimeout)
	if err != nil {
		return err
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(peerTimeout))
	c := tls.Client(raw, cfg)
	want := make([]byte, size)
	rand.Read(want)
	werr := make(chan error, 1)
	go func() {
		for off := 0; off < size; off += 32 << 10 {
			if _, err := c.Write(want[off:min(off+32<<10, size)]); err != nil {
				werr <- err
				return
			}
		}
		werr <- c.CloseWrite()
	}()
	got, err := io.ReadAll(c) // until the server's close_notify
	if err != nil {
		return fmt.Errorf("after %d bytes: %w", len(got), err)
	}
	if err := <-werr; err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("echo: %d bytes back, want the %d sent, identical", len(got), size)
	}
	if v := c.ConnectionState().Version; v != cfg.MaxVersion && cfg.MaxVersion != 0 {
		return fmt.Errorf("negotiated %s", tls.VersionName(v))
	}
	return nil
}

// TestEchoCryptoTLS runs 20 concurrent crypto/tls clients, each sending
// and reading back 1 MiB, over TLS 1.2 and TLS 1.3.
func TestEchoCryptoTLS(t *testing.T) {
	srv, ccfg, _ := start(t, 256<<10)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			cfg := ccfg.Clone()
			cfg.MinVersion, cfg.MaxVersion = v, v
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for range 20 {
				wg.Go(func() { errs <- echo(cfg, srv.Addr().String(), 1<<20) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	waitClosed(t, srv)
	t.Logf("%+v", srv.Stats())
}

// TestBackpressure has a client send 16 MiB before it reads anything. The
// server must stop echoing at MaxPending instead of queueing all of it in
// gnet, and go on once the client reads.
func TestBackpressure(t *testing.T) {
	const limit = 128 << 10
	srv, ccfg, _ := start(t, limit)
	raw, err := net.DialTimeout("tcp", srv.Addr().String(), peerTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(peerTimeout))
	// A small receive buffer, so the kernel cannot absorb the echo.
	if err := raw.(*net.TCPConn).SetReadBuffer(32 << 10); err != nil {
		t.Fatal(err)
	}
	c := tls.Client(raw, ccfg)
	const size = 16 << 20
	want := make([]byte, size)
	rand.Read(want)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(want)
		werr <- err
	}()
	// Read only once the server has paused (or, without backpressure,
	// once all of it was taken).
	for srv.Stats().Pauses == 0 {
		select {
		case err := <-werr:
			werr <- err
			t.Fatalf("the server took all %d bytes without reading being needed: no backpressure (%+v)", size, srv.Stats())
		default:
			time.Sleep(time.Millisecond)
		}
	}
	got := make([]byte, size)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("echo differs")
	}
	// What gnet held may pass the limit by what one pass of the echo
	// writes: the bio.Conn's outgoing buffer and one more record.
	if st := srv.Stats(); st.MaxQueued > limit+(64<<10)+(17<<10) {
		t.Fatalf("gnet held up to %d bytes for the client, want at most about %d", st.MaxQueued, limit)
	}
	c.Close()
	waitClosed(t, srv)
}

// TestTLS11Refused: a client that offers only TLS 1.1 receives the
// server's protocol_version alert, not a bare EOF.
func TestTLS11Refused(t *testing.T) {
	srv, ccfg, _ := start(t, 0)
	raw, err := net.DialTimeout("tcp", srv.Addr().String(), peerTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(peerTimeout))
	cfg := ccfg.Clone()
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS11, tls.VersionTLS11
	err = tls.Client(raw, cfg).Handshake()
	if err == nil || !strings.Contains(err.Error(), "protocol version not supported") {
		t.Fatalf("TLS 1.1 handshake = %v, want the server's protocol_version alert", err)
	}
	raw.Close()
	waitClosed(t, srv)
}

// TestOpenSSLClient talks to the server with openssl s_client over TLS 1.2
// and TLS 1.3; over TLS 1.3 the client sends a KeyUpdate that asks for
// ours, and data keeps flowing with the new keys.
func TestOpenSSLClient(t *testing.T) {
	srv, _, cert := start(t, 0)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"-tls1_2", "-tls1_3"} {
		t.Run(v, func(t *testing.T) {
			proc := testpeer.OpenSSLClient(t, srv.Addr().String(), "-CAfile", caFile, "-servername", "localhost",
				"-verify_return_error", "-msg", v)
			io.WriteString(proc.Stdin, "hello from openssl\n")
			// The echo comes after s_client's own lines and our reply.
			proc.ReadUntil(t, "hello from openssl", peerTimeout)
			if v == "-tls1_3" {
				io.WriteString(proc.Stdin, "K\n") // KeyUpdate, update_requested
				// Our answer: a KeyUpdate of our own, in s_client's -msg trace.
				proc.ReadUntil(t, "<<< TLS 1.3, Handshake [length 0005], KeyUpdate", peerTimeout)
				sendUntilEchoed(t, proc, "after the key update")
			}
			proc.Stdin.Close() // s_client sends close_notify and exits
			if err := proc.Wait(peerTimeout); err != nil {
				t.Fatal(err)
			}
		})
	}
	waitClosed(t, srv)
}

// sendUntilEchoed writes line to s_client until the echo comes back.
// s_client sometimes drops the first line it reads right after acting on
// "K", so the line is sent again each second until the echo comes; a line
// that was only slow is echoed twice, which is harmless.
func sendUntilEchoed(t *testing.T, proc *testpeer.Proc, line string) {
	t.Helper()
	echoed := make(chan error, 1)
	go func() {
		for {
			l, err := proc.Stdout.ReadString('\n')
			if strings.Contains(l, line) || err != nil {
				echoed <- err
				return
			}
		}
	}()
	for deadline := time.Now().Add(peerTimeout); time.Now().Before(deadline); {
		io.WriteString(proc.Stdin, line+"\n")
		select {
		case err := <-echoed:
			if err != nil {
				t.Fatalf("s_client: %v\n%s", err, proc.Stderr())
			}
			return
		case <-time.After(time.Second):
		}
	}
	t.Fatalf("no echo of %q after the key update\n%s", line, proc.Stderr())
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if code := run(&out, []string{"-h"}); code != 0 {
		t.Fatalf("eventloop -h exited with %d, want 0", code)
	}
	for _, w := range []string{"usage: eventloop", "TLS echo server on the gnet event loop", "-max-pending"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("-h output lacks %q:\n%s", w, out.String())
		}
	}
}
