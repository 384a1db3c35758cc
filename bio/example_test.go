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

// A client and a server talk TLS with no socket: the example itself moves
// the ciphertext, as an event loop or a custom transport would.
func Example() {
	cert, roots, err := testpki.SelfSignedTLS("example.test")
	if err != nil {
		log.Fatal(err)
	}
	client := bio.Client(&tls.Config{RootCAs: roots, ServerName: "example.test"})
	server := bio.Server(&tls.Config{Certificates: []tls.Certificate{cert}})

	// transfer is the transport: what one side sends, the other receives.
	wire := make([]byte, 32<<10)
	transfer := func(from, to *bio.Conn) {
		for from.OutgoingLen() > 0 {
			n, _ := from.ReadOutgoing(wire)
			if _, err := to.WriteIncoming(wire[:n]); err != nil {
				log.Fatal(err)
			}
		}
	}

	// The pump loop: on ErrWantRead, flush what we have, then feed.
	for {
		err := client.Handshake()
		if err == nil {
			break
		}
		if err != bio.ErrWantRead {
			log.Fatal(err)
		}
		transfer(client, server)
		transfer(server, client)
	}
	transfer(client, server) // the client's Finished

	client.Write([]byte("hello through memory"))
	client.Close() // queues close_notify after the data
	transfer(client, server)

	buf := make([]byte, 100)
	n, _ := server.Read(buf)
	fmt.Printf("server read %q\n", buf[:n])
	_, err = server.Read(buf)
	fmt.Println("then:", err)
	fmt.Println("version:", tls.VersionName(server.ConnectionState().Version))
	// Output:
	// server read "hello through memory"
	// then: EOF
	// version: TLS 1.3
}

// A transport that ends without close_notify is reported as truncation,
// unless the Conn was told to accept it.
func ExampleConn_CloseIncoming() {
	cert, roots, err := testpki.SelfSignedTLS("example.test")
	if err != nil {
		log.Fatal(err)
	}
	for _, opts := range []bio.Options{{}, {AllowTruncation: true}} {
		client := opts.Client(&tls.Config{RootCAs: roots, ServerName: "example.test"})
		server := bio.Server(&tls.Config{Certificates: []tls.Certificate{cert}})
		wire := make([]byte, 32<<10)
		for client.Handshake() == bio.ErrWantRead {
			n, _ := client.ReadOutgoing(wire)
			server.WriteIncoming(wire[:n])
			n, _ = server.ReadOutgoing(wire)
			client.WriteIncoming(wire[:n])
		}
		client.CloseIncoming() // the peer vanished
		_, err := client.Read(wire)
		fmt.Printf("AllowTruncation=%v: %v\n", opts.AllowTruncation, err)
	}
	// Output:
	// AllowTruncation=false: bio: transport ended without close_notify: the data may be truncated
	// AllowTruncation=true: EOF
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
