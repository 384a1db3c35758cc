package bio

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net"
	"strings"
	"testing"
)

var versions = []struct {
	name string
	v    uint16
}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}}

func TestEngineToEngine(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			ccfg := p.clientConfig()
			ccfg.MaxVersion = v.v
			client, server := Client(ccfg), Server(p.serverConfig())
			handshake(t, client, server, whole)
			for _, c := range []*Conn{client, server} {
				st := c.ConnectionState()
				if !st.HandshakeComplete || st.Version != v.v {
					t.Fatalf("state: complete=%v version=%x, want true %x", st.HandshakeComplete, st.Version, v.v)
				}
			}
			big := make([]byte, 200<<10)
			rand.Read(big)
			send(t, client, server, []byte("hello"))
			send(t, server, client, []byte("world"))
			// More than the plaintext limit: the engine pauses and Read resumes it.
			if n, err := client.Write(big[:50<<10]); err != nil || n != 50<<10 {
				t.Fatalf("Write = %d, %v", n, err)
			}
			pump(t, client, server, whole)
			if n, err := client.Write(big[50<<10 : 100<<10]); err != nil || n != 50<<10 {
				t.Fatalf("Write = %d, %v", n, err)
			}
			move(t, client, server, whole)
			got, err := readAvailable(t, server)
			if err != ErrWantRead || !bytes.Equal(got, big[:100<<10]) {
				t.Fatalf("read %d bytes, %v; want %d bytes, ErrWantRead", len(got), err, 100<<10)
			}

			// Orderly close, one side at a time.
			if err := client.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := client.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
			}
			pump(t, client, server, whole)
			if _, err := server.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("server Read after close_notify = %v, want io.EOF", err)
			}
			// Half-closed: the server may still send, and the client still reads.
			send(t, server, client, []byte("last words"))
			server.Close()
			pump(t, client, server, whole)
			if _, err := client.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("client Read after close_notify = %v, want io.EOF", err)
			}
			if _, err := client.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("io.EOF is not sticky: %v", err)
			}
			if !finished(client) || !finished(server) {
				t.Fatal("engine goroutines still run after both close_notify")
			}
		})
	}
}

// TestChunkings feeds ciphertext one byte at a time and in random pieces.
func TestChunkings(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	seed := mrand.Uint64()
	t.Logf("seed %d", seed)
	rng := mrand.New(mrand.NewPCG(seed, 0))
	chunkings := map[string]func() int{
		"one-byte": func() int { return 1 },
		"random":   func() int { return 1 + rng.IntN(700) },
		"records":  whole,
	}
	for name, chunk := range chunkings {
		for _, v := range versions {
			t.Run(name+"/"+v.name, func(t *testing.T) {
				ccfg := p.clientConfig()
				ccfg.MaxVersion = v.v
				ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
				client, server := Client(ccfg), Server(p.serverConfig())
				handshake(t, client, server, chunk)
				msg := make([]byte, 40<<10)
				rand.Read(msg)
				client.Write(msg)
				pump(t, client, server, chunk)
				got, err := readAvailable(t, server)
				if err != ErrWantRead || !bytes.Equal(got, msg) {
					t.Fatalf("read %d bytes, %v; want %d bytes", len(got), err, len(msg))
				}
				server.Close()
				pump(t, client, server, chunk)
				got, err = readAvailable(t, client)
				if err != io.EOF || len(got) != 0 {
					t.Fatalf("client read %d bytes, %v; want io.EOF", len(got), err)
				}
			})
		}
	}
}

