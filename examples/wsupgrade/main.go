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
// The pattern, for any WebSocket library: register the close with
// srv.RegisterOnShutdown (fork.Upgrader.Serve runs it when the drain
// begins, and waits for every hijacked connection to be closed), and close
// at once any WebSocket whose upgrade completes after that.
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

// hub holds the open WebSockets, to close them when the drain begins.
type hub struct {
	mu     sync.Mutex
	conns  map[*websocket.Conn]struct{}
	closed bool
}

// add registers c, or reports false once the hub has closed: the
// connection's upgrade finished after the drain began.
func (h *hub) add(c *websocket.Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[c] = struct{}{}
	return true
}

func (h *hub) remove(c *websocket.Conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// closeAll sends every WebSocket a close frame with 1001; each
// connection's reader sees the client's answer and closes it.
func (h *hub) closeAll() {
	h.mu.Lock()
	h.closed = true
	conns := make([]*websocket.Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		goingAway(c)
	}
}

// goingAway starts the closing handshake with 1001 and bounds how long
// the client may take to answer it.
func goingAway(c *websocket.Conn) {
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server restarting")
	_ = c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(5*time.Second))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
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

	h := &hub{conns: make(map[*websocket.Conn]struct{})}
	upgrader := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered
		}
		defer c.Close()
		if !h.add(c) {
			goingAway(c)
		} else {
			defer h.remove(c)
		}
		// Echo until the closing handshake (or an error) ends the reads.
		for {
			typ, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, msg); err != nil {
				return
			}
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(h.closeAll)

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
			say("drained, exiting")
			return nil
		}
	}
}
