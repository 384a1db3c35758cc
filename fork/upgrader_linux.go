package fork

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Names of the two pipes between an upgrading parent and its new process.
const (
	readyName = "sturdy.upgrade.ready" // child writes readyByte, then closes
	aliveName = "sturdy.upgrade.alive" // parent holds the write end until it stops or dies
)

const readyByte = 'R'

// active guards the one-Upgrader-per-process rule.
var active struct {
	mu sync.Mutex
	u  *Upgrader
}

// Upgrader hands this process's listeners, packet sockets and files to a
// re-executed copy of itself, for upgrades without a refused connection.
//
// The process model: the running process (the parent) calls Upgrade, which
// starts the new binary with Start, passing every registered socket and
// file plus two pipes. The new process (the child) calls Init and
// NewUpgrader, gets the very same sockets back from Listen, starts serving
// and calls Ready, which writes one byte to the first pipe. Upgrade returns
// nil when that byte arrives and closes Exit, telling the parent to stop
// accepting, drain and exit (Serve does all three for an http.Server); both processes serve the shared listening
// sockets meanwhile, so the kernel queues every new connection and no
// connection is refused. If the child exits, crashes, or stays silent past
// ReadyTimeout, Upgrade kills and reaps it and returns an error while the
// parent keeps serving. The second pipe stays open in the parent until it
// stops or dies; the child sees end-of-file (ParentExited).
//
// A process has at most one active Upgrader. All methods are safe for
// concurrent use.
type Upgrader struct {
	opts   UpgradeOptions
	path   string
	notify string         // NOTIFY_SOCKET
	hup    chan os.Signal // catches SIGHUP from NewUpgrader to Stop, so that it cannot kill the process

	readyMu sync.Mutex // serialises Ready

	mu          sync.Mutex
	entries     map[string]*entry
	order       []string // keys, so successors get descriptors in a stable order
	unixPaths   []string // socket files removed by Stop if this process is the last
	ready       bool
	upgraded    bool
	stopped     bool
	upgradeDone chan struct{} // closed when the running Upgrade returns; nil when none
	readyW      *os.File      // to the parent; nil without parent or after Ready
	aliveWs     []*os.File    // write ends of successors' alive pipes
	successor   chan struct{} // closed when the successor has been reaped
	exit        chan struct{}
	stop        chan struct{}

	hasParent  bool
	aliveR     *os.File
	parentDone chan struct{} // closed on EOF of the alive pipe, or at once without parent
	watchDone  chan struct{}
}

// entry is one thing passed on at Upgrade.
type entry struct {
	file  *os.File                              // inherited and unclaimed, or from OpenFile
	owned bool                                  // file is ours to close at Stop
	obj   interface{ File() (*os.File, error) } // a claimed listener or packet conn
}

