// Package tlsutil dials TLS connections whose peer is always verified —
// chain, name, pins, revocation and, on request, the web-PKI rules — and
// says exactly why it refused one.
//
// # The problem
//
// Go verifies certificates by default, yet TLS clients written in Go still
// go wrong in known ways: InsecureSkipVerify to silence "unknown
// authority"; pins checked in VerifyPeerCertificate, which crypto/tls does
// not call on resumed sessions; checks placed in http.Transport's
// DialTLSContext, which is not used behind an HTTPS proxy; no revocation
// check at all; one fixed ServerName for every host; no timeouts; and
// errors that do not say which name or which certificate failed.
//
// # The model
//
// A Verifier holds every check. Its VerifyConnection method goes into
// tls.Config.VerifyConnection, which crypto/tls calls after every
// handshake, full or resumed, whoever dialed the socket. The configs made
// here (ClientConfig, Profile.Client, Dialer, NewTransport) set
// InsecureSkipVerify only to stop crypto/tls from verifying with its own
// rules first: the Verifier then verifies the certificates the peer sent
// (ConnectionState.PeerCertificates, which a resumed session carries from
// its original handshake) from scratch, against its current roots and the
// current time. So a session resumed from a ticket issued under roots that
// were since replaced is verified against the new ones.
//
// VerifyChain runs the same checks on a chain given by hand, for peers
// reached some other way (a chain read from a file, a QUIC stack, bio).
//
// The checks, in order; the first failure is returned as a *VerifyError
// whose Reason a program can branch on (errors.Is(err, tlsutil.Expired)):
//
//  1. Chain: crypto/x509 builds a chain from the leaf, through the
//     intermediates the peer sent, to Roots (nil: the system roots), valid
//     at Now, for serverAuth. The error says which certificate expired or,
//     for an unknown authority, where the chain stops and whether an
//     intermediate seems missing.
//  2. Name: Verifier.Name, or the connection's ServerName. IP literals
//     match IP SANs only; DNS names match DNS SANs, a wildcard covering
//     exactly one left-most label; the common name is never used.
//  3. Strict rules (Verifier.Strict), which crypto/x509 does not apply:
//     - the leaf is not a CA (CA/Browser Forum Baseline Requirements
//     7.1.2.7.8; RFC 5280 4.2.1.9) — LeafIsCA;
//     - the leaf has the extendedKeyUsage extension and it lists
//     serverAuth (BR 7.1.2.7.10; RFC 5280 4.2.1.12) — MissingServerAuth;
//     - keys of the leaf and intermediates are RSA of at least 2048 bits
//     (a multiple of 8) or ECDSA on P-256, P-384 or P-521 (BR 6.1.5) —
//     WeakKey;
//     - every DNS SAN of the leaf is a valid host name: letters, digits and
//     hyphens, labels of 1 to 63 characters, no underscore, no IP address,
//     no trailing dot, a wildcard only as the whole left-most label and not
//     directly above a top-level domain (RFC 5280 4.2.1.6 via RFC 1034;
//     RFC 6125 6.4.3 and 7.2; BR 7.1.4.2.1) — BadDNSName;
//     - the leaf is valid for at most 398 days (BR 6.3.2) — ValidityTooLong;
//     - serial numbers of the leaf and intermediates are positive and at
//     most 20 octets (RFC 5280 4.1.2.2; BR 7.1) — BadSerial.
//     The trust anchor itself is not judged: trusting it is a local choice.
//  4. Pins: when Pins is set, some certificate of a verified chain (leaf,
//     intermediate or root) must have one of the SPKI SHA-256 pins, written
//     as curl's "sha256//BASE64". List a backup pin.
//  5. Revocation: the stapled OCSP response, per Revocation. A leaf with
//     the must-staple extension (RFC 7633) always requires one. Verifier.CRL
//     plugs in CRLs the caller fetched. Nothing is fetched over the network,
//     by design: see RevocationPolicy.
//
// # Dialing and configs
//
// Dialer.DialContext returns a *tls.Conn whose handshake is done, within
// the context's deadline or DefaultTimeout, with SNI set correctly (none
// for an IP literal) and Verifier.Name as the name to verify when set. It
// refuses a Config with InsecureSkipVerify and no Verifier. ClientConfig and
// ServerConfig follow Mozilla's intermediate profile; Profile's Modern is
// TLS 1.3 only. NewTransport gives an http.Transport with HTTP/2, finite
// timeouts and the Verifier in TLSClientConfig, where proxies cannot
// bypass it. Reloader keeps certificates and roots in step with files on
// disk. Describe prints a connection the way curl -v does.
//
// # Cost
//
// Building a chain and checking an OCSP signature are public-key
// operations; their results depend only on the bytes involved, so they are
// memoized by content in small package-wide caches, and everything that
// depends on time, name, pins or policy is checked again each time. A
// resumed session or a reconnect to a known server therefore costs a few
// hashes and comparisons more than crypto/tls, not a new verification.
package tlsutil
