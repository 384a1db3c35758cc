package bio

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/testpeer"
	"github.com/sturdy-go/sturdy/internal/testpki"
)

// peerTimeout bounds each wait for a peer process or a transport. It is
// there against hangs only: far above what any step takes, even on a
// machine whose cores are all busy, so it never decides a result.
const peerTimeout = 2 * time.Minute

// readUntil reads plaintext from s until it has seen want.
func readUntil(t *testing.T, s *Stream, want string) {
	t.Helper()
	var got []byte
	buf := make([]byte, 1024)
	for !strings.Contains(string(got), want) {
		s.SetReadDeadline(time.Now().Add(peerTimeout))
		n, err := s.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("reading for %q: got %q, %v", want, got, err)
		}
	}
}

// TestOpenSSLServer runs a bio client against `openssl s_server` over
// loopback TCP, with the test pumping the bytes: data both ways, a
// KeyUpdate from the server that asks for ours, and session resumption.
func TestOpenSSLServer(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	cert, key := p.server.WritePEM(t, t.TempDir())
	for _, v := range []struct {
		name string
		flag string
	}{{"TLS1.2", "-tls1_2"}, {"TLS1.3", "-tls1_3"}} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			srv := testpeer.OpenSSLServer(t, "-cert", cert, "-key", key, v.flag)
			ccfg := p.clientConfig()
			ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			for i, resumed := range []bool{false, true} {
				tcp, err := net.DialTimeout("tcp", srv.Addr, peerTimeout)
				if err != nil {
					t.Fatal(err)
				}
				tap := newTap(tcp)
				s := NewStream(Client(ccfg), tap)
				if _, err := s.Write([]byte("hello from bio\n")); err != nil {
					t.Fatalf("connection %d: Write: %v\n%s", i, err, srv.Stderr())
				}
				srv.ReadUntil(t, "hello from bio", peerTimeout)
				io.WriteString(srv.Stdin, "pong\n")
				readUntil(t, s, "pong") // reads the session ticket too
				if got := s.ConnectionState().DidResume; got != resumed {
					t.Fatalf("connection %d: DidResume = %v, want %v", i, got, resumed)
				}
				if i == 0 && v.flag == "-tls1_3" {
					// K: s_server sends a KeyUpdate and requests ours.
					io.WriteString(srv.Stdin, "K\n")
					awaitKeyUpdate(t, s, tap)
					sendAfterUpdate(t, s, srv.Stdin)
					tap.checkKeyUpdates(t)
					// s_server reads this only with our new keys.
					if _, err := s.Write([]byte("new keys work\n")); err != nil {
						t.Fatal(err)
					}
					srv.ReadUntil(t, "new keys work", peerTimeout)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				srv.ReadUntil(t, "DONE", peerTimeout) // s_server saw our close_notify
			}
		})
	}
}

// TestOpenSSLClient runs a bio server for `openssl s_client` over loopback
// TCP: data both ways, a KeyUpdate from the client, its close_notify, and
// resumption with -sess_out and -sess_in.
func TestOpenSSLClient(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	dir := t.TempDir()
	ca := testpki.WriteCAPEM(t, dir, p.ca)
	for _, v := range []struct {
		name string
		flag string
	}{{"TLS1.2", "-tls1_2"}, {"TLS1.3", "-tls1_3"}} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			scfg := p.serverConfig()
			sess := filepath.Join(t.TempDir(), "session.pem")
			for i, resumed := range []bool{false, true} {
				sessFlag := "-sess_out"
				if resumed {
					sessFlag = "-sess_in"
				}
				proc := testpeer.OpenSSLClient(t, ln.Addr().String(), "-CAfile", ca,
					"-servername", "localhost", "-verify_return_error", v.flag, sessFlag, sess)
				ln.(*net.TCPListener).SetDeadline(time.Now().Add(peerTimeout))
				tcp, err := ln.Accept()
				if err != nil {
					t.Fatalf("accept: %v\n%s", err, proc.Stderr())
				}
				tap := newTap(tcp)
				s := NewStream(Server(scfg), tap)
				s.SetDeadline(time.Now().Add(peerTimeout))
				if err := s.Handshake(); err != nil {
					t.Fatalf("connection %d: %v\n%s", i, err, proc.Stderr())
				}
				if got := s.ConnectionState().DidResume; got != resumed {
					t.Fatalf("connection %d: DidResume = %v, want %v", i, got, resumed)
				}
				io.WriteString(proc.Stdin, "hello from openssl\n")
				readUntil(t, s, "hello from openssl")
				s.Write([]byte("HELLO FROM BIO\n"))
				proc.ReadUntil(t, "HELLO FROM BIO", peerTimeout)
				if v.flag == "-tls1_3" && i == 0 {
					io.WriteString(proc.Stdin, "K\n") // a KeyUpdate, requesting ours
					awaitKeyUpdate(t, s, tap)
					sendAfterUpdate(t, s, proc.Stdin)
					tap.checkKeyUpdates(t)
					s.Write([]byte("NEW KEYS WORK\n"))
					proc.ReadUntil(t, "NEW KEYS WORK", peerTimeout)
				}
				proc.Stdin.Close() // s_client sends close_notify and exits
				if n, err := s.Read(make([]byte, 10)); err != io.EOF {
					t.Fatalf("Read = %d, %v; want io.EOF from close_notify", n, err)
				}
				s.Close()
				if err := proc.Wait(peerTimeout); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// awaitKeyUpdate reads until the peer's KeyUpdate has come in. openssl
// reads its stdin in blocks and takes a command only at the start of one,
// so the next line must wait until the command has been acted on.
func awaitKeyUpdate(t *testing.T, s *Stream, tap *tap) {
	t.Helper()
	deadline := time.Now().Add(peerTimeout)
	for tap.in.keyUpdates.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no KeyUpdate came in")
		}
		s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if n, err := s.Read(make([]byte, 1)); n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("waiting for a KeyUpdate: Read = %d, %v", n, err)
		}
	}
}