func TestAgainstCryptoTLS(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	for _, v := range versions {
		t.Run("bio-client/"+v.name, func(t *testing.T) {
			t.Parallel()
			a, b := net.Pipe()
			defer a.Close()
			scfg := p.serverConfig()
			scfg.MaxVersion = v.v
			done := make(chan error, 1)
			go func() { done <- echoOnce(tls.Server(b, scfg)) }()
			s := NewStream(Client(p.clientConfig()), a)
			roundTrip(t, s)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
		t.Run("bio-server/"+v.name, func(t *testing.T) {
			t.Parallel()
			a, b := net.Pipe()
			defer b.Close()
			ccfg := p.clientConfig()
			ccfg.MaxVersion = v.v
			done := make(chan error, 1)
			go func() { done <- echoOnce(NewStream(Server(p.serverConfig()), a)) }()
			roundTrip(t, tls.Client(b, ccfg))
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// echoOnce reads one line, writes it back in upper case, then answers
// the peer's close_notify with its own.
func echoOnce(c net.Conn) error {
	defer c.Close()
	var line []byte
	buf := make([]byte, 1024)
	for !bytes.HasSuffix(line, []byte("\n")) {
		n, err := c.Read(buf)
		line = append(line, buf[:n]...)
		if err != nil {
			return err
		}
	}
	if _, err := c.Write(bytes.ToUpper(line)); err != nil {
		return err
	}
	if n, err := c.Read(buf); err != io.EOF {
		return errors.New("echo: after the line: " + string(buf[:n]) + ", " + errString(err))
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

type closeWriter interface {
	net.Conn
	CloseWrite() error
}

// roundTrip sends a line, expects it back in upper case, then closes and
// expects the peer's close_notify.
func roundTrip(t *testing.T, c closeWriter) {
	t.Helper()
	if _, err := c.Write([]byte("hello, tls\n")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 0, 64)
	buf := make([]byte, 64)
	for !bytes.HasSuffix(got, []byte("\n")) {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("Read: %v (got %q)", err, got)
		}
	}
	if string(got) != "HELLO, TLS\n" {
		t.Fatalf("got %q", got)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(buf); err != io.EOF {
		t.Fatalf("Read after CloseWrite = %d, %v; want io.EOF", n, err)
	}
	c.Close()
}

func TestTruncation(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	t.Run("strict", func(t *testing.T) {
		t.Parallel()
		client, server := Client(p.clientConfig()), Server(p.serverConfig())
		handshake(t, client, server, whole)
		server.Write([]byte("partial"))
		move(t, server, client, whole)
		client.CloseIncoming()
		got, err := readAvailable(t, client)
		if string(got) != "partial" || err != ErrTruncated {
			t.Fatalf("read %q, %v; want the data, then ErrTruncated", got, err)
		}
		if _, err := client.Read(make([]byte, 1)); err != ErrTruncated {
			t.Fatalf("ErrTruncated is not sticky: %v", err)
		}
		if _, err := client.WriteIncoming([]byte{1}); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("WriteIncoming after CloseIncoming = %v, want net.ErrClosed", err)
		}
		if !finished(client) {
			t.Fatal("engine goroutine still runs after CloseIncoming")
		}
	})
	t.Run("lenient", func(t *testing.T) {
		t.Parallel()
		client := Options{AllowTruncation: true}.Client(p.clientConfig())
		server := Server(p.serverConfig())
		handshake(t, client, server, whole)
		client.CloseIncoming()
		if _, err := client.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("lenient Read = %v, want io.EOF", err)
		}
	})
	t.Run("mid-record", func(t *testing.T) {
		t.Parallel()
		client := Options{AllowTruncation: true}.Client(p.clientConfig())
		server := Server(p.serverConfig())
		handshake(t, client, server, whole)
		server.Write([]byte("cut short"))
		buf := make([]byte, 100)
		n, _ := server.ReadOutgoing(buf)
		client.WriteIncoming(buf[:n-3])
		client.CloseIncoming()
		if _, err := client.Read(buf); err != ErrTruncated {
			t.Fatalf("EOF inside a record = %v, want ErrTruncated even when lenient", err)
		}
	})
	t.Run("handshake", func(t *testing.T) {
		t.Parallel()
		client, server := Client(p.clientConfig()), Server(p.serverConfig())
		client.Handshake()
		move(t, client, server, whole)
		server.CloseIncoming() // after the ClientHello: the rest never comes
		client.CloseIncoming()
		for _, c := range []*Conn{client, server} {
			err := c.Handshake()
			var he *HandshakeError
			if !errors.Is(err, ErrTruncated) || !errors.As(err, &he) {
				t.Fatalf("Handshake = %v, want a *HandshakeError matching ErrTruncated", err)
			}
			if _, err2 := c.Write([]byte("x")); err2 != err {
				t.Fatalf("Write after a failed handshake = %v, want the sticky %v", err2, err)
			}
		}
	})
}

// TestFailedHandshakeAlert checks that the side that rejects the handshake
// still hands out its fatal alert, and that the peer receives it.
func TestFailedHandshakeAlert(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	other := newPKI(t)
	cases := []struct {
		name      string
		client    *tls.Config
		server    *tls.Config
		clientErr func(error) bool // on the rejecting client
		peerErr   string           // in the server's error
	}{
		{
			name:      "unknown-authority",
			client:    other.clientConfig(),
			server:    p.serverConfig(),
			clientErr: func(err error) bool { var u x509.UnknownAuthorityError; return errors.As(err, &u) },
			peerErr:   "remote error: tls: bad certificate",
		},
		{
			name: "verify-connection-hook",
			client: func() *tls.Config {
				c := p.clientConfig()
				c.VerifyConnection = func(tls.ConnectionState) error { return errHook }
				return c
			}(),
			server:    p.serverConfig(),
			clientErr: func(err error) bool { return errors.Is(err, errHook) },
			peerErr:   "remote error: tls: bad certificate",
		},
		{
			name:   "no-common-alpn",
			client: func() *tls.Config { c := p.clientConfig(); c.NextProtos = []string{"h2"}; return c }(),
			server: func() *tls.Config { c := p.serverConfig(); c.NextProtos = []string{"smtp"}; return c }(),
			// Here the server rejects; the roles swap below.
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client, server := Client(tc.client), Server(tc.server)
			client.Handshake()
			pump(t, client, server, whole)
			cerr, serr := client.Handshake(), server.Handshake()
			if tc.clientErr == nil {
				// The server rejected: it sent no_application_protocol.
				if serr == nil || !strings.Contains(cerr.Error(), "remote error: tls: no application protocol") {
					t.Fatalf("server %v; client %v; want the client to receive the alert", serr, cerr)
				}
				return
			}
			var he *HandshakeError
			if !tc.clientErr(cerr) || !errors.As(cerr, &he) {
				t.Fatalf("client Handshake = %v", cerr)
			}
			if serr == nil || !strings.Contains(serr.Error(), tc.peerErr) {
				t.Fatalf("server Handshake = %v, want %q", serr, tc.peerErr)
			}
			if again := client.Handshake(); again != cerr {
				t.Fatalf("handshake error not sticky: %v then %v", cerr, again)
			}
			if _, err := client.Read(make([]byte, 1)); err != cerr {
				t.Fatalf("Read after failure = %v", err)
			}
			if !finished(client) || !finished(server) {
				t.Fatal("engine goroutines still run after a failed handshake")
			}
		})
	}
}

var errHook = errors.New("hook says no")

// TestAlertStaysInOutgoing checks the rule the pump loop relies on: after
// a failed handshake the alert waits in the outgoing buffer.
func TestAlertStaysInOutgoing(t *testing.T) {
	t.Parallel()
	p, other := newPKI(t), newPKI(t)
	client, server := Client(other.clientConfig()), Server(p.serverConfig())
	client.Handshake()
	move(t, client, server, whole)
	move(t, server, client, whole)
	if err := client.Handshake(); err == nil || err == ErrWantRead {
		t.Fatalf("client Handshake = %v, want a failure", err)
	}
	out := make([]byte, 256)
	n, _ := client.ReadOutgoing(out)
	// The last record is the alert: TLS 1.3 encrypts it (type 23 outside),
	// after a change_cipher_spec for middleboxes.
	last := -1
	for rest := out[:n]; len(rest) > 0; {
		if len(rest) < 5 || len(rest) < 5+(int(rest[3])<<8|int(rest[4])) {
			t.Fatalf("outgoing after failure is not whole records: % x", out[:n])
		}
		last = int(rest[0])
		rest = rest[5+(int(rest[3])<<8|int(rest[4])):]
	}
	if last != 21 && last != 23 {
		t.Fatalf("outgoing after failure: % x", out[:n])
	}
	if n, _ := client.ReadOutgoing(out); n != 0 {
		t.Fatalf("ReadOutgoing gave %d more bytes, want 0", n)
	}
}

func TestResumption(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			scfg := p.serverConfig()
			ccfg := p.clientConfig()
			ccfg.MaxVersion = v.v
			ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			for i, want := range []bool{false, true} {
				client, server := Client(ccfg), Server(scfg)
				handshake(t, client, server, whole)
				send(t, server, client, []byte("ticket, please")) // a TLS 1.3 ticket is read here at the latest
				if got := client.ConnectionState().DidResume; got != want {
					t.Fatalf("connection %d: DidResume = %v, want %v", i, got, want)
				}
			}
		})
	}
	t.Run("no-server-name", func(t *testing.T) {
		t.Parallel()
		// Without ServerName, crypto/tls keys the cache by RemoteAddr.
		cache := tls.NewLRUClientSessionCache(4)
		scfg := p.serverConfig()
		for i, want := range []bool{false, true} {
			ccfg := &tls.Config{
				InsecureSkipVerify: true,
				ClientSessionCache: cache,
				VerifyConnection: func(cs tls.ConnectionState) error {
					_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: p.ca.Pool(), DNSName: "localhost"})
					return err
				},
			}
			client := Options{RemoteAddr: Addr("peer-42")}.Client(ccfg)
			server := Server(scfg)
			handshake(t, client, server, whole)
			send(t, server, client, []byte("x"))
			if got := client.ConnectionState().DidResume; got != want {
				t.Fatalf("connection %d: DidResume = %v, want %v", i, got, want)
			}
		}
	})
}

