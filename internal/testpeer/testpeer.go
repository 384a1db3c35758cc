// Package testpeer starts real outside TLS peers for sturdy's tests:
// `openssl s_server` and `s_client` on loopback, and Python 3 scripts that
// use the ssl module. Every process is killed and waited for when the test
// ends, so no peer outlives its test.
//
// A test that needs a peer whose program is missing is skipped with a
// message, except when the environment has CI=true: there a missing peer
// fails the test, because CI must prove interoperability, not skip it.
package testpeer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds how long a peer may take to start listening. It is a
// guard against a peer that hangs, not a speed limit: on a machine busy with
// other work, starting python3 or openssl can take many seconds.
const startTimeout = 2 * time.Minute

// missing skips the test, or fails it under CI=true.
func missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("testpeer: %s is required under CI=true (.ci/run installs it)", what)
	}
	t.Skipf("testpeer: %s not found; install it to run this test", what)
}

var (
	pythonOnce sync.Once
	pythonPath string
	pythonErr  error
)

// OpenSSL returns the path of the openssl command line tool.
func OpenSSL(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		missing(t, "openssl")
	}
	return path
}

// Python returns the path of a python3 whose ssl module imports.
func Python(t testing.TB) string {
	t.Helper()
	pythonOnce.Do(func() {
		pythonPath, pythonErr = exec.LookPath("python3")
		if pythonErr == nil {
			out, err := exec.Command(pythonPath, "-c", "import ssl; print(ssl.OPENSSL_VERSION)").CombinedOutput()
			if err != nil {
				pythonErr = fmt.Errorf("python3 has no usable ssl module: %v: %s", err, out)
			}
		}
	})
	if pythonErr != nil {
		missing(t, "python3 with the ssl module ("+pythonErr.Error()+")")
	}
	return pythonPath
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Prefer letting the peer pick its own port where it can (OpenSSLServer
// does): another process may take this one before it is used.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Proc is a running peer process with pipes to its standard input and
// output. Its standard error is collected for failure messages.
type Proc struct {
	Cmd *exec.Cmd
	// Stdin writes to the process; closing it sends EOF.
	Stdin io.WriteCloser
	// Stdout reads the process's standard output.
	Stdout *bufio.Reader

	stderr lockedBuffer
	done   chan struct{}
	err    error
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Start runs name with args as a peer. The process is killed, if still
// running, and waited for when the test ends.
func Start(t testing.TB, name string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(name, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	p := &Proc{Cmd: cmd, Stdin: stdin, Stdout: bufio.NewReader(stdout), done: make(chan struct{})}
	// Process.Wait (not Cmd.Wait) is used below, so the parent's end of
	// the stdout pipe is closed here, at cleanup.
	stdoutPipe := stdout
	// Standard error comes through a pipe of our own, copied by a
	// goroutine of our own, so that done can wait for the copy to reach
	// EOF. Given a bytes buffer, exec.Cmd would copy in a goroutine that
	// only Cmd.Wait waits for: after Process.Wait the last lines the
	// process wrote before exiting could still be in the pipe, and a test
	// reading Stderr after Wait would miss them.
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	cmd.Stderr = errW
	if err := cmd.Start(); err != nil {
		errR.Close()
		errW.Close()
		t.Fatalf("testpeer: start %s: %v", name, err)
	}
	errW.Close() // the child holds its own copy: EOF comes when it exits
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		defer errR.Close()
		io.Copy(&p.stderr, errR)
	}()
	go func() {
		// Wait only after the test has read what it wanted: exec.Cmd.Wait
		// closes stdout, so it runs once the process has exited by itself
		// or been killed at cleanup.
		err := waitExit(cmd)
		// A process that left a child of its own holding standard error
		// open would keep the copy from ending: bound the wait, as a
		// hang guard only.
		errR.SetReadDeadline(time.Now().Add(startTimeout))
		<-copied
		p.err = err
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stdin.Close()
		_ = cmd.Process.Kill()
		<-p.done
		stdoutPipe.Close()
	})
	return p
}

// waitExit waits for the process without closing the stdout pipe early.
func waitExit(cmd *exec.Cmd) error {
	state, err := cmd.Process.Wait()
	if err != nil {
		return err
	}
	if !state.Success() {
		return fmt.Errorf("%s: %s", cmd.Path, state)
	}
	return nil
}

// Wait waits up to d for the process to exit by itself and returns its
// error (nil on exit status 0). Once it returns, Stderr holds all the
// process wrote to standard error.
func (p *Proc) Wait(d time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		return fmt.Errorf("testpeer: %s still running after %v; stderr:\n%s", p.Cmd.Path, d, p.Stderr())
	}
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stderr returns what the process wrote to standard error so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// ReadUntil reads standard output until a line contains substr and
// returns everything read, or fails the test after d.
func (p *Proc) ReadUntil(t testing.TB, substr string, d time.Duration) string {
	t.Helper()
	type result struct {
		out string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var sb strings.Builder
		for {
			line, err := p.Stdout.ReadString('\n')
			sb.WriteString(line)
			if strings.Contains(line, substr) || err != nil {
				ch <- result{sb.String(), err}
				return
			}
		}
	}()
	select {
	case r := <-ch:
		if !strings.Contains(r.out, substr) {
			t.Fatalf("testpeer: %s: %q not seen (%v); stdout:\n%s\nstderr:\n%s", p.Cmd.Path, substr, r.err, r.out, p.Stderr())
		}
		return r.out
	case <-time.After(d):
		// Kill the process so the reading goroutine ends with it.
		_ = p.Cmd.Process.Kill()
		r := <-ch
		t.Fatalf("testpeer: %s: %q not seen within %v; stdout:\n%s\nstderr:\n%s", p.Cmd.Path, substr, d, r.out, p.Stderr())
		return ""
	}
}

// Server is an openssl s_server listening on loopback.
type Server struct {
	*Proc
	// Addr is "127.0.0.1:PORT", ready to dial.
	Addr string
}

// OpenSSLServer starts `openssl s_server -accept 127.0.0.1:0 args...` and
// returns once it accepts connections. The server picks its own port, so
// parallel tests never race for one. Pass -cert, -key and any other flag
// (-status_file, -alpn, -tls1_3, -naccept ...) in args. Its standard
// input stays open: write "K\n" to Stdin to send a KeyUpdate to the
// connected client, "Q\n" to quit. Do not pass -quiet: it hides the
// ACCEPT line that tells which port the server took.
func OpenSSLServer(t testing.TB, args ...string) *Server {
	t.Helper()
	for _, a := range args {
		if a == "-quiet" {
			t.Fatal("testpeer: OpenSSLServer cannot take -quiet: s_server would not print the port it listens on")
		}
	}
	bin := OpenSSL(t)
	p := Start(t, bin, append([]string{"s_server", "-accept", "127.0.0.1:0"}, args...)...)
	line := p.ReadUntil(t, "ACCEPT", startTimeout)
	i := strings.LastIndex(line, "ACCEPT ")
	addr := strings.TrimSpace(line[i+len("ACCEPT "):])
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatalf("testpeer: cannot read the address from s_server's %q: %v", line, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			// s_server takes this probe as a client; close it at once so
			// it goes back to accepting.
			c.Close()
			break
		}
		if ctx.Err() != nil || p.Exited() {
			t.Fatalf("testpeer: s_server on %s never accepted: %v; stderr:\n%s", addr, err, p.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &Server{Proc: p, Addr: addr}
}

// OpenSSLClient starts `openssl s_client -connect addr args...`. Write to
// Stdin to send application data ("K\n" sends a KeyUpdate, "Q\n" quits)
// and read what the server sent from Stdout.
func OpenSSLClient(t testing.TB, addr string, args ...string) *Proc {
	t.Helper()
	return Start(t, OpenSSL(t), append([]string{"s_client", "-connect", addr}, args...)...)
}

// PythonScript runs `python3 -c script args...` with pipes to its standard
// input and output.
func PythonScript(t testing.TB, script string, args ...string) *Proc {
	t.Helper()
	return Start(t, Python(t), append([]string{"-u", "-c", script}, args...)...)
}
