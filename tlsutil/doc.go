// Package tlsutil makes TLS connections whose peer is always verified —
// chain, name, pins, revocation and, on request, the web-PKI rules — on
// both sides of a connection, and says exactly why it refused one.
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
// The checks, in order; a failure is returned as a *VerifyError whose
// Reason a program can branch on (errors.Is(err, tlsutil.Expired)):
//
//  1. Chain: crypto/x509 builds every candidate chain from the leaf,
//     through the intermediates the peer sent, to Roots (nil: the system
//     roots), valid at Now, for serverAuth (clientAuth with
//     Verifier.Client). The error says which certificate expired or, for
//     an unknown authority, where the chain stops and whether an
//     intermediate seems missing.
//  2. Name: Verifier.AllowNames if set, else Verifier.Name, else (for a
//     server) the connection's ServerName. IP literals match IP SANs only;
//     DNS names match DNS SANs, a wildcard covering exactly one left-most
//     label; URIs and SPIFFE IDs match URI SANs; the common name is never
//     used.
//  3. Strict rules (Verifier.Strict), listed below.
//  4. Pins: when Pins is set, some certificate of the chain (leaf,
//     intermediate or root) must have one of the SPKI SHA-256 pins, written
//     as curl's "sha256//BASE64". List a backup pin.
//  5. Revocation: the stapled OCSP response, per Revocation. A leaf with
//     the must-staple extension (RFC 7633) always requires one. Verifier.CRL
//     plugs in CRLs the caller fetched. Nothing is fetched over the network,
//     by design: see RevocationPolicy.
//
// Steps 3 to 5 are judged per candidate chain: crypto/x509 may build
// several (a cross-signed intermediate leads to two roots), and the peer
// decides which comes first by the order it sends its intermediates in.
// The peer is accepted when one chain passes every check; when none does,
// the error is that of the chain that passed the most checks.
//
// # Strict rules
//
// With Strict set, every candidate chain must also follow these rules of
// the web PKI, which crypto/x509 does not apply. Each names its source and
// the Reason it fails with. The trust anchor itself is not judged: trusting
// it, and what it contains, is a local choice (RFC 5280 6.1). Without
// Strict, a Verifier refuses exactly what crypto/x509 refuses, plus names,
// pins and revocation.
//
//   - The leaf is not a CA (CA/Browser Forum Baseline Requirements
//     7.1.2.7.8; RFC 5280 4.2.1.9): LeafIsCA.
//   - The leaf has the extendedKeyUsage extension and it lists serverAuth,
//     or clientAuth for a client (BR 7.1.2.7.10): MissingServerAuth,
//     MissingClientAuth.
//   - The leaf does not list anyExtendedKeyUsage (BR 7.1.2.7.10), and its
//     extendedKeyUsage is not critical (BR 7.1.2.7.6): BadEKU.
//   - The leaf's key usage has no keyCertSign (RFC 5280 4.2.1.3):
//     BadKeyUsage.
//   - The leaf carries no name constraints (RFC 5280 4.2.1.10: CA
//     certificates only): BadNameConstraints.
//   - The leaf's common name, if any, is one of its SANs (BR 7.1.4.3):
//     BadCommonName.
//   - A subjectAltName is critical exactly when the subject is empty
//     (RFC 5280 4.2.1.6): BadCriticality.
//   - Keys of the leaf and intermediates are RSA of at least 2048 bits (a
//     multiple of 8) or ECDSA on P-256, P-384 or P-521 (BR 6.1.5): WeakKey.
//   - Every DNS SAN of the leaf is a valid host name: letters, digits and
//     hyphens, labels of 1 to 63 characters, no underscore, no IP address,
//     no trailing dot (RFC 5280 4.2.1.6 via RFC 1034; BR 7.1.4.2.1); a
//     wildcard only as the whole left-most label (RFC 6125 6.4.3), not
//     directly above a top-level domain (RFC 6125 7.2) and not on a public
//     suffix such as *.co.uk or *.s3.amazonaws.com (BR 3.2.2.6, using the
//     Public Suffix List of golang.org/x/net/publicsuffix): BadDNSName.
//   - A server's leaf is valid for at most 398 days (BR 6.3.2):
//     ValidityTooLong.
//   - Serial numbers of the leaf and intermediates are positive and at
//     most 20 octets (RFC 5280 4.1.2.2; BR 7.1): BadSerial.
//   - Every certificate but a self-signed one has an authorityKeyIdentifier
//     (RFC 5280 4.2.1.1), and every CA a subjectKeyIdentifier (RFC 5280
//     4.2.1.2): MissingKeyID.
//   - A CA's subject is not empty (RFC 5280 4.1.2.6): BadSubject.
//   - A CA's basicConstraints, nameConstraints and policyConstraints are
//     marked critical (RFC 5280 4.2.1.9, 4.2.1.10, 4.2.1.11):
//     BadCriticality.
//   - No DNS name constraint starts with a period (RFC 5280 4.2.1.10: a
//     dNSName constraint is a host name): BadNameConstraints.
//   - Checking the leaf's names against the name constraints of the
//     certificates sent takes at most 250,000 comparisons, the budget of
//     rustls-webpki; past it the chain is refused before it is built:
//     TooManyConstraints.
//   - A CRL from Verifier.CRL has a CRL number, not marked critical
//     (RFC 5280 5.2.3): BadCRL.
//
// # Mutual TLS
//
// A server verifies its clients' certificates with a Verifier whose Client
// is set, in VerifyConnection of a tls.Config with ClientAuth
// tls.RequireAnyClientCert; MutualServerConfig makes that config, serving
// its own certificate from a Reloader. The leaf must allow clientAuth, and
// a name is checked only when AllowNames (or Name) asks for one. AllowNames
// also takes URIs and SPIFFE IDs: "spiffe://example.org/ns/prod/sa/api"
// matches that ID exactly, "spiffe://example.org" any ID of the trust
// domain, and a leaf matched by its SPIFFE ID must be an X.509-SVID
// (exactly one URI SAN, not a CA). Failures have their own Reasons:
// MissingClientAuth, NameNotAllowed, BadSVID, BadAllowNames.
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
// Chains are not memoized with nil Roots (the system's verifier or fallback
// roots may apply rules a memo cannot see) nor with a pool holding a root
// added by CertPool.AddCertWithConstraint, whose constraint is asked at
// every verification; set Roots, for example to LoadRoots of the system
// bundle, to have system-rooted chains memoized.
package tlsutil
