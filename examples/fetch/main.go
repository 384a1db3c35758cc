// Command fetch is a small curl for HTTPS that always verifies the server
// and explains exactly why when it refuses one.
//
//	go run ./examples/fetch [flags] URL
//
//	-cacert FILE         trust these PEM roots (files or directories) instead of the system's
//	-pin sha256//BASE64  require a certificate of the chain to have this key (repeatable)
//	-connect-to H:P      connect to H:P but verify the URL's host (like curl --connect-to)
//	-cert-status         require a stapled OCSP response that says "good"
//	-v                   describe the TLS connection on standard error
//	-timeout D           bound the whole request (default 30s)
//
// Redirects are not followed (as curl without -L). The body goes to
// standard output. The exit status is 0 on a 2xx answer,
// 22 on any other HTTP status (curl -f), 60 when the server's certificate
// is refused (as curl does), 2 on bad flags and 1 on any other failure.
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/sturdy-go/sturdy/tlsutil"
)

// Exit statuses, as curl uses them.
const (
	exitOK         = 0
	exitFailure    = 1
	exitUsage      = 2
	exitHTTP       = 22
	exitVerifyPeer = 60
)

func main() { os.Exit(run(os.Stdout, os.Stderr, os.Args[1:])) }

type pinList []tlsutil.Pin

func (p *pinList) String() string {
	var s []string
	for _, pin := range *p {
		s = append(s, pin.String())
	}
	return strings.Join(s, ";")
}

func (p *pinList) Set(v string) error {
	pin, err := tlsutil.ParsePin(v)
	if err != nil {
		return err
	}
	*p = append(*p, pin)
	return nil
}

func run(stdout, stderr io.Writer, args []string) int {
	fs := flag.NewFlagSet("fetch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: fetch [flags] https://host[:port]/path")
		fs.PrintDefaults()
	}
	var pins pinList
	cacert := fs.String("cacert", "", "trust the PEM `roots` in these files or directories (comma-separated) instead of the system's")
	fs.Var(&pins, "pin", "require a certificate of the chain to match `sha256//BASE64` (repeatable)")
	connectTo := fs.String("connect-to", "", "connect to `host:port` instead of the URL's, still verifying the URL's host")
	certStatus := fs.Bool("cert-status", false, "require a stapled OCSP response saying the certificate is good")
	verbose := fs.Bool("v", false, "describe the TLS connection on standard error")
	timeout := fs.Duration("timeout", 30*time.Second, "bound the whole request")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	u, err := url.Parse(fs.Arg(0))
	if err != nil || u.Scheme != "https" || u.Host == "" {
		fmt.Fprintf(stderr, "fetch: %q is not an https:// URL\n", fs.Arg(0))
		return exitUsage
	}
	if *connectTo != "" {
		if _, _, err := net.SplitHostPort(*connectTo); err != nil {
			fmt.Fprintf(stderr, "fetch: -connect-to %q: want host:port\n", *connectTo)
			return exitUsage
		}
	}

	v := &tlsutil.Verifier{Pins: pins}
	// crypto/tls sends no SNI for an IP address and so cannot tell the
	// Verifier which name to check: name it here. fetch follows no
	// redirect (like curl without -L), so this is the only host.
	if ip := net.ParseIP(u.Hostname()); ip != nil {
		v.Name = ip.String()
	}
	if *cacert != "" {
		roots, err := tlsutil.LoadRoots(strings.Split(*cacert, ",")...)
		if err != nil {
			fmt.Fprintf(stderr, "fetch: %v\n", err)
			return exitUsage
		}
		v.Roots = roots
	}
	if *certStatus {
		v.Revocation = tlsutil.RevocationRequireStaple
	}

	// Every check lives in the transport's TLS config, so it holds
	// whatever dials the connection: the redirect below or a proxy.
	tr := tlsutil.NewTransport(v)
	defer tr.CloseIdleConnections()
	if *connectTo != "" {
		var d net.Dialer
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, *connectTo)
		}
	}
	client := &http.Client{
		Transport:     tr,
		Timeout:       *timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get(u.String())
	if err != nil {
		var ve *tlsutil.VerifyError
		if errors.As(err, &ve) {
			fmt.Fprintf(stderr, "fetch: refused %s: %v\n", u.Host, ve)
			return exitVerifyPeer
		}
		var ue x509.UnknownAuthorityError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "fetch: refused %s: %v\n", u.Host, err)
			return exitVerifyPeer
		}
		fmt.Fprintf(stderr, "fetch: %v\n", err)
		return exitFailure
	}
	defer resp.Body.Close()
	if *verbose && resp.TLS != nil {
		fmt.Fprint(stderr, tlsutil.Describe(*resp.TLS))
		fmt.Fprintf(stderr, "< %s %s\n", resp.Proto, resp.Status)
	}
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		fmt.Fprintf(stderr, "fetch: reading the body: %v\n", err)
		return exitFailure
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(stderr, "fetch: %s answered %s\n", u.Host, resp.Status)
		return exitHTTP
	}
	return exitOK
}
