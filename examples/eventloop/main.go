// Command eventloop is a TLS echo server on the gnet event loop
// (github.com/panjf2000/gnet/v2), with package bio doing the TLS. gnet
// owns the sockets and calls back when bytes arrive; bio takes those
// bytes, decrypts them and hands back ciphertext, all inside the callback,
// with no goroutine per connection and no blocking call.
//
//	go run . -addr 127.0.0.1:8443
//	openssl s_client -connect 127.0.0.1:8443 -servername localhost
//
// Without -cert and -key it makes a throwaway self-signed certificate for
// "localhost" and prints its SHA-256 fingerprint.
//
// # How it fits gnet
//
// Each connection carries a bio.Conn in its gnet context. OnTraffic runs
// the pump loop of package bio: feed what gnet received (WriteIncoming;
// a full Conn takes part, and the rest stays in gnet's inbound buffer until
// Read has made room), read the plaintext and write it back, and move the
// Conn's ciphertext to gnet (ReadOutgoing, then gnet's Write). A failed
// handshake or a bad record comes from Read with its alert already queued,
// so the alert is sent before the connection is closed: a client that
// offers only TLS 1.1 reads "protocol version not supported".
//
// Backpressure: gnet's Write never refuses bytes; it buffers without limit
// for a client that does not read. So the server stops echoing while the
// bytes given to gnet but not yet sent (OutboundBuffered) and the Conn's
// own ciphertext (OutgoingLen) pass -max-pending. The plaintext then waits
// in the Conn, whose buffers are bounded, and the Conn stops taking
// ciphertext. gnet has no "writable" event for the handler, so a paused
// connection is looked at again on a tick (and whenever the client sends).
// gnet itself keeps reading the socket, so a client that sends without
// ever reading grows gnet's inbound buffer: that part is gnet's.
//
// When gnet closes a connection, OnClose calls Close and CloseIncoming on
// its bio.Conn: a handshake still in progress ends there and then, with its
// goroutine; without it an abandoned Conn's handshake goroutine waits for
// the garbage collector. (After the handshake a bio.Conn has no goroutine.)
//
// # Memory
//
// A connection that waits holds its bio.Conn and nothing else: the
// buffers a callback reads plaintext into and moves ciphertext through
// are scratch, taken from a pool for the call, so there are about as many
// as event loops, not one per connection; gnet's own per-connection
// buffers go back to its pools once empty. TestIdleMemory (and
// BenchmarkIdleServer, a row of the README's table) opens 10,000 real TCP
// clients on loopback, in a process of their own, each holding an idle
// TLS 1.3 connection after one echo, and measures the live heap and
// stacks the server process holds for them after a collection: about
// 7.1 KB per connection, 71 MB for the 10,000, where a crypto/tls server
// with a goroutine and io.Copy per connection holds about 50 KB each
// (0.14x). The test fails above 8 KB or 0.2x.
//
// Handshake crypto (ECDHE, the certificate signature: about a millisecond
// of CPU for TLS 1.3 with ECDSA P-256) runs inside OnTraffic, on the event
// loop's goroutine, and holds up that loop's other connections meanwhile.
// Run one loop per core (-loops), or keep the handshake off the loop if
// handshakes are frequent.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/sturdy-go/sturdy/bio"
)

func main() { os.Exit(run(os.Stdout, os.Args[1:])) }

func run(w io.Writer, args []string) int {
	fs := flag.NewFlagSet("eventloop", flag.ContinueOnError)
	fs.SetOutput(w)
	addr := fs.String("addr", "127.0.0.1:8443", "TCP address to listen on")
	certFile := fs.String("cert", "", "PEM certificate chain; empty: a self-signed certificate for localhost")
	keyFile := fs.String("key", "", "PEM private key for -cert")
	loops := fs.Int("loops", 1, "number of event loops")
	maxPending := fs.Int("max-pending", DefaultMaxPending, "bytes queued for a client before the server stops echoing to it")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: eventloop [-addr host:port] [-cert file -key file] [-loops n] [-max-pending bytes]

eventloop is a TLS echo server on the gnet event loop: gnet owns the
sockets, package bio does TLS in memory inside gnet's callbacks, with no
goroutine per connection. It serves until interrupted.

flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var cert tls.Certificate
	var err error
	if *certFile != "" || *keyFile != "" {
		cert, err = tls.LoadX509KeyPair(*certFile, *keyFile)
	} else {
		cert, err = SelfSigned("localhost")
		if err == nil {
			fmt.Fprintf(w, "self-signed certificate for localhost, SHA-256 %x\n", sha256.Sum256(cert.Certificate[0]))
		}
	}
	if err != nil {
		fmt.Fprintf(w, "eventloop: %v\n", err)
		return 1
	}
	srv := &Server{
		Config:     &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		MaxPending: *maxPending,
		Loops:      *loops,
	}
	if err := srv.Start(*addr); err != nil {
		fmt.Fprintf(w, "eventloop: %v\n", err)
		return 1
	}
	fmt.Fprintf(w, "echoing TLS on %s with %d event loop(s)\n", srv.Addr(), *loops)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	if err := srv.Stop(); err != nil {
		fmt.Fprintf(w, "eventloop: %v\n", err)
		return 1
	}
	return 0
}

