package tlsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sturdy-go/sturdy/internal/testpki"
)

func TestLoadRoots(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	leaf := p.inter.Leaf(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		f := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	// A bundle with a key and junk around the certificate.
	_, keyFile := leaf.WritePEM(t, t.TempDir())
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	bundle := write("bundle.pem", append(append([]byte("# comment\n"), key...), testpki.PEM(p.root.Cert)...))
	pool, err := LoadRoots(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Verifier{Roots: pool, Name: "localhost"}).VerifyChain(leaf.Chain, nil); err != nil {
		t.Fatalf("pool from bundle: %v", err)
	}

	// A directory: certificates in files and behind symlinks, other files
	// and subdirectories skipped.
	cadir := filepath.Join(dir, "certs")
	write("certs/readme.txt", []byte("not a certificate"))
	real := write("store/other.pem", testpki.PEM(p.other.Cert))
	if err := os.Symlink(real, filepath.Join(cadir, "a1b2c3d4.0")); err != nil {
		t.Fatal(err)
	}
	write("certs/sub/root.pem", testpki.PEM(p.root.Cert))
	pool, err = LoadRoots(cadir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Verifier{Roots: pool, Name: "localhost"}).VerifyChain(p.other.Leaf(t).Chain, nil); err != nil {
		t.Fatalf("symlinked certificate not loaded: %v", err)
	}
	if _, err := (&Verifier{Roots: pool, Name: "localhost"}).VerifyChain(leaf.Chain, nil); err == nil {
		t.Fatal("a subdirectory was entered")
	}

	// Several paths at once.
	if _, err := LoadRoots(cadir, bundle); err != nil {
		t.Fatal(err)
	}

	// Failures.
	empty := write("empty.pem", nil)
	junk := write("junk.pem", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	for _, tc := range []struct {
		paths []string
		is    error
		msg   string
	}{
		{nil, ErrNoCertificates, "no path"},
		{[]string{empty}, ErrNoCertificates, "BEGIN CERTIFICATE"},
		{[]string{keyFile}, ErrNoCertificates, ""},
		{[]string{filepath.Join(dir, "none.pem")}, fs.ErrNotExist, "load roots"},
		{[]string{junk}, nil, "PEM block 1"},
	} {
		_, err := LoadRoots(tc.paths...)
		if err == nil {
			t.Fatalf("LoadRoots(%q) succeeded", tc.paths)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Fatalf("LoadRoots(%q) = %v, want %v", tc.paths, err, tc.is)
		}
		if !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "tlsutil: ") {
			t.Fatalf("LoadRoots(%q) = %v, want it to say %q", tc.paths, err, tc.msg)
		}
	}
}
