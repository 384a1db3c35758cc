package tlsutil

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrNoCertificates is matched (with errors.Is) by the error LoadRoots
// returns when the paths hold no PEM certificate at all.
var ErrNoCertificates = errors.New("tlsutil: no certificate found")

// maxRootsFile bounds what LoadRoots reads from one file: the largest public
// CA bundles are well under 1 MiB, so a bigger file is almost surely the
// wrong path (a log, a disk image) and is refused instead of read.
const maxRootsFile = 16 << 20

// LoadRoots reads PEM certificates from files and directories into a new
// pool, for Verifier.Roots.
//
// A directory is read like OpenSSL's -CApath, but by content, not by hashed
// name: every regular file in it (symbolic links followed, subdirectories
// not entered) is read, and files without certificates are skipped. In a
// file, blocks other than "CERTIFICATE" (keys, CRLs, parameters) are
// skipped. A "CERTIFICATE" block that does not parse is an error naming the
// file and the block, because silently trusting fewer roots than configured
// is worse than failing. If no certificate is found in any path, the error
// matches ErrNoCertificates.
func LoadRoots(paths ...string) (*x509.CertPool, error) {
	pool, _, err := loadRoots(paths)
	return pool, err
}

// loadRoots is LoadRoots that also returns a digest of every byte it read,
// so a Reloader can tell whether anything changed.
func loadRoots(paths []string) (*x509.CertPool, [32]byte, error) {
	var sum [32]byte
	if len(paths) == 0 {
		return nil, sum, fmt.Errorf("%w: no path given", ErrNoCertificates)
	}
	h := sha256.New()
	pool := x509.NewCertPool()
	n := 0
	add := func(name string) error {
		data, err := readBounded(name)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%d:%s:%d:", len(name), name, len(data))
		h.Write(data)
		k, err := appendCerts(pool, data, name)
		n += k
		return err
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, sum, fmt.Errorf("tlsutil: load roots: %w", err)
		}
		if !fi.IsDir() {
			if err := add(p); err != nil {
				return nil, sum, err
			}
			continue
		}
		entries, err := os.ReadDir(p) // sorted by name
		if err != nil {
			return nil, sum, fmt.Errorf("tlsutil: load roots: %w", err)
		}
		for _, e := range entries {
			name := filepath.Join(p, e.Name())
			fi, err := os.Stat(name) // follows symlinks, as hashed CA directories use them
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			if err := add(name); err != nil {
				return nil, sum, err
			}
		}
	}
	if n == 0 {
		return nil, sum, fmt.Errorf("%w in %q: expected PEM blocks \"-----BEGIN CERTIFICATE-----\"", ErrNoCertificates, paths)
	}
	h.Sum(sum[:0])
	return pool, sum, nil
}

func readBounded(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("tlsutil: load roots: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRootsFile+1))
	if err != nil {
		return nil, fmt.Errorf("tlsutil: load roots: %s: %w", name, err)
	}
	if len(data) > maxRootsFile {
		return nil, fmt.Errorf("tlsutil: load roots: %s is more than the %d bytes a CA bundle can plausibly be", name, maxRootsFile)
	}
	return data, nil
}

// appendCerts adds every CERTIFICATE block of data to pool and returns how
// many it added.
func appendCerts(pool *x509.CertPool, data []byte, name string) (int, error) {
	n, block := 0, 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return n, nil
		}
		block++
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return 0, fmt.Errorf("tlsutil: load roots: %s: PEM block %d: %w", name, block, err)
		}
		pool.AddCert(c)
		n++
	}
}
