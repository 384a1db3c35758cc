// Command tlspump carries TLS over transports that are not sockets, with
// package bio doing TLS in memory and this program moving the bytes.
//
//	go run ./examples/tlspump
//
// Part one: a bio client and a bio server, driven by one loop on one
// goroutine, exchange ciphertext as framed messages over Go channels (a
// stand-in for a message bus, a tunnel or a user-space network stack).
// Then the client verifies the server with a tlsutil.Verifier wired into
// its tls.Config, once with the pin of the server's key (verified) and
// once with another pin (refused, with the reason).
//
// Part two, where python3 is installed: the same bio client talks to
// Python's ssl.SSLObject with MemoryBIOs, running as a child process, with
// the frames carried over the child's stdin and stdout.
//
// The certificate is made at start: a throwaway self-signed ECDSA
// certificate for "tlspump.test", trusted by the client alone.
//
// The loop is the one package bio documents: flush what the Conn has for
// the peer, and on ErrWantRead feed it what the transport received. A
// frame larger than the Conn's buffers is taken in part (WriteIncoming
// returns a *bio.BufferError with the count kept); the rest is fed after
// Read has made room, so no frame size loses data.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/sturdy-go/sturdy/bio"
	"github.com/sturdy-go/sturdy/tlsutil"
)

func main() { os.Exit(run(os.Stdout, os.Args[1:])) }

func run(w io.Writer, args []string) int {
	fs := flag.NewFlagSet("tlspump", flag.ContinueOnError)
	fs.SetOutput(w)
	python := fs.String("python", "python3", "Python interpreter for part two; empty skips it")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: tlspump [-python path]

tlspump carries TLS over transports that are not sockets: package bio does
TLS in memory and this program moves the ciphertext. Part one joins a bio
client and a bio server with Go channels on one goroutine; part two talks
to Python's ssl.SSLObject over a child process's stdin and stdout.

flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	pki, err := newPKI()
	if err != nil {
		fmt.Fprintf(w, "tlspump: %v\n", err)
		return 1
	}
	fmt.Fprintln(w, "part one: bio client <-> bio server, frames over Go channels, one goroutine")
	if err := channels(w, pki); err != nil {
		fmt.Fprintf(w, "tlspump: %v\n", err)
		return 1
	}
	fmt.Fprintln(w, "part one, verified: a tlsutil.Verifier in the bio client's tls.Config")
	if err := verified(w, pki); err != nil {
		fmt.Fprintf(w, "tlspump: %v\n", err)
		return 1
	}
	fmt.Fprintln(w, "part two: bio client <-> Python ssl.SSLObject, frames over a child's stdin/stdout")
	if *python == "" {
		fmt.Fprintln(w, "   skipped (-python \"\")")
		return 0
	}
	if _, err := exec.LookPath(*python); err != nil {
		fmt.Fprintf(w, "   skipped: %s not found\n", *python)
		return 0
	}
	if err := withPython(w, pki, *python); err != nil {
		fmt.Fprintf(w, "tlspump: %v\n", err)
		return 1
	}
	return 0
}

// frames is a message transport: each Send arrives whole as one Recv.
type frames interface {
	Send(p []byte) error
	Recv() ([]byte, error)
}

// endpoint is a bio.Conn and its transport, with what the transport
// delivered that the Conn has not taken yet.
type endpoint struct {
	conn *bio.Conn
	t    frames
	rest []byte // the part of the last frame the Conn could not take yet
	buf  []byte
}

func newEndpoint(conn *bio.Conn, t frames) *endpoint {
	return &endpoint{conn: conn, t: t, buf: make([]byte, 32<<10)}
}

// flush moves every pending ciphertext byte onto the transport, in frames
// of at most one buffer.
func (e *endpoint) flush() error {
	for e.conn.OutgoingLen() > 0 {
		n, _ := e.conn.ReadOutgoing(e.buf)
		if err := e.t.Send(e.buf[:n]); err != nil {
			return err
		}
	}
	return nil
}