// NewUpgrader returns the process's Upgrader. It calls Init if needed and
// claims the sockets and files an upgrading parent passed. It returns an
// error wrapping os.ErrInvalid for a negative duration in opts, or while
// another Upgrader of this process is not stopped (a process has one
// Upgrader at a time).
func NewUpgrader(opts UpgradeOptions) (*Upgrader, error) {
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"ReadyTimeout", &opts.ReadyTimeout, DefaultReadyTimeout},
		{"Linger", &opts.Linger, DefaultLinger},
		{"DrainTimeout", &opts.DrainTimeout, DefaultDrainTimeout},
	} {
		if *d.v < 0 {
			return nil, fmt.Errorf("fork: new upgrader: %w", invalid("%s %v is negative", d.name, *d.v))
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if opts.ListenConfig == nil {
		opts.ListenConfig = &net.ListenConfig{}
	}
	path := opts.Path
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("fork: new upgrader: finding this executable: %w", err)
		}
		path = exe
	}
	_ = Init() // a malformed environment was reported to Init's caller; carry on without it

	active.mu.Lock()
	defer active.mu.Unlock()
	if active.u != nil {
		return nil, fmt.Errorf("fork: new upgrader: %w", invalid("another Upgrader of this process is active; Stop it first"))
	}
	u := &Upgrader{
		opts:       opts,
		path:       path,
		notify:     os.Getenv("NOTIFY_SOCKET"),
		entries:    make(map[string]*entry),
		exit:       make(chan struct{}),
		stop:       make(chan struct{}),
		parentDone: make(chan struct{}),
		watchDone:  make(chan struct{}),
	}
	u.readyW = claimInherited(readyName)
	if r := claimInherited(aliveName); r != nil {
		// A pollable duplicate (whatever mode the pipe arrived in) lets
		// Stop interrupt the watcher by closing it.
		aliveR, err := dupFile(r, true)
		r.Close()
		if err != nil {
			if u.readyW != nil {
				u.readyW.Close()
			}
			return nil, fmt.Errorf("fork: new upgrader: parent pipe: %w", err)
		}
		u.aliveR = aliveR
	}
	u.hasParent = u.readyW != nil || u.aliveR != nil
	for _, nf := range Inherited() {
		kind, _, _ := strings.Cut(nf.Name, "/")
		if kind != kindListen && kind != kindPacket && kind != kindFile {
			continue
		}
		if f := claimInherited(nf.Name); f != nil {
			u.entries[nf.Name] = &entry{file: f, owned: true}
			u.order = append(u.order, nf.Name)
		}
	}
	// Once Ready names this process (PID file, systemd's MAINPID), a
	// reload is sent here; Go's default action for SIGHUP is to exit. A
	// channel that nobody reads keeps the signal from killing the process
	// and costs nothing: signal.Notify drops what does not fit, and
	// delivers to the program's own channels as usual.
	u.hup = make(chan os.Signal, 1)
	signal.Notify(u.hup, syscall.SIGHUP)
	if u.aliveR != nil {
		go u.watchParent()
	} else {
		close(u.parentDone)
		close(u.watchDone)
	}
	active.u = u
	return u, nil
}

func (u *Upgrader) watchParent() {
	defer close(u.watchDone)
	defer close(u.parentDone)
	var b [64]byte
	for {
		if _, err := u.aliveR.Read(b[:]); err != nil {
			return
		}
	}
}

// HasParent reports whether this process was started by an Upgrade.
func (u *Upgrader) HasParent() bool { return u.hasParent }

// ParentExited returns a channel closed when the parent that upgraded to
// this process has exited or stopped its Upgrader (seen as end-of-file on
// a pipe, so it also works when the parent is killed), or when Stop is
// called. Without a parent the channel is already closed.
func (u *Upgrader) ParentExited() <-chan struct{} { return u.parentDone }

// Exit returns a channel closed when this process should stop accepting,
// drain and exit: after a successful Upgrade, or after Stop.
func (u *Upgrader) Exit() <-chan struct{} { return u.exit }

// DrainTimeout returns UpgradeOptions.DrainTimeout, or its default: how
// long a drain may take before what is left is cut. Serve uses it, and so
// should a server that drains by itself (see "Other servers" in the
// package documentation).
func (u *Upgrader) DrainTimeout() time.Duration { return u.opts.DrainTimeout }