// DefaultMaxPending is the default of Server.MaxPending.
const DefaultMaxPending = 1 << 20

// tick is how often paused connections are looked at again.
const tick = 5 * time.Millisecond

// Server is the TLS echo server. Set its fields, then call Start.
type Server struct {
	gnet.BuiltinEventEngine

	// Config is the server's TLS configuration; it must have a
	// certificate.
	Config *tls.Config
	// MaxPending bounds the ciphertext queued for one client (in gnet
	// and in its bio.Conn) before the server stops echoing to it. Zero
	// or less: DefaultMaxPending.
	MaxPending int
	// Loops is the number of event loops; zero or less: one.
	Loops int

	eng    gnet.Engine
	addr   net.Addr
	booted chan error
	done   chan error

	mu     sync.Mutex
	paused map[gnet.Conn]struct{} // connections waiting for gnet to send

	opened, closed atomic.Int64
	ended          atomic.Int64 // connections whose bio.Conn read side finished at close
	pauses         atomic.Int64
	maxQueued      atomic.Int64 // the most gnet held unsent for one client after a flush
}

// session is one connection's state, kept in its gnet context. A
// connection that waits holds only this and its bio.Conn: the buffers a
// callback works with are scratch, taken from scratchPool for the call.
type session struct {
	conn *bio.Conn
	// rest is plaintext read from conn that its Write did not take (its
	// outgoing buffer was full); nil nearly always.
	rest []byte
	// closing: close once gnet has sent what it holds (the alert, or our
	// close_notify after the echo).
	closing bool
}

// scratch is what one callback works with: read plaintext into, and move
// ciphertext through. It is taken from scratchPool for the call and given
// back at its end, so the pool holds about one per event loop (a loop
// runs one callback at a time), not one per connection.
type scratch struct {
	plain [16 << 10]byte // one record's plaintext
	out   [32 << 10]byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// errPaused stops the echo while too much waits for the client.
var errPaused = errors.New("paused: the client is not reading fast enough")

// Start listens on addr ("host:port") and serves on gnet's event loops
// until Stop.
func (s *Server) Start(addr string) error {
	s.booted = make(chan error, 1)
	s.done = make(chan error, 1)
	s.paused = make(map[gnet.Conn]struct{})
	loops := max(s.Loops, 1)
	go func() {
		err := gnet.Run(s, "tcp://"+addr,
			gnet.WithNumEventLoop(loops),
			gnet.WithTicker(true),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		)
		s.booted <- err // if Run failed before OnBoot
		s.done <- err
	}()
	return <-s.booted
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.addr }

// Stop closes every connection and stops the event loops.
func (s *Server) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.eng.Stop(ctx); err != nil {
		return err
	}
	if err := <-s.done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Stats are the server's counters.
type Stats struct {
	Opened, Closed int64
	Ended          int64 // closed connections whose bio.Conn had ended in OnClose (its Read reports how)
	Pauses         int64 // times the echo stopped for a client that did not read
	MaxQueued      int64 // the most gnet held unsent for one client
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Opened: s.opened.Load(), Closed: s.closed.Load(), Ended: s.ended.Load(),
		Pauses: s.pauses.Load(), MaxQueued: s.maxQueued.Load(),
	}
}

// OnBoot records the engine and the address it listens on.
func (s *Server) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng = eng
	a, err := listenAddr(eng)
	s.addr = a
	s.booted <- err
	if err != nil {
		return gnet.Shutdown
	}
	return gnet.None
}

// listenAddr asks the listening socket for its address, so that port 0
// works.
func listenAddr(eng gnet.Engine) (net.Addr, error) {
	fd, err := eng.Dup()
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return nil, err
	}
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}, nil
	case *syscall.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}, nil
	}
	return nil, fmt.Errorf("listening on an unexpected address %T", sa)
}

// OnOpen gives the connection its bio.Conn.
func (s *Server) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	s.opened.Add(1)
	conn := bio.Options{LocalAddr: c.LocalAddr(), RemoteAddr: c.RemoteAddr()}.Server(s.Config)
	c.SetContext(&session{conn: conn})
	return nil, gnet.None
}

