package tlsutil

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// DefaultTimeout bounds dial plus handshake when the context has no
// deadline and Dialer.NetDialer sets no Timeout.
const DefaultTimeout = 30 * time.Second

// ErrInsecureConfig is returned by Dialer.DialContext when Config has
// InsecureSkipVerify set and there is no Verifier to do the verification.
var ErrInsecureConfig = errors.New("tlsutil: refusing to dial: Config.InsecureSkipVerify is set and Dialer.Verifier is nil; set a Verifier (with Roots or Pins) instead of skipping verification, and give a config from ClientConfig itself, not a clone")

// Dialer dials TLS connections whose peer is verified by a Verifier. The
// zero Dialer is ready: Intermediate profile, system roots, a timeout of
// DefaultTimeout. It is safe for concurrent use if not modified.
type Dialer struct {
	// NetDialer dials the TCP connection. nil means a zero net.Dialer.
	// Its Timeout, when set, replaces DefaultTimeout.
	NetDialer *net.Dialer

	// Config is the base configuration, cloned for each connection. nil
	// means Intermediate.Client's settings. Whatever it says, the
	// connection is verified by a Verifier: InsecureSkipVerify is set on
	// the clone only so that the Verifier alone decides.
	//
	// A config made by ClientConfig or Profile.Client (that very pointer,
	// not a clone) carries its Verifier, which is used when
	// Dialer.Verifier is nil (and replaced when it is not); the
	// VerifyConnection ClientConfig installed is then not called, since
	// the Verifier already ran with the name dialed.
	// Any other VerifyConnection in Config, including one the user wrapped
	// around ClientConfig's, runs after the Verifier accepted the peer,
	// with ConnectionState.ServerName set to the name dialed when
	// crypto/tls left it empty (an IP literal). A Config with
	// InsecureSkipVerify and no Verifier (a clone of a ClientConfig
	// config, say) is refused with ErrInsecureConfig.
	// Config.VerifyPeerCertificate, if set, is given no verified chains
	// (crypto/tls does not verify); prefer VerifyConnection, which also
	// runs on resumed sessions.
	Config *tls.Config

	// Verifier checks the peer. nil means the Verifier of a config from
	// Profile.Client, else a Verifier with Config.RootCAs as Roots and
	// Config.Time as Now.
	Verifier *Verifier
}

// DialContext connects to addr on the named network ("tcp", "tcp4",
// "tcp6") and completes the TLS handshake before it returns a *tls.Conn.
// Dial and handshake together are bounded by ctx, and by DefaultTimeout (or
// NetDialer.Timeout) when ctx has no deadline.
//
// The SNI sent is Config.ServerName if set, else Verifier.Name, else the
// host of addr; an IP literal is never sent as SNI (RFC 6066), yet it is
// still the name verified, against the leaf's IP SANs. The name verified is
// Verifier.Name if set, else the SNI name.
//
// A refused peer gives a *VerifyError (with Addr set); other failures are
// wrapped with the address.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	cfg, err := d.config(addr)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		timeout := DefaultTimeout
		if d.NetDialer != nil && d.NetDialer.Timeout > 0 {
			timeout = d.NetDialer.Timeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	nd := d.NetDialer
	if nd == nil {
		nd = &net.Dialer{}
	}
	raw, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("tlsutil: %w", err)
	}
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		var ve *VerifyError
		if errors.As(err, &ve) {
			ve.Addr = addr
			return nil, ve
		}
		return nil, fmt.Errorf("tlsutil: TLS handshake with %s: %w", addr, err)
	}
	return conn, nil
}

// Dial is DialContext with context.Background.
func (d *Dialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

// config builds the per-connection config for addr.
func (d *Dialer) config(addr string) (*tls.Config, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("tlsutil: dial %q: %w", addr, err)
	}
	// A zoned IPv6 literal (fe80::1%eth0) verifies as the bare address.
	if i := strings.LastIndexByte(host, '%'); i > 0 && net.ParseIP(host[:i]) != nil {
		host = host[:i]
	}
	var cfg *tls.Config
	if d.Config != nil {
		cfg = d.Config.Clone()
	} else {
		cfg = Intermediate.base()
		cfg.ClientSessionCache = clientSessions
	}
	v := d.Verifier
	own := cfg.VerifyConnection
	if cv := configVerifier(d.Config); cv != nil {
		// A config from Profile.Client: its Verifier is the Dialer's
		// unless the Dialer has one, and runs with the dialed name. The
		// config's VerifyConnection is skipped only while it is the one
		// Profile.Client installed; a check the user wrapped around it (or
		// put in its place) always runs.
		if installedVerify(own) {
			own = nil
		}
		if v == nil {
			v = cv
		}
	}
	if v == nil {
		if cfg.InsecureSkipVerify {
			return nil, ErrInsecureConfig
		}
		v = &Verifier{Roots: cfg.RootCAs, Now: cfg.Time}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
		if v.Name != "" {
			cfg.ServerName = v.Name
		}
	}
	name := cfg.ServerName
	verify := v.verifyFor(name)
	if own != nil {
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if err := verify(cs); err != nil {
				return err
			}
			// crypto/tls hides an IP literal; the config's own check sees
			// the name dialed, as the Dialer's Verifier does.
			if cs.ServerName == "" {
				cs.ServerName = name
			}
			return own(cs)
		}
	} else {
		cfg.VerifyConnection = verify
	}
	cfg.InsecureSkipVerify = true
	return cfg, nil
}