// Listen returns a listener for network ("tcp", "tcp4", "tcp6", "unix" or
// "unixpacket") and addr, as net.Listen would. If the parent passed a
// listener opened with the same network and addr (the requested address,
// so ":0" finds the parent's port), Listen returns that very socket. Under
// systemd socket activation it returns the inherited socket of the same
// type bound to addr: the same path, or the same port and the same IP
// (any IP when addr names no host, as in ":8080"). The
// listener is passed on at every later Upgrade while it is open; the caller
// owns it and closes it. A unix socket's file is not removed when the
// listener closes (the successor still uses it); Stop removes it only in
// the process that was ready and never handed over. A socket this process
// creates is made with UpgradeOptions.ListenConfig. Listening twice on one
// network and addr returns an error wrapping os.ErrInvalid.
func (u *Upgrader) Listen(network, addr string) (net.Listener, error) {
	key, err := keyFor(kindListen, network, addr)
	if err != nil {
		return nil, fmt.Errorf("fork: listen %s %s: %w", network, addr, err)
	}
	var l net.Listener
	err = u.register(key, func(f *os.File) (interface{ File() (*os.File, error) }, error) {
		if f == nil {
			if f = systemdSocket(network, addr); f != nil {
				defer f.Close()
			}
		}
		if f != nil {
			l, err = net.FileListener(f)
		} else {
			l, err = u.opts.ListenConfig.Listen(context.Background(), network, addr)
		}
		if err != nil {
			return nil, err
		}
		fl, ok := l.(interface{ File() (*os.File, error) })
		if !ok {
			l.Close()
			return nil, fmt.Errorf("%T cannot be passed on", l)
		}
		if ul, ok := l.(*net.UnixListener); ok {
			ul.SetUnlinkOnClose(false)
			u.rememberUnixPath(network, addr)
		}
		return fl, nil
	})
	if err != nil {
		return nil, fmt.Errorf("fork: listen %s %s: %w", network, addr, err)
	}
	return l, nil
}

// ListenPacket is Listen for packet sockets ("udp", "udp4", "udp6", "ip",
// "unixgram", ...), as net.ListenPacket, with the same rules.
func (u *Upgrader) ListenPacket(network, addr string) (net.PacketConn, error) {
	key, err := keyFor(kindPacket, network, addr)
	if err != nil {
		return nil, fmt.Errorf("fork: listen packet %s %s: %w", network, addr, err)
	}
	var pc net.PacketConn
	err = u.register(key, func(f *os.File) (interface{ File() (*os.File, error) }, error) {
		if f == nil {
			if f = systemdSocket(network, addr); f != nil {
				defer f.Close()
			}
		}
		if f != nil {
			pc, err = net.FilePacketConn(f)
		} else {
			pc, err = u.opts.ListenConfig.ListenPacket(context.Background(), network, addr)
		}
		if err != nil {
			return nil, err
		}
		fp, ok := pc.(interface{ File() (*os.File, error) })
		if !ok {
			pc.Close()
			return nil, fmt.Errorf("%T cannot be passed on", pc)
		}
		if network == "unixgram" {
			u.rememberUnixPath(network, addr)
		}
		return fp, nil
	})
	if err != nil {
		return nil, fmt.Errorf("fork: listen packet %s %s: %w", network, addr, err)
	}
	return pc, nil
}

