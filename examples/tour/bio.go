package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/sturdy-go/sturdy/bio"
	"github.com/sturdy-go/sturdy/slowlog"
	"go.uber.org/zap"
)

// frameConn is a transport that is not a socket: each Write becomes one
// message on a channel, each Read takes the next message.
type frameConn struct {
	in   <-chan []byte
	out  chan<- []byte
	rest []byte
}

func (f *frameConn) Write(p []byte) (int, error) {
	f.out <- append([]byte(nil), p...)
	return len(p), nil
}

func (f *frameConn) Read(p []byte) (int, error) {
	if len(f.rest) == 0 {
		msg, ok := <-f.in
		if !ok {
			return 0, io.EOF
		}
		f.rest = msg
	}
	n := copy(p, f.rest)
	f.rest = f.rest[n:]
	return n, nil
}

func (f *frameConn) Close() error {
	close(f.out)
	return nil
}

func tourBio(w io.Writer) error {
	root, err := newRootCA("bio tour root")
	if err != nil {
		return err
	}
	_, leaf, err := root.leaf("bio.tour.test")
	if err != nil {
		return err
	}

	a, b := make(chan []byte, 64), make(chan []byte, 64)
	var frames atomic.Int32
	count := make(chan []byte, 64)
	go func() { // count the messages the client sends, then pass them on
		for m := range a {
			frames.Add(1)
			count <- m
		}
		close(count)
	}()
	client := bio.NewStream(bio.Client(&tls.Config{RootCAs: root.pool(), ServerName: "bio.tour.test"}), &frameConn{in: b, out: a})
	server := bio.NewStream(bio.Server(&tls.Config{Certificates: []tls.Certificate{leaf}}), &frameConn{in: count, out: b})

	// The handshake is timed by slowlog, logging every call (threshold 0).
	sl := slowlog.New(zap.NewNop(), slowlog.Threshold(0))
	defer sl.Close()
	serverErr := make(chan error, 1)
	go func() {
		defer close(serverErr)
		if err := server.Handshake(); err != nil {
			serverErr <- err
			return
		}
		msg := make([]byte, 64)
		n, err := server.Read(msg)
		if err != nil {
			serverErr <- err
			return
		}
		if _, err := server.Write(append([]byte("echo: "), msg[:n]...)); err != nil {
			serverErr <- err
			return
		}
		// Read until the client's close_notify, then answer with ours.
		if _, err := server.Read(msg); err != io.EOF {
			serverErr <- fmt.Errorf("server: read after the client closed: %v, want io.EOF", err)
		}
		serverErr <- server.Close()
	}()

	span := sl.Start("bio.handshake")
	err = client.Handshake()
	span.Stop()
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	cs := client.ConnectionState()
	fmt.Fprintf(w, "   TLS over Go channels, no socket: %s %s\n", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite))
	if e := sl.Entries(); len(e) > 0 {
		fmt.Fprintf(w, "   slowlog timed the handshake: %s took %v\n", e[0].Name, e[0].Duration.Round(time.Microsecond))
	}
	if _, err := client.Write([]byte("ping")); err != nil {
		return err
	}
	reply := make([]byte, 64)
	n, err := client.Read(reply)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   client sent \"ping\", server answered %q\n", reply[:n])
	if err := client.Close(); err != nil {
		return err
	}
	for err := range serverErr {
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("server: %w", err)
		}
	}
	fmt.Fprintf(w, "   %d ciphertext messages from the client, ending in close_notify\n", frames.Load())
	return nil
}