// sendAfterUpdate has openssl send a line after its KeyUpdate and reads it
// with the new keys. openssl sometimes drops the first stdin line it reads
// right after acting on "K", so the line is sent again, each second, until
// it arrives; a line that was only slow arrives twice, which is harmless.
func sendAfterUpdate(t *testing.T, s *Stream, stdin io.Writer) {
	t.Helper()
	const line = "after the update"
	buf := make([]byte, 1024)
	for deadline := time.Now().Add(peerTimeout); time.Now().Before(deadline); {
		io.WriteString(stdin, line+"\n")
		var got []byte
		for !strings.Contains(string(got), line) {
			s.SetReadDeadline(time.Now().Add(time.Second))
			n, err := s.Read(buf)
			got = append(got, buf[:n]...)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				t.Fatalf("reading after the KeyUpdate: %v", err)
			}
		}
		if strings.Contains(string(got), line) {
			return
		}
	}
	t.Fatal("no data arrived after the KeyUpdate")
}

// tap is a transport that watches the TLS records going by. After the
// handshake a TLS 1.3 record of keyUpdateLen bytes is a KeyUpdate: a
// 5-byte handshake message, its content type and a 16-byte AEAD tag. The
// tests' own messages are longer.
type tap struct {
	net.Conn
	in, out recordCounter
}

const keyUpdateLen = 4 + 1 + 1 + 16

func newTap(c net.Conn) *tap { return &tap{Conn: c} }

func (t *tap) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	t.in.scan(p[:n])
	return n, err
}

func (t *tap) Write(p []byte) (int, error) {
	t.out.scan(p)
	return t.Conn.Write(p)
}

// checkKeyUpdates fails the test unless a KeyUpdate came in and one went
// out in reply.
func (t *tap) checkKeyUpdates(tb testing.TB) {
	tb.Helper()
	if t.in.keyUpdates.Load() == 0 || t.out.keyUpdates.Load() == 0 {
		tb.Fatalf("KeyUpdate records: %d in, %d out; want one each way", t.in.keyUpdates.Load(), t.out.keyUpdates.Load())
	}
}

// recordCounter follows record boundaries across arbitrary chunks.
type recordCounter struct {
	hdr        []byte // a partial record header
	skip       int    // body bytes of the current record still to pass
	keyUpdates atomic.Int32
}

func (r *recordCounter) scan(p []byte) {
	for len(p) > 0 {
		if r.skip > 0 {
			k := min(r.skip, len(p))
			r.skip -= k
			p = p[k:]
			continue
		}
		k := min(5-len(r.hdr), len(p))
		r.hdr = append(r.hdr, p[:k]...)
		p = p[k:]
		if len(r.hdr) == 5 {
			r.skip = int(r.hdr[3])<<8 | int(r.hdr[4])
			if r.hdr[0] == 23 && r.skip == keyUpdateLen {
				r.keyUpdates.Add(1)
			}
			r.hdr = r.hdr[:0]
		}
	}
}

// TestOpenSSLReceivesAlert fails a handshake on the bio side (the server's
// certificate is from an unknown CA) and checks that s_server receives the
// fatal alert the pump flushed.
func TestOpenSSLReceivesAlert(t *testing.T) {
	t.Parallel()
	p, stranger := newPKI(t), newPKI(t)
	cert, key := p.server.WritePEM(t, t.TempDir())
	srv := testpeer.OpenSSLServer(t, "-cert", cert, "-key", key)
	tcp, err := net.DialTimeout("tcp", srv.Addr, peerTimeout)
	if err != nil {
		t.Fatal(err)
	}
	s := NewStream(Client(stranger.clientConfig()), tcp)
	defer s.Close()
	s.SetDeadline(time.Now().Add(peerTimeout))
	err = s.Handshake()
	var he *HandshakeError
	if !errors.As(err, &he) {
		t.Fatalf("Handshake = %v, want a *HandshakeError", err)
	}
	deadline := time.Now().Add(peerTimeout)
	for !strings.Contains(srv.Stderr(), "alert bad certificate") {
		if time.Now().After(deadline) {
			t.Fatalf("s_server did not report our alert; stderr:\n%s", srv.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