// feed gives the Conn the rest of the last frame, or the next frame once
// that is all taken. A full Conn takes part of it (a *bio.BufferError);
// the rest waits for the next feed, after Read has made room. At the
// transport's end feed calls CloseIncoming.
func (e *endpoint) feed() error {
	if len(e.rest) == 0 {
		p, err := e.t.Recv()
		if err == io.EOF {
			e.conn.CloseIncoming()
			return nil
		}
		if err != nil {
			return err
		}
		e.rest = p
	}
	k, err := e.conn.WriteIncoming(e.rest)
	e.rest = e.rest[k:]
	if err != nil && !errors.Is(err, bio.ErrBufferFull) {
		return err // only after CloseIncoming: a bug of ours
	}
	return nil
}

// handshake runs the handshake to completion over a blocking transport.
func (e *endpoint) handshake() error {
	for {
		err := e.conn.Handshake()
		if ferr := e.flush(); ferr != nil {
			return ferr
		}
		if err != bio.ErrWantRead {
			return err
		}
		if err := e.feed(); err != nil {
			return err
		}
	}
}

// readAll reads n plaintext bytes, feeding the Conn as it asks. A failure
// is returned after its alert has been sent.
func (e *endpoint) readAll(n int) ([]byte, error) {
	var out []byte
	for len(out) < n {
		m, err := e.conn.Read(e.buf)
		out = append(out, e.buf[:m]...)
		if ferr := e.flush(); ferr != nil {
			return out, ferr
		}
		switch {
		case err == nil:
		case err == bio.ErrWantRead:
			if err := e.feed(); err != nil {
				return out, err
			}
		default:
			return out, err
		}
	}
	return out, nil
}

