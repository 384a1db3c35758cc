package bio

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/benchcpu"
	"github.com/sturdy-go/sturdy/internal/testpeer"
	"github.com/sturdy-go/sturdy/internal/testpki"
)

const benchRecord = 16 << 10

var (
	benchPKIOnce sync.Once
	benchPKI     *pki
)

func getBenchPKI(b *testing.B) *pki {
	benchPKIOnce.Do(func() { benchPKI = newPKI(b) })
	return benchPKI
}

// benchConfigs returns TLS 1.3 configs for a client and a server.
func benchConfigs(b *testing.B) (client, server *tls.Config) {
	p := getBenchPKI(b)
	client, server = p.clientConfig(), p.serverConfig()
	client.MinVersion = tls.VersionTLS13
	return client, server
}

// BenchmarkThroughput moves 16 KiB writes from client to server. The
// baseline, tlspipe, is crypto/tls over net.Pipe: what a user would pick
// to run TLS in memory without this package. bio runs both endpoints on
// one goroutine, one record at a time, so it does all the work of both
// sides on one core; tlspipe runs them on two goroutines. bio-pipelined
// does the same with bio: the client goroutine hands the ciphertext to the
// server goroutine through a channel, as two event loops joined by a
// network would.
func BenchmarkThroughput(b *testing.B) {
	b.Run("bio", func(b *testing.B) { benchBIOThroughput(b) })
	b.Run("bio-pipelined", func(b *testing.B) { benchBIOPipelined(b) })
	b.Run("tlspipe", func(b *testing.B) {
		ccfg, scfg := benchConfigs(b)
		a, z := net.Pipe()
		client, server := tls.Client(a, ccfg), tls.Server(z, scfg)
		done := make(chan error, 1)
		go func() {
			buf := make([]byte, benchRecord)
			for {
				if _, err := server.Read(buf); err != nil {
					done <- err
					return
				}
			}
		}()
		msg := make([]byte, benchRecord)
		for range 16 { // the handshake, and past crypto/tls's small first records
			if _, err := client.Write(msg); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(benchRecord)
		b.ReportAllocs()
		b.ResetTimer()
		cpu := benchcpu.Start()
		for range b.N {
			if _, err := client.Write(msg); err != nil {
				b.Fatal(err)
			}
		}
		cpu.Report(b, 1)
		b.StopTimer()
		client.Close()
		<-done
		server.Close()
	})
}

// benchBIOPipelined runs the client and the server Conn on two goroutines
// joined by a channel of ciphertext buffers.
func benchBIOPipelined(b *testing.B) {
	ccfg, scfg := benchConfigs(b)
	client, server := Client(ccfg), Server(scfg)
	handshake(b, client, server, whole)
	const inFlight = 4
	free := make(chan []byte, inFlight)
	full := make(chan []byte, inFlight)
	for range inFlight {
		free <- make([]byte, 2*benchRecord)
	}
	send := func(n int) { // on the client goroutine
		msg := make([]byte, benchRecord)
		for range n {
			if _, err := client.Write(msg); err != nil {
				panic(err)
			}
			for client.OutgoingLen() > 0 {
				wire := <-free
				k, _ := client.ReadOutgoing(wire)
				full <- wire[:k]
			}
		}
	}
	plain := make([]byte, benchRecord)
	receive := func(n int) { // on the benchmark goroutine
		for want := n * benchRecord; want > 0; {
			wire := <-full
			if _, err := server.WriteIncoming(wire); err != nil {
				b.Fatal(err)
			}
			free <- wire[:cap(wire)]
			for {
				k, err := server.Read(plain)
				want -= k
				if err == ErrWantRead {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	go send(16) // past crypto/tls's small first records
	receive(16)
	b.SetBytes(benchRecord)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := benchcpu.Start()
	go send(b.N)
	receive(b.N)
	cpu.Report(b, 1)
	b.StopTimer()
	client.Close()
	server.Close()
	pump(b, client, server, whole)
}

// benchBIOThroughput runs both Conns on one goroutine: write, move the
// ciphertext, read it all, one record at a time.
func benchBIOThroughput(b *testing.B) {
	ccfg, scfg := benchConfigs(b)
	client, server := Client(ccfg), Server(scfg)
	handshake(b, client, server, whole)
	if got := client.ConnectionState().CipherSuite; got != tls.TLS_AES_128_GCM_SHA256 {
		b.Fatalf("negotiated %s, want TLS_AES_128_GCM_SHA256", tls.CipherSuiteName(got))
	}
	msg := make([]byte, benchRecord)
	wire := make([]byte, 2*benchRecord)
	plain := make([]byte, benchRecord)
	transfer := func() {
		if _, err := client.Write(msg); err != nil {
			b.Fatal(err)
		}
		for {
			n, _ := client.ReadOutgoing(wire)
			if n == 0 {
				break
			}
			if _, err := server.WriteIncoming(wire[:n]); err != nil {
				b.Fatal(err)
			}
		}
		for got := 0; got < benchRecord; {
			n, err := server.Read(plain)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
	// Past crypto/tls's small first records, as in the baseline.
	for range 16 {
		transfer()
	}
	b.SetBytes(benchRecord)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := benchcpu.Start()
	for range b.N {
		transfer()
	}
	cpu.Report(b, 1)
	b.StopTimer()
	client.Close()
	server.Close()
	pump(b, client, server, whole)
}

// BenchmarkHandshake runs full TLS 1.3 handshakes (ECDHE, ECDSA P-256).
func BenchmarkHandshake(b *testing.B) {
	b.Run("bio", func(b *testing.B) {
		ccfg, scfg := benchConfigs(b)
		wire := make([]byte, 16<<10)
		b.ReportAllocs()
		cpu := benchcpu.Start()
		defer cpu.Report(b, 1)
		for range b.N {
			client, server := Client(ccfg), Server(scfg)
			client.Handshake()
			for flow(b, client, server, wire) || flow(b, server, client, wire) {
			}
			if err := client.Handshake(); err != nil {
				b.Fatal(err)
			}
			if err := server.Handshake(); err != nil {
				b.Fatal(err)
			}
			client.Close()
			server.Close()
			flow(b, client, server, wire)
			flow(b, server, client, wire)
		}
	})
	b.Run("tlspipe", func(b *testing.B) {
		ccfg, scfg := benchConfigs(b)
		b.ReportAllocs()
		cpu := benchcpu.Start()
		defer cpu.Report(b, 1)
		for range b.N {
			a, z := net.Pipe()
			client, server := tls.Client(a, ccfg), tls.Server(z, scfg)
			done := make(chan error, 1)
			go func() { done <- server.Handshake() }()
			if err := client.Handshake(); err != nil {
				b.Fatal(err)
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			a.Close()
			z.Close()
		}
	})
}

// flow moves what src has for the peer to dst through wire and reports
// whether anything moved.
func flow(b *testing.B, src, dst *Conn, wire []byte) bool {
	moved := false
	for {
		n, _ := src.ReadOutgoing(wire)
		if n == 0 {
			return moved
		}
		moved = true
		if _, err := dst.WriteIncoming(wire[:n]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVsPython compares bio with Python's ssl.MemoryBIO (OpenSSL),
// both moving 16 KiB writes client to server in memory over TLS 1.3 with
// TLS_AES_128_GCM_SHA256. The Python side runs testdata/bench_memorybio.py
// and is timed from the command to its answer, without its start-up.
func BenchmarkVsPython(b *testing.B) {
	b.Run("bio", func(b *testing.B) { benchBIOThroughput(b) })
	b.Run("python-memorybio", func(b *testing.B) {
		py := startBenchPython(b)
		py.run(b, 16) // warm-up
		b.SetBytes(benchRecord)
		b.ResetTimer()
		cpu := py.run(b, b.N)
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	})
}

type benchPython struct {
	stdin io.Writer
	out   *bufio.Reader
}

// run has Python move n records and returns the CPU time it spent.
func (p *benchPython) run(b *testing.B, n int) time.Duration {
	fmt.Fprintf(p.stdin, "%d\n", n)
	line, err := p.out.ReadString('\n')
	if err != nil {
		b.Fatalf("python: %v", err)
	}
	var cipher string
	var cpuNS int64
	if _, err := fmt.Sscanf(line, "done %s %d", &cipher, &cpuNS); err != nil {
		b.Fatalf("python said %q: %v", line, err)
	}
	if cipher != "TLS_AES_128_GCM_SHA256" {
		b.Fatalf("python negotiated %q, want TLS_AES_128_GCM_SHA256", cipher)
	}
	return time.Duration(cpuNS)
}

// startBenchPython starts the Python side with OpenSSL limited to
// TLS_AES_128_GCM_SHA256, the suite crypto/tls picks on AES hardware.
func startBenchPython(b *testing.B) *benchPython {
	python := testpeer.Python(b)
	p := getBenchPKI(b)
	dir := b.TempDir()
	cert, key := p.server.WritePEM(b, dir)
	ca := testpki.WriteCAPEM(b, dir, p.ca)
	conf := filepath.Join(dir, "openssl.cnf")
	err := os.WriteFile(conf, []byte(strings.Join([]string{
		"openssl_conf = default_conf",
		"[default_conf]",
		"ssl_conf = ssl_sect",
		"[ssl_sect]",
		"system_default = system_default_sect",
		"[system_default_sect]",
		"Ciphersuites = TLS_AES_128_GCM_SHA256",
		"",
	}, "\n")), 0o600)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(python, "testdata/bench_memorybio.py", cert, key, ca)
	cmd.Env = append(os.Environ(), "OPENSSL_CONF="+conf)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	return &benchPython{stdin: stdin, out: bufio.NewReader(stdout)}
}

// idleConns is how many idle connections BenchmarkIdle holds.
const idleConns = 10000

// BenchmarkIdle holds 10,000 idle TLS 1.3 connections after their
// handshake and reports what one connection endpoint costs while it
// waits: B/conn is live heap plus goroutine stacks, split into heap-B/conn
// and stack-B/conn, and goroutines/conn. Each connection is a client and a
// server endpoint of the family's kind, and the figures are per endpoint.
// bio holds Conns fed by the caller; the baseline, tlspipe, is crypto/tls
// over net.Pipe with one goroutine per endpoint blocked in Read, as a
// goroutine-per-connection server runs, each reading into 512 bytes.
func BenchmarkIdle(b *testing.B) {
	b.Run(fmt.Sprintf("bio/conns=%d", idleConns), func(b *testing.B) {
		ccfg, scfg := benchConfigs(b)
		benchIdle(b, func(n int) func() {
			conns := make([]*Conn, 0, 2*n)
			wire := make([]byte, 16<<10)
			one := make([]byte, 1)
			for range n {
				client, server := Client(ccfg), Server(scfg)
				client.Handshake()
				for flow(b, client, server, wire) || flow(b, server, client, wire) {
				}
				// As with crypto/tls: the client has read its session
				// tickets.
				server.Write([]byte("x"))
				flow(b, server, client, wire)
				if _, err := client.Read(one); err != nil {
					b.Fatal(err)
				}
				conns = append(conns, client, server)
			}
			return func() {
				for _, c := range conns {
					c.Close()
					c.CloseIncoming()
				}
			}
		})
	})
	b.Run(fmt.Sprintf("tlspipe/conns=%d", idleConns), func(b *testing.B) {
		ccfg, scfg := benchConfigs(b)
		benchIdle(b, func(n int) func() {
			conns := make([]*tls.Conn, 0, 2*n)
			var wg sync.WaitGroup
			for range n {
				a, z := net.Pipe()
				client, server := tls.Client(a, ccfg), tls.Server(z, scfg)
				done := make(chan error, 1)
				go func() { done <- server.Handshake() }()
				if err := client.Handshake(); err != nil {
					b.Fatal(err)
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				for _, c := range []*tls.Conn{client, server} {
					wg.Go(func() {
						buf := make([]byte, 512)
						for {
							if _, err := c.Read(buf); err != nil {
								return
							}
						}
					})
				}
				// The client has read its session tickets (its goroutine
				// reads the "x").
				if _, err := server.Write([]byte("x")); err != nil {
					b.Fatal(err)
				}
				conns = append(conns, client, server)
			}
			return func() {
				for _, c := range conns {
					c.NetConn().Close()
				}
				wg.Wait()
			}
		})
	})
}

// benchIdle measures what hold(n) keeps alive: it opens n idle
// connections and returns how to close them.
func benchIdle(b *testing.B, hold func(n int) (closeAll func())) {
	b.ReportAllocs()
	var heap, stack, goroutines float64
	for range b.N {
		before, g0 := liveMemory()
		closeAll := hold(idleConns)
		after, g1 := liveMemory()
		endpoints := float64(2 * idleConns)
		heap += float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / endpoints
		stack += float64(int64(after.StackInuse)-int64(before.StackInuse)) / endpoints
		goroutines += float64(g1-g0) / endpoints
		closeAll()
	}
	n := float64(b.N)
	b.ReportMetric((heap+stack)/n, "B/conn")
	b.ReportMetric(heap/n, "heap-B/conn")
	b.ReportMetric(stack/n, "stack-B/conn")
	b.ReportMetric(goroutines/n, "goroutines/conn")
}

// liveMemory collects garbage, then reads the heap and stack figures and
// the number of goroutines.
func liveMemory() (runtime.MemStats, int) {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m, runtime.NumGoroutine()
}
