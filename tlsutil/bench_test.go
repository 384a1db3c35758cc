package tlsutil

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/benchcpu"
	"github.com/sturdy-go/sturdy/internal/testpki"
)

// BenchmarkDial dials a loopback server that sends a three-certificate
// chain (leaf, intermediate; root trusted) and staples a good OCSP
// response. tlsutil is a Dialer whose Verifier checks pins and requires
// the staple; cryptotls is crypto/tls's own tls.Dialer with the same roots,
// the baseline a user would otherwise pick. full disables session
// resumption; resumed resumes from a session cache. Each iteration dials,
// reads one byte and closes; server work is included on both sides.
// Besides wall time, cpu-ns/op reports the process's CPU time per dial
// (client and server), which a busy machine distorts less.
func BenchmarkDial(b *testing.B) {
	root := testpki.NewRoot(b)
	inter := root.Intermediate(b)
	leaf := inter.Leaf(b)
	srv := serveCert(b, leaf, inter.OCSP(b, leaf.Cert, testpki.OCSPGood), nil)
	v := &Verifier{Roots: root.Pool(), Name: "localhost", Pins: []Pin{PinOf(leaf.Cert)}, Revocation: RevocationRequireStaple}

	dialers := map[string]func(cache tls.ClientSessionCache) func(context.Context, string, string) (net.Conn, error){
		"tlsutil": func(cache tls.ClientSessionCache) func(context.Context, string, string) (net.Conn, error) {
			cfg := ClientConfig(v)
			cfg.ClientSessionCache = cache
			return (&Dialer{Config: cfg}).DialContext
		},
		"cryptotls": func(cache tls.ClientSessionCache) func(context.Context, string, string) (net.Conn, error) {
			return (&tls.Dialer{Config: &tls.Config{RootCAs: root.Pool(), ServerName: "localhost", ClientSessionCache: cache}}).DialContext
		},
	}
	for _, name := range []string{"tlsutil", "cryptotls"} {
		for _, mode := range []string{"full", "resumed"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				var cache tls.ClientSessionCache
				if mode == "resumed" {
					cache = tls.NewLRUClientSessionCache(1)
				}
				dial := dialers[name](cache)
				once := func(check bool) {
					c, err := dial(context.Background(), "tcp", srv.Addr)
					if err != nil {
						b.Fatal(err)
					}
					var one [1]byte
					if _, err := io.ReadFull(c, one[:]); err != nil {
						b.Fatal(err)
					}
					resumed := c.(*tls.Conn).ConnectionState().DidResume
					c.Close()
					if check && resumed != (mode == "resumed") {
						b.Fatalf("%s: DidResume=%v", mode, resumed)
					}
				}
				once(false) // warm the session cache and the verifier's memo
				b.ReportAllocs()
				cpu := benchcpu.Start()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					once(true)
				}
				b.StopTimer()
				cpu.Report(b, 1)
			})
		}
	}
}

// BenchmarkVerifyChain verifies a three-certificate chain (leaf,
// intermediate, root) with a stapled OCSP response and a pin. tlsutil/warm
// is the steady state (chain and staple signatures memoized); tlsutil/cold
// verifies from scratch every time, memo off; x509 is the baseline:
// crypto/x509's Verify plus VerifyHostname, without pins or OCSP.
func BenchmarkVerifyChain(b *testing.B) {
	root := testpki.NewRoot(b)
	inter := root.Intermediate(b)
	leaf := inter.Leaf(b)
	staple := inter.OCSP(b, leaf.Cert, testpki.OCSPGood)
	v := &Verifier{Roots: root.Pool(), Name: "localhost", Pins: []Pin{PinOf(root.Cert)}, Revocation: RevocationIfStapled}

	b.Run("tlsutil/warm", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := v.VerifyChain(leaf.Chain, staple); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tlsutil/cold", func(b *testing.B) {
		b.ReportAllocs()
		memoEnabled = false
		defer func() { memoEnabled = true }()
		for i := 0; i < b.N; i++ {
			if _, err := v.VerifyChain(leaf.Chain, staple); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("x509", func(b *testing.B) {
		b.ReportAllocs()
		roots := root.Pool()
		for i := 0; i < b.N; i++ {
			inters := x509.NewCertPool()
			for _, c := range leaf.Chain[1:] {
				inters.AddCert(c)
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
			if _, err := leaf.Cert.Verify(opts); err != nil {
				b.Fatal(err)
			}
			if err := leaf.Cert.VerifyHostname("localhost"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDialPaired makes the comparison of BenchmarkDial on a busy
// machine: each iteration dials once with tlsutil and once with crypto/tls,
// in alternating order, so load that changes from one millisecond to the
// next hits both alike. It reports each side's mean wall time per dial
// and their ratio (tlsutil/cryptotls).
func BenchmarkDialPaired(b *testing.B) {
	root := testpki.NewRoot(b)
	inter := root.Intermediate(b)
	leaf := inter.Leaf(b)
	srv := serveCert(b, leaf, inter.OCSP(b, leaf.Cert, testpki.OCSPGood), nil)
	v := &Verifier{Roots: root.Pool(), Name: "localhost", Pins: []Pin{PinOf(leaf.Cert)}, Revocation: RevocationRequireStaple}
	for _, mode := range []string{"full", "resumed"} {
		b.Run(mode, func(b *testing.B) {
			cache := func() tls.ClientSessionCache {
				if mode == "resumed" {
					return tls.NewLRUClientSessionCache(1)
				}
				return nil
			}
			cfg := ClientConfig(v)
			cfg.ClientSessionCache = cache()
			ours := (&Dialer{Config: cfg}).DialContext
			base := (&tls.Dialer{Config: &tls.Config{RootCAs: root.Pool(), ServerName: "localhost", ClientSessionCache: cache()}}).DialContext
			dialOnce := func(dial func(context.Context, string, string) (net.Conn, error), check bool) time.Duration {
				start := time.Now()
				c, err := dial(context.Background(), "tcp", srv.Addr)
				if err != nil {
					b.Fatal(err)
				}
				var one [1]byte
				if _, err := io.ReadFull(c, one[:]); err != nil {
					b.Fatal(err)
				}
				resumed := c.(*tls.Conn).ConnectionState().DidResume
				c.Close()
				if check && resumed != (mode == "resumed") {
					b.Fatalf("%s: DidResume=%v", mode, resumed)
				}
				return time.Since(start)
			}
			once := func(dial func(context.Context, string, string) (net.Conn, error)) time.Duration {
				return dialOnce(dial, true)
			}
			dialOnce(ours, false) // warm the session caches and the memo
			dialOnce(base, false)
			b.ReportAllocs()
			b.ResetTimer()
			var tOurs, tBase time.Duration
			for i := 0; i < b.N; i++ {
				if i%2 == 0 {
					tOurs += once(ours)
					tBase += once(base)
				} else {
					tBase += once(base)
					tOurs += once(ours)
				}
			}
			b.ReportMetric(float64(tOurs)/float64(b.N), "tlsutil-ns/dial")
			b.ReportMetric(float64(tBase)/float64(b.N), "cryptotls-ns/dial")
			b.ReportMetric(float64(tOurs)/float64(tBase), "ratio")
		})
	}
}
