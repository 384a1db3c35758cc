// Command upgrade is an HTTPS server that upgrades itself in place without
// dropping a request, the way a production service would use sturdy.
//
//	go run ./examples/upgrade [-addr 127.0.0.1:8443] [-certdir DIR]
//
//	kill -HUP  PID   re-execute the binary; the new process inherits the
//	                 listening socket, and the old one drains and exits
//	                 once the new one is ready (fork.Upgrader)
//	kill -USR1 PID   re-read the certificate files; a change is announced
//	                 to every subscriber of an observer.Subject
//	kill -TERM PID   drain and exit
//
// Every request goes through slowlog's middleware; /debug/slowlog serves
// the recent slow requests and per-route statistics as JSON. The TLS
// certificate and key are read from DIR/cert.pem and DIR/key.pem through a
// tlsutil.Reloader; when they are missing, a throwaway CA issues them for
// localhost and 127.0.0.1, with its certificate in DIR/ca.pem:
//
//	curl --cacert DIR/ca.pem https://localhost:8443/
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sturdy-go/sturdy/fork"
	"github.com/sturdy-go/sturdy/internal/testpki"
	"github.com/sturdy-go/sturdy/observer"
	"github.com/sturdy-go/sturdy/slowlog"
	"github.com/sturdy-go/sturdy/tlsutil"
	"go.uber.org/zap"
)

func main() {
	// First line of main: adopt the listener a parent passed, if any.
	if err := fork.Init(); err != nil {
		fmt.Fprintf(os.Stderr, "upgrade: %v\n", err)
		os.Exit(1)
	}
	os.Exit(run(os.Stdout, os.Args[1:]))
}

// certChange is what the certificate subject announces.
type certChange struct {
	Serial   string
	NotAfter time.Time
}

func run(out io.Writer, args []string) int {
	fs := flag.NewFlagSet("upgrade", flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", "127.0.0.1:8443", "address to listen on (inherited across upgrades)")
	certDir := fs.String("certdir", filepath.Join(os.TempDir(), "sturdy-upgrade"), "directory of cert.pem and key.pem")
	slow := fs.Duration("slow", 50*time.Millisecond, "log requests slower than this")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	pid := os.Getpid()
	say := func(format string, a ...any) { fmt.Fprintf(out, "pid %d: "+format+"\n", append([]any{pid}, a...)...) }
	if err := serve(*addr, *certDir, *slow, say); err != nil {
		say("%v", err)
		return 1
	}
	return 0
}

func serve(addr, certDir string, slow time.Duration, say func(string, ...any)) error {
	upg, err := fork.NewUpgrader(fork.UpgradeOptions{ReadyTimeout: 30 * time.Second})
	if err != nil {
		return err
	}
	defer upg.Stop()

	certFile, keyFile, err := ensureCert(certDir)
	if err != nil {
		return err
	}
	reloader, err := tlsutil.NewReloader(tlsutil.ReloadConfig{
		CertFile: certFile, KeyFile: keyFile,
		Interval: -1, // reload on SIGUSR1 only
		OnError:  func(err error) { say("certificate reload refused, old one kept: %v", err) },
	})
	if err != nil {
		return err
	}
	defer reloader.Close()

	// Who cares about a new certificate subscribes; nobody's panic or
	// slowness reaches the signal handler that announces it.
	var certs observer.Subject[certChange]
	defer certs.Close()
	var servingSerial atomic.Value
	servingSerial.Store(reloader.Certificate().Leaf.SerialNumber.String())
	certs.Subscribe(func(c certChange) {
		say("serving certificate %s (valid until %s)", c.Serial, c.NotAfter.Format(time.RFC3339))
	})
	certs.Subscribe(func(c certChange) { servingSerial.Store(c.Serial) })

	logger, err := zap.NewProduction()
	if err != nil {
		return err
	}
	sl := slowlog.New(logger, slowlog.Threshold(slow), slowlog.Keep(256))
	defer sl.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Pid", fmt.Sprint(os.Getpid()))
		fmt.Fprintf(w, "hello from pid %d, certificate %s\n", os.Getpid(), servingSerial.Load())
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(slow + slow/2)
		fmt.Fprintln(w, "that took a while")
	})
	mux.Handle("/debug/slowlog", sl.Handler())

	ln, err := upg.Listen("tcp", addr)
	if err != nil {
		return err
	}
	tlsConfig := tlsutil.ServerConfig()
	tlsConfig.GetCertificate = reloader.GetCertificate
	var open atomic.Int64 // connections accepted and not yet closed
	srv := &http.Server{
		Handler:           sl.Middleware(mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		ConnState: func(_ net.Conn, state http.ConnState) {
			switch state {
			case http.StateNew:
				open.Add(1)
			case http.StateClosed, http.StateHijacked:
				open.Add(-1)
			}
		},
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(tls.NewListener(ln, tlsConfig)) }()

	if err := upg.Ready(); err != nil {
		return err
	}
	say("serving https://%s", ln.Addr())

	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)
	upgradeDone := make(chan error, 1)
	for {
		select {
		case sig := <-signals:
			switch sig {
			case syscall.SIGHUP:
				say("upgrading")
				// Upgrade blocks until the new process is ready; keep
				// serving and answering signals meanwhile.
				go func() { upgradeDone <- upg.Upgrade() }()
			case syscall.SIGUSR1:
				changed, err := reloader.Reload()
				if err == nil && changed {
					leaf := reloader.Certificate().Leaf
					certs.Notify(certChange{Serial: leaf.SerialNumber.String(), NotAfter: leaf.NotAfter})
				} else if err == nil {
					say("certificate files unchanged")
				}
			default:
				say("%v: draining", sig)
				upg.Stop()
			}
		case err := <-upgradeDone:
			if err != nil {
				say("upgrade failed, still serving: %v", err)
			}
		case <-upg.Exit():
			return drain(srv, ln, &open, say)
		case err := <-serveErr:
			return fmt.Errorf("serve: %w", err)
		}
	}
}

// drain finishes what this process accepted, without refusing anything.
// Shutdown alone is not enough: a connection accepted just before it whose
// request arrives just after would be closed unanswered. So: end
// keep-alive, stop accepting (the successor keeps the socket and its
// queue), let every open connection finish, then shut down.
func drain(srv *http.Server, ln net.Listener, open *atomic.Int64, say func(string, ...any)) error {
	srv.SetKeepAlivesEnabled(false)
	ln.Close()
	deadline := time.Now().Add(30 * time.Second)
	for open.Load() > 0 {
		if time.Now().After(deadline) {
			say("%d connections still open after 30s; closing them", open.Load())
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(ctx)
	say("drained, exiting")
	return err
}

// ensureCert returns the certificate and key files in dir, issuing them
// from a throwaway CA when they do not exist yet.
func ensureCert(dir string) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if _, err := os.Stat(certFile); err == nil {
		return certFile, keyFile, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	t := testpki.Standalone
	ca := testpki.NewRoot(t, testpki.CommonName("upgrade example CA"))
	leaf := ca.Leaf(t, testpki.DNS("localhost"), testpki.IPs(net.IPv4(127, 0, 0, 1), net.IPv6loopback))
	tmpCert, tmpKey := leaf.WritePEM(t, dir)
	if err := os.Rename(tmpKey, keyFile); err != nil {
		return "", "", err
	}
	if err := os.Rename(tmpCert, certFile); err != nil {
		return "", "", err
	}
	caFile := testpki.WriteCAPEM(t, dir, ca)
	if err := os.Rename(caFile, filepath.Join(dir, "ca.pem")); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}