// readToEOF reads until the peer's close_notify.
func (e *endpoint) readToEOF() error {
	for {
		_, err := e.conn.Read(e.buf)
		if ferr := e.flush(); ferr != nil {
			return ferr
		}
		switch {
		case err == io.EOF:
			return nil
		case err == nil:
		case err == bio.ErrWantRead:
			if err := e.feed(); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// chanFrames is one end of a pair of channels.
type chanFrames struct {
	in  <-chan []byte
	out chan<- []byte
}

func (c chanFrames) Send(p []byte) error {
	select {
	case c.out <- append([]byte(nil), p...):
		return nil
	default:
		return errors.New("channel transport full")
	}
}

func (c chanFrames) Recv() ([]byte, error) {
	select {
	case p := <-c.in:
		return p, nil
	default:
		return nil, errors.New("channel transport empty")
	}
}

func (c chanFrames) pending() int { return len(c.in) }

// handshakePair runs the handshakes of a client and a server joined by
// channels in one loop: each turn, every conn that has input gets it, makes
// what progress it can, and flushes. It returns the number of frames fed,
// or the first side's handshake error.
func handshakePair(client, server *endpoint, ct, st chanFrames) (int, error) {
	frameCount := 0
	clientDone, serverDone := false, false
	for turn := 0; !clientDone || !serverDone; turn++ {
		if turn > 100 {
			return frameCount, errors.New("handshake did not finish in 100 turns")
		}
		for _, side := range []struct {
			e    *endpoint
			t    chanFrames
			done *bool
		}{{client, ct, &clientDone}, {server, st, &serverDone}} {
			for side.t.pending() > 0 && len(side.e.rest) == 0 {
				if err := side.e.feed(); err != nil {
					return frameCount, err
				}
				frameCount++
			}
			err := side.e.conn.Handshake()
			if ferr := side.e.flush(); ferr != nil {
				return frameCount, ferr
			}
			switch {
			case err == nil:
				*side.done = true
			case err != bio.ErrWantRead:
				return frameCount, fmt.Errorf("handshake: %w", err)
			case len(side.e.rest) > 0:
				if err := side.e.feed(); err != nil {
					return frameCount, err
				}
			}
		}
	}
	return frameCount, nil
}

// channelPair joins a client and a server endpoint with two channels.
func channelPair(clientCfg, serverCfg *tls.Config) (client, server *endpoint, ct, st chanFrames) {
	a, b := make(chan []byte, 1024), make(chan []byte, 1024)
	ct, st = chanFrames{in: b, out: a}, chanFrames{in: a, out: b}
	return newEndpoint(bio.Client(clientCfg), ct), newEndpoint(bio.Server(serverCfg), st), ct, st
}

// channels runs a client and a server in one loop, on one goroutine: the
// handshake, then application data both ways, then close_notify.
func channels(w io.Writer, pki *pki) error {
	client, server, ct, st := channelPair(pki.clientConfig(), pki.serverConfig())
	start := time.Now()
	frameCount, err := handshakePair(client, server, ct, st)
	if err != nil {
		return err
	}
	cs := client.conn.ConnectionState()
	fmt.Fprintf(w, "   handshake: %s, %s, %d frames, %v\n", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), frameCount, time.Since(start).Round(time.Microsecond))

	// Application data both ways, then close_notify.
	msg := []byte("hello over a channel")
	if _, err := client.conn.Write(msg); err != nil {
		return err
	}
	if err := client.flush(); err != nil {
		return err
	}
	got, err := server.readAll(len(msg))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   server read %q\n", got)

	const bulk = 4 << 20
	payload := make([]byte, 16<<10)
	start = time.Now()
	for sent := 0; sent < bulk; sent += len(payload) {
		if _, err := client.conn.Write(payload); err != nil {
			return err
		}
		if err := client.flush(); err != nil {
			return err
		}
		if _, err := server.readAll(len(payload)); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)
	fmt.Fprintf(w, "   moved %d MiB client->server in %v (%.0f MB/s)\n", bulk>>20, elapsed.Round(time.Millisecond), float64(bulk)/elapsed.Seconds()/1e6)

	if err := client.conn.Close(); err != nil {
		return err
	}
	if err := client.flush(); err != nil {
		return err
	}
	if err := server.readToEOF(); err != nil {
		return fmt.Errorf("server read after close_notify: %v, want EOF", err)
	}
	fmt.Fprintln(w, "   client sent close_notify; server read io.EOF (a clean end, not a truncation)")
	return server.conn.Close()
}

// verified wires a tlsutil.Verifier into a bio client's tls.Config: bio
// takes any config, so every check of the Verifier (here the chain, the
// name and a pin) runs in its VerifyConnection, without a socket. With
// the server key's pin the handshake passes; with another pin it is
// refused, and the error says why.
func verified(w io.Writer, pki *pki) error {
	for _, tc := range []struct {
		what string
		pin  tlsutil.Pin
	}{
		{"the server key's pin", tlsutil.PinOf(pki.cert.Leaf)},
		{"a pin of another key", tlsutil.Pin{}},
	} {
		v := &tlsutil.Verifier{Roots: pki.roots, Pins: []tlsutil.Pin{tc.pin}}
		cfg := tlsutil.ClientConfig(v) // every check of v in cfg.VerifyConnection
		cfg.ServerName = "tlspump.test"
		client, server, ct, st := channelPair(cfg, pki.serverConfig())
		_, err := handshakePair(client, server, ct, st)
		var ve *tlsutil.VerifyError
		switch {
		case err == nil:
			fmt.Fprintf(w, "   with %s: verified, %s\n", tc.what, tls.VersionName(client.conn.ConnectionState().Version))
		case errors.As(err, &ve) && errors.As(err, new(*bio.HandshakeError)):
			fmt.Fprintf(w, "   with %s: refused, %s (a *bio.HandshakeError wrapping the *tlsutil.VerifyError)\n", tc.what, ve.Reason)
		default:
			return fmt.Errorf("with %s: %w", tc.what, err)
		}
	}
	return nil
}

// pipeFrames carries frames as a 4-byte big-endian length and the bytes.
type pipeFrames struct {
	r io.Reader
	w io.Writer
}

func (p pipeFrames) Send(b []byte) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := p.w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := p.w.Write(b)
	return err
}

func (p pipeFrames) Recv() ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(p.r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > 1<<20 {
		return nil, fmt.Errorf("frame of %d bytes is too large", n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(p.r, b)
	return b, err
}

// pythonServer is an echo server over Python's sans-IO TLS object. It
// reads frames on stdin, writes frames on stdout, upper-cases what it
// receives, and answers close_notify with its own.
const pythonServer = `
import ssl, struct, sys
inp, out = sys.stdin.buffer, sys.stdout.buffer
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
rd, wr = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(rd, wr, server_side=True)

def flush():
    data = wr.read()
    if data:
        out.write(struct.pack(">I", len(data)) + data)
        out.flush()

def feed():
    hdr = inp.read(4)
    if len(hdr) < 4:
        rd.write_eof()
        return False
    rd.write(inp.read(struct.unpack(">I", hdr)[0]))
    return True

while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        flush()
        if not feed():
            sys.exit("EOF during handshake")
flush()
while True:
    try:
        data = tls.read(65536)
    except ssl.SSLWantReadError:
        flush()
        if not feed():
            sys.exit("truncated: EOF without close_notify")
        continue
    except ssl.SSLZeroReturnError:
        break
    if not data:
        break
    tls.write(data.upper())
    flush()
try:
    tls.unwrap()
except ssl.SSLWantReadError:
    pass
flush()
print(tls.version(), file=sys.stderr)
`

func withPython(w io.Writer, pki *pki, python string) error {
	dir, err := os.MkdirTemp("", "tlspump")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	certFile, keyFile, err := pki.writePEM(dir)
	if err != nil {
		return err
	}
	cmd := exec.Command(python, "-c", pythonServer, certFile, keyFile)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr lineBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	waited := false
	defer func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	client := newEndpoint(bio.Client(pki.clientConfig()), pipeFrames{r: stdout, w: stdin})

	start := time.Now()
	if err := client.handshake(); err != nil {
		return fmt.Errorf("handshake with Python: %w (python said: %s)", err, stderr.String())
	}
	cs := client.conn.ConnectionState()
	fmt.Fprintf(w, "   handshake with Python: %s, %s, %v (including Python start-up)\n", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), time.Since(start).Round(time.Microsecond))

	msg := "hello, python"
	if _, err := client.conn.Write([]byte(msg)); err != nil {
		return err
	}
	if err := client.flush(); err != nil {
		return err
	}
	got, err := client.readAll(len(msg))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   Python echoed %q\n", got)

	if err := client.conn.Close(); err != nil {
		return err
	}
	if err := client.flush(); err != nil {
		return err
	}
	if err := client.readToEOF(); err != nil {
		return fmt.Errorf("waiting for Python's close_notify: %w", err)
	}
	stdin.Close()
	waited = true
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("python: %v: %s", err, stderr.String())
	}
	fmt.Fprintln(w, "   both sides sent close_notify; Python exited cleanly")
	return nil
}

// lineBuffer collects a child's standard error.
type lineBuffer struct{ b []byte }

func (l *lineBuffer) Write(p []byte) (int, error) { l.b = append(l.b, p...); return len(p), nil }
func (l *lineBuffer) String() string              { return string(l.b) }

// pki is a throwaway self-signed certificate for "tlspump.test": the
// server's certificate and the client's only root.
type pki struct {
	cert  tls.Certificate
	roots *x509.CertPool
}

func newPKI() (*pki, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tlspump.test"},
		DNSNames:              []string{"tlspump.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return &pki{cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots: roots}, nil
}

// writePEM writes the certificate and its key for the Python peer.
func (p *pki) writePEM(dir string) (certFile, keyFile string, err error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(p.cert.PrivateKey)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.cert.Certificate[0]}), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

func (p *pki) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: p.roots, ServerName: "tlspump.test", MinVersion: tls.VersionTLS12}
}

func (p *pki) serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.cert}, MinVersion: tls.VersionTLS12}
}