func TestALPNAndClientCertificates(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	var seen tls.ConnectionState
	scfg := p.serverConfig()
	scfg.NextProtos = []string{"h2", "http/1.1"}
	scfg.ClientAuth = tls.RequireAndVerifyClientCert
	scfg.ClientCAs = p.ca.Pool()
	scfg.VerifyConnection = func(cs tls.ConnectionState) error { seen = cs; return nil }
	ccfg := p.clientConfig()
	ccfg.NextProtos = []string{"http/1.1"}
	ccfg.Certificates = []tls.Certificate{p.client.TLS()}
	client, server := Client(ccfg), Server(scfg)
	handshake(t, client, server, whole)
	st := server.ConnectionState()
	if st.NegotiatedProtocol != "http/1.1" || client.ConnectionState().NegotiatedProtocol != "http/1.1" {
		t.Fatalf("ALPN: server %q, client %q", st.NegotiatedProtocol, client.ConnectionState().NegotiatedProtocol)
	}
	if len(st.PeerCertificates) == 0 || !st.PeerCertificates[0].Equal(p.client.Cert) {
		t.Fatal("server did not see the client certificate")
	}
	if len(seen.PeerCertificates) == 0 || len(seen.VerifiedChains) == 0 {
		t.Fatal("VerifyConnection did not see the verified client chain")
	}

	// Without a client certificate the server refuses, and says so.
	ccfg.Certificates = nil
	client, server = Client(ccfg), Server(scfg)
	client.Handshake()
	pump(t, client, server, whole)
	if err := server.Handshake(); !errors.As(err, new(*HandshakeError)) {
		t.Fatalf("server without client certificate: %v", err)
	}
	// The client learns of the refusal by reading.
	if _, err := client.Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Fatalf("client Read = %v, want the server's certificate_required alert", err)
	}
}