// Serve serves srv on ln, as srv.Serve(ln) does, until Exit is closed,
// then drains so that no request a client has sent goes unanswered, and
// returns. It does not call Ready: call that once Serve runs (the
// listener accepts from the moment it exists, so Ready may come first).
//
// The drain, after a successful Upgrade or Stop:
//
//   - stops accepting by closing ln; a successor holds the same socket,
//     and the connections queued on it are its (after Stop with no
//     successor, they are refused, as with any server that exits);
//   - runs the functions registered with srv.RegisterOnShutdown, each on
//     its own goroutine, as Shutdown does: that is where a WebSocket
//     server tells its connections to close (with 1001, "going away", so
//     that clients reconnect, to the successor), and where net/http's
//     HTTP/2 server sends GOAWAY to every HTTP/2 connection, idle or not,
//     over TLS or h2c;
//   - answers every request already read, and every request that arrives
//     on a connection accepted before the drain began;
//   - ends each HTTP/1 connection at a response boundary, by sending
//     "Connection: close" on its next response; a connection that stays
//     idle (between requests, or accepted and silent) for
//     UpgradeOptions.Linger is closed, through a read deadline, so that
//     a request that has begun to arrive is still read and answered;
//   - lets the streams of each HTTP/2 connection finish;
//   - waits until every hijacked connection (a WebSocket, say) is closed
//     by its owner;
//   - returns nil once no connection is left, or, past
//     UpgradeOptions.DrainTimeout, closes those left, hijacked ones
//     included, and returns an error wrapping os.ErrDeadlineExceeded that
//     says how many.
//
// Serve replaces srv.Handler, srv.ConnState and srv.ConnContext with
// wrappers that call the ones set (a nil Handler means
// http.DefaultServeMux, as usual): set them before Serve and leave them
// alone while it runs. The RegisterOnShutdown hooks run once, when the
// drain begins; Serve calls Shutdown at the end with only net/http's own
// hook. A hijacked connection is waited for when its descriptor can be
// reached (net.TCPConn, net.UnixConn, *tls.Conn over them, or any
// connection with a NetConn method leading to one); another kind is not
// waited for. A hijacked connection that arrives after the hooks ran (its
// upgrade request was in flight) must be closed by its handler: see
// "WebSockets" in the package documentation. For TLS, pass
// tls.NewListener(ln, config), with "h2" in config.NextProtos for HTTP/2.
// If srv ends before Exit (srv.Close or srv.Shutdown, or a failing
// Accept), Serve returns that error, wrapped.
//
// Why not srv.Shutdown alone: right after reading a request net/http
// drops it, unanswered, when the server is shutting down, so a connection
// accepted just before Shutdown whose request arrives just after fails;
// Shutdown and SetKeepAlivesEnabled(false) close idle keep-alive
// connections at once, under clients that may already be sending their
// next request on them (a client resends an idempotent request then, and
// fails any other); and Shutdown neither waits for hijacked connections
// nor closes them.
func (u *Upgrader) Serve(srv *http.Server, ln net.Listener) error {
	return serve(srv, ln, u.exit, u.opts.Linger, u.opts.DrainTimeout)
}

// OpenFile returns the file the parent passed under name, or opens it with
// os.OpenFile(name, flag, perm). The file is passed on at every later
// Upgrade while it is open (with its offset and open mode shared, as after
// dup(2)); the caller owns it and closes it. Opening one name twice returns
// an error wrapping os.ErrInvalid.
func (u *Upgrader) OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	key, err := keyFor(kindFile, "", name)
	if err != nil {
		return nil, fmt.Errorf("fork: open file %s: %w", name, err)
	}
	var out *os.File
	err = u.register(key, func(f *os.File) (interface{ File() (*os.File, error) }, error) {
		if f == nil {
			if f, err = os.OpenFile(name, flag, perm); err != nil {
				return nil, err
			}
		}
		out = f
		return fileSource{f}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("fork: open file %s: %w", name, err)
	}
	return out, nil
}

// fileSource passes on a duplicate of a caller-owned file.
type fileSource struct{ f *os.File }

func (s fileSource) File() (*os.File, error) { return dupFile(s.f, false) }

// register claims key and makes the object with open, which gets the
// inherited file (which it must not keep unless it returns it inside the
// object) or nil. Listen calls are serialised.
func (u *Upgrader) register(key string, open func(*os.File) (interface{ File() (*os.File, error) }, error)) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.stopped {
		return ErrStopped
	}
	e := u.entries[key]
	if e != nil && e.obj != nil {
		return invalid("already listening on this address (or file) with this Upgrader")
	}
	var inheritedFile *os.File
	if e != nil {
		inheritedFile = e.file
	}
	obj, err := open(inheritedFile)
	if err != nil {
		return err
	}
	if inheritedFile != nil {
		if fs, ok := obj.(fileSource); !ok || fs.f != inheritedFile {
			// net.File* made its own duplicate.
			inheritedFile.Close()
		}
	} else {
		e = &entry{}
		u.entries[key] = e
		u.order = append(u.order, key)
	}
	e.file, e.owned, e.obj = nil, false, obj
	return nil
}

