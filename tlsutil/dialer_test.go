package tlsutil

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
	"weak"
)

func TestDialerSNIAndName(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	leaf := p.inter.Leaf(t)
	srv := serveCert(t, leaf, nil, nil)
	_, port, _ := net.SplitHostPort(srv.Addr)
	roots := p.root.Pool()

	cases := []struct {
		name    string
		addr    string
		d       Dialer
		wantSNI string
	}{
		{"dns-host", net.JoinHostPort("localhost", port), Dialer{Verifier: &Verifier{Roots: roots}}, "localhost"},
		{"ip-host-no-sni", srv.Addr, Dialer{Verifier: &Verifier{Roots: roots}}, ""},
		{"name-is-sni", srv.Addr, Dialer{Verifier: &Verifier{Roots: roots, Name: "localhost"}}, "localhost"},
		{"config-server-name-wins", srv.Addr, Dialer{Config: &tls.Config{ServerName: "sni.test"}, Verifier: &Verifier{Roots: roots, Name: "localhost"}}, "sni.test"},
		{"nil-verifier-uses-rootcas", net.JoinHostPort("localhost", port), Dialer{Config: &tls.Config{RootCAs: roots}}, "localhost"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.d.DialContext(context.Background(), "tcp", tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			tc2 := c.(*tls.Conn)
			if !tc2.ConnectionState().HandshakeComplete {
				t.Fatal("handshake not complete on return")
			}
			readOne(t, c)
			if got := srv.lastSNI(); got != tc.wantSNI {
				t.Fatalf("server saw SNI %q, want %q", got, tc.wantSNI)
			}
		})
	}
}

func TestDialerRefusals(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	leaf := p.inter.Leaf(t)
	srv := serveCert(t, leaf, nil, nil)

	// InsecureSkipVerify without a Verifier is refused before dialing.
	d := &Dialer{Config: &tls.Config{InsecureSkipVerify: true}}
	if _, err := d.Dial("tcp", srv.Addr); !errors.Is(err, ErrInsecureConfig) {
		t.Fatalf("want ErrInsecureConfig, got %v", err)
	}
	// With a Verifier it is fine: the Verifier verifies.
	d = &Dialer{Config: &tls.Config{InsecureSkipVerify: true}, Verifier: &Verifier{Roots: p.other.Pool()}}
	_, err := d.Dial("tcp", srv.Addr)
	wantReason(t, err, UnknownAuthority, "(peer "+srv.Addr+")")

	// A nil Verifier means Config.RootCAs: wrong roots are refused with a
	// VerifyError, not crypto/tls's own error.
	d = &Dialer{Config: &tls.Config{RootCAs: p.other.Pool()}}
	_, err = d.Dial("tcp", srv.Addr)
	wantReason(t, err, UnknownAuthority)

	// Bad address.
	if _, err := (&Dialer{}).Dial("tcp", "no-port"); err == nil || !strings.HasPrefix(err.Error(), "tlsutil: ") {
		t.Fatalf("bad address: %v", err)
	}
	// Nothing listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var op *net.OpError
	if _, err := (&Dialer{}).Dial("tcp", addr); !errors.As(err, &op) {
		t.Fatalf("refused dial: want a *net.OpError inside, got %v", err)
	}
}

// TestDialerOwnVerifyConnection: the Config's own hook runs after the
// Verifier accepted the peer, and only then.
func TestDialerOwnVerifyConnection(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	srv := serveCert(t, p.inter.Leaf(t), nil, nil)
	calls := 0
	hookErr := errors.New("hook says no")
	d := &Dialer{
		Config:   &tls.Config{VerifyConnection: func(tls.ConnectionState) error { calls++; return hookErr }},
		Verifier: &Verifier{Roots: p.root.Pool()},
	}
	if _, err := d.Dial("tcp", srv.Addr); !errors.Is(err, hookErr) {
		t.Fatalf("want the hook's error, got %v", err)
	}
	d.Verifier = &Verifier{Roots: p.other.Pool()}
	_, err := d.Dial("tcp", srv.Addr)
	wantReason(t, err, UnknownAuthority)
	if calls != 1 {
		t.Fatalf("hook called %d times, want 1", calls)
	}
}

// silentServer accepts TCP connections and never answers.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func TestDialerTimeouts(t *testing.T) {
	t.Parallel()
	addr := silentServer(t)

	// The context bounds the handshake: the silent server never answers,
	// so only the deadline can end the dial (how soon is not judged).
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err := (&Dialer{}).DialContext(ctx, "tcp", addr)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want DeadlineExceeded, got %v", err)
	}

	// Without a context deadline, NetDialer.Timeout (else DefaultTimeout)
	// bounds dial plus handshake.
	_, err = (&Dialer{NetDialer: &net.Dialer{Timeout: 150 * time.Millisecond}}).Dial("tcp", addr)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want DeadlineExceeded, got %v", err)
	}
}

