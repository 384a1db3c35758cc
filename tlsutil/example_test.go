package tlsutil_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sturdy-go/sturdy/tlsutil"
)

// examplePKI is a root CA and a leaf for "localhost" and 127.0.0.1 that it
// issued: what a test CA (or your internal CA) would give you.
type examplePKI struct {
	root    *x509.Certificate
	rootKey *ecdsa.PrivateKey
	roots   *x509.CertPool
	leaf    tls.Certificate
}

// clientCert issues a client certificate whose only name is the SPIFFE ID
// id: an X.509-SVID.
func (p examplePKI) clientCert(id string) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	u, err := url.Parse(id)
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()),
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), URIs: []*url.URL{u},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature},
		p.root, key.Public(), p.rootKey)
	if err != nil {
		log.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func newExamplePKI() examplePKI {
	issue := func(tmpl, parent *x509.Certificate, pub any, signer *ecdsa.PrivateKey) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			log.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			log.Fatal(err)
		}
		return k
	}
	now := time.Now()
	rootKey := newKey()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example Root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	root := issue(rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	leafKey := newKey()
	leaf := issue(&x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}, root, leafKey.Public(), rootKey)
	roots := x509.NewCertPool()
	roots.AddCert(root)
	return examplePKI{root: root, rootKey: rootKey, roots: roots,
		leaf: tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: leafKey, Leaf: leaf}}
}

// A server on loopback serving the example leaf; the returned func stops it.
func exampleServer(cert tls.Certificate) (string, func()) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", tlsutil.ServerConfig(cert))
	if err != nil {
		log.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				_, _ = io.Copy(io.Discard, c) // handshakes, then drains until the client closes
			}()
		}
	}()
	return ln.Addr().String(), func() { ln.Close(); wg.Wait() }
}

func ExampleParsePin() {
	pin, err := tlsutil.ParsePin("sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
	fmt.Println(pin, err)

	_, err = tlsutil.ParsePin("sha1//2jmj7l5rSw0yVb/vlWAYkK/YBwk=")
	fmt.Println(err)
	fmt.Println(errors.Is(err, tlsutil.ErrBadPin))
	// Output:
	// sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= <nil>
	// tlsutil: bad pin "sha1//2jmj7l5rSw0yVb/vlWAYkK/YBwk=": hash "sha1" is not supported, only sha256// is
	// true
}

func ExampleVerifier_VerifyChain() {
	pki := newExamplePKI()
	chain := []*x509.Certificate{pki.leaf.Leaf}

	v := &tlsutil.Verifier{Roots: pki.roots, Name: "localhost", Pins: []tlsutil.Pin{tlsutil.PinOf(pki.root)}}
	chains, err := v.VerifyChain(chain, nil)
	fmt.Println(len(chains[0]), err)

	v.Name = "www.example.com"
	_, err = v.VerifyChain(chain, nil)
	var ve *tlsutil.VerifyError
	if errors.As(err, &ve) {
		fmt.Println(ve.Reason, ve.Names, errors.Is(err, tlsutil.NameMismatch))
	}
	// Output:
	// 2 <nil>
	// certificate name mismatch [DNS:localhost IP:127.0.0.1] true
}

func ExampleDialer() {
	pki := newExamplePKI()
	addr, stop := exampleServer(pki.leaf)
	defer stop()

	// Dial an IP address but verify the name "localhost" (curl's
	// --connect-to), pinning the CA's key.
	d := &tlsutil.Dialer{Verifier: &tlsutil.Verifier{
		Roots: pki.roots,
		Name:  "localhost",
		Pins:  []tlsutil.Pin{tlsutil.PinOf(pki.root)},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	cs := conn.(*tls.Conn).ConnectionState()
	fmt.Println(tls.VersionName(cs.Version), cs.ServerName, cs.PeerCertificates[0].Subject.CommonName)

	// The same server, refused: wrong roots.
	d.Verifier = &tlsutil.Verifier{Roots: x509.NewCertPool(), Name: "localhost"}
	_, err = d.DialContext(ctx, "tcp", addr)
	fmt.Println(errors.Is(err, tlsutil.UnknownAuthority))
	// Output:
	// TLS 1.3 localhost localhost
	// true
}

func ExampleNewTransport() {
	pki := newExamplePKI()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello over %s", r.Proto)
	}))
	srv.TLS = tlsutil.ServerConfig(pki.leaf)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	// srv.URL has an IP address: crypto/tls does not tell VerifyConnection
	// about IP server names, so say which name to verify.
	tr := tlsutil.NewTransport(&tlsutil.Verifier{Roots: pki.roots, Name: "127.0.0.1"})
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: hello over HTTP/2.0
}

