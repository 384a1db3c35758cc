package tlsutil

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sturdy-go/sturdy/internal/testpki"
)

// FuzzParsePin: ParsePin never panics; what it accepts is exactly the
// canonical String form; what it refuses is an ErrBadPin.
func FuzzParsePin(f *testing.F) {
	sum := sha256.Sum256([]byte("seed"))
	good := Pin(sum).String()
	for _, s := range []string{good, "", "sha256//", "sha1//" + good[8:], good + "\n", " " + good, good[:20], "sha256//====",
		good + ";" + good, "sha256//" + strings.Repeat("A", 43) + "="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePin(s)
		if err != nil {
			if !errors.Is(err, ErrBadPin) || !strings.HasPrefix(err.Error(), "tlsutil: bad pin") {
				t.Fatalf("ParsePin(%q): unexpected error %v", s, err)
			}
			return
		}
		if p.String() != s {
			t.Fatalf("ParsePin(%q) accepted a non-canonical form of %s", s, p)
		}
		if q, err := ParsePin(p.String()); err != nil || q != p {
			t.Fatalf("round trip of %q: %v %v", s, q, err)
		}
	})
}

// FuzzLoadRoots: LoadRoots never panics, and agrees with a plain reading
// of the PEM: no CERTIFICATE block is ErrNoCertificates, a block that does
// not parse is an error, otherwise the pool has the certificates.
func FuzzLoadRoots(f *testing.F) {
	root := testpki.NewRoot(f)
	leaf := root.Leaf(f)
	certPEM := testpki.PEM(root.Cert)
	keyDir := f.TempDir()
	_, keyFile := leaf.WritePEM(f, keyDir)
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range [][]byte{certPEM, append(keyPEM, certPEM...), nil, []byte("junk"), certPEM[:len(certPEM)/2],
		[]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), testpki.PEM(root.Cert, leaf.Cert)} {
		f.Add(b)
	}
	// One file per fuzzing process, rewritten for each input: inputs run
	// one at a time in a process.
	file := filepath.Join(f.TempDir(), "roots.pem")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}

		want, bad := 0, false
		for rest := data; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type != "CERTIFICATE" {
				continue
			}
			if _, err := x509.ParseCertificate(b.Bytes); err != nil {
				bad = true
				break
			}
			want++
		}

		pool, err := LoadRoots(file)
		switch {
		case bad:
			if err == nil || !strings.HasPrefix(err.Error(), "tlsutil: load roots: ") {
				t.Fatalf("malformed certificate: got %v", err)
			}
		case want == 0:
			if !errors.Is(err, ErrNoCertificates) {
				t.Fatalf("no certificate: got %v", err)
			}
		default:
			if err != nil || pool == nil {
				t.Fatalf("%d certificates: got %v", want, err)
			}
		}
	})
}

// FuzzStaple: any bytes stapled by a server are either accepted as a good
// response or refused with a revocation Reason; never a panic.
func FuzzStaple(f *testing.F) {
	root := testpki.NewRoot(f)
	inter := root.Intermediate(f)
	leaf := inter.Leaf(f)
	for _, s := range []testpki.OCSPStatus{testpki.OCSPGood, testpki.OCSPRevoked, testpki.OCSPUnknown, testpki.OCSPExpired} {
		f.Add(inter.OCSP(f, leaf.Cert, s))
	}
	f.Add([]byte{0x30, 0x03, 0x0a, 0x01, 0x01})
	v := &Verifier{Roots: root.Pool(), Name: "localhost", Revocation: RevocationIfStapled}
	f.Fuzz(func(t *testing.T, staple []byte) {
		_, err := v.VerifyChain(leaf.Chain, staple)
		if err == nil {
			if len(staple) > 0 && ocspStatusOf(t, leaf.Cert, inter.Cert, staple) != "good" {
				t.Fatal("accepted a staple that is not good")
			}
			return
		}
		var ve *VerifyError
		if !errors.As(err, &ve) {
			t.Fatalf("%T: %v", err, err)
		}
		switch ve.Reason {
		case BadStaple, StapleExpired, Revoked:
		default:
			t.Fatalf("reason %v for a staple: %v", ve.Reason, err)
		}
	})
}

func ocspStatusOf(t *testing.T, leaf, issuer *x509.Certificate, staple []byte) string {
	t.Helper()
	resp, err := authenticateStaple(leaf, issuer, staple)
	if err != nil {
		t.Fatalf("accepted a staple that does not authenticate: %v", err)
	}
	return ocspStatus(resp.Status)
}

// FuzzSPIFFEID feeds URI SANs and AllowNames entries to the SPIFFE ID
// parser: it never panics, and what it accepts is exactly the ID it read,
// in the syntax of SPIFFE-ID section 2.
func FuzzSPIFFEID(f *testing.F) {
	for _, s := range []string{"spiffe://example.org/ns/prod/sa/api", "spiffe://example.org", "spiffe://Example.org/x",
		"spiffe://example.org/a//b", "spiffe://example.org/./a", "spiffe://example.org/a/", "spiffe://ex ample.org/a", "https://example.org/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		td, path, err := parseSPIFFEID(s, true)
		if err != nil {
			return
		}
		if "spiffe://"+td+path != s {
			t.Fatalf("%q read as trust domain %q, path %q", s, td, path)
		}
		if td == "" || strings.ContainsAny(td, "/:@?#") || strings.Contains(path, "//") || strings.HasSuffix(path, "/") {
			t.Fatalf("%q accepted: trust domain %q, path %q", s, td, path)
		}
		if len(s) > maxSPIFFEID || len(td) > maxTrustDomain {
			t.Fatalf("%q accepted beyond the SPIFFE length limits", s)
		}
		if _, err := parseAllowName(s); err != nil {
			t.Fatalf("%q is a SPIFFE ID but not an AllowNames entry: %v", s, err)
		}
	})
}

// FuzzRawURISANs feeds arbitrary bytes as a subjectAltName extension to
// the reader of URI SANs as written: it never panics, and each URI it
// returns is a [6] entry's bytes, so it is no longer than the extension.
func FuzzRawURISANs(f *testing.F) {
	f.Add([]byte{0x30, 0x0b, 0x86, 0x09, 's', 'p', 'i', 'f', 'f', 'e', ':', '/', '/'})
	f.Add([]byte{0x30, 0x03, 0x86, 0x05, 'x'})
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &x509.Certificate{Extensions: []pkix.Extension{{Id: oidSubjectAltName, Value: data}}}
		for _, u := range rawURISANs(c) {
			if len(u) > len(data) {
				t.Fatalf("URI of %d bytes from an extension of %d", len(u), len(data))
			}
		}
	})
}