// TestClientConfigDirect uses ClientConfig with crypto/tls's own dialer.
func TestClientConfigDirect(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	srv := serveCert(t, p.inter.Leaf(t), nil, nil)
	_, port, _ := net.SplitHostPort(srv.Addr)

	cfg := ClientConfig(&Verifier{Roots: p.root.Pool()})
	c, err := tls.Dial("tcp", net.JoinHostPort("localhost", port), cfg)
	if err != nil {
		t.Fatal(err)
	}
	readOne(t, c)
	c.Close()

	// crypto/tls hides an IP ServerName from VerifyConnection: refused
	// with NoName, and a hint to set Verifier.Name.
	_, err = tls.Dial("tcp", srv.Addr, cfg)
	wantReason(t, err, NoName, "set Verifier.Name")
	cfg = ClientConfig(&Verifier{Roots: p.root.Pool(), Name: "127.0.0.1"})
	c, err = tls.Dial("tcp", srv.Addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	readOne(t, c)
	c.Close()

	// ClientConfig(nil) verifies against the system roots.
	_, err = tls.Dial("tcp", net.JoinHostPort("localhost", port), ClientConfig(nil))
	wantReason(t, err, UnknownAuthority, "system roots")
}

func TestProfiles(t *testing.T) {
	t.Parallel()
	c := ClientConfig(nil)
	if c.MinVersion != tls.VersionTLS12 || c.MaxVersion != tls.VersionTLS13 || len(c.CipherSuites) != 6 {
		t.Fatalf("intermediate: %x-%x %d suites", c.MinVersion, c.MaxVersion, len(c.CipherSuites))
	}
	for _, s := range c.CipherSuites {
		name := tls.CipherSuiteName(s)
		if !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "GCM") || strings.Contains(name, "CHACHA20")) {
			t.Fatalf("suite %s is not ECDHE+AEAD", name)
		}
	}
	want := []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384}
	if len(c.CurvePreferences) != len(want) {
		t.Fatalf("curves %v", c.CurvePreferences)
	}
	for i := range want {
		if c.CurvePreferences[i] != want[i] {
			t.Fatalf("curves %v, want %v", c.CurvePreferences, want)
		}
	}
	if !c.InsecureSkipVerify || c.VerifyConnection == nil {
		t.Fatal("client config must carry the Verifier")
	}
	m := Modern.Client(nil)
	if m.MinVersion != tls.VersionTLS13 || m.CipherSuites != nil {
		t.Fatalf("modern: min %x suites %v", m.MinVersion, m.CipherSuites)
	}
	s := ServerConfig()
	if s.InsecureSkipVerify || s.VerifyConnection != nil || s.MinVersion != tls.VersionTLS12 {
		t.Fatal("server config")
	}
	if Modern.String() != "Modern" || Intermediate.String() != "Intermediate" {
		t.Fatal("profile names")
	}

	// A Modern client cannot talk to a TLS 1.2-only server.
	p := sharedPKI(t)
	srv := serveCert(t, p.inter.Leaf(t), nil, func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 })
	_, err := (&Dialer{Config: Modern.Client(nil), Verifier: &Verifier{Roots: p.root.Pool()}}).Dial("tcp", srv.Addr)
	if err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Fatalf("modern vs TLS 1.2 server: %v", err)
	}
}

// TestDialerWithClientConfig: a config from ClientConfig carries its
// Verifier into the Dialer, which verifies once, with the dialed name.
func TestDialerWithClientConfig(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	srv := serveCert(t, p.inter.Leaf(t), nil, nil)

	c, err := (&Dialer{Config: ClientConfig(&Verifier{Roots: p.root.Pool()})}).Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	readOne(t, c)
	c.Close()

	_, err = (&Dialer{Config: ClientConfig(&Verifier{Roots: p.other.Pool()})}).Dial("tcp", srv.Addr)
	wantReason(t, err, UnknownAuthority)

	// The Dialer's Verifier replaces the config's.
	c, err = (&Dialer{Config: ClientConfig(&Verifier{Roots: p.other.Pool()}), Verifier: &Verifier{Roots: p.root.Pool()}}).Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	readOne(t, c)
	c.Close()

	// A clone is any config with InsecureSkipVerify: the Dialer cannot
	// know its Verifier and says so instead of trusting it blindly.
	_, err = (&Dialer{Config: ClientConfig(&Verifier{Roots: p.root.Pool()}).Clone()}).Dial("tcp", srv.Addr)
	if !errors.Is(err, ErrInsecureConfig) {
		t.Fatalf("a clone of a ClientConfig: got %v, want ErrInsecureConfig", err)
	}

	// A foreign VerifyConnection runs after the Dialer's Verifier.
	called := 0
	cfg := &tls.Config{VerifyConnection: func(tls.ConnectionState) error { called++; return nil }}
	c, err = (&Dialer{Config: cfg, Verifier: &Verifier{Roots: p.root.Pool()}}).Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	readOne(t, c)
	c.Close()
	if called != 1 {
		t.Fatalf("the config's own VerifyConnection ran %d times, want 1", called)
	}
}

// TestClientConfigRegistryForgets: the Dialer's record of which Verifier a
// ClientConfig carries does not keep collected configs alive.
func TestClientConfigRegistryForgets(t *testing.T) {
	var made []weak.Pointer[tls.Config]
	for range 100 {
		cfg := ClientConfig(nil)
		if configVerifier(cfg) == nil {
			t.Fatal("a fresh ClientConfig is not recognized")
		}
		made = append(made, weak.Make(cfg))
	}
	if configVerifier(&tls.Config{}) != nil || configVerifier(nil) != nil {
		t.Fatal("a config of another origin is taken for a ClientConfig")
	}
	registered := func() int {
		n := 0
		for _, k := range made {
			if _, ok := clientConfigs.Load(k); ok {
				n++
			}
		}
		return n
	}
	// Cleanups run on their own goroutine after a collection: wait for
	// them, collection after collection, instead of sleeping.
	for i := 0; registered() > 0 && i < 1000; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if n := registered(); n > 0 {
		t.Fatalf("%d of 100 collected configs are still registered", n)
	}
}