func ExampleReloader() {
	pki := newExamplePKI()
	dir, err := os.MkdirTemp("", "reloader")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	keyDER, err := x509.MarshalPKCS8PrivateKey(pki.leaf.PrivateKey)
	if err != nil {
		log.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.leaf.Certificate[0]}), 0o600); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		log.Fatal(err)
	}

	r, err := tlsutil.NewReloader(tlsutil.ReloadConfig{
		CertFile: certFile,
		KeyFile:  keyFile,
		OnError:  func(err error) { log.Print(err) }, // the old pair stays in use
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	cfg := tlsutil.ServerConfig()
	cfg.GetCertificate = r.GetCertificate

	c, err := cfg.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Leaf.Subject.CommonName)

	// A broken key on disk does not replace the good pair.
	if err := os.WriteFile(keyFile, []byte("oops"), 0o600); err != nil {
		log.Fatal(err)
	}
	_, err = r.Reload()
	fmt.Println(err != nil, r.Certificate() == c)
	// Output:
	// localhost
	// true true
}

func ExampleMutualServerConfig() {
	pki := newExamplePKI()
	dir, err := os.MkdirTemp("", "mtls")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	keyDER, err := x509.MarshalPKCS8PrivateKey(pki.leaf.PrivateKey)
	if err != nil {
		log.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.leaf.Certificate[0]}), 0o600); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		log.Fatal(err)
	}

	// The server: its own certificate from files, kept fresh; clients
	// must hold a certificate of our CA naming one allowed workload.
	certs, err := tlsutil.NewReloader(tlsutil.ReloadConfig{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		log.Fatal(err)
	}
	defer certs.Close()
	cfg := tlsutil.MutualServerConfig(certs, &tlsutil.Verifier{
		Roots:      pki.roots,
		AllowNames: []string{"spiffe://example.org/ns/prod/sa/api"},
	})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	verdicts := make(chan error)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			err = c.(*tls.Conn).Handshake()
			if err == nil {
				_, err = c.Write([]byte("hello\n"))
			}
			c.Close()
			verdicts <- err
		}
	}()

	for _, id := range []string{"spiffe://example.org/ns/prod/sa/api", "spiffe://example.org/ns/dev/sa/api"} {
		client := tlsutil.ClientConfig(&tlsutil.Verifier{Roots: pki.roots, Name: "localhost"})
		client.Certificates = []tls.Certificate{pki.clientCert(id)}
		if c, err := (&tlsutil.Dialer{Config: client}).Dial("tcp", ln.Addr().String()); err == nil {
			_, _ = io.Copy(io.Discard, c) // TLS 1.3: the server judges the client after the client's handshake
			c.Close()
		}
		if err := <-verdicts; err != nil {
			fmt.Printf("%s refused: %v\n", id, errors.Is(err, tlsutil.NameNotAllowed))
		} else {
			fmt.Printf("%s accepted\n", id)
		}
	}
	// Output:
	// spiffe://example.org/ns/prod/sa/api accepted
	// spiffe://example.org/ns/dev/sa/api refused: true
}