func (u *Upgrader) rememberUnixPath(network, addr string) {
	if addr != "" && addr[0] != '@' && (network == "unix" || network == "unixpacket" || network == "unixgram") {
		u.unixPaths = append(u.unixPaths, addr)
	}
}

// filesLocked duplicates everything to pass on. Objects the caller has
// closed are skipped.
func (u *Upgrader) filesLocked() ([]NamedFile, error) {
	out := make([]NamedFile, 0, len(u.order))
	for _, key := range u.order {
		e := u.entries[key]
		var f *os.File
		var err error
		switch {
		case e.obj != nil:
			f, err = e.obj.File()
		case e.file != nil:
			f, err = dupFile(e.file, false)
		default:
			continue
		}
		if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
			continue
		}
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("passing %s: %w", key, err)
		}
		out = append(out, NamedFile{Name: key, File: f})
	}
	return out, nil
}

func closeAll(files []NamedFile) {
	for _, nf := range files {
		nf.File.Close()
	}
}

// Ready tells the parent (if any) that this process serves, which ends the
// parent's Upgrade successfully. Before that it replaces the PID file, if
// configured; after it, if NOTIFY_SOCKET is set, it sends systemd
// "MAINPID=<pid>" and "READY=1", so that systemd follows the upgrade (the
// unit needs NotifyAccess=all, as the new process is not the one systemd
// started). Call it once listeners are open and served. Later calls return
// nil and do nothing; after Stop, Ready returns ErrStopped.
//
// Handle SIGHUP (signal.Notify) before Ready: from Ready on, the PID file
// and systemd name this process, and a reload (systemctl reload, kill -HUP
// $(cat pidfile)) is sent to it at once, possibly before the old process
// has even exited. The Upgrader catches SIGHUP itself from NewUpgrader to
// Stop, so a reload that comes before the program handles the signal
// cannot kill the process (Go's default action for SIGHUP); but such a
// reload does nothing: only the program's own handler upgrades.
func (u *Upgrader) Ready() error {
	u.readyMu.Lock()
	defer u.readyMu.Unlock()
	u.mu.Lock()
	stopped, ready := u.stopped, u.ready
	u.mu.Unlock()
	if stopped {
		return fmt.Errorf("fork: ready: %w", ErrStopped)
	}
	if ready {
		return nil
	}
	if u.opts.PIDFile != "" {
		if err := writePIDFile(u.opts.PIDFile, os.Getpid()); err != nil {
			return fmt.Errorf("fork: ready: pid file: %w", err)
		}
	}
	u.mu.Lock()
	if u.stopped {
		u.mu.Unlock()
		return fmt.Errorf("fork: ready: %w", ErrStopped)
	}
	u.ready = true
	w := u.readyW
	u.readyW = nil
	u.mu.Unlock()
	if w != nil {
		_, err := w.Write([]byte{readyByte})
		w.Close()
		if err != nil {
			return fmt.Errorf("fork: ready: telling the parent (did it time out?): %w", err)
		}
	}
	if u.notify != "" {
		if err := sdNotify(u.notify, fmt.Sprintf("MAINPID=%d\nREADY=1\n", os.Getpid())); err != nil {
			return fmt.Errorf("fork: ready: %w", err)
		}
	}
	return nil
}

