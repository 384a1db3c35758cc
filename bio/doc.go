// Package bio runs TLS with no socket: the caller moves ciphertext in and
// out through memory, and the package does the rest with the real
// crypto/tls, so every security fix there applies here unchanged.
//
// It is for event loops, user-space network stacks, TLS tunnelled inside
// another protocol, and tests that want to see every byte: the cases where
// a TLS library that owns its socket cannot be used. It plays the role of
// Python's ssl.MemoryBIO with SSLObject, OpenSSL's BIO pairs and the
// sans-IO rustls connection, without forking crypto/tls (Go had only forks
// of crypto/tls for this, which drift from its security fixes).
//
// A Conn's memory is bounded: [Options] sets its three buffers
// (MaxIncoming, MaxPlaintext and MaxOutgoing, 64 KiB each by default), as
// in bio.Options{MaxOutgoing: 1 << 20}.Client(cfg) or .Server(cfg); a full
// buffer returns a [*BufferError] with the count it took. Any tls.Config
// works, including one whose VerifyConnection is a tlsutil.Verifier (see
// "With tlsutil" below). [Stream] wraps a Conn and any io.ReadWriter into a
// net.Conn.
//
// # The model
//
// A [Conn] has two sides. On the plaintext side it looks like a tls.Conn:
// [Conn.Read], [Conn.Write], [Conn.Close], [Conn.Handshake],
// [Conn.ConnectionState]. On the ciphertext side the caller is the
// transport: bytes from the peer go in with [Conn.WriteIncoming] (and its
// EOF with [Conn.CloseIncoming]); bytes for the peer come out of
// [Conn.ReadOutgoing], and [Conn.OutgoingLen] says whether any wait.
//
// No call waits for the peer. When one cannot finish without more bytes
// from the peer it returns [ErrWantRead], which always means the same
// thing: send what ReadOutgoing has, then feed what the peer sends, then
// call again.
//
//	       your program                         bio.Conn
//	+---------------------------+       +--------------------------+
//	| Write(plaintext) ---------+------>| encrypt --> outgoing ----+--> ReadOutgoing --> network
//	|                           |       |                          |
//	| Read(plaintext)  <--------+-------+ decrypt <-- incoming <---+--- WriteIncoming <-- network
//	+---------------------------+       +--------------------------+    CloseIncoming <-- EOF
//
// # The pump loop
//
// Every use of a Conn is this loop. It drives one call of the Conn, a
// step, until the step is done, and moves the ciphertext meanwhile; conn
// is a Conn, transport moves bytes to and from the peer (Send sends all it
// is given), and out and in are buffers of any size. rest and rerr are the
// transport's state: they outlive one run of the loop, since bytes received
// while one step finishes belong to the next.
//
//	var rest []byte // received from the peer, not yet taken by conn
//	var rerr error  // the transport's last receive error
//	pump := func(step func() (done bool, err error)) error {
//		for {
//			done, err := step() // 0. one call of conn: Handshake, Write or Read (the steps below)
//
//			for conn.OutgoingLen() > 0 { // 1. flush first: handshake flights, records, KeyUpdate replies, alerts
//				m, _ := conn.ReadOutgoing(out)
//				if err := transport.Send(out[:m]); err != nil {
//					return err
//				}
//			}
//			switch {
//			case done: // the step is complete; rest and rerr stay for the next step
//				return nil
//			case errors.As(err, new(*bio.BufferError)): // Write filled the outgoing buffer, flushed in 1.: go on
//			case len(rest) > 0: // 2. feed; a full buffer takes part (a *bio.BufferError) and Read makes room
//				k, _ := conn.WriteIncoming(rest)
//				rest = rest[k:]
//			case err == bio.ErrWantRead && rerr == io.EOF: // the transport ended
//				conn.CloseIncoming()
//			case err == bio.ErrWantRead && rerr != nil: // the transport failed
//				return rerr
//			case err == bio.ErrWantRead: // 3. then receive what the peer sends
//				var n int
//				n, rerr = transport.Recv(in)
//				rest = in[:n]
//			case err != nil: // fatal (its alert was flushed in 1.), or bio.ErrTruncated
//				return err
//			}
//		}
//	}
//
// The steps are three, each a func() (done bool, err error) of one call:
//
//	handshake := func() (bool, error) { // done when Handshake returns nil; Write and Read would drive it too
//		err := conn.Handshake()
//		return err == nil, err
//	}
//	send := func() (bool, error) { // Write takes each byte once: go on with the rest, never the same bytes
//		n, err := conn.Write(msg)
//		msg = msg[n:]
//		return len(msg) == 0, err
//	}
//	receive := func() (bool, error) { // until the peer's close_notify
//		n, err := conn.Read(buf)
//		use(buf[:n])
//		return err == io.EOF, err
//	}
//
// A client that sends a request and reads the answer runs
// pump(handshake), pump(send) and pump(receive) in turn, stopping at the
// first error. Each pump returns once its step is done, so send and receive
// may alternate as the protocol needs, and when a step is done is the
// program's call: receive above reads until the peer's close_notify; a
// server that reads one request says done once it has the whole request.
// The handshake step is optional, since Write and Read drive the handshake
// themselves.
//
// Write takes each byte of plaintext once: it returns how many it took, 0
// with [ErrWantRead] while the handshake is not done, and stops with a
// *BufferError once the outgoing buffer is full. Calling it again with the
// same bytes would send them twice; the send step goes on with msg[n:].
//
// Feeding is apart from failing: WriteIncoming never reports a TLS error.
// It keeps what its buffers allow and returns the count, with a
// [*BufferError] when that is not all: the loop keeps the rest and feeds
// it after Read has made room, so a receive of any size loses nothing. A
// failed handshake or a bad record comes back from the next Read (or
// Handshake, or Write), after the plaintext decrypted before it and with
// the fatal alert already queued for step 1.
//
// Flushing before feeding matters: the peer may be waiting for our bytes
// (a handshake flight, a KeyUpdate reply) before it sends its own, and
// after a failed handshake the fatal alert is in the outgoing buffer. An
// event loop does the same steps when its socket is readable (feed, Read,
// flush) and when it has data to send (Write, flush). [Stream] is this loop
// over any io.ReadWriter, as a net.Conn.
//
// The loop and the steps above are, word for word, the code that the
// package's tests run against crypto/tls with receives of 1 byte to 1 MiB,
// TLS 1.2 and 1.3, a request larger than the outgoing buffer, a failed
// handshake and a failing transport.
//
// # With tlsutil
//
// bio takes any *tls.Config, so the checks of a tlsutil.Verifier (package
// github.com/sturdy-go/sturdy/tlsutil: names, pins, revocation, Strict
// web-PKI rules, all in VerifyConnection) apply to a Conn unchanged, on
// full and resumed handshakes:
//
//	v := &tlsutil.Verifier{Roots: roots, Pins: pins}
//	cfg := tlsutil.ClientConfig(v) // every check of v in cfg.VerifyConnection
//	cfg.ServerName = "api.internal"
//	conn := bio.Client(cfg)
//
// A refusal is the step's error: a [*HandshakeError] wrapping the
// *tlsutil.VerifyError, so errors.As finds its Reason. On a server,
// tlsutil.ServerConfig or MutualServerConfig gives the config for
// [Server]. The program examples/tlspump in the repository runs this,
// with a pin that matches and one that does not.
//
// # On an event loop
//
// In an event loop's "bytes arrived" callback (gnet's OnTraffic, for
// example) the loop above runs without its blocking receive: feed what
// arrived, keeping in the loop's own buffer what WriteIncoming did not
// take; Read and handle the plaintext; flush; and feed the rest again until
// Read returns [ErrWantRead] with nothing left to feed. Three things the
// event loop does not do for you:
//
//   - Backpressure. An event loop's write usually buffers without limit.
//     Stop writing plaintext while [Conn.OutgoingLen] plus what the loop
//     still holds unsent passes your limit; the Conn's own buffers are
//     bounded, so it then stops taking ciphertext too.
//   - The end. When the loop closes a connection, call [Conn.Close] and
//     [Conn.CloseIncoming]: a handshake still in progress then ends, with
//     its goroutine, there and then instead of at garbage collection.
//   - Handshake cost. The handshake's public-key crypto (about a
//     millisecond of CPU for TLS 1.3 with ECDSA P-256) runs inside the
//     callback, on the loop's thread, and holds up that loop's other
//     connections meanwhile: run one loop per core.
//
// examples/eventloop in the repository (a Go module of its own, so that bio
// does not depend on gnet) is a TLS echo server on gnet that does all
// three, tested with openssl and crypto/tls clients: 20 connections that
// each send and read back 1 MiB, over TLS 1.2 and 1.3, and a client that
// sends 16 MiB before it reads anything.
//
// # The engine
//
// Each Conn runs a tls.Conn over an in-memory transport. The handshake
// runs on a goroutine the Conn owns, and control is handed back and forth
// with it, the way crypto/tls's own QUIC support does: a call resumes the
// goroutine and returns only when the goroutine has used up what it was
// given and is blocked again. The goroutine is a coroutine (iter.Pull), so
// control passes on the same thread without a trip through the scheduler,
// and it ends with the handshake. After the handshake records are read on
// the caller's goroutine, inside the call that brought them: crypto/tls is
// told "no input yet" with a temporary error, which, as with a read
// deadline, leaves the connection intact and keeps a partial record for
// the next call. So nothing happens between calls, and a call returns with
// all its consequences visible: after WriteIncoming the decrypted data is
// ready for Read and every reply (handshake flight, KeyUpdate, alert) is
// ready for ReadOutgoing. Write encrypts on the caller's goroutine.
//
// NewSessionTicket and KeyUpdate messages are handled whenever they
// arrive. Everything tls.Config offers works as with a socket: TLS 1.2 and
// 1.3, ALPN, client certificates, session resumption through
// ClientSessionCache and session tickets (the cache key is ServerName, or
// [Options].RemoteAddr), and the hooks (VerifyConnection,
// VerifyPeerCertificate, GetCertificate, GetConfigForClient, ...), which
// run on the handshake goroutine during a call.
//
// # Guarantees
//
//   - A call returns only once its input is fully processed; there is no
//     background progress.
//   - Errors are sticky: after a failed handshake or a bad record every
//     later Handshake, Read and Write returns the same error, and the fatal
//     alert can still be read with ReadOutgoing.
//   - Closing is explicit: Close queues close_notify; the peer's
//     close_notify makes Read return io.EOF; CloseIncoming without one
//     makes Read return [ErrTruncated] (or io.EOF with
//     [Options].AllowTruncation).
//   - Buffers are bounded ([Options]): incoming ciphertext waiting for the
//     engine, decrypted data waiting for Read, and ciphertext waiting for
//     ReadOutgoing. A full buffer gives a [*BufferError] (errors.Is
//     [ErrBufferFull]) with the count accepted, not unbounded growth. A
//     drained buffer gives its storage back to a shared pool, so an idle
//     Conn holds only crypto/tls's own state: no buffer and no goroutine
//     (about 6.1 KB per idle TLS 1.3 endpoint, measured by BenchmarkIdle,
//     against 12.1 KB for a tls.Conn with a goroutine blocked in Read).
//   - A panic in a tls.Config callback reaches the caller of the call that
//     ran it; the Conn is failed afterwards, not hung.
//   - No goroutine outlives its handshake: the handshake goroutine ends
//     when the handshake completes or fails (CloseIncoming during it fails
//     it as truncated), when Close abandons it, or, for a Conn that is
//     dropped during its handshake, when it is garbage collected (the
//     tests check each case with goleak).
//
// Besides crypto/tls itself, the tests talk to real peers: openssl s_server
// and s_client (data both ways, KeyUpdate in both directions, session
// resumption) and Python's ssl.SSLObject over MemoryBIOs, as client and as
// server.
//
// # Limits
//
// What crypto/tls does not expose, bio cannot do: it answers the peer's
// KeyUpdate but cannot start one, refuses TLS 1.2 renegotiation with a
// *HandshakeError that says so, and has no 0-RTT. rustls and OpenSSL can
// start a KeyUpdate and renegotiate.
package bio
