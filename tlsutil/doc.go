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
// With Strict set, every candidate chain must also follow rules that
// crypto/x509 does not apply, each scoped to what it governs. Each names
// its source and the Reason it fails with. The trust anchor itself is not
// judged: trusting it, and what it contains, is a local choice (RFC 5280
// 6.1); only its name constraints count towards the comparison budget.
// Without Strict, a Verifier refuses exactly what crypto/x509 refuses,
// plus names, pins and revocation.
//
// The RFC 5280 structure rules hold for every certificate, a server's or
// a client's:
//
//   - The leaf is not a CA (RFC 5280 4.2.1.9): LeafIsCA.
//   - The leaf's key usage has no keyCertSign (RFC 5280 4.2.1.3):
//     BadKeyUsage.
//   - The leaf carries no name constraints (RFC 5280 4.2.1.10: CA
//     certificates only): BadNameConstraints.
//   - A subjectAltName is critical exactly when the subject is empty
//     (RFC 5280 4.2.1.6): BadCriticality.
//   - Serial numbers of the leaf and intermediates are positive and at
//     most 20 octets (RFC 5280 4.1.2.2): BadSerial.
//   - Every certificate but a self-signed one has an authorityKeyIdentifier
//     (RFC 5280 4.2.1.1), and every CA a subjectKeyIdentifier (RFC 5280
//     4.2.1.2): MissingKeyID.
//   - A CA's subject is not empty (RFC 5280 4.1.2.6): BadSubject.
//   - A CA's basicConstraints and policyConstraints are marked critical
//     (RFC 5280 4.2.1.9, 4.2.1.11): BadCriticality. A non-critical
//     nameConstraints is accepted, though RFC 5280 asks for critical: the
//     Baseline Requirements long allowed it and real public chains have it
//     (Go's test chain of udctest.ads.vt.edu), and the constraints are
//     enforced all the same.
//   - No DNS name constraint starts with a period (RFC 5280 4.2.1.10: a
//     dNSName constraint is a host name): BadNameConstraints. E-mail
//     constraints are judged by crypto/x509 alone, exactly as without
//     Strict.
//   - Checking the leaf's names against the name constraints of its chain,
//     the trust anchor's included, takes at most 250,000 comparisons, the
//     budget of rustls-webpki: TooManyConstraints. The certificates the
//     peer sent are counted before any chain is built, the anchor's once
//     a candidate chain names it.
//   - A CRL from Verifier.CRL has a CRL number, not marked critical
//     (RFC 5280 5.2.3): BadCRL.
//
// The rules for TLS server certificates (the CA/Browser Forum Baseline
// Requirements, BR, and RFC 6125) hold for a server's leaf only. With
// Client set they are not applied: they do not govern client
// certificates, which routinely have a bare common name, an e-mail SAN, no
// extendedKeyUsage or a validity of years.
//
//   - The leaf has the extendedKeyUsage extension and it lists serverAuth
//     (BR 7.1.2.7.10): MissingServerAuth. It does not list
//     anyExtendedKeyUsage (BR 7.1.2.7.10), and is not critical
//     (BR 7.1.2.7.6): BadEKU.
//   - The leaf's common name, if any, repeats one of its SANs exactly
//     (BR 7.1.4.3): a DNS SAN byte for byte (not in another case), an IP
//     SAN in its canonical text form (RFC 5952 for IPv6): BadCommonName.
//   - Keys of the leaf and intermediates are RSA of at least 2048 bits (a
//     multiple of 8) or ECDSA on P-256, P-384 or P-521 (BR 6.1.5): WeakKey.
//   - Every DNS SAN of the leaf is a valid host name: letters, digits and
//     hyphens, labels of 1 to 63 characters, no underscore, no IP address,
//     no trailing dot (RFC 5280 4.2.1.6 via RFC 1034; BR 7.1.4.2.1); a
//     wildcard only as the whole left-most label (RFC 6125 6.4.3), not
//     directly above a top-level domain (RFC 6125 7.2), and not directly
//     on a suffix of the ICANN section of the Public Suffix List, such as
//     *.co.uk (BR 3.2.2.6; golang.org/x/net/publicsuffix): BadDNSName. A
//     wildcard on a suffix of the list's private section, which its owner
//     registered, is accepted, as Chromium accepts it: *.s3.amazonaws.com
//     is Amazon's own. (x509-limbo's
//     webpki::san::public-suffix-private-namespace-wildcard-san expects a
//     refusal there, which its own online::s3.amazonaws.com contradicts;
//     this package sides with the real certificate.)
//   - The leaf's validity is within the limit in force on its notBefore
//     date (BR 6.3.2 and the ballots that changed it): 60 months from
//     2012-07-01, 39 months from 2015-04-01, 825 days from 2018-03-01, 398
//     days from 2020-09-01, and (ballot SC081v3) 200 days from 2026-03-15,
//     100 days from 2027-03-15, 47 days from 2029-03-15; the error names
//     the limit and its date: ValidityTooLong.
//
// Every Strict rule is tested against a corpus of real chains
// (testdata/corpus: Go's crypto/x509 test chains of public sites and of an
// S/MIME client certificate, x509-limbo's s3.amazonaws.com chain, a
// go-spiffe X.509-SVID), each at its own verification time: Strict
// accepts them all.
//
// # Mutual TLS
//
// A server verifies its clients' certificates with a Verifier whose Client
// is set, in VerifyConnection of a tls.Config with ClientAuth
// tls.RequireAnyClientCert; MutualServerConfig makes that config, serving
// its own certificate from a Reloader. The leaf must allow clientAuth, and
// a name is checked only when AllowNames (or Name) asks for one.
//
// Client certificates are verified only against roots the user chose:
// with Client set and no Roots (nor a GetRoots that returns a pool), every
// client is refused with NoClientRoots, whose message says to set
// Verifier.Roots. The system roots would admit as a client any publicly
// trusted certificate that allows clientAuth, and many public server
// certificates do.
//
// AllowNames also takes URIs and SPIFFE IDs: "spiffe://example.org/ns/prod/sa/api"
// matches that ID exactly, "spiffe://example.org" any ID of the trust
// domain, and a leaf matched by its SPIFFE ID must be an X.509-SVID
// (exactly one URI SAN, not a CA, no keyCertSign or cRLSign), whose ID is
// read as the certificate writes it: the scheme "spiffe" in lower case, at
// most 2048 bytes, a trust domain of at most 255 (SPIFFE-ID 2). Every
// entry of AllowNames is validated before any is matched. Failures have
// their own Reasons: MissingClientAuth, NameNotAllowed, BadSVID,
// BadAllowNames, NoClientRoots.
//
// # Messages
//
// A refusal is one line a person can act on: what failed, the certificate
// at fault by its role, and what to do. For an unknown authority it says
// where the chain stops: at a root that is not trusted (and how to trust
// it: Verifier.Roots, LoadRoots), or at a certificate whose issuer is
// missing, a private CA not trusted when the certificate names no place
// its issuer is published, else an intermediate the peer should have
// sent. Every string a peer controls (subjects, issuers, SANs, URLs) is
// quoted, so an unauthenticated peer cannot write a line break, a forged
// log line or a terminal escape into a server's handshake log.
//
// # Guarantees
//
// The checks hold on resumed sessions (tested: change the roots, resume
// from a ticket, refused; a client certificate revoked after its session
// was made is refused on resumption) and through an HTTPS proxy (tested
// with a CONNECT proxy), and against real peers: openssl s_server,
// openssl s_client with a client certificate, and Python's ssl as server
// and as client.
//
// Nothing is ever fetched over the network: no OCSP queries, no CRL
// downloads, no AIA chasing. A fetch inside a handshake adds unbounded
// latency, tells the CA which site is visited, and forces a fail-open or
// fail-closed choice that a library cannot make for its user.
//
// # Dialing and configs
//
// Dialer.DialContext returns a *tls.Conn whose handshake is done, within
// the context's deadline or DefaultTimeout (30 s), with SNI set correctly
// (none for an IP literal, which is still the name verified) and
// Verifier.Name as the name to verify when set. It refuses a Config with
// InsecureSkipVerify and no Verifier (ErrInsecureConfig). Given a config
// from ClientConfig, it verifies with that config's Verifier, and still
// calls the config's VerifyConnection when the user wrapped it with a
// check of their own.
//
// ClientConfig and ServerConfig follow Mozilla's intermediate profile
// (TLS 1.2 and 1.3, the six ECDHE AEAD suites, X25519MLKEM768, X25519,
// P-256, P-384); Profile's Modern is TLS 1.3 only. Each ClientConfig has
// a session cache of its own, since a session carries the client
// certificate it was made with. NewTransport gives an http.Transport with
// HTTP/2, finite timeouts and the Verifier in TLSClientConfig, where
// proxies cannot bypass it.
//
// Known limit: crypto/tls hides an IP-literal ServerName from
// VerifyConnection. The Dialer handles it; with ClientConfig or
// NewTransport on https://192.0.2.1/, set Verifier.Name (the refusal says
// so).
//
// Reloader keeps certificate/key pairs and CA bundles in step with files
// on disk: each change is validated, then swapped in atomically; bad
// files keep the old material and are reported to OnError; the symlink
// swaps of Kubernetes secrets (..data) are picked up; it feeds
// GetCertificate, GetClientCertificate and Verifier.GetRoots. Describe
// prints a connection the way curl -v does.
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
