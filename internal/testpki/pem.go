package testpki

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
)

// WritePEM writes the chain (leaf first) and the PKCS#8 private key into
// dir, for outside peers such as openssl and Python, and returns the two
// file names. dir is usually t.TempDir().
func (c *Cert) WritePEM(t TB, dir string) (certFile, keyFile string) {
	t.Helper()
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		t.Fatalf("testpki: marshal key: %v", err)
	}
	base := "leaf-" + c.Cert.SerialNumber.String()
	certFile = filepath.Join(dir, base+".crt")
	keyFile = filepath.Join(dir, base+".key")
	writeFile(t, certFile, certsPEM(c.Chain))
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return certFile, keyFile
}

// WriteIntermediatesPEM writes the intermediates of the chain (without the
// leaf and root) into dir and returns the file name, or "" when the leaf
// was issued by a root. openssl s_server sends only the first certificate
// of -cert; give it this file as -cert_chain.
func (c *Cert) WriteIntermediatesPEM(t TB, dir string) string {
	t.Helper()
	if len(c.Chain) < 2 {
		return ""
	}
	file := filepath.Join(dir, "chain-"+c.Cert.SerialNumber.String()+".crt")
	writeFile(t, file, certsPEM(c.Chain[1:]))
	return file
}

// WriteCAPEM writes the certificates of cas into one PEM bundle in dir and
// returns its name: a CA file for openssl -CAfile or Python's cafile.
func WriteCAPEM(t TB, dir string, cas ...*CA) string {
	t.Helper()
	var certs []*x509.Certificate
	name := "ca"
	for _, ca := range cas {
		certs = append(certs, ca.Cert)
		name += "-" + ca.Cert.SerialNumber.String()
	}
	file := filepath.Join(dir, name+".pem")
	writeFile(t, file, certsPEM(certs))
	return file
}

// PEM returns the certificates encoded as concatenated PEM blocks.
func PEM(certs ...*x509.Certificate) []byte { return certsPEM(certs) }

func certsPEM(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func writeFile(t TB, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatalf("testpki: %v", err)
	}
}
