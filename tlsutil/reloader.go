package tlsutil

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultReloadInterval is how often a Reloader polls its files when
// ReloadConfig.Interval is zero.
const DefaultReloadInterval = time.Minute

// ReloadConfig says which files a Reloader watches.
type ReloadConfig struct {
	// CertFile and KeyFile are a PEM certificate chain (leaf first) and its
	// PEM private key. Both or neither.
	CertFile, KeyFile string

	// RootFiles are CA bundles and directories, read as LoadRoots reads
	// them. Empty means Roots returns nil (the system roots).
	RootFiles []string

	// Interval is the polling period. 0 means DefaultReloadInterval; a
	// negative value turns polling off (call Reload yourself, on SIGHUP
	// for example).
	Interval time.Duration

	// OnError is called with every failed reload, from the polling
	// goroutine or from Reload's caller, never under a lock. The material
	// in use is kept. nil means failures are only visible through Err.
	OnError func(error)

	// Now returns the time new certificates are checked at. nil means
	// time.Now.
	Now func() time.Time
}

// Reloader keeps a certificate/key pair and a root pool read from disk,
// replacing them when the files change. New files are validated before
// they replace the old material in one atomic swap: a key that does not
// match its certificate, a certificate not valid now, a bundle without a
// certificate are reported through OnError and the old material stays in
// use. Files are compared by content, read through any symbolic links at
// every poll, so the atomic symlink swap Kubernetes uses for mounted
// secrets (..data) is picked up like any rewrite.
//
// A Reloader is safe for concurrent use. Its methods plug into
// tls.Config.GetCertificate, tls.Config.GetClientCertificate and
// Verifier.GetRoots. Close stops the polling goroutine.
type Reloader struct {
	cfg   ReloadConfig
	state atomic.Pointer[material]
	lastE atomic.Pointer[errBox]

	mu sync.Mutex // serializes reloads

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	// inCallback is set while the polling goroutine runs OnError, so a
	// Close called from OnError does not wait for itself.
	inCallback atomic.Bool
}

type material struct {
	cert     *tls.Certificate
	certSum  [32]byte
	roots    *x509.CertPool
	rootsSum [32]byte
}

type errBox struct{ err error }

// ErrReloaderNoCertificate is returned by GetCertificate and
// GetClientCertificate of a Reloader configured without CertFile.
var ErrReloaderNoCertificate = errors.New("tlsutil: reloader has no certificate configured")

// NewReloader reads the files once and, unless cfg.Interval is negative,
// starts polling them. It fails if the first read fails: there is no old
// material to fall back on.
func NewReloader(cfg ReloadConfig) (*Reloader, error) {
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("tlsutil: reloader: CertFile and KeyFile must be set together")
	}
	if cfg.CertFile == "" && len(cfg.RootFiles) == 0 {
		return nil, errors.New("tlsutil: reloader: nothing to load: set CertFile/KeyFile or RootFiles")
	}
	cfg.RootFiles = append([]string(nil), cfg.RootFiles...)
	r := &Reloader{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	m, _, err := r.load(&material{})
	if err != nil {
		return nil, err
	}
	r.state.Store(m)
	interval := cfg.Interval
	if interval == 0 {
		interval = DefaultReloadInterval
	}
	if interval < 0 {
		close(r.done)
		return r, nil
	}
	go r.poll(interval)
	return r, nil
}

func (r *Reloader) poll(interval time.Duration) {
	defer close(r.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			_, _ = r.reload(true)
		}
	}
}

// Reload reads the files now and swaps in what changed. It reports whether
// anything was swapped; on error the old material stays and OnError is
// called too.
func (r *Reloader) Reload() (changed bool, err error) {
	return r.reload(false)
}

func (r *Reloader) reload(fromPoll bool) (bool, error) {
	r.mu.Lock()
	old := r.state.Load()
	m, changed, err := r.load(old)
	if err == nil && changed {
		r.state.Store(m)
	}
	if err != nil {
		r.lastE.Store(&errBox{err})
	} else {
		r.lastE.Store(nil)
	}
	r.mu.Unlock()
	if err != nil && r.cfg.OnError != nil {
		if fromPoll {
			r.inCallback.Store(true)
			defer r.inCallback.Store(false)
		}
		r.cfg.OnError(err)
	}
	return changed, err
}

// load reads and validates the files; it returns old itself when nothing
// changed.
func (r *Reloader) load(old *material) (*material, bool, error) {
	m := *old
	changed := false
	if r.cfg.CertFile != "" {
		certPEM, err := os.ReadFile(r.cfg.CertFile)
		if err != nil {
			return nil, false, fmt.Errorf("tlsutil: reload certificate: %w", err)
		}
		keyPEM, err := os.ReadFile(r.cfg.KeyFile)
		if err != nil {
			return nil, false, fmt.Errorf("tlsutil: reload key: %w", err)
		}
		h := sha256.New()
		fmt.Fprintf(h, "%d:", len(certPEM))
		h.Write(certPEM)
		h.Write(keyPEM)
		var sum [32]byte
		h.Sum(sum[:0])
		if old.cert == nil || sum != old.certSum {
			c, err := r.validatePair(certPEM, keyPEM)
			if err != nil {
				return nil, false, err
			}
			m.cert, m.certSum, changed = c, sum, true
		}
	}
	if len(r.cfg.RootFiles) > 0 {
		pool, sum, err := loadRoots(r.cfg.RootFiles)
		if err != nil {
			return nil, false, err // already "tlsutil: load roots: ..." or ErrNoCertificates
		}
		if old.roots == nil || sum != old.rootsSum {
			m.roots, m.rootsSum, changed = pool, sum, true
		}
	}
	if !changed {
		return old, false, nil
	}
	return &m, true, nil
}

func (r *Reloader) validatePair(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tlsutil: reload %s and %s: %w", r.cfg.CertFile, r.cfg.KeyFile, err)
	}
	leaf := c.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tlsutil: reload %s: %w", r.cfg.CertFile, err)
		}
		c.Leaf = leaf
	}
	now := time.Now()
	if r.cfg.Now != nil {
		now = r.cfg.Now()
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("tlsutil: reload %s: the certificate is valid from %s to %s, not now (%s)",
			r.cfg.CertFile, leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return &c, nil
}

// Certificate returns the certificate in use, or nil without CertFile.
func (r *Reloader) Certificate() *tls.Certificate { return r.state.Load().cert }

// Roots returns the root pool in use, or nil (the system roots) without
// RootFiles. It has the signature of Verifier.GetRoots.
func (r *Reloader) Roots() *x509.CertPool { return r.state.Load().roots }

// GetCertificate is for tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := r.Certificate(); c != nil {
		return c, nil
	}
	return nil, ErrReloaderNoCertificate
}

// GetClientCertificate is for tls.Config.GetClientCertificate.
func (r *Reloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	if c := r.Certificate(); c != nil {
		return c, nil
	}
	return nil, ErrReloaderNoCertificate
}

// Err returns the error of the last reload, or nil if it succeeded.
func (r *Reloader) Err() error {
	if b := r.lastE.Load(); b != nil {
		return b.err
	}
	return nil
}

// Close stops polling and waits for the polling goroutine to end, except
// when called from OnError on that goroutine, which then ends as soon as
// OnError returns. The material in use stays available. Close is
// idempotent.
func (r *Reloader) Close() error {
	r.closeOnce.Do(func() { close(r.stop) })
	if !r.inCallback.Load() {
		<-r.done
	}
	return nil
}
