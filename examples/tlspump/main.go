// Command tlspump carries TLS over transports that are not sockets, with
// package bio doing TLS in memory and this program moving the bytes.
//
//	go run ./examples/tlspump
//
// Part one: a bio client and a bio server, driven by one loop on one
// goroutine, exchange ciphertext as framed messages over Go channels (a
// stand-in for a message bus, a tunnel or a user-space network stack).
//
// Part two, where python3 is installed: the same bio client talks to
// Python's ssl.SSLObject with MemoryBIOs, running as a child process, with
// the frames carried over the child's stdin and stdout.
//
// Certificates are made at start by a throwaway in-memory CA
// (internal/testpki).
package main

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/sturdy-go/sturdy/bio"
	"github.com/sturdy-go/sturdy/internal/testpki"
)

func main() { os.Exit(run(os.Stdout, os.Args[1:])) }

func run(w io.Writer, args []string) int {
	fs := flag.NewFlagSet("tlspump", flag.ContinueOnError)
	fs.SetOutput(w)
	python := fs.String("python", "python3", "Python interpreter for part two; empty skips it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	pki := newPKI()
	fmt.Fprintln(w, "part one: bio client <-> bio server, frames over Go channels, one goroutine")
	if err := channels(w, pki); err != nil {
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

// flush moves every pending ciphertext byte of c onto t, in frames of at
// most one buffer.
func flush(c *bio.Conn, t frames, buf []byte) error {
	for c.OutgoingLen() > 0 {
		n, err := c.ReadOutgoing(buf)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if err := t.Send(buf[:n]); err != nil {
			return err
		}
	}
	return nil
}

// feed gives c the next frame from t.
func feed(c *bio.Conn, t frames) error {
	p, err := t.Recv()
	if err == io.EOF {
		c.CloseIncoming()
		return nil
	}
	if err != nil {
		return err
	}
	_, err = c.WriteIncoming(p)
	return err
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

// channels runs a client and a server in one loop: each turn, every conn
// that has input gets it, makes what progress it can, and flushes.
func channels(w io.Writer, pki *pki) error {
	a, b := make(chan []byte, 1024), make(chan []byte, 1024)
	ct, st := chanFrames{in: b, out: a}, chanFrames{in: a, out: b}
	client := bio.Client(pki.clientConfig())
	server := bio.Server(pki.serverConfig())
	buf := make([]byte, 32<<10)

	start := time.Now()
	frameCount := 0
	clientDone, serverDone := false, false
	for turn := 0; !clientDone || !serverDone; turn++ {
		if turn > 100 {
			return errors.New("handshake did not finish in 100 turns")
		}
		for _, side := range []struct {
			c    *bio.Conn
			t    chanFrames
			done *bool
		}{{client, ct, &clientDone}, {server, st, &serverDone}} {
			for side.t.pending() > 0 {
				if err := feed(side.c, side.t); err != nil {
					return err
				}
				frameCount++
			}
			err := side.c.Handshake()
			if ferr := flush(side.c, side.t, buf); ferr != nil {
				return ferr
			}
			switch {
			case err == nil:
				*side.done = true
			case !errors.Is(err, bio.ErrWantRead):
				return fmt.Errorf("handshake: %w", err)
			}
		}
	}
	cs := client.ConnectionState()
	fmt.Fprintf(w, "   handshake: %s, %s, %d frames, %v\n", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), frameCount, time.Since(start).Round(time.Microsecond))

	// Application data both ways, then close_notify.
	msg := []byte("hello over a channel")
	if _, err := client.Write(msg); err != nil {
		return err
	}
	if err := flush(client, ct, buf); err != nil {
		return err
	}
	got, err := readAll(server, st, buf, len(msg))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   server read %q\n", got)

	const bulk = 4 << 20
	payload := make([]byte, 16<<10)
	start = time.Now()
	for sent := 0; sent < bulk; sent += len(payload) {
		if _, err := client.Write(payload); err != nil {
			return err
		}
		if err := flush(client, ct, buf); err != nil {
			return err
		}
		if _, err := readAll(server, st, buf, len(payload)); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)
	fmt.Fprintf(w, "   moved %d MiB client->server in %v (%.0f MB/s)\n", bulk>>20, elapsed.Round(time.Millisecond), float64(bulk)/elapsed.Seconds()/1e6)

	if err := client.Close(); err != nil {
		return err
	}
	if err := flush(client, ct, buf); err != nil {
		return err
	}
	for st.pending() > 0 {
		if err := feed(server, st); err != nil {
			return err
		}
	}
	if _, err := server.Read(buf); err != io.EOF {
		return fmt.Errorf("server read after close_notify: %v, want EOF", err)
	}
	fmt.Fprintln(w, "   client sent close_notify; server read io.EOF (a clean end, not a truncation)")
	return server.Close()
}

// readAll reads n plaintext bytes from c, feeding it frames as it asks.
func readAll(c *bio.Conn, t frames, buf []byte, n int) ([]byte, error) {
	var out []byte
	for len(out) < n {
		m, err := c.Read(buf)
		out = append(out, buf[:m]...)
		switch {
		case err == nil:
		case errors.Is(err, bio.ErrWantRead):
			if err := flush(c, t, buf); err != nil {
				return nil, err
			}
			if err := feed(c, t); err != nil {
				return nil, err
			}
		default:
			return nil, err
		}
	}
	return out, nil
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
	certFile, keyFile := pki.server.WritePEM(testpki.Standalone, dir)
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
	t := pipeFrames{r: stdout, w: stdin}
	client := bio.Client(pki.clientConfig())
	buf := make([]byte, 32<<10)

	start := time.Now()
	for {
		err := client.Handshake()
		if ferr := flush(client, t, buf); ferr != nil {
			return ferr
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bio.ErrWantRead) {
			return fmt.Errorf("handshake with Python: %w (python said: %s)", err, stderr.String())
		}
		if err := feed(client, t); err != nil {
			return err
		}
	}
	cs := client.ConnectionState()
	fmt.Fprintf(w, "   handshake with Python: %s, %s, %v (including Python start-up)\n", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), time.Since(start).Round(time.Microsecond))

	msg := "hello, python"
	if _, err := client.Write([]byte(msg)); err != nil {
		return err
	}
	if err := flush(client, t, buf); err != nil {
		return err
	}
	got, err := readAll(client, t, buf, len(msg))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   Python echoed %q\n", got)

	if err := client.Close(); err != nil {
		return err
	}
	if err := flush(client, t, buf); err != nil {
		return err
	}
	for {
		_, err := client.Read(buf)
		if err == io.EOF {
			break
		}
		if !errors.Is(err, bio.ErrWantRead) {
			return fmt.Errorf("waiting for Python's close_notify: %w", err)
		}
		if err := feed(client, t); err != nil {
			return err
		}
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

// pki is a throwaway CA and a server certificate for "tlspump.test".
type pki struct {
	ca     *testpki.CA
	server *testpki.Cert
}

func newPKI() *pki {
	ca := testpki.NewRoot(testpki.Standalone, testpki.CommonName("tlspump CA"))
	return &pki{ca: ca, server: ca.Leaf(testpki.Standalone, testpki.DNS("tlspump.test"))}
}

func (p *pki) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: p.ca.Pool(), ServerName: "tlspump.test", MinVersion: tls.VersionTLS12}
}

func (p *pki) serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.server.TLS()}, MinVersion: tls.VersionTLS12}
}
