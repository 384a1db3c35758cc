package tlsutil

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// corpus lists the real certificate chains of testdata/corpus (see its
// README for where each comes from), each with the time it is verified
// at: a time within the validity of every certificate of the chain, as
// its source verifies it. In a file the leaf comes first and the trust
// anchor last.
var corpus = []struct {
	file   string
	at     time.Time
	names  []string // names to verify (a server's); none for a client
	client bool
	allow  []string // AllowNames, for a client
}{
	// Go's crypto/x509 tests (verify_test.go: "Valid").
	{file: "www.google.com.pem", at: time.Unix(1677615892, 0), names: []string{"www.google.com"}},
	// Go's crypto/x509 tests ("MultipleConstraints"): issued 2018-04-26
	// for 593 days, under the 825-day limit of its day; the chain has a
	// name-constrained intermediate.
	{file: "udctest.ads.vt.edu.pem", at: time.Unix(1524771953, 0), names: []string{"udctest.ads.vt.edu"}},
	// Go's crypto/x509 tests ("SHA-384"): *.tm.cn, issued 2019-05-17 for
	// 439 days, under the 825-day limit of its day.
	{file: "tm.cn.pem", at: time.Unix(1558051200, 0), names: []string{"tm.cn", "www.tm.cn"}},
	// x509-limbo's online::s3.amazonaws.com: *.s3.amazonaws.com is a
	// wildcard directly under a private-section public suffix.
	{file: "s3.amazonaws.com.pem", at: time.Date(2023, 10, 10, 0, 0, 1, 0, time.UTC),
		names: []string{"s3.amazonaws.com", "bucket.s3.amazonaws.com", "s3.us-east-1.amazonaws.com"}},
	// Go's crypto/x509 tests ("EKULeaf"): an S/MIME and client
	// certificate with a common name and an e-mail SAN only, valid four
	// years.
	{file: "smime-izenpe.pem", at: time.Unix(1594673418, 0), client: true},
	// go-spiffe's testdata (svid/x509svid/testdata): an X.509-SVID and
	// the CA that issued it, trusted as the anchor.
	{file: "spiffe-svid.pem", at: time.Date(2020, 3, 24, 14, 30, 0, 0, time.UTC), client: true,
		allow: []string{"spiffe://example.org/workload-1"}},
	{file: "spiffe-svid.pem", at: time.Date(2020, 3, 24, 14, 30, 0, 0, time.UTC), client: true,
		allow: []string{"spiffe://example.org"}},
}

func readCorpus(t *testing.T, file string) []*x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "corpus", file))
	if err != nil {
		t.Fatal(err)
	}
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		certs = append(certs, c)
	}
	if len(certs) < 2 {
		t.Fatalf("%s: %d certificates, want a leaf and an anchor", file, len(certs))
	}
	return certs
}

// TestCorpusStrict: Strict accepts every real chain of the corpus, as
// crypto/x509 does, servers by their names and clients with Client set.
// A new Strict rule is not done until this passes.
func TestCorpusStrict(t *testing.T) {
	t.Parallel()
	for _, c := range corpus {
		certs := readCorpus(t, c.file)
		roots := x509.NewCertPool()
		roots.AddCert(certs[len(certs)-1])
		sent := certs[:len(certs)-1]
		at := c.at
		base := Verifier{Roots: roots, Now: func() time.Time { return at }, Client: c.client, AllowNames: c.allow}
		names := c.names
		if c.client {
			names = []string{""}
		}
		for _, name := range names {
			for _, strict := range []bool{false, true} {
				v := base
				v.Name, v.Strict = name, strict
				if _, err := v.VerifyChain(sent, nil); err != nil {
					t.Errorf("%s %q %v strict=%v: %v", c.file, name, c.allow, strict, err)
				}
			}
		}
	}
}
