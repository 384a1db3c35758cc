// Command wsupgrade is a WebSocket echo server that upgrades itself in
// place: every WebSocket open when an upgrade begins is closed with 1001
// ("going away"), which tells its client to reconnect, and the reconnection
// reaches the new process. No client sees a connection break (1006).
//
//	go run ./examples/wsupgrade [-addr 127.0.0.1:8080]
//
//	kill -HUP  PID   re-execute the binary; the new process inherits the
//	                 listening socket, the old one closes its WebSockets
//	                 with 1001, waits for them, and exits
//	kill -TERM PID   the same, without a successor
//
// The pattern, for any WebSocket library: a RegisterOnShutdown hook tells
// every connection to close with 1001 (fork.Upgrader.Serve runs the hooks
// when the drain begins, and waits for every hijacked connection to be
// closed, up to DrainTimeout), and a WebSocket whose upgrade completes
// after that closes at once the same way.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sturdy-go/sturdy/fork"
)

func main() {
	if err := fork.Init(); err != nil {
		fmt.Fprintf(os.Stderr, "wsupgrade: %v\n", err)
		os.Exit(1)
	}
	os.Exit(run(os.Stdout, os.Args[1:]))
}

func run(out io.Writer, args []string) int {
	fs := flag.NewFlagSet("wsupgrade", flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (inherited across upgrades)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	pid := os.Getpid()
	say := func(format string, a ...any) { fmt.Fprintf(out, "pid %d: "+format+"\n", append([]any{pid}, a...)...) }
	if err := serve(*addr, say); err != nil {
		say("%v", err)
		return 1
	}
	return 0
}

// goingAway starts the closing handshake with 1001 and bounds how long
// the client may take to answer it.
func goingAway(c *websocket.Conn) {
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server restarting")
	_ = c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(5*time.Second))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
}

// echo serves one WebSocket: a reader goroutine hands the messages to
// this one, which writes the echoes and, once closing is closed (the
// drain began, now or before the upgrade completed), says goodbye with
// 1001 and waits for the client's answer.
func echo(c *websocket.Conn, closing <-chan struct{}, open *atomic.Int64) {
	msgs := make(chan []byte)
	go func() {
		defer close(msgs)
		for {
			_, m, err := c.ReadMessage()
			if err != nil {
				return // the client's close frame, an error, or the deadline
			}
			msgs <- m
		}
	}()
	defer func() {
		open.Add(-1) // before Close: once Serve sees it closed, the count is right
		c.Close()
		for range msgs { // until the reader has seen the end
		}
	}()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return
			}
			if err := c.WriteMessage(websocket.TextMessage, m); err != nil {
				return
			}
		case <-closing:
			goingAway(c)
			for range msgs { // the client's answer ends the reads
			}
			return
		}
	}
}

func serve(addr string, say func(string, ...any)) error {
	// Signals before Ready: once Ready names this process, a reload may
	// come at once.
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)

	u, err := fork.NewUpgrader(fork.UpgradeOptions{ReadyTimeout: 30 * time.Second})
	if err != nil {
		return err
	}
	defer u.Stop()
	ln, err := u.Listen("tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()

	// closing is closed when the drain begins: Serve runs the server's
	// RegisterOnShutdown hooks then, and waits for every WebSocket.
	closing := make(chan struct{})
	var open atomic.Int64 // WebSockets not yet closed
	upgrader := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered
		}
		open.Add(1)
		echo(c, closing, &open)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	var once sync.Once
	srv.RegisterOnShutdown(func() { once.Do(func() { close(closing) }) })

	served := make(chan error, 1)
	go func() { served <- u.Serve(srv, ln) }()
	if err := u.Ready(); err != nil {
		return err
	}
	say("serving ws://%s/ws", ln.Addr())

	upgraded := make(chan error, 1)
	for {
		select {
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				go func() { upgraded <- u.Upgrade() }()
			} else {
				u.Stop()
			}
		case err := <-upgraded:
			if err != nil {
				say("upgrade failed, still serving: %v", err)
			}
		case err := <-served:
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			// Serve returns once every WebSocket is closed: none is
			// cut by the exit.
			say("drained, exiting; WebSockets still open: %d", open.Load())
			return nil
		}
	}
}
