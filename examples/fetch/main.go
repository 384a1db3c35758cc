// Command fetch is a small curl for HTTPS that always verifies the server
// and explains exactly why when it refuses one.
//
//	go run ./examples/fetch [flags] URL
//
//	-cacert FILE         trust these PEM roots (files or directories) instead of the system's
//	-pin sha256//BASE64  require a certificate of the chain to have this key (repeatable)
//	-connect-to H:P      connect to H:P but verify the URL's host (like curl --connect-to)
//	-cert-status         require a stapled OCSP response that says "good"
//	-cert FILE -key FILE present this client certificate (mutual TLS)
//	-v                   describe the TLS connection on standard error
//	-timeout D           bound the whole request (default 30s)
//	-h                   print this help and exit
//
// Redirects are not followed (as curl without -L). The body goes to
// standard output. The exit status is curl's for the same failure:
// 0 on a 2xx answer, 22 on any other HTTP status (curl -f), 6 when the host
// name does not resolve, 7 when the connection is refused, 28 on timeout,
// 35 when the server sends a TLS alert or does not speak TLS, 56 when the body
// cannot be read, 58 for a client
// certificate or key that cannot be used, 60 when the server's certificate
// is refused, 77 for a -cacert that cannot be read, 90 on a pin mismatch
// (curl --pinnedpubkey), 91 when -cert-status finds no good staple, 2 on
// bad flags and 1 on any other failure.
package main

import (
	"context"
	"crypto/tls"
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

// Exit statuses, as curl uses them (curl's CURLE_ names in comments).
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2  // CURLE_FAILED_INIT
	exitResolve     = 6  // CURLE_COULDNT_RESOLVE_HOST
	exitConnect     = 7  // CURLE_COULDNT_CONNECT
	exitHTTP        = 22 // CURLE_HTTP_RETURNED_ERROR
	exitTimeout     = 28 // CURLE_OPERATION_TIMEDOUT
	exitTLS         = 35 // CURLE_SSL_CONNECT_ERROR
	exitClientCert  = 58 // CURLE_SSL_CERTPROBLEM
	exitVerifyPeer  = 60 // CURLE_PEER_FAILED_VERIFICATION
	exitCACert      = 77 // CURLE_SSL_CACERT_BADFILE
	exitPinMismatch = 90 // CURLE_SSL_PINNEDPUBKEYNOTMATCH
	exitRecv        = 56 // CURLE_RECV_ERROR
	exitCertStatus  = 91 // CURLE_SSL_INVALIDCERTSTATUS
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

const about = `fetch gets an HTTPS URL like curl, but always verifies the server:
chain, name, pins and, with -cert-status, a stapled OCSP answer. When it
refuses a server it says exactly why. The body goes to standard output;
redirects are not followed. The exit status is curl's for the same failure.`

func run(stdout, stderr io.Writer, args []string) int {
	fs := flag.NewFlagSet("fetch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "usage: fetch [flags] https://host[:port]/path\n\n%s\n\nflags:\n", about)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	// The flag package prints the usage itself on -h and on a bad flag;
	// -h's goes to standard output, as curl -h does.
	var usageText strings.Builder
	fs.Usage = func() { usage(&usageText) }
	var pins pinList
	cacert := fs.String("cacert", "", "trust the PEM `roots` in these files or directories (comma-separated) instead of the system's")
	fs.Var(&pins, "pin", "require a certificate of the chain to match `sha256//BASE64` (repeatable)")
	connectTo := fs.String("connect-to", "", "connect to `host:port` instead of the URL's, still verifying the URL's host")
	certStatus := fs.Bool("cert-status", false, "require a stapled OCSP response saying the certificate is good")
	certFile := fs.String("cert", "", "present the PEM client certificate in `file` (with -key), for mutual TLS")
	keyFile := fs.String("key", "", "the PEM private key of -cert, in `file`")
	verbose := fs.Bool("v", false, "describe the TLS connection on standard error")
	timeout := fs.Duration("timeout", 30*time.Second, "bound the whole request")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(stdout, usageText.String())
			return exitOK
		}
		io.WriteString(stderr, usageText.String())
		return exitUsage
	}
	if fs.NArg() != 1 {
		usage(stderr)
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
	if (*certFile == "") != (*keyFile == "") {
		fmt.Fprintln(stderr, "fetch: -cert and -key go together")
		return exitUsage
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
			fmt.Fprintf(stderr, "fetch: -cacert: %v\n", err)
			return exitCACert
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
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			fmt.Fprintf(stderr, "fetch: client certificate: %v\n", err)
			return exitClientCert
		}
		tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	}
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
		code, what := classify(err)
		fmt.Fprintf(stderr, "fetch: %s%s: %v\n", what, u.Host, err)
		return code
	}
	defer resp.Body.Close()
	if *verbose && resp.TLS != nil {
		fmt.Fprint(stderr, tlsutil.Describe(*resp.TLS))
		fmt.Fprintf(stderr, "< %s %s\n", resp.Proto, resp.Status)
	}
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		code, _ := classify(err)
		if code == exitFailure {
			code = exitRecv
		}
		fmt.Fprintf(stderr, "fetch: reading the body: %v\n", err)
		return code
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(stderr, "fetch: %s answered %s\n", u.Host, resp.Status)
		return exitHTTP
	}
	return exitOK
}

// classify maps a request's error to curl's exit status for it, and a word
// for the message.
func classify(err error) (int, string) {
	var ve *tlsutil.VerifyError
	if errors.As(err, &ve) {
		switch ve.Reason {
		case tlsutil.PinMismatch:
			return exitPinMismatch, "refused "
		case tlsutil.StapleMissing, tlsutil.StapleExpired, tlsutil.BadStaple, tlsutil.Revoked:
			// Revoked can only come from the staple: fetch takes no CRL.
			return exitCertStatus, "refused "
		}
		return exitVerifyPeer, "refused "
	}
	var ue x509.UnknownAuthorityError
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ue) || errors.As(err, &ce) {
		return exitVerifyPeer, "refused "
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return exitTimeout, "timed out: "
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return exitResolve, "cannot resolve "
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		switch oe.Op {
		case "dial":
			return exitConnect, "cannot connect to "
		case "remote error": // crypto/tls's wrapping of a TLS alert from the peer
			return exitTLS, "TLS alert from "
		}
	}
	var re tls.RecordHeaderError
	if errors.As(err, &re) {
		return exitTLS, "not TLS at "
	}
	return exitFailure, ""
}
