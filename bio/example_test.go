package bio_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"

	"github.com/sturdy-go/sturdy/bio"
	"github.com/sturdy-go/sturdy/internal/testpki"
)

// A bio client does the handshake with a crypto/tls server, sends it a
// request and reads its answer, with the pump loop and the three steps of
// the package documentation. The example is the transport: it moves the
// ciphertext over one end of a net.Pipe, as an event loop or a custom
// transport would.
func Example() {
	cert, roots, err := testpki.SelfSignedTLS("example.test")
	if err != nil {
		log.Fatal(err)
	}
	near, far := net.Pipe()
	go func() {
		peer := tls.Server(far, &tls.Config{Certificates: []tls.Certificate{cert}})
		req := make([]byte, 4)
		io.ReadFull(peer, req)
		fmt.Fprintf(peer, "hello through memory, you sent %s", req)
		peer.Close() // close_notify
	}()

	conn := bio.Client(&tls.Config{RootCAs: roots, ServerName: "example.test"})
	var got []byte
	err = exchange(conn, pipeTransport{near}, []byte("ping"), make([]byte, 4096), make([]byte, 4096), make([]byte, 4096),
		func(p []byte) { got = append(got, p...) })
	fmt.Printf("read %q, then %v\n", got, err)
	fmt.Println("version:", tls.VersionName(conn.ConnectionState().Version))
	// Output:
	// read "hello through memory, you sent ping", then <nil>
	// version: TLS 1.3
}

// transport moves ciphertext to and from the peer; Send sends all of p.
type transport interface {
	Send(p []byte) error
	Recv(p []byte) (int, error)
}

// newPump returns the pump loop of the package documentation, word for
// word between the markers (TestPublishedLoopIsVerbatim checks it), in the
// context it assumes: a Conn, its transport, and buffers of any size (in's
// is the most the transport receives at once).
func newPump(conn *bio.Conn, transport transport, out, in []byte) func(step func() (done bool, err error)) error {
	// pump loop
	var rest []byte // received from the peer, not yet taken by conn
	var rerr error  // the transport's last receive error
	pump := func(step func() (done bool, err error)) error {
		for {
			done, err := step() // 0. one call of conn: Handshake, Write or Read (the steps below)

			for conn.OutgoingLen() > 0 { // 1. flush first: handshake flights, records, KeyUpdate replies, alerts
				m, _ := conn.ReadOutgoing(out)
				if err := transport.Send(out[:m]); err != nil {
					return err
				}
			}
			switch {
			case done: // the step is complete; rest and rerr stay for the next step
				return nil
			case errors.As(err, new(*bio.BufferError)): // Write filled the outgoing buffer, flushed in 1.: go on
			case len(rest) > 0: // 2. feed; a full buffer takes part (a *bio.BufferError) and Read makes room
				k, _ := conn.WriteIncoming(rest)
				rest = rest[k:]
			case err == bio.ErrWantRead && rerr == io.EOF: // the transport ended
				conn.CloseIncoming()
			case err == bio.ErrWantRead && rerr != nil: // the transport failed
				return rerr
			case err == bio.ErrWantRead: // 3. then receive what the peer sends
				var n int
				n, rerr = transport.Recv(in)
				rest = in[:n]
			case err != nil: // fatal (its alert was flushed in 1.), or bio.ErrTruncated
				return err
			}
		}
	}
	// end of pump loop
	return pump
}

// exchange runs the three steps of the package documentation, word for
// word between the markers, with the loop of newPump: the handshake, then
// msg sent, then everything the peer sends handed to use, until its
// close_notify.
func exchange(conn *bio.Conn, t transport, msg, buf, out, in []byte, use func([]byte)) error {
	pump := newPump(conn, t, out, in)
	// steps
	handshake := func() (bool, error) { // done when Handshake returns nil; Write and Read would drive it too
		err := conn.Handshake()
		return err == nil, err
	}
	send := func() (bool, error) { // Write takes each byte once: go on with the rest, never the same bytes
		n, err := conn.Write(msg)
		msg = msg[n:]
		return len(msg) == 0, err
	}
	receive := func() (bool, error) { // until the peer's close_notify
		n, err := conn.Read(buf)
		use(buf[:n])
		return err == io.EOF, err
	}
	// end of steps
	for _, step := range []func() (bool, error){handshake, send, receive} {
		if err := pump(step); err != nil {
			return err
		}
	}
	return nil
}

