package bio

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/sturdy-go/sturdy/internal/testpeer"
	"github.com/sturdy-go/sturdy/internal/testpki"
)

// procRW is the transport to a peer process: its stdout in, its stdin out.
type procRW struct {
	io.Reader
	io.WriteCloser
}

// startPython runs testdata/peer.py in role and mode with the test PKI.
func startPython(t *testing.T, p *pki, role, mode string) *testpeer.Proc {
	t.Helper()
	script, err := os.ReadFile("testdata/peer.py")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key := p.server.WritePEM(t, dir)
	ca := testpki.WriteCAPEM(t, dir, p.ca)
	// "python3 -c script" leaves sys.argv[0] as "-c": the arguments follow.
	return testpeer.PythonScript(t, string(script), role, mode, cert, key, ca)
}

// TestPythonMemoryBIO runs a real ssl.SSLObject + MemoryBIO peer over the
// subprocess's stdin and stdout, in both roles, through the close and
// truncation cases.
func TestPythonMemoryBIO(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	for _, role := range []string{"client", "server"} {
		for _, mode := range []string{"close", "truncate", "wait-close", "wait-truncate"} {
			t.Run("python-"+role+"/"+mode, func(t *testing.T) {
				t.Parallel()
				pyMode := mode
				if strings.HasPrefix(mode, "wait") {
					pyMode = "wait"
				}
				proc := startPython(t, p, role, pyMode)
				var c *Conn
				if role == "client" {
					c = Server(p.serverConfig())
				} else {
					c = Client(p.clientConfig())
				}
				s := NewStream(c, procRW{proc.Stdout, proc.Stdin})
				if _, err := s.Write([]byte("from go\n")); err != nil {
					t.Fatalf("Write: %v; python says:\n%s", err, proc.Stderr())
				}
				got, err := readLine(s)
				if err != nil || got != "echo:FROM GO\n" {
					t.Fatalf("read %q, %v; python says:\n%s", got, err, proc.Stderr())
				}
				var want string
				switch mode {
				case "close":
					// Python sends close_notify and waits for ours.
					if n, err := s.Read(make([]byte, 1)); err != io.EOF {
						t.Fatalf("Read = %d, %v; want io.EOF", n, err)
					}
					if err := s.CloseWrite(); err != nil {
						t.Fatal(err)
					}
					want = "closed"
				case "truncate":
					if n, err := s.Read(make([]byte, 1)); err != ErrTruncated {
						t.Fatalf("Read = %d, %v; want ErrTruncated", n, err)
					}
					want = "truncating"
				case "wait-close":
					if err := s.CloseWrite(); err != nil {
						t.Fatal(err)
					}
					proc.Stdin.Close()
					want = "peer-close-notify"
				case "wait-truncate":
					proc.Stdin.Close() // EOF with no close_notify
					want = "peer-truncated"
				}
				if err := proc.Wait(peerTimeout); err != nil {
					t.Fatalf("python: %v\n%s", err, proc.Stderr())
				}
				// Wait returns once Python's standard error has been read
				// to its end, so its last report, written just before it
				// exited, is in Stderr.
				if !strings.Contains(proc.Stderr(), want) {
					t.Fatalf("python reported:\n%s\nwant %q", proc.Stderr(), want)
				}
				s.Close()
				if !finished(c) {
					t.Fatal("engine still runs after Close")
				}
			})
		}
	}
}

// readLine reads from r until a newline.
func readLine(r io.Reader) (string, error) {
	var line []byte
	buf := make([]byte, 256)
	for !bytes.HasSuffix(line, []byte("\n")) {
		n, err := r.Read(buf)
		line = append(line, buf[:n]...)
		if err != nil {
			return string(line), err
		}
	}
	return string(line), nil
}
