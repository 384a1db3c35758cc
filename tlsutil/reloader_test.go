package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/testpki"
)

// writePair writes c's chain and key to certFile and keyFile.
func writePair(t *testing.T, c *testpki.Cert, certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	cf, kf := c.WritePEM(t, dir)
	for _, x := range [][2]string{{cf, certFile}, {kf, keyFile}} {
		data, err := os.ReadFile(x[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(x[1], data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func serialOf(t *testing.T, c *tls.Certificate) string {
	t.Helper()
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.SerialNumber.String()
}

func TestReloaderValidatesAndKeepsOld(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	caFile := filepath.Join(dir, "ca.pem")
	first, second := p.inter.Leaf(t), p.inter.Leaf(t)
	writePair(t, first, certFile, keyFile)
	if err := os.WriteFile(caFile, testpki.PEM(p.root.Cert), 0o600); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var reported []error
	r, err := NewReloader(ReloadConfig{CertFile: certFile, KeyFile: keyFile, RootFiles: []string{caFile}, Interval: -1,
		OnError: func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := r.GetCertificate(nil)
	if err != nil || serialOf(t, c) != first.Cert.SerialNumber.String() {
		t.Fatalf("initial certificate: %v", err)
	}
	if r.Roots() == nil {
		t.Fatal("no roots")
	}

	// Unchanged files: nothing swapped.
	if changed, err := r.Reload(); changed || err != nil {
		t.Fatalf("unchanged reload: %v %v", changed, err)
	}
	rootsBefore := r.Roots()

	// A key that does not match the certificate: rejected, old kept.
	dir2 := t.TempDir()
	_, otherKey := second.WritePEM(t, dir2)
	cf, _ := first.WritePEM(t, dir2)
	copyFile(t, cf, certFile)
	copyFile(t, otherKey, keyFile)
	if _, err := r.Reload(); err == nil {
		t.Fatal("mismatched pair accepted")
	}
	if c, _ := r.GetCertificate(nil); serialOf(t, c) != first.Cert.SerialNumber.String() {
		t.Fatal("old certificate not kept")
	}
	if r.Err() == nil {
		t.Fatal("Err is nil after a failed reload")
	}

	// An expired certificate: rejected, old kept.
	writePair(t, p.inter.Leaf(t, testpki.Expired()), certFile, keyFile)
	if _, err := r.Reload(); err == nil || !strings.Contains(err.Error(), "not now") {
		t.Fatalf("expired certificate: %v", err)
	}

	// A bundle without certificates: rejected, old roots kept.
	if err := os.WriteFile(caFile, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	writePair(t, second, certFile, keyFile)
	_, err = r.Reload()
	if !errors.Is(err, ErrNoCertificates) {
		t.Fatalf("bad bundle: %v", err)
	}
	if r.Roots() != rootsBefore {
		t.Fatal("roots changed after a bad bundle")
	}
	// The good pair written with the bad bundle was not half-applied.
	if c, _ := r.GetCertificate(nil); serialOf(t, c) != first.Cert.SerialNumber.String() {
		t.Fatal("certificate swapped although the reload failed")
	}

	// Good files again: swapped, error cleared.
	if err := os.WriteFile(caFile, testpki.PEM(p.root.Cert, p.other.Cert), 0o600); err != nil {
		t.Fatal(err)
	}
	if changed, err := r.Reload(); !changed || err != nil {
		t.Fatalf("good reload: %v %v", changed, err)
	}
	if c, _ := r.GetClientCertificate(nil); serialOf(t, c) != second.Cert.SerialNumber.String() {
		t.Fatal("new certificate not in use")
	}
	if r.Err() != nil || r.Roots() == rootsBefore {
		t.Fatal("state after good reload")
	}
	mu.Lock()
	n := len(reported)
	mu.Unlock()
	if n != 3 {
		t.Fatalf("OnError called %d times, want 3", n)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestReloaderKubernetesSymlinkSwap mimics how the kubelet updates a
// mounted secret: files are symlinks through "..data", which is swapped
// atomically to a new timestamped directory. The polling Reloader must
// pick the new pair up, and a server using GetCertificate serve it.
func TestReloaderKubernetesSymlinkSwap(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	dir := t.TempDir()
	first, second := p.inter.Leaf(t), p.inter.Leaf(t)

	publish := func(version string, c *testpki.Cert) {
		ts := filepath.Join(dir, "..2026_"+version)
		if err := os.Mkdir(ts, 0o700); err != nil {
			t.Fatal(err)
		}
		writePair(t, c, filepath.Join(ts, "tls.crt"), filepath.Join(ts, "tls.key"))
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish("a", first)
	for _, f := range []string{"tls.crt", "tls.key"} {
		if err := os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewReloader(ReloadConfig{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cfg := ServerConfig()
	cfg.GetCertificate = r.GetCertificate
	srv := serve(t, cfg)
	dialSerial := func() string {
		// No session cache: a resumed session would show the
		// certificate of its original handshake.
		c, err := (&Dialer{Config: &tls.Config{}, Verifier: &Verifier{Roots: p.root.Pool()}}).Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		readOne(t, c)
		return c.(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	if got := dialSerial(); got != first.Cert.SerialNumber.String() {
		t.Fatalf("served %s, want the first certificate", got)
	}

	publish("b", second)
	if err := os.RemoveAll(filepath.Join(dir, "..2026_a")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(hangGuard)
	for serialOf(t, r.Certificate()) != second.Cert.SerialNumber.String() {
		if time.Now().After(deadline) {
			t.Fatalf("the swap was not picked up; last error: %v", r.Err())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := dialSerial(); got != second.Cert.SerialNumber.String() {
		t.Fatalf("served %s, want the second certificate", got)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

// TestReloaderClientCertificate serves a client certificate from a
// Reloader to a server that requires one.
func TestReloaderClientCertificate(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	dir := t.TempDir()
	client := p.inter.Leaf(t, testpki.DNS("client.test"))
	certFile, keyFile := client.WritePEM(t, dir)
	r, err := NewReloader(ReloadConfig{CertFile: certFile, KeyFile: keyFile, Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	srvCfg := ServerConfig(p.inter.Leaf(t).TLS())
	srvCfg.ClientAuth = tls.RequireAndVerifyClientCert
	srvCfg.ClientCAs = p.root.Pool()
	srv := serve(t, srvCfg)
	cfg := ClientConfig(&Verifier{Roots: p.root.Pool()})
	cfg.GetClientCertificate = r.GetClientCertificate
	c, err := (&Dialer{Config: cfg}).Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	readOne(t, c) // the server refuses a missing certificate before this
	c.Close()
}

func TestNewReloaderErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, cfg := range map[string]ReloadConfig{
		"cert-without-key": {CertFile: "x"},
		"nothing":          {},
		"missing-files":    {CertFile: filepath.Join(dir, "no.crt"), KeyFile: filepath.Join(dir, "no.key")},
		"missing-roots":    {RootFiles: []string{filepath.Join(dir, "no.pem")}},
	} {
		r, err := NewReloader(cfg)
		if err == nil {
			r.Close()
			t.Fatalf("%s: accepted", name)
		}
		if !strings.HasPrefix(err.Error(), "tlsutil: ") {
			t.Fatalf("%s: %v", name, err)
		}
	}
	_, err := NewReloader(ReloadConfig{RootFiles: []string{filepath.Join(dir, "no.pem")}})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file not reported as fs.ErrNotExist: %v", err)
	}
	// Roots only: no certificate to serve.
	p := sharedPKI(t)
	ca := testpki.WriteCAPEM(t, dir, p.root)
	r, err := NewReloader(ReloadConfig{RootFiles: []string{ca}, Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.GetCertificate(nil); !errors.Is(err, ErrReloaderNoCertificate) {
		t.Fatalf("GetCertificate without a certificate: %v", err)
	}
}

// TestReloaderCloseFromOnError: closing the Reloader from its own error
// callback neither deadlocks nor leaks the polling goroutine.
func TestReloaderCloseFromOnError(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	dir := t.TempDir()
	ca := testpki.WriteCAPEM(t, dir, p.root)
	closed := make(chan struct{})
	self := make(chan *Reloader, 1)
	var once sync.Once
	r, err := NewReloader(ReloadConfig{RootFiles: []string{ca}, Interval: 5 * time.Millisecond,
		OnError: func(error) { once.Do(func() { (<-self).Close(); close(closed) }) }})
	if err != nil {
		t.Fatal(err)
	}
	self <- r
	if err := os.WriteFile(ca, []byte("broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(hangGuard):
		t.Fatal("OnError never ran or Close hung")
	}
	r.Close() // from the test goroutine: waits for the poller to end
}
