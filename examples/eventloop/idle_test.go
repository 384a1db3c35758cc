package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The idle load test: real TCP clients on loopback, in a process of their
// own, each holding one idle TLS connection, and the memory the server
// process holds for them.

// idleClientsEnv, when set ("ADDR N CAFILE"), turns the test binary into
// the client process of the idle load test: see idleClients.
const idleClientsEnv = "EVENTLOOP_IDLE_CLIENTS"

// idleTimeout bounds the whole load test, as a hang guard only: 10,000
// handshakes take seconds, even on a busy machine.
const idleTimeout = 10 * time.Minute

func TestMain(m *testing.M) {
	if spec := os.Getenv(idleClientsEnv); spec != "" {
		os.Exit(idleClients(spec))
	}
	os.Exit(m.Run())
}

// idleClients is the client process: it opens n TLS connections to addr,
// each a crypto/tls client with default settings that completes its
// handshake, sends "x\n" and reads the echo (so the server's side of the
// handshake is complete too, and the client has read its session tickets).
// Then it prints "ready" and holds the connections, idle, until its
// standard input ends.
func idleClients(spec string) int {
	f := strings.Fields(spec)
	if len(f) != 3 {
		fmt.Fprintf(os.Stderr, "%s: want \"ADDR N CAFILE\", got %q\n", idleClientsEnv, spec)
		return 2
	}
	addr := f[0]
	n, err := strconv.Atoi(f[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	pemBytes, err := os.ReadFile(f[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	cfg := &tls.Config{RootCAs: roots, ServerName: "localhost"}
	conns := make([]net.Conn, n)
	errs := make(chan error, n)
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range 16 { // enough handshakes in flight to keep the server busy
		wg.Go(func() {
			buf := make([]byte, 2)
			for i := range next {
				raw, err := net.DialTimeout("tcp", addr, idleTimeout)
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				raw.SetDeadline(time.Now().Add(idleTimeout))
				c := tls.Client(raw, cfg)
				if _, err := c.Write([]byte("x\n")); err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "x\n" {
					errs <- fmt.Errorf("connection %d: echo %q, %v", i, buf, err)
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin) // until the test is done measuring
	for _, c := range conns {
		c.Close()
	}
	return 0
}

// idleServer is a server under the load test: its address, and how to stop
// it once every client has gone.
type idleServer struct {
	addr string
	stop func()
}

// startExample runs the example's server with the -loops default.
func startExample(tb testing.TB, cfg *tls.Config) idleServer {
	srv := &Server{Config: cfg, Loops: 1}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	return idleServer{addr: srv.Addr().String(), stop: func() {
		deadline := time.Now().Add(idleTimeout)
		for st := srv.Stats(); st.Closed < st.Opened && time.Now().Before(deadline); st = srv.Stats() {
			time.Sleep(10 * time.Millisecond)
		}
		if err := srv.Stop(); err != nil {
			tb.Errorf("Stop: %v", err)
		}
	}}
}

// startCryptoTLS runs the baseline: a plain crypto/tls echo server with a
// goroutine per connection running io.Copy, as most Go TLS servers are
// written.
func startCryptoTLS(tb testing.TB, cfg *tls.Config) idleServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tl := tls.NewListener(ln, cfg)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				io.Copy(c, c)
			})
		}
	})
	return idleServer{addr: ln.Addr().String(), stop: func() {
		ln.Close()
		wg.Wait() // every connection ends with its client
	}}
}

// idleFigures is what one server holds per idle connection.
type idleFigures struct {
	heap, stack, goroutines float64 // per connection: HeapInuse and StackInuse bytes, goroutines
}

func (f idleFigures) bytes() float64 { return f.heap + f.stack }

// measureIdle starts a server, has n clients in another process open idle
// TLS connections to it, and returns the live heap and stacks the server
// process holds for them after a collection, per connection: what it
// holds with them less what it held idle before they came.
func measureIdle(tb testing.TB, n int, start func(testing.TB, *tls.Config) idleServer) idleFigures {
	tb.Helper()
	raiseFileLimit(tb, n)
	cert, err := SelfSigned("localhost")
	if err != nil {
		tb.Fatal(err)
	}
	caFile := filepath.Join(tb.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		tb.Fatal(err)
	}
	srv := start(tb, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	defer srv.stop()

	ctx, cancel := context.WithTimeout(context.Background(), idleTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %s", idleClientsEnv, srv.addr, n, caFile))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	before, g0 := liveMemory()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		stdin.Close() // the clients close their connections and exit
		if err := cmd.Wait(); err != nil {
			tb.Errorf("client process: %v", err)
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		tb.Fatalf("client process: %q, %v (its errors are above)", line, err)
	}
	after, g1 := liveMemory()
	return idleFigures{
		heap:       float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / float64(n),
		stack:      float64(int64(after.StackInuse)-int64(before.StackInuse)) / float64(n),
		goroutines: float64(g1-g0) / float64(n),
	}
}

// liveMemory collects garbage (twice: a sync.Pool empties over two
// collections) and reads the heap and stack figures.
func liveMemory() (runtime.MemStats, int) {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m, runtime.NumGoroutine()
}

// raiseFileLimit makes room for n server sockets in this process (the
// clients have a process of their own), raising the soft limit up to the
// hard one; it skips the test where even that is too low.
func raiseFileLimit(tb testing.TB, n int) {
	tb.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Skipf("cannot read the open file limit: %v", err)
	}
	need := uint64(n + 256)
	if lim.Cur >= need {
		return
	}
	if lim.Max < need {
		tb.Skipf("the open file limit is %d; %d idle connections need %d (raise ulimit -n)", lim.Max, n, need)
	}
	lim.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Skipf("cannot raise the open file limit to %d: %v", need, err)
	}
}

// TestIdleMemory is the load test: 10,000 clients hold idle TLS
// connections to the example's server, then to a crypto/tls server with a
// goroutine and io.Copy per connection; the example must hold at most
// 8 KB per connection, and at most a fifth of what the crypto/tls server
// holds.
func TestIdleMemory(t *testing.T) {
	n := idleClientCount
	ex := measureIdle(t, n, startExample)
	base := measureIdle(t, n, startCryptoTLS)
	t.Logf("%d idle TLS connections: example %.0f B/conn (heap %.0f, stacks %.0f, %.2f goroutines/conn); crypto/tls %.0f B/conn (heap %.0f, stacks %.0f, %.2f goroutines/conn); %.2fx",
		n, ex.bytes(), ex.heap, ex.stack, ex.goroutines, base.bytes(), base.heap, base.stack, base.goroutines, ex.bytes()/base.bytes())
	if ex.bytes() > 8<<10 {
		t.Errorf("the example holds %.0f bytes per idle connection, want at most 8 KB", ex.bytes())
	}
	if ex.bytes() > 0.2*base.bytes() {
		t.Errorf("the example holds %.2fx what the crypto/tls server holds per idle connection, want at most 0.2x", ex.bytes()/base.bytes())
	}
}

// BenchmarkIdleServer is the load test as a benchmark, for the README's
// table (internal/benchratio): B/conn is the live heap (HeapInuse) plus
// goroutine stacks the server process holds per idle TLS connection, with
// 10,000 real clients in a process of their own, split into heap-B/conn
// and stack-B/conn, and goroutines/conn. "example" is this program's
// server (gnet + bio, one event loop); "cryptotls" a crypto/tls server with
// a goroutine and io.Copy per connection. Run it with -benchtime 1x: one
// operation is the whole load test.
func BenchmarkIdleServer(b *testing.B) {
	for _, s := range []struct {
		name  string
		start func(testing.TB, *tls.Config) idleServer
	}{{"example", startExample}, {"cryptotls", startCryptoTLS}} {
		b.Run(fmt.Sprintf("%s/conns=%d", s.name, idleClientCount), func(b *testing.B) {
			var sum idleFigures
			for range b.N {
				f := measureIdle(b, idleClientCount, s.start)
				sum.heap += f.heap
				sum.stack += f.stack
				sum.goroutines += f.goroutines
			}
			n := float64(b.N)
			b.ReportMetric(sum.bytes()/n, "B/conn")
			b.ReportMetric(sum.heap/n, "heap-B/conn")
			b.ReportMetric(sum.stack/n, "stack-B/conn")
			b.ReportMetric(sum.goroutines/n, "goroutines/conn")
		})
	}
}
