package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/testpeer"
	"github.com/sturdy-go/sturdy/internal/testpki"
)

// TestClientAndAllowNames covers Verifier.Client and AllowNames on chains
// given by hand, in both roles.
func TestClientAndAllowNames(t *testing.T) {
	t.Parallel()
	root := testpki.NewRoot(t, testpki.CommonName("mesh root"))
	ca := root.Intermediate(t, testpki.CommonName("mesh intermediate"))
	clientOnly := testpki.EKU(x509.ExtKeyUsageClientAuth)
	api := ca.Leaf(t, testpki.URIs("spiffe://example.org/ns/prod/sa/api"), clientOnly)
	web := ca.Leaf(t, testpki.DNS("web.example.org"), testpki.IPs(net.IPv4(10, 0, 0, 7)), clientOnly)
	wild := ca.Leaf(t, testpki.DNS("*.svc.example.org"), clientOnly)
	plainURI := ca.Leaf(t, testpki.URIs("urn:example:device:42"), clientOnly)
	serverOnly := ca.Leaf(t, testpki.URIs("spiffe://example.org/ns/prod/sa/api"), testpki.EKU(x509.ExtKeyUsageServerAuth))
	twoURIs := ca.Leaf(t, testpki.URIs("spiffe://example.org/ns/prod/sa/api", "spiffe://example.org/ns/prod/sa/db"), clientOnly)
	caLeaf := ca.Leaf(t, testpki.URIs("spiffe://example.org/ns/prod/sa/api"), testpki.IsCA(), clientOnly)
	badID := ca.Leaf(t, testpki.URIs("spiffe://example.org/ns//api"), clientOnly)
	serverSVID := ca.Leaf(t, testpki.URIs("spiffe://example.org/ns/prod/sa/frontend"), testpki.EKU(x509.ExtKeyUsageServerAuth))

	client := func(allow ...string) Verifier { return Verifier{Roots: root.Pool(), Client: true, AllowNames: allow} }
	cases := []struct {
		name string
		cert *testpki.Cert
		v    Verifier
		want Reason
		msg  string
	}{
		{"client/any-name", web, client(), 0, ""},
		{"client/serverAuth-only", serverOnly, client(), MissingClientAuth, "clientAuth"},
		{"client/Name-set", web, Verifier{Roots: root.Pool(), Client: true, Name: "web.example.org"}, 0, ""},
		{"client/Name-mismatch", web, Verifier{Roots: root.Pool(), Client: true, Name: "db.example.org"}, NameMismatch, "db.example.org"},
		{"client/ServerName-ignored", web, client(), 0, ""},
		{"allow/dns", web, client("db.example.org", "web.example.org"), 0, ""},
		{"allow/dns-wildcard", wild, client("api.svc.example.org"), 0, ""},
		{"allow/ip", web, client("10.0.0.7"), 0, ""},
		{"allow/ip-bracketed", web, client("[10.0.0.7]"), 0, ""},
		{"allow/uri", plainURI, client("urn:example:device:42"), 0, ""},
		{"allow/uri-other", plainURI, client("urn:example:device:43"), NameNotAllowed, "urn:example:device:43"},
		{"allow/dns-none", web, client("db.example.org"), NameNotAllowed, "DNS:web.example.org"},
		{"spiffe/exact", api, client("spiffe://example.org/ns/prod/sa/api"), 0, ""},
		{"spiffe/trust-domain", api, client("spiffe://example.org"), 0, ""},
		{"spiffe/other-id", api, client("spiffe://example.org/ns/prod/sa/db"), NameNotAllowed, "spiffe://example.org/ns/prod/sa/db"},
		{"spiffe/other-domain", api, client("spiffe://example.com"), NameNotAllowed, ""},
		{"spiffe/prefix-is-not-parent", api, client("spiffe://example.org/ns/prod"), NameNotAllowed, ""},
		{"spiffe/no-uri", web, client("spiffe://example.org"), NameNotAllowed, ""},
		{"svid/two-uris", twoURIs, client("spiffe://example.org"), BadSVID, "exactly one"},
		{"svid/ca", caLeaf, client("spiffe://example.org"), BadSVID, "CA"},
		{"svid/malformed-id", badID, client("spiffe://example.org"), BadSVID, "empty segment"},
		{"config/bad-spiffe", api, client("spiffe://Example.org"), BadAllowNames, "trust domain"},
		{"config/bad-dns", api, client("*.example.org"), BadAllowNames, "wildcard"},
		{"config/empty", api, client(""), BadAllowNames, "empty"},
		{"server/allow-spiffe", serverSVID, Verifier{Roots: root.Pool(), AllowNames: []string{"spiffe://example.org/ns/prod/sa/frontend"}}, 0, ""},
		{"server/allow-wrong", serverSVID, Verifier{Roots: root.Pool(), Name: "ignored.example.org", AllowNames: []string{"spiffe://example.org/ns/prod/sa/api"}}, NameNotAllowed, ""},
		{"server/clientAuth-leaf", api, Verifier{Roots: root.Pool(), AllowNames: []string{"spiffe://example.org"}}, MissingServerAuth, "serverAuth"},
		{"strict/client", api, Verifier{Roots: root.Pool(), Client: true, Strict: true, AllowNames: []string{"spiffe://example.org"}}, 0, ""},
		{"strict/client-serverAuth", serverOnly, Verifier{Roots: root.Pool(), Client: true, Strict: true}, MissingClientAuth, "clientAuth"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tc.v.VerifyChain(tc.cert.Chain, nil)
			var msgs []string
			if tc.msg != "" {
				msgs = append(msgs, tc.msg)
			}
			wantReason(t, err, tc.want, msgs...)
			// The same through VerifyConnection, with a ServerName that
			// Client and AllowNames must ignore.
			err = tc.v.VerifyConnection(tls.ConnectionState{PeerCertificates: tc.cert.Chain, ServerName: "sni.example.net"})
			wantReason(t, err, tc.want, msgs...)
		})
	}
}

