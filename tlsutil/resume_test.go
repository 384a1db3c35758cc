package tlsutil

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sturdy-go/sturdy/internal/testpki"
)

// TestResumedSessionIsVerifiedAgainstNewRoots proves that the checks hold
// on resumed sessions: a session is established under root A, the trusted
// roots are then replaced by root B (through a Reloader, as in
// production), and the client resumes the session from its ticket. The
// resumption itself succeeds at the TLS level, but the Verifier, run again
// on the resumed session, refuses it.
func TestResumedSessionIsVerifiedAgainstNewRoots(t *testing.T) {
	t.Parallel()
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			t.Parallel()
			rootA := testpki.NewRoot(t, testpki.CommonName("root A"))
			rootB := testpki.NewRoot(t, testpki.CommonName("root B"))
			leaf := rootA.Intermediate(t).Leaf(t)
			srv := serveCert(t, leaf, nil, func(c *tls.Config) { c.MaxVersion = version })

			dir := t.TempDir()
			caFile := filepath.Join(dir, "ca.pem")
			if err := os.WriteFile(caFile, testpki.PEM(rootA.Cert), 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := NewReloader(ReloadConfig{RootFiles: []string{caFile}, Interval: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()

			v := &Verifier{GetRoots: r.Roots, Name: "localhost"}
			cfg := ClientConfig(v)
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			var mu sync.Mutex
			var resumed []bool
			cfg.VerifyConnection = func(cs tls.ConnectionState) error {
				mu.Lock()
				resumed = append(resumed, cs.DidResume)
				mu.Unlock()
				return v.VerifyConnection(cs)
			}
			// crypto/tls's own dialer, so the recording hook above is the
			// config's only VerifyConnection.
			cfg.ServerName = "localhost"
			dial := func() error {
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: hangGuard}, "tcp", srv.Addr, cfg)
				if err != nil {
					return err
				}
				readOne(t, c)
				return c.Close()
			}
			lastResumed := func() bool {
				mu.Lock()
				defer mu.Unlock()
				return resumed[len(resumed)-1]
			}

			if err := dial(); err != nil {
				t.Fatalf("first dial: %v", err)
			}
			if lastResumed() {
				t.Fatal("first connection resumed")
			}
			if err := dial(); err != nil {
				t.Fatalf("second dial: %v", err)
			}
			if !lastResumed() {
				t.Fatal("second connection did not resume: the test would prove nothing")
			}

			if err := os.WriteFile(caFile, testpki.PEM(rootB.Cert), 0o600); err != nil {
				t.Fatal(err)
			}
			if changed, err := r.Reload(); err != nil || !changed {
				t.Fatalf("reload: changed=%v err=%v", changed, err)
			}
			err = dial()
			if !lastResumed() {
				t.Fatal("third connection did not resume")
			}
			wantReason(t, err, UnknownAuthority, "root A")
		})
	}
}
