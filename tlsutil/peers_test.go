package tlsutil

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sturdy-go/sturdy/internal/testpeer"
	"github.com/sturdy-go/sturdy/internal/testpki"
)

// TestOpenSSLServer dials real `openssl s_server` peers serving testpki
// material, with and without a stapled OCSP response (-status_file), in
// TLS 1.3 and 1.2.
func TestOpenSSLServer(t *testing.T) {
	t.Parallel()
	testpeer.OpenSSL(t)
	p := sharedPKI(t)
	leaf := p.inter.Leaf(t)
	dir := t.TempDir()
	certFile, keyFile := leaf.WritePEM(t, dir)
	chainFile := leaf.WriteIntermediatesPEM(t, dir)
	write := func(name string, data []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	good := write("good.der", p.inter.OCSP(t, leaf.Cert, testpki.OCSPGood))
	revoked := write("revoked.der", p.inter.OCSP(t, leaf.Cert, testpki.OCSPRevoked))

	strict := func(mod func(*Verifier)) *Verifier {
		v := &Verifier{Roots: p.root.Pool(), Name: "localhost", Pins: []Pin{PinOf(leaf.Cert)},
			Revocation: RevocationRequireStaple, Strict: true}
		if mod != nil {
			mod(v)
		}
		return v
	}
	cases := []struct {
		name string
		args []string
		v    *Verifier
		want Reason
	}{
		{"tls13/stapled-good", []string{"-tls1_3", "-status_file", good}, strict(nil), 0},
		{"tls12/stapled-good", []string{"-tls1_2", "-status_file", good}, strict(nil), 0},
		{"tls13/stapled-revoked", []string{"-tls1_3", "-status_file", revoked}, strict(nil), Revoked},
		{"tls13/no-staple", []string{"-tls1_3"}, strict(nil), StapleMissing},
		{"tls13/no-staple-if-stapled", []string{"-tls1_3"}, strict(func(v *Verifier) { v.Revocation = RevocationIfStapled }), 0},
		{"tls13/wrong-name", []string{"-tls1_3", "-status_file", good}, strict(func(v *Verifier) { v.Name = "other.test" }), NameMismatch},
		{"tls13/wrong-pin", []string{"-tls1_3", "-status_file", good}, strict(func(v *Verifier) { v.Pins = []Pin{PinOf(p.other.Cert)} }), PinMismatch},
		{"tls13/unknown-root", []string{"-tls1_3", "-status_file", good}, strict(func(v *Verifier) { v.Roots = p.other.Pool() }), UnknownAuthority},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"-cert", certFile, "-key", keyFile, "-cert_chain", chainFile}, tc.args...)
			srv := testpeer.OpenSSLServer(t, args...)
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			c, err := (&Dialer{Verifier: tc.v}).DialContext(ctx, "tcp", srv.Addr)
			wantReason(t, err, tc.want)
			if err != nil {
				return
			}
			defer c.Close()
			cs := c.(*tls.Conn).ConnectionState()
			if tc.v.Revocation == RevocationRequireStaple && len(cs.OCSPResponse) == 0 {
				t.Fatal("no staple received")
			}
			d := Describe(cs)
			if tc.v.Revocation == RevocationRequireStaple && !strings.Contains(d, "OCSP: good") {
				t.Fatalf("Describe lacks the OCSP status:\n%s", d)
			}
			// Prove the connection carries data to the peer.
			if _, err := c.Write([]byte("hello from tlsutil\n")); err != nil {
				t.Fatal(err)
			}
			srv.ReadUntil(t, "hello from tlsutil", hangGuard)
		})
	}
}

// pythonServer is a TLS server written with Python's ssl module: it
// serves the chain file, sends "!" after each handshake and waits for the
// client to close.
const pythonServer = `
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
print("PORT", s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(10)
    try:
        t = ctx.wrap_socket(c, server_side=True)
        print("VERSION", t.version(), flush=True)
        t.sendall(b"!")
        t.recv(1)
        t.close()
    except Exception as e:
        print("ERR", type(e).__name__, flush=True)
        c.close()
`

func TestPythonServer(t *testing.T) {
	t.Parallel()
	testpeer.Python(t)
	p := sharedPKI(t)
	leaf := p.inter.Leaf(t)
	dir := t.TempDir()
	certFile, keyFile := leaf.WritePEM(t, dir)
	py := testpeer.PythonScript(t, pythonServer, certFile, keyFile)
	line := py.ReadUntil(t, "PORT", hangGuard)
	port := strings.TrimSpace(line[strings.LastIndex(line, "PORT ")+len("PORT "):])
	addr := net.JoinHostPort("127.0.0.1", port)

	// The Python peer sends the whole chain from the file.
	v := &Verifier{Roots: p.root.Pool(), Pins: []Pin{PinOf(p.inter.Cert)}, Strict: true}
	c, err := (&Dialer{Verifier: v}).Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial python: %v\nstderr: %s", err, py.Stderr())
	}
	readOne(t, c)
	cs := c.(*tls.Conn).ConnectionState()
	c.Close()
	if len(cs.PeerCertificates) != 2 {
		t.Fatalf("python sent %d certificates", len(cs.PeerCertificates))
	}
	py.ReadUntil(t, "VERSION TLSv1.3", hangGuard)

	// TLS 1.2 through the Intermediate profile's suites.
	cfg := ClientConfig(nil)
	cfg.MaxVersion = tls.VersionTLS12
	c, err = (&Dialer{Config: cfg, Verifier: v}).Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial python (TLS 1.2): %v", err)
	}
	readOne(t, c)
	c.Close()
	py.ReadUntil(t, "VERSION TLSv1.2", hangGuard)

	// Refusals name the cause.
	_, err = (&Dialer{Verifier: &Verifier{Roots: p.root.Pool(), Name: "python.test"}}).Dial("tcp", addr)
	wantReason(t, err, NameMismatch, `not "python.test"`)
	_, err = (&Dialer{Verifier: &Verifier{Roots: p.other.Pool()}}).Dial("tcp", addr)
	wantReason(t, err, UnknownAuthority)
}