// pipeTransport is a net.Conn as the loop's transport.
type pipeTransport struct{ c net.Conn }

func (t pipeTransport) Send(p []byte) error        { _, err := t.c.Write(p); return err }
func (t pipeTransport) Recv(p []byte) (int, error) { return t.c.Read(p) }

// A transport that ends without close_notify is reported as truncation,
// unless the Conn was told to accept it.
func ExampleConn_CloseIncoming() {
	cert, roots, err := testpki.SelfSignedTLS("example.test")
	if err != nil {
		log.Fatal(err)
	}
	for _, opts := range []bio.Options{{}, {AllowTruncation: true}} {
		near, far := net.Pipe()
		go func() {
			peer := tls.Server(far, &tls.Config{Certificates: []tls.Certificate{cert}})
			peer.Handshake()
			far.Close() // the peer vanishes without close_notify
		}()
		client := opts.Client(&tls.Config{RootCAs: roots, ServerName: "example.test"})
		err := exchange(client, pipeTransport{near}, nil, make([]byte, 4096), make([]byte, 4096), make([]byte, 4096), func([]byte) {})
		fmt.Printf("AllowTruncation=%v: %v\n", opts.AllowTruncation, err)
	}
	// Output:
	// AllowTruncation=false: bio: transport ended without close_notify: the data may be truncated
	// AllowTruncation=true: <nil>
}

// NewStream runs a Conn over any io.ReadWriter and is a net.Conn; here the
// transport is one end of a net.Pipe and the peer is crypto/tls.
func ExampleNewStream() {
	cert, roots, err := testpki.SelfSignedTLS("example.test")
	if err != nil {
		log.Fatal(err)
	}
	near, far := net.Pipe()
	go func() {
		peer := tls.Server(far, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"echo"}})
		defer peer.Close()
		io.Copy(peer, peer) // echo until close_notify
	}()

	var conn net.Conn = bio.NewStream(bio.Client(&tls.Config{
		RootCAs: roots, ServerName: "example.test", NextProtos: []string{"echo"},
	}), near)
	defer conn.Close()
	fmt.Fprint(conn, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s, protocol %q\n", buf, conn.(*bio.Stream).ConnectionState().NegotiatedProtocol)

	conn.(*bio.Stream).CloseWrite()
	if _, err := conn.Read(buf); errors.Is(err, io.EOF) {
		fmt.Println("peer closed")
	}
	// Output:
	// ping, protocol "echo"
	// peer closed
}

// Options bound a Conn's buffers. With a 4 KiB outgoing buffer, a Write of
// 64 KiB takes only part of it and says so with a *BufferError; the send
// step of the package documentation flushes and goes on with the rest, so
// the peer receives every byte once.
func ExampleOptions() {
	cert, roots, err := testpki.SelfSignedTLS("example.test")
	if err != nil {
		log.Fatal(err)
	}
	near, far := net.Pipe()
	received := make(chan int64, 1)
	go func() {
		peer := tls.Server(far, &tls.Config{Certificates: []tls.Certificate{cert}})
		n, _ := io.Copy(io.Discard, peer) // until close_notify
		received <- n
		far.Close()
	}()

	conn := bio.Options{MaxOutgoing: 4 << 10}.Client(&tls.Config{RootCAs: roots, ServerName: "example.test"})
	pump := newPump(conn, pipeTransport{near}, make([]byte, 4096), make([]byte, 4096))
	if err := pump(func() (bool, error) { err := conn.Handshake(); return err == nil, err }); err != nil {
		log.Fatal(err)
	}
	msg := make([]byte, 64<<10)
	n, err := conn.Write(msg)
	fmt.Println("Write took all 64 KiB:", n == len(msg))
	fmt.Println(err)
	msg = msg[n:]
	send := func() (bool, error) {
		n, err := conn.Write(msg)
		msg = msg[n:]
		return len(msg) == 0, err
	}
	if err := pump(send); err != nil {
		log.Fatal(err)
	}
	conn.Close() // queues close_notify
	if err := pump(func() (bool, error) { return conn.OutgoingLen() == 0, nil }); err != nil {
		log.Fatal(err)
	}
	fmt.Println("the peer received", <-received, "bytes")
	// Output:
	// Write took all 64 KiB: false
	// bio: outgoing buffer full: limit is 4096 bytes; call ReadOutgoing, then retry with the rest
	// the peer received 65536 bytes
}