func TestWriteDrivesHandshake(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	client, server := Client(p.clientConfig()), Server(p.serverConfig())
	msg := []byte("early bird")
	n, err := client.Write(msg)
	if n != 0 || err != ErrWantRead {
		t.Fatalf("Write before the handshake = %d, %v; want 0, ErrWantRead", n, err)
	}
	for i := 0; ; i++ {
		pump(t, client, server, whole)
		if n, err = client.Write(msg); err != ErrWantRead || i > 5 {
			break
		}
	}
	if err != nil || n != len(msg) {
		t.Fatalf("Write after pumping = %d, %v", n, err)
	}
	pump(t, client, server, whole)
	if got, _ := readAvailable(t, server); string(got) != string(msg) {
		t.Fatalf("server read %q", got)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	t.Run("outgoing", func(t *testing.T) {
		t.Parallel()
		opts := Options{MaxOutgoing: 32 << 10}
		client, server := opts.Client(p.clientConfig()), Server(p.serverConfig())
		handshake(t, client, server, whole)
		msg := make([]byte, 1<<20)
		n, err := client.Write(msg)
		var be *BufferError
		if !errors.Is(err, ErrBufferFull) || !errors.As(err, &be) || be.Buffer != "outgoing" || be.Limit != opts.MaxOutgoing {
			t.Fatalf("Write of 1 MiB = %d, %v; want a *BufferError for outgoing", n, err)
		}
		if n == 0 || n >= len(msg) || client.OutgoingLen() > opts.MaxOutgoing+maxRecordPlaintext+1024 {
			t.Fatalf("Write took %d bytes, outgoing holds %d", n, client.OutgoingLen())
		}
		// Not sticky: drain and go on.
		move(t, client, server, whole)
		if _, err := client.Write(msg[:100]); err != nil {
			t.Fatalf("Write after draining: %v", err)
		}
	})
	t.Run("incoming", func(t *testing.T) {
		t.Parallel()
		opts := Options{MaxIncoming: 20 << 10, MaxPlaintext: 16 << 10}
		client, server := Client(p.clientConfig()), opts.Server(p.serverConfig())
		handshake(t, client, server, whole)
		msg := make([]byte, 60<<10)
		rand.Read(msg)
		if _, err := client.Write(msg); err != nil {
			t.Fatal(err)
		}
		cipher := make([]byte, 300<<10)
		n, _ := client.ReadOutgoing(cipher)
		cipher = cipher[:n]
		took, err := server.WriteIncoming(cipher)
		var be *BufferError
		if !errors.As(err, &be) || be.Buffer != "incoming" || took >= len(cipher) {
			t.Fatalf("WriteIncoming of %d bytes with nothing read = %d, %v; want a *BufferError", len(cipher), took, err)
		}
		// The pump loop: read plaintext, then feed the rest.
		var got []byte
		buf := make([]byte, 8<<10)
		for len(got) < len(msg) {
			n, err := server.Read(buf)
			got = append(got, buf[:n]...)
			if err == ErrWantRead {
				if len(cipher) == took {
					t.Fatalf("server wants more, but all %d bytes were fed", len(cipher))
				}
				cipher = cipher[took:]
				took, err = server.WriteIncoming(cipher)
				if err != nil && !errors.Is(err, ErrBufferFull) {
					t.Fatal(err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, msg) {
			t.Fatal("data corrupted through the bounded buffers")
		}
	})
	t.Run("replies", func(t *testing.T) {
		t.Parallel()
		// The engine stops consuming while the caller does not drain
		// its outgoing buffer.
		opts := Options{MaxOutgoing: 1}
		client, server := Client(p.clientConfig()), opts.Server(p.serverConfig())
		client.Handshake()
		move(t, client, server, whole) // server answers: outgoing now over 1 byte
		client.Write([]byte("x"))      // still handshaking
		move(t, server, client, whole)
		client.Write([]byte("x"))
		move(t, client, server, whole)
		if server.Handshake() != nil {
			t.Fatal("server handshake did not finish")
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	client, server := Client(p.clientConfig()), Server(p.serverConfig())
	handshake(t, client, server, whole)
	const total = 1 << 20
	done := make(chan error, 2)
	go func() { // writer
		buf := make([]byte, 3000)
		for sent := 0; sent < total; {
			n, err := client.Write(buf[:min(len(buf), total-sent)])
			sent += n
			if err != nil && !errors.Is(err, ErrBufferFull) {
				done <- err
				return
			}
		}
		done <- client.Close()
	}()
	go func() { // transport
		buf := make([]byte, 5000)
		for {
			n, _ := client.ReadOutgoing(buf)
			for p := buf[:n]; len(p) > 0; {
				m, err := server.WriteIncoming(p)
				if err != nil && !errors.Is(err, ErrBufferFull) {
					done <- err
					return
				}
				p = p[m:]
			}
			if n == 0 && finished(server) {
				done <- nil
				return
			}
		}
	}()
	read := 0
	buf := make([]byte, 7000)
	for {
		n, err := server.Read(buf)
		read += n
		if err == io.EOF {
			break
		}
		if err != nil && err != ErrWantRead {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if read != total {
		t.Fatalf("read %d bytes, want %d", read, total)
	}
}

func TestUnusableConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]*tls.Config{
		"nil":           nil,
		"renegotiation": {ServerName: "x", Renegotiation: tls.RenegotiateOnceAsClient},
	} {
		c := Client(cfg)
		err := c.Handshake()
		var he *HandshakeError
		if !errors.As(err, &he) {
			t.Fatalf("%s: Handshake = %v, want a *HandshakeError", name, err)
		}
		if n, err := c.WriteIncoming([]byte{22, 3, 1}); n != 3 || err != nil {
			t.Fatalf("%s: WriteIncoming = %d, %v; want 3, nil (feeding never reports a TLS failure)", name, n, err)
		}
		if err := c.Handshake(); err != he {
			t.Fatalf("%s: Handshake after feeding = %v, want the sticky %v", name, err, he)
		}
		if _, err := c.Write([]byte("x")); err != he {
			t.Fatalf("%s: Write = %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestCloseBeforeHandshake(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	for _, started := range []bool{false, true} {
		c := Client(p.clientConfig())
		if started {
			c.Handshake()
		}
		c.Close()
		if !finished(c) {
			t.Fatal("engine runs after Close during the handshake")
		}
		if err := c.Handshake(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Handshake after Close = %v", err)
		}
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read after Close = %v", err)
		}
	}
}

// TestCallbackPanic checks that a panic in a tls.Config callback reaches
// the caller of the call that ran it, and leaves the Conn failed, not hung.
func TestCallbackPanic(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	ccfg := p.clientConfig()
	ccfg.VerifyConnection = func(tls.ConnectionState) error { panic("hook exploded") }
	client, server := Client(ccfg), Server(p.serverConfig())
	client.Handshake()
	move(t, client, server, whole)
	func() {
		defer func() {
			if r := recover(); r != "hook exploded" {
				t.Fatalf("recovered %v, want the hook's panic", r)
			}
		}()
		move(t, server, client, whole)
		t.Fatal("the panic did not reach WriteIncoming's caller")
	}()
	var he *HandshakeError
	if err := client.Handshake(); !errors.As(err, &he) || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("Handshake after the panic = %v", err)
	}
	if !finished(client) {
		t.Fatal("engine still runs after the panic")
	}
}

// TestIdleConnHoldsNoBuffers checks that a drained Conn gives its buffer
// storage back: an event loop with many idle connections pays only for
// crypto/tls's own state and the parked engine.
func TestIdleConnHoldsNoBuffers(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	client, server := Client(p.clientConfig()), Server(p.serverConfig())
	handshake(t, client, server, whole)
	big := make([]byte, 60<<10) // several records, under the outgoing limit
	for _, msg := range [][]byte{[]byte("x"), big, []byte("yz")} {
		send(t, client, server, msg)
		send(t, server, client, msg)
		for _, c := range []*Conn{client, server} {
			c.e.mu.Lock()
			held := c.e.plain.ptr != nil || c.e.out.ptr != nil || c.e.in.ptr != nil
			c.e.mu.Unlock()
			if held {
				t.Fatalf("after a %d-byte message, an idle Conn still holds buffer storage", len(msg))
			}
		}
	}
}
