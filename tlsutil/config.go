package tlsutil

import (
	"crypto/tls"
	"net"
	"net/http"
	"reflect"
	"runtime"
	"sync"
	"time"
	"weak"
)

// Profile is a set of protocol versions, cipher suites and key exchange
// groups, after Mozilla's server-side TLS recommendations
// (https://wiki.mozilla.org/Security/Server_Side_TLS).
type Profile int

const (
	// Intermediate is Mozilla's "intermediate" profile: TLS 1.2 and 1.3;
	// for TLS 1.2 only the six ECDHE suites with AEAD ciphers (AES-GCM,
	// ChaCha20-Poly1305); key exchange X25519MLKEM768 (post-quantum
	// hybrid), X25519, P-256, P-384. It reaches every maintained client and
	// server. (Mozilla's DHE suites are left out: crypto/tls has none.)
	Intermediate Profile = iota
	// Modern is Mozilla's "modern" profile: TLS 1.3 only, with the same
	// groups. Use it when every peer is known to speak TLS 1.3.
	Modern
)

// intermediateSuites are the TLS 1.2 suites of the Intermediate profile.
// TLS 1.3 suites are not configurable in crypto/tls; all three are AEAD.
var intermediateSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

var profileCurves = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384}

// String returns "Intermediate" or "Modern".
func (p Profile) String() string {
	if p == Modern {
		return "Modern"
	}
	return "Intermediate"
}

func (p Profile) base() *tls.Config {
	cfg := &tls.Config{
		MinVersion:       tls.VersionTLS12,
		MaxVersion:       tls.VersionTLS13,
		CipherSuites:     append([]uint16(nil), intermediateSuites...),
		CurvePreferences: append([]tls.CurveID(nil), profileCurves...),
	}
	if p == Modern {
		cfg.MinVersion = tls.VersionTLS13
		cfg.CipherSuites = nil
	}
	return cfg
}

// clientSessions is the session cache of a Dialer without Config. Sharing
// it is safe because a resumed session is verified again, in full, by the
// Verifier of the connection that resumes it, and because those configs
// present no client certificate: a session carries the client's identity,
// so configs that may hold certificates (Profile.Client) get a cache each.
var clientSessions = tls.NewLRUClientSessionCache(0)

// Client returns a client config of the profile with v wired in: v's
// VerifyConnection does every check, and InsecureSkipVerify is set only so
// that crypto/tls does not verify a second time with other rules (and does
// not skip checks on resumed sessions). A nil v is the zero Verifier.
// The config has a session cache of its own, so sessions resume across
// the connections made with it (and its clones), never across configs: a
// session resumes the client certificate it was made with.
//
// Do not clear VerifyConnection on the result: with InsecureSkipVerify
// set, it is the only verification. To add a check, wrap it (call the
// original, then yours). A Dialer given the result (this very pointer, not
// a clone) verifies with v itself, knowing the name it dialed; it calls
// the config's VerifyConnection too once the user wrapped or replaced it.
func (p Profile) Client(v *Verifier) *tls.Config {
	if v == nil {
		v = &Verifier{}
	}
	cfg := p.base()
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = clientVerify(v)
	// A cache of its own: a session resumes with the client certificate
	// of the connection that made it, which another config must not reuse.
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(0)
	rememberVerifier(cfg, v)
	return cfg
}

// clientVerify returns the VerifyConnection that Profile.Client installs.
// Every function it returns has the same code, which no other function
// has: a Dialer tells by it whether a config's VerifyConnection is still
// the one installed, or was wrapped or replaced by the user. (Not inlined:
// an inlined copy of the closure would have code of its own.)
//
//go:noinline
func clientVerify(v *Verifier) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error { return v.VerifyConnection(cs) }
}

var clientVerifyCode = reflect.ValueOf(clientVerify(nil)).Pointer()

// installedVerify reports whether f is a function clientVerify made.
func installedVerify(f func(tls.ConnectionState) error) bool {
	return f != nil && reflect.ValueOf(f).Pointer() == clientVerifyCode
}