// OnTraffic runs the pump loop for one connection: feed, read and echo,
// flush, until the Conn wants bytes that have not arrived yet.
func (s *Server) OnTraffic(c gnet.Conn) gnet.Action {
	ss := c.Context().(*session)
	if ss.closing {
		return s.closeWhenSent(c, ss)
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	for {
		// Feed what gnet received. A full Conn takes part (a
		// *bio.BufferError); the rest stays in gnet's buffer until the
		// echo below has made room.
		if c.InboundBuffered() > 0 {
			in, _ := c.Peek(-1)
			if k, _ := ss.conn.WriteIncoming(in); k > 0 {
				c.Discard(k) // not Discard(0): gnet takes that as "all"
			}
		}
		err := s.echo(c, ss, sc)
		s.flush(c, ss, sc) // handshake flights, echoed records, alerts
		switch {
		case err == errPaused:
			s.pauses.Add(1)
			s.pause(c)
			return gnet.None
		case err == bio.ErrWantRead && c.InboundBuffered() == 0:
			return gnet.None // wait for the client
		case err == bio.ErrWantRead:
			continue // the Conn took part of the input: feed the rest
		case err == io.EOF:
			// The client's close_notify: answer with ours, then close.
			ss.conn.Close()
			s.flush(c, ss, sc)
			return s.closeWhenSent(c, ss)
		default:
			// A failed handshake, a bad record or a truncation: the
			// alert, if any, was flushed above.
			return s.closeWhenSent(c, ss)
		}
	}
}

// echo reads plaintext and writes it back, until the Conn wants input, the
// connection ends (the Read error), or too much waits for the client. It
// checks the limit before it reads, so that plaintext waits in the Conn,
// not here.
func (s *Server) echo(c gnet.Conn, ss *session, sc *scratch) error {
	limit := s.MaxPending
	if limit <= 0 {
		limit = DefaultMaxPending
	}
	for {
		if c.OutboundBuffered()+ss.conn.OutgoingLen() >= limit {
			return errPaused
		}
		plain := ss.rest
		if len(plain) == 0 {
			n, err := ss.conn.Read(sc.plain[:])
			if n == 0 {
				return err
			}
			plain = sc.plain[:n]
		}
		n, err := ss.conn.Write(plain)
		// Write takes it all but when the Conn's outgoing buffer is full,
		// which the flush after each Write keeps from happening; keep
		// what it left all the same.
		ss.rest = nil
		if n < len(plain) {
			ss.rest = append([]byte(nil), plain[n:]...)
		}
		if err != nil && !errors.Is(err, bio.ErrBufferFull) {
			return err
		}
		s.flush(c, ss, sc)
	}
}

// flush moves the Conn's ciphertext to gnet, which sends it or buffers it.
func (s *Server) flush(c gnet.Conn, ss *session, sc *scratch) {
	for ss.conn.OutgoingLen() > 0 {
		n, _ := ss.conn.ReadOutgoing(sc.out[:])
		c.Write(sc.out[:n])
	}
	for q := int64(c.OutboundBuffered()); ; {
		m := s.maxQueued.Load()
		if q <= m || s.maxQueued.CompareAndSwap(m, q) {
			break
		}
	}
}

// closeWhenSent closes the connection once gnet has sent all it holds:
// gnet's own close sends only what the socket takes at once.
func (s *Server) closeWhenSent(c gnet.Conn, ss *session) gnet.Action {
	ss.closing = true
	if c.OutboundBuffered() == 0 {
		return gnet.Close
	}
	s.pause(c)
	return gnet.None
}

func (s *Server) pause(c gnet.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused[c] = struct{}{}
}

// OnTick wakes the paused connections, so OnTraffic looks at them again
// on their own loop.
func (s *Server) OnTick() (time.Duration, gnet.Action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.paused {
		delete(s.paused, c)
		c.Wake(nil)
	}
	return tick, gnet.None
}

// OnClose ends the connection's bio.Conn: Close ends a handshake in
// progress and its goroutine, CloseIncoming the read side. Its next Read
// then reports how it ended.
func (s *Server) OnClose(c gnet.Conn, _ error) gnet.Action {
	s.mu.Lock()
	delete(s.paused, c)
	s.mu.Unlock()
	ss := c.Context().(*session)
	ss.conn.Close()
	ss.conn.CloseIncoming()
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	for {
		_, err := ss.conn.Read(sc.plain[:])
		if err == bio.ErrWantRead {
			break // the Conn did not end: counted below as not ended
		}
		if err != nil {
			s.ended.Add(1)
			break
		}
	}
	s.closed.Add(1)
	return gnet.None
}

// SelfSigned makes a throwaway ECDSA P-256 certificate for name, valid for
// a day.
func SelfSigned(name string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