// mutualServer serves MutualServerConfig on loopback: after each handshake
// it writes "hello\n" and closes; every handshake's result is sent on the
// returned channel.
func mutualServer(t *testing.T, cfg *tls.Config) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan error, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := tls.Server(c, cfg)
			_ = tc.SetDeadline(time.Now().Add(30 * time.Second))
			err = tc.Handshake()
			if err == nil {
				_, err = tc.Write([]byte("hello\n"))
			}
			results <- err
			tc.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String(), results
}

// waitResult waits for the server's verdict on one handshake.
func waitResult(t *testing.T, results <-chan error) error {
	t.Helper()
	select {
	case err := <-results:
		return err
	case <-time.After(hangGuard):
		t.Fatal("the server never finished a handshake")
		return nil
	}
}

// TestMutualTLSRealClients: openssl s_client -cert/-key and Python's ssl
// present client certificates to a MutualServerConfig server.
func TestMutualTLSRealClients(t *testing.T) {
	t.Parallel()
	serverRoot := testpki.NewRoot(t, testpki.CommonName("server root"))
	clientRoot := testpki.NewRoot(t, testpki.CommonName("client root"))
	stranger := testpki.NewRoot(t, testpki.CommonName("stranger root"))
	dir := t.TempDir()
	certFile, keyFile := serverRoot.Intermediate(t).Leaf(t).WritePEM(t, dir)
	serverCA := testpki.WriteCAPEM(t, dir, serverRoot)
	certs, err := NewReloader(ReloadConfig{CertFile: certFile, KeyFile: keyFile, Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer certs.Close()
	cfg := MutualServerConfig(certs, &Verifier{Roots: clientRoot.Pool(), AllowNames: []string{"spiffe://example.org/ns/prod"}})

	clientAuth := testpki.EKU(x509.ExtKeyUsageClientAuth)
	write := func(c *testpki.Cert) (string, string) { return c.WritePEM(t, t.TempDir()) }
	good := clientRoot.Leaf(t, testpki.URIs("spiffe://example.org/ns/prod"), clientAuth)
	wrongID := clientRoot.Leaf(t, testpki.URIs("spiffe://example.org/ns/dev"), clientAuth)
	foreign := stranger.Leaf(t, testpki.URIs("spiffe://example.org/ns/prod"), clientAuth)

	type client struct {
		name string
		cert *testpki.Cert
		want Reason // 0: accepted; -1: refused by crypto/tls (no certificate)
	}
	clients := []client{
		{"good", good, 0},
		{"wrong-spiffe-id", wrongID, NameNotAllowed},
		{"unknown-ca", foreign, UnknownAuthority},
		{"no-certificate", nil, -1},
	}
	check := func(t *testing.T, c client, err error) {
		t.Helper()
		switch c.want {
		case 0:
			if err != nil {
				t.Fatalf("server refused a good client: %v", err)
			}
		case -1:
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("server accepted a client without a certificate: %v", err)
			}
		default:
			wantReason(t, err, c.want)
		}
	}

	t.Run("openssl", func(t *testing.T) {
		testpeer.OpenSSL(t)
		for _, c := range clients {
			t.Run(c.name, func(t *testing.T) {
				addr, results := mutualServer(t, cfg)
				args := []string{"-CAfile", serverCA, "-servername", "localhost", "-verify_return_error"}
				if c.cert != nil {
					cf, kf := write(c.cert)
					args = append(args, "-cert", cf, "-key", kf)
				}
				p := testpeer.OpenSSLClient(t, addr, args...)
				check(t, c, waitResult(t, results))
				if c.want == 0 {
					p.ReadUntil(t, "hello", hangGuard)
				}
			})
		}
	})

	t.Run("python", func(t *testing.T) {
		testpeer.Python(t)
		const script = `
import socket, ssl, sys
host, port, ca, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=ca)
if cert:
    ctx.load_cert_chain(cert, key)
with socket.create_connection((host, port)) as s:
    with ctx.wrap_socket(s, server_hostname="localhost") as t:
        try:
            print("got", t.recv(100).decode().strip())
        except (ssl.SSLError, OSError) as e:
            print("error", e)
`
		for _, c := range clients {
			t.Run(c.name, func(t *testing.T) {
				addr, results := mutualServer(t, cfg)
				host, port, _ := net.SplitHostPort(addr)
				cf, kf := "", ""
				if c.cert != nil {
					cf, kf = write(c.cert)
				}
				p := testpeer.PythonScript(t, script, host, port, serverCA, cf, kf)
				check(t, c, waitResult(t, results))
				if c.want == 0 {
					p.ReadUntil(t, "got hello", hangGuard)
				} else {
					p.ReadUntil(t, "error", hangGuard)
				}
			})
		}
	})
}

// TestMutualTLSResumed: a resumed session is verified again on the server,
// so a client whose certificate stopped being acceptable is refused on
// resumption too.
func TestMutualTLSResumed(t *testing.T) {
	t.Parallel()
	root := testpki.NewRoot(t)
	dir := t.TempDir()
	certFile, keyFile := root.Leaf(t).WritePEM(t, dir)
	certs, err := NewReloader(ReloadConfig{CertFile: certFile, KeyFile: keyFile, Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer certs.Close()
	clientCert := root.Leaf(t, testpki.URIs("spiffe://example.org/a"), testpki.EKU(x509.ExtKeyUsageClientAuth))
	var (
		mu      sync.Mutex
		revoked []*x509.Certificate
	)
	v := &Verifier{Roots: root.Pool(), AllowNames: []string{"spiffe://example.org"},
		CRL: func(*x509.Certificate) (*x509.RevocationList, error) {
			mu.Lock()
			defer mu.Unlock()
			return root.CRL(t, time.Now().Add(time.Hour), revoked...), nil
		}}
	cfg := MutualServerConfig(certs, v)
	inner := cfg.VerifyConnection
	resumes := make(chan bool, 8)
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		resumes <- cs.DidResume
		return inner(cs)
	}
	addr, results := mutualServer(t, cfg)

	ccfg := ClientConfig(&Verifier{Roots: root.Pool(), Name: "localhost"})
	ccfg.Certificates = []tls.Certificate{clientCert.TLS()}
	ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	dial := func() (bool, error) {
		c, err := (&Dialer{Config: ccfg}).Dial("tcp", addr)
		if err != nil {
			return false, err
		}
		defer c.Close()
		var b [1]byte
		if _, err := c.Read(b[:]); err != nil {
			return false, err
		}
		return c.(*tls.Conn).ConnectionState().DidResume, nil
	}
	_, derr := dial()
	if err := waitResult(t, results); err != nil {
		t.Fatal(err, derr)
	}
	resumed, err := dial()
	if err != nil || !resumed {
		t.Fatalf("second dial: resumed=%v err=%v", resumed, err)
	}
	if err := waitResult(t, results); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	revoked = append(revoked, clientCert.Cert)
	mu.Unlock()
	_, _ = dial() // TLS 1.3: the client may finish before the server refuses
	err = waitResult(t, results)
	wantReason(t, err, Revoked)
	if got := []bool{<-resumes, <-resumes, <-resumes}; got[0] || !got[1] || !got[2] {
		t.Fatalf("server-side DidResume per handshake: %v, want [false true true]", got)
	}
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatal(err)
	}
}

// TestClientConfigsDoNotShareSessions: a session resumes the client
// certificate it was made with, so two configs with different client
// certificates must not resume each other's sessions.
func TestClientConfigsDoNotShareSessions(t *testing.T) {
	t.Parallel()
	root := testpki.NewRoot(t)
	dir := t.TempDir()
	certFile, keyFile := root.Leaf(t).WritePEM(t, dir)
	certs, err := NewReloader(ReloadConfig{CertFile: certFile, KeyFile: keyFile, Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer certs.Close()
	cfg := MutualServerConfig(certs, &Verifier{Roots: root.Pool()})
	inner := cfg.VerifyConnection
	seen := make(chan string, 8)
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		seen <- cs.PeerCertificates[0].URIs[0].String()
		return inner(cs)
	}
	addr, results := mutualServer(t, cfg)
	for _, id := range []string{"spiffe://example.org/alice", "spiffe://example.org/bob", "spiffe://example.org/bob"} {
		ccfg := ClientConfig(&Verifier{Roots: root.Pool(), Name: "localhost"})
		ccfg.Certificates = []tls.Certificate{root.Leaf(t, testpki.URIs(id), testpki.EKU(x509.ExtKeyUsageClientAuth)).TLS()}
		c, err := (&Dialer{Config: ccfg}).Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		readOne(t, c)
		c.Close()
		if err := waitResult(t, results); err != nil {
			t.Fatal(err)
		}
		if got := <-seen; got != id {
			t.Fatalf("the server saw %s for a client presenting %s: a session of another config was resumed", got, id)
		}
	}
}
