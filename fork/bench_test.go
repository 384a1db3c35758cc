//go:build linux

package fork

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/benchcpu"
)

// BenchmarkStart starts /bin/true with two files and waits for it: Start
// against the exec.Cmd a user would otherwise write, with ExtraFiles.
func BenchmarkStart(b *testing.B) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true(1) to start")
	}
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	data, err := os.Create(filepath.Join(b.TempDir(), "data"))
	if err != nil {
		b.Fatal(err)
	}
	defer data.Close()
	b.Run("fork", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			cmd := exec.Command(truePath)
			if err := Start(cmd, NamedFile{"pipe", w}, NamedFile{"data", data}); err != nil {
				b.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("exec", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			cmd := exec.Command(truePath)
			cmd.ExtraFiles = []*os.File{w, data}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUpgrade measures spawn-to-ready: an Upgrade whose new process
// (internal/forkready, the smallest such Go program) adopts the listener
// and calls Ready, and reports the p50 and p99 of the Upgrade calls. Its
// baseline, exec, starts the same program with exec.Cmd and waits for it
// to exit after Init: the bare cost of running that Go program.
func BenchmarkUpgrade(b *testing.B) {
	exe := buildHelper(b, "forkready")
	b.Run("upgrader", func(b *testing.B) {
		b.ReportAllocs()
		lat := make([]time.Duration, 0, b.N)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			u, err := NewUpgrader(UpgradeOptions{Path: exe, Args: []string{}, Env: append(os.Environ(), envAddr+"=127.0.0.1:0")})
			if err != nil {
				b.Fatal(err)
			}
			ln, err := u.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			if err := u.Ready(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			if err := u.Upgrade(); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			b.StopTimer()
			u.Stop()
			ln.Close()
			<-u.successorDone()
			b.StartTimer()
		}
		reportPercentiles(b, lat)
	})
	b.Run("exec", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), "FORKREADY_EXIT=1")
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkServe measures what Upgrader.Serve adds to serving (a wrapped
// handler, a ConnState hook): GET requests from one client through Serve
// (fork) against plain srv.Serve (serve) on the same kind of listener,
// from the same Upgrader; on one kept-alive connection, and on a fresh
// connection per request. cpu-ns/op is the whole process's CPU per
// request, client included.
func BenchmarkServe(b *testing.B) {
	for _, mode := range []string{"keepalive", "fresh"} {
		for _, impl := range []string{"fork", "serve"} {
			b.Run(impl+"/"+mode, func(b *testing.B) { benchServe(b, impl == "fork", mode == "fresh") })
		}
	}
}

func benchServe(b *testing.B, viaFork, fresh bool) {
	u, err := NewUpgrader(UpgradeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer u.Stop()
	ln, err := u.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	})}
	served := make(chan error, 1)
	if viaFork {
		go func() { served <- u.Serve(srv, ln) }()
	} else {
		go func() { served <- srv.Serve(ln) }()
	}
	transport := &http.Transport{DisableKeepAlives: fresh}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	url := "http://" + ln.Addr().String() + "/"
	get := func() {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get() // connect (kept-alive) and warm up
	b.ReportAllocs()
	b.ResetTimer()
	cpu := benchcpu.Start()
	for i := 0; i < b.N; i++ {
		get()
	}
	cpu.Report(b, 1)
	b.StopTimer()
	transport.CloseIdleConnections()
	if viaFork {
		u.Stop()
	} else {
		srv.Close()
	}
	<-served
}

// BenchmarkServeHooks measures, in isolation, the work Serve adds to one
// request while not draining: its ConnState bookkeeping (Active and Idle
// on a kept-alive connection; New, Active and Closed on a fresh one) and
// its handler wrapper, against calling the handler alone (serve). The
// difference is Serve's cost per request, to set against a request's
// cost in BenchmarkServe, which a busy machine blurs.
func BenchmarkServeHooks(b *testing.B) {
	handler := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	var w nopWriter
	conn, peer := net.Pipe()
	defer conn.Close()
	defer peer.Close()
	for _, mode := range []string{"keepalive", "fresh"} {
		b.Run("fork/"+mode, func(b *testing.B) {
			d := &drainer{next: handler, conns: make(map[net.Conn]connInfo), changed: make(chan struct{}, 1)}
			wrapped := http.HandlerFunc(d.serveHTTP)
			b.ReportAllocs()
			if mode == "keepalive" {
				d.connState(conn, http.StateNew)
				for i := 0; i < b.N; i++ {
					d.connState(conn, http.StateActive)
					wrapped.ServeHTTP(w, req)
					d.connState(conn, http.StateIdle)
				}
				return
			}
			for i := 0; i < b.N; i++ {
				d.connState(conn, http.StateNew)
				d.connState(conn, http.StateActive)
				wrapped.ServeHTTP(w, req)
				d.connState(conn, http.StateClosed)
			}
		})
		b.Run("serve/"+mode, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				handler.ServeHTTP(w, req)
			}
		})
	}
}

type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriter) WriteHeader(int)             {}
