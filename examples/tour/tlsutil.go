package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sturdy-go/sturdy/tlsutil"
	"golang.org/x/crypto/ocsp"
)

// serveHTTPS starts an HTTPS server on loopback with cert and returns its
// address and a function that stops it.
func serveHTTPS(cert tls.Certificate) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello over verified TLS\n")
		}),
		TLSConfig:         tlsutil.ServerConfig(cert),
		ReadHeaderTimeout: 5 * time.Second,
		// Refused handshakes are what the tour shows; keep them quiet.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeTLS(l, "", "")
	}()
	return l.Addr().String(), func() { srv.Close(); <-done }, nil
}

func tourTLS(w io.Writer) error {
	root, err := newRootCA("tour root")
	if err != nil {
		return err
	}
	inter, err := root.intermediate("tour intermediate")
	if err != nil {
		return err
	}
	leafCert, good, err := inter.leaf("api.tour.test")
	if err != nil {
		return err
	}
	other, err := newRootCA("another root")
	if err != nil {
		return err
	}

	if good.OCSPStaple, err = inter.ocsp(leafCert, ocsp.Good); err != nil {
		return err
	}
	addr, stop, err := serveHTTPS(good)
	if err != nil {
		return err
	}
	defer stop()
	revoked := good
	if revoked.OCSPStaple, err = inter.ocsp(leafCert, ocsp.Revoked); err != nil {
		return err
	}
	revokedAddr, stopRevoked, err := serveHTTPS(revoked)
	if err != nil {
		return err
	}
	defer stopRevoked()

	// One Verifier: our roots, a pin on the intermediate's key, and a
	// stapled OCSP answer required. The name to verify is the service's,
	// not the loopback address we dial (curl's --connect-to).
	v := &tlsutil.Verifier{
		Roots:      root.pool(),
		Name:       "api.tour.test",
		Pins:       []tlsutil.Pin{tlsutil.PinOf(inter.Cert)},
		Revocation: tlsutil.RevocationRequireStaple,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	conn, err := (&tlsutil.Dialer{Verifier: v}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("the verified dial failed: %w", err)
	}
	elapsed := time.Since(start)
	fmt.Fprintf(w, "   dialed %s as api.tour.test in %v: name, chain, pin and stapled OCSP all checked\n", addr, elapsed.Round(10*time.Microsecond))
	for _, line := range strings.Split(strings.TrimRight(tlsutil.Describe(conn.(*tls.Conn).ConnectionState()), "\n"), "\n") {
		fmt.Fprintf(w, "   | %s\n", line)
	}
	conn.Close()

	refusals := []struct {
		what string
		v    tlsutil.Verifier
		addr string
		want tlsutil.Reason
	}{
		{"a wrong name", tlsutil.Verifier{Roots: root.pool(), Name: "admin.tour.test"}, addr, tlsutil.NameMismatch},
		{"a pin mismatch", tlsutil.Verifier{Roots: root.pool(), Name: "api.tour.test", Pins: []tlsutil.Pin{tlsutil.PinOf(other.Cert)}}, addr, tlsutil.PinMismatch},
		{"a revoked stapled OCSP response", tlsutil.Verifier{Roots: root.pool(), Name: "api.tour.test", Revocation: tlsutil.RevocationIfStapled}, revokedAddr, tlsutil.Revoked},
	}
	for _, r := range refusals {
		_, err := (&tlsutil.Dialer{Verifier: &r.v}).DialContext(ctx, "tcp", r.addr)
		var ve *tlsutil.VerifyError
		if !errors.As(err, &ve) || ve.Reason != r.want {
			return fmt.Errorf("%s: got %v, want a VerifyError with reason %v", r.what, err, r.want)
		}
		fmt.Fprintf(w, "   refused %s (Reason %s):\n     %s\n", r.what, ve.Reason.String(), firstClause(ve.Error()))
	}
	return nil
}

// firstClause keeps a diagnostic to its first sentence for the tour; the
// full error also lists the chain the server sent.
func firstClause(s string) string {
	if i := strings.Index(s, "; chain sent"); i > 0 {
		return s[:i]
	}
	return s
}
