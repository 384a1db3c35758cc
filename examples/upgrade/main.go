// Command upgrade is an HTTPS server that upgrades itself in place without
// dropping a request, the way a production service would use sturdy.
//
//	go run ./examples/upgrade [-addr 127.0.0.1:8443] [-certdir DIR] [-pidfile FILE]
//
//	kill -HUP  PID   re-execute the binary; the new process inherits the
//	                 listening socket, and the old one drains and exits
//	                 once the new one is ready (fork.Upgrader)
//	kill -USR1 PID   re-read the certificate files; a change is announced
//	                 to every subscriber of an observer.Subject
//	kill -TERM PID   drain and exit
//
// Under systemd (Type=notify, NotifyAccess=all, ExecReload=/bin/kill -HUP
// $MAINPID) each generation tells systemd its pid when it is ready. The
// program handles its signals before that moment: a reload may arrive at
// once. fork.Upgrader.Serve serves and, once a successor is ready (or on
// SIGTERM), drains without failing a request a client has sent. Every
// request goes through slowlog's middleware; /debug/slowlog, on an internal
// admin listener of its own (-admin), serves the recent slow requests and
// per-route statistics as JSON. The TLS
// certificate and key are read from DIR/cert.pem and DIR/key.pem through a
// tlsutil.Reloader; when they are missing, the program makes a throwaway CA
// (its certificate in DIR/ca.pem) and has it issue them for localhost,
// 127.0.0.1 and ::1:
//
//	curl --cacert DIR/ca.pem https://localhost:8443/
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sturdy-go/sturdy/fork"
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
	pidFile := fs.String("pidfile", "", "write the serving process's pid here (kill -HUP $(cat FILE) upgrades)")
	admin := fs.String("admin", "127.0.0.1:8444", "internal address serving /debug/slowlog (inherited across upgrades; empty: none)")
	fs.Usage = func() {
		fmt.Fprint(out, `usage: upgrade [-addr host:port] [-admin host:port] [-certdir DIR] [-slow duration] [-pidfile FILE]

An HTTPS server that upgrades itself in place without failing a request:
kill -HUP re-executes the binary (the new process inherits the listening
socket; the old one drains and exits once the new one is ready), kill -USR1
re-reads the certificate files, kill -TERM drains and exits. /debug/slowlog
on the internal -admin address lists the slow requests. Without DIR/cert.pem and DIR/key.pem it makes a
throwaway CA (DIR/ca.pem) and a certificate for localhost.

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
	pid := os.Getpid()
	say := func(format string, a ...any) { fmt.Fprintf(out, "pid %d: "+format+"\n", append([]any{pid}, a...)...) }
	if err := serve(*addr, *admin, *certDir, *pidFile, *slow, say); err != nil {
		say("%v", err)
		return 1
	}
	return 0
}

func serve(addr, adminAddr, certDir, pidFile string, slow time.Duration, say func(string, ...any)) error {
	// Signals first: once Ready names this process (systemd's MAINPID, a
	// PID file), a reload is sent here at once, and Go's default action
	// for SIGHUP would be to exit, after the old process has handed over.
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)

	upg, err := fork.NewUpgrader(fork.UpgradeOptions{ReadyTimeout: 30 * time.Second, PIDFile: pidFile})
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

	ln, err := upg.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// The slow log tells paths, timings and stacks: it is served on an
	// internal listener of its own, never next to "/" on the public one.
	if adminAddr != "" {
		adminLn, err := upg.Listen("tcp", adminAddr)
		if err != nil {
			return err
		}
		adminMux := http.NewServeMux()
		adminMux.Handle("/debug/slowlog", sl.Handler())
		adminSrv := &http.Server{Handler: adminMux, ReadHeaderTimeout: 10 * time.Second}
		go adminSrv.Serve(adminLn)
		defer adminSrv.Close()
		say("admin on http://%s/debug/slowlog", adminLn.Addr())
	}
	tlsConfig := tlsutil.ServerConfig()
	tlsConfig.GetCertificate = reloader.GetCertificate
	if len(tlsConfig.NextProtos) == 0 {
		tlsConfig.NextProtos = []string{"h2", "http/1.1"}
	}
	srv := &http.Server{
		Handler:           sl.Middleware(mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
	}
	// Serve serves until this process should exit (a successor is ready,
	// or Stop), then drains: every request a client has sent is answered.
	served := make(chan error, 1)
	go func() { served <- upg.Serve(srv, tls.NewListener(ln, tlsConfig)) }()

	if err := upg.Ready(); err != nil {
		return err
	}
	say("serving https://%s", ln.Addr())

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
		case err := <-served:
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			say("drained, exiting")
			return nil
		}
	}
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
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "upgrade example CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return "", "", err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return "", "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, &key.PublicKey, caKey)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	// The key first and the certificate last, each renamed into place: a
	// process that sees cert.pem finds its key too.
	for _, f := range []struct {
		name, typ string
		der       []byte
		mode      os.FileMode
	}{
		{"ca.pem", "CERTIFICATE", caDER, 0o644},
		{"key.pem", "PRIVATE KEY", keyDER, 0o600},
		{"cert.pem", "CERTIFICATE", leafDER, 0o644},
	} {
		if err := writePEM(filepath.Join(dir, f.name), f.typ, f.der, f.mode); err != nil {
			return "", "", err
		}
	}
	return certFile, keyFile, nil
}

// serial returns a random 128-bit certificate serial number.
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n
}

// writePEM replaces path with one PEM block, atomically.
func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