// Stop ends the Upgrader: an Upgrade in progress is aborted (its new
// process killed and reaped) before Stop returns, later Upgrades fail with
// ErrStopped, and Exit is closed. A parent that never got Ready sees this
// process fail its upgrade; successors see ParentExited. Inherited files
// no Listen call claimed are closed. The caller's listeners stay open: close
// them when drained. Stop is idempotent.
func (u *Upgrader) Stop() {
	u.mu.Lock()
	if u.stopped {
		u.mu.Unlock()
		return
	}
	u.stopped = true
	close(u.stop)
	u.closeExitLocked()
	done := u.upgradeDone
	u.mu.Unlock()
	if done != nil {
		<-done
	}

	u.mu.Lock()
	if u.readyW != nil {
		u.readyW.Close()
		u.readyW = nil
	}
	for _, w := range u.aliveWs {
		w.Close()
	}
	u.aliveWs = nil
	for _, e := range u.entries {
		if e.owned && e.file != nil {
			e.file.Close()
			e.file = nil
		}
	}
	if u.ready && !u.upgraded {
		for _, p := range u.unixPaths {
			_ = os.Remove(p)
		}
	}
	u.mu.Unlock()
	if u.aliveR != nil {
		u.aliveR.Close()
	}
	<-u.watchDone
	signal.Stop(u.hup)

	active.mu.Lock()
	if active.u == u {
		active.u = nil
	}
	active.mu.Unlock()
}

func (u *Upgrader) closeExitLocked() {
	select {
	case <-u.exit:
	default:
		close(u.exit)
	}
}

// systemdSocket claims an inherited socket that no Upgrader passed (from
// systemd socket activation) of network's type, bound to addr; or nil.
func systemdSocket(network, addr string) *os.File {
	want, ok := wantedSocket(network, addr)
	if !ok {
		return nil
	}
	for _, nf := range Inherited() {
		kind, _, _ := strings.Cut(nf.Name, "/")
		if kind == kindListen || kind == kindPacket || kind == kindFile {
			continue
		}
		rc, err := nf.File.SyscallConn()
		if err != nil {
			continue
		}
		match := false
		_ = rc.Control(func(fd uintptr) { match = want.matches(int(fd)) })
		if match && claimFile(nf.File) {
			return nf.File
		}
	}
	return nil
}

// socketWant describes the socket Listen or ListenPacket asks for.
type socketWant struct {
	sotype int
	family int // 0: either IP family
	ip     net.IP
	port   int
	path   string
}

func wantedSocket(network, addr string) (socketWant, bool) {
	var w socketWant
	switch network {
	case "unix", "unixgram", "unixpacket":
		w.sotype = map[string]int{"unix": syscall.SOCK_STREAM, "unixgram": syscall.SOCK_DGRAM, "unixpacket": syscall.SOCK_SEQPACKET}[network]
		w.family, w.path = syscall.AF_UNIX, addr
		return w, addr != ""
	case "tcp", "tcp4", "tcp6":
		a, err := net.ResolveTCPAddr(network, addr)
		if err != nil {
			return w, false
		}
		w.sotype, w.ip, w.port = syscall.SOCK_STREAM, a.IP, a.Port
	case "udp", "udp4", "udp6":
		a, err := net.ResolveUDPAddr(network, addr)
		if err != nil {
			return w, false
		}
		w.sotype, w.ip, w.port = syscall.SOCK_DGRAM, a.IP, a.Port
	default:
		return w, false
	}
	switch network[len(network)-1] {
	case '4':
		w.family = syscall.AF_INET
	case '6':
		w.family = syscall.AF_INET6
	}
	return w, w.port != 0
}

func (w socketWant) matches(fd int) bool {
	sotype, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TYPE)
	if err != nil || sotype != w.sotype {
		return false
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return false
	}
	var ip net.IP
	var port, family int
	switch sa := sa.(type) {
	case *syscall.SockaddrUnix:
		return w.family == syscall.AF_UNIX && sa.Name == w.path
	case *syscall.SockaddrInet4:
		ip, port, family = net.IP(sa.Addr[:]), sa.Port, syscall.AF_INET
	case *syscall.SockaddrInet6:
		ip, port, family = net.IP(sa.Addr[:]), sa.Port, syscall.AF_INET6
	default:
		return false
	}
	if w.family == syscall.AF_UNIX || (w.family != 0 && w.family != family) || port != w.port {
		return false
	}
	if w.ip == nil || w.ip.IsUnspecified() {
		return ip.IsUnspecified()
	}
	return ip.Equal(w.ip)
}