// clientConfigs maps each config Profile.Client made to its Verifier, so
// that a Dialer given one verifies with that Verifier, once, with the name
// it dialed (crypto/tls hides an IP literal from VerifyConnection). The
// keys are weak: a config no longer referenced is collected and forgotten.
var clientConfigs sync.Map // weak.Pointer[tls.Config] -> *Verifier

func rememberVerifier(cfg *tls.Config, v *Verifier) {
	k := weak.Make(cfg)
	clientConfigs.Store(k, v)
	runtime.AddCleanup(cfg, func(k weak.Pointer[tls.Config]) { clientConfigs.Delete(k) }, k)
}

// configVerifier returns the Verifier of a config made by Profile.Client,
// or nil.
func configVerifier(cfg *tls.Config) *Verifier {
	if cfg == nil {
		return nil
	}
	if v, ok := clientConfigs.Load(weak.Make(cfg)); ok {
		return v.(*Verifier)
	}
	return nil
}

// Server returns a server config of the profile serving certs. To serve
// certificates that change on disk, leave certs empty and set
// GetCertificate to a Reloader's.
func (p Profile) Server(certs ...tls.Certificate) *tls.Config {
	cfg := p.base()
	cfg.Certificates = append([]tls.Certificate(nil), certs...)
	return cfg
}

// MutualServer returns a server config of the profile for mutual TLS: it
// serves the certificate of certs, replaced when its files change, and
// requires every client to present a certificate, which v verifies with
// Client set (on a copy of v, if v does not set it): chain, clientAuth, the
// names of AllowNames if any, Strict rules, pins and CRLs, on full
// handshakes and on resumed sessions alike. crypto/tls itself verifies
// nothing (ClientAuth is tls.RequireAnyClientCert); v does it all in
// VerifyConnection. A client refused gets a TLS alert; the server's
// Handshake (or http.Server's error log) gets the *VerifyError.
//
// When v has Roots and no GetRoots, they are also sent to clients as the
// CAs the server accepts (ClientCAs), which helps a client holding several
// certificates pick the right one. A nil certs leaves the server's own
// certificate to the caller: set Certificates or GetCertificate on the
// result. Client certificates are verified only against roots the caller
// chose: with a nil v, or a v without Roots or GetRoots, every client is
// refused with NoClientRoots (the system roots would admit any publicly
// trusted certificate that allows clientAuth, as many server certificates
// do).
func (p Profile) MutualServer(certs *Reloader, v *Verifier) *tls.Config {
	c := Verifier{}
	if v != nil {
		c = *v
	}
	c.Client = true
	cfg := p.base()
	if certs != nil {
		cfg.GetCertificate = certs.GetCertificate
	}
	cfg.ClientAuth = tls.RequireAnyClientCert
	cfg.VerifyConnection = c.VerifyConnection
	if c.GetRoots == nil {
		cfg.ClientCAs = c.Roots
	}
	return cfg
}

// MutualServerConfig returns Intermediate.MutualServer(certs, v).
func MutualServerConfig(certs *Reloader, v *Verifier) *tls.Config {
	return Intermediate.MutualServer(certs, v)
}

// ClientConfig returns Intermediate.Client(v): Mozilla's intermediate
// profile with every check of v in VerifyConnection.
func ClientConfig(v *Verifier) *tls.Config { return Intermediate.Client(v) }

// ServerConfig returns Intermediate.Server(certs...).
func ServerConfig(certs ...tls.Certificate) *tls.Config { return Intermediate.Server(certs...) }

// NewTransport returns an http.Transport whose TLSClientConfig is
// ClientConfig(v). The checks live in TLSClientConfig, not in a dial hook,
// so they also hold for requests tunneled through an HTTPS proxy (CONNECT)
// and on resumed sessions. HTTP/2 is on (ForceAttemptHTTP2), proxies come
// from the environment, and the timeouts are finite: 10 s to connect, 10 s
// for the TLS handshake, 60 s for the response headers, 90 s for idle
// connections. Set ResponseHeaderTimeout to 0 for long polls.
//
// For URLs whose host is an IP literal, set v.Name to that IP: crypto/tls
// does not give VerifyConnection an IP ServerName (see Verifier.Name).
func NewTransport(v *Verifier) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		TLSClientConfig:       ClientConfig(v),
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
	}
}
