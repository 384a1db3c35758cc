// Package fork starts child processes that inherit exactly the files they
// are given, runs atfork-style hooks around them, and re-executes a server
// for an upgrade without refusing a single connection.
//
// # The problem
//
// A program whose children start children, each parent exiting, leaks one
// descriptor per generation when anything is inherited by accident, and
// dies around generation 1000 with "too many open files". Go marks the
// descriptors it opens close-on-exec, but a descriptor opened by cgo, by a
// raw system call or by syscall.Dup is inherited by every later child. In
// Go the everyday form of the problem is the zero-downtime upgrade: a
// server re-executes itself, hands its listening sockets to the new
// process, waits until that one serves, then drains and exits.
//
// # Exact inheritance: Start and Init
//
// Start(cmd, files...) starts cmd with its standard input, output and
// error, and files as descriptors 3, 4, ..., and nothing else. Before the
// start it marks every descriptor of the process from 3 up close-on-exec,
// with close_range(CLOSE_RANGE_CLOEXEC) in one system call where the
// kernel has it (Linux 5.11), otherwise by listing /proc/self/fd. It does
// so holding syscall.ForkLock for writing. The reasoning:
//
//   - Which descriptors a child inherits is decided at the fork: those
//     without FD_CLOEXEC that exist at that moment. Go's fork/exec marks
//     the files it is told to pass inheritable in the child itself.
//   - Go cannot run code of ours between fork and exec (see AtFork), so
//     the marking has to happen in the parent, before the fork. The flag
//     is sticky and harmless to set: in this package's model an
//     inheritable descriptor is a leak, and a file meant for a child is
//     passed explicitly.
//   - Marking must not race with a goroutine that is creating a
//     descriptor and has not yet set close-on-exec on it. Such code holds
//     syscall.ForkLock for reading between the two steps (that is the
//     lock's documented contract, and the runtime's own rule where no
//     atomic O_CLOEXEC exists); holding the lock for writing while marking
//     waits for those windows to close and keeps new ones from opening.
//     A descriptor created after the marking is either created atomically
//     close-on-exec (all of the standard library on Linux) or marked under
//     the read lock before the fork, which takes the same lock for
//     writing. Descriptors that exist when Start is called, however they
//     were opened, never reach the child.
//   - What no library can prevent is a goroutine that, at the same
//     moment, opens a descriptor without O_CLOEXEC and without the lock,
//     and never marks it: such code is broken for every fork in the
//     process.
//
// The names of the files travel with systemd's socket activation protocol
// (LISTEN_FDS, LISTEN_FDNAMES). Since a Go parent cannot set LISTEN_PID to
// the child's pid before exec, Start adds its own marker, EnvMarker, with
// the parent's pid and start time and the device and inode of every passed
// file. In the child, Init adopts the files when it is the process Start
// started (its parent is that pid, or was until it exited) and the marker
// matches the descriptors it finds, or when LISTEN_PID is its own pid
// (systemd, or the wrapper below). Behind a shell that does not exec, the
// shell's children adopt nothing. Init takes only descriptors that crossed
// exec (not close-on-exec, as everything Go opens is), refuses without
// touching any when one is missing, marks the adopted ones close-on-exec,
// unsets the variables so that grandchildren cannot misread them, and runs
// the child hooks. Inherited lists the files; IsChild reports whether
// Start started this process.
//
// A child in another language that expects sd_listen_fds(3) needs a
// correct LISTEN_PID; exec keeps the pid, so a shell can set it:
//
//	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, "/usr/bin/server", "--flag")
//	err := fork.Start(cmd, fork.NamedFile{Name: "http", File: f})
//
// # Hooks
//
// AtFork(prepare, parent, child) follows pthread_atfork(3): prepare hooks
// run before every Start in reverse registration order, parent hooks after
// it in order, child hooks in order in the child's Init. Go cannot run
// code between fork and exec, and exec replaces the program anyway, so
// "in the child" means at Init, in the new program, as Python's
// os.register_at_fork cannot reach a subprocess either.
//
// # Upgrades: Upgrader
//
//	sig := make(chan os.Signal, 1)
//	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM) // before Ready: a reload may come at once
//	u, err := fork.NewUpgrader(fork.UpgradeOptions{PIDFile: "/run/app.pid"})
//	defer u.Stop()
//	ln, err := u.Listen("tcp", ":8080") // the parent's socket, if it passed one
//	errc := make(chan error, 1)
//	go func() { errc <- u.Serve(srv, ln) }() // serves until Exit, then drains
//	u.Ready()                               // the parent's Upgrade returns nil now
//	// loop: on SIGHUP go u.Upgrade(); on SIGTERM u.Stop();
//	// on <-errc return: drained, no sent request went unanswered
//
// The Upgrader example is the whole server. Upgrade re-executes the
// binary with Start, passing every listener, packet socket and file the
// Upgrader registered plus two pipes, and waits for the child's Ready on
// the first pipe, at most ReadyTimeout. Both processes hold the same
// listening sockets meanwhile, so the kernel queues new connections
// whoever accepts them: none is refused. If the child exits, crashes, or
// times out before Ready, Upgrade kills and reaps it and returns an
// *UpgradeError; the parent has lost nothing and keeps serving, and the
// PID file and systemd's MAINPID name it again (the child may have named
// itself before it died). A second Upgrade while one runs fails with
// ErrInProgress. The second pipe's write end stays in the parent until it
// stops or dies, which the child sees as end-of-file (ParentExited). A
// unix socket's file is not removed by the old process, only by Stop in a
// process that was ready and never handed over. Sockets the Upgrader
// creates are made with UpgradeOptions.ListenConfig (SO_REUSEPORT,
// keep-alive and the like); inherited ones keep the options they were
// created with.
//
// # Reloads under systemd, and the order of a program's first lines
//
// With Type=notify, NotifyAccess=all and ExecReload=/bin/kill -HUP
// $MAINPID in the unit, Ready sends systemd "MAINPID=<pid>" and "READY=1"
// (when NOTIFY_SOCKET is set), so that systemd follows each new process;
// the PID file (UpgradeOptions.PIDFile) is replaced atomically at Ready,
// before the parent is told. From that moment a reload is sent to the new
// process, at once if one is queued, even before the old process has
// exited. Go's default action for SIGHUP is to exit: a program that calls
// signal.Notify after Ready can be killed by a reload after its
// predecessor handed over, and the service is down. So handle the signals
// first, as every snippet here does. The Upgrader helps: from NewUpgrader
// to Stop it catches SIGHUP itself (on a channel nobody reads), so a
// reload that comes before the program's own handler cannot kill the
// process; such a reload does nothing, though, as only the program's
// handler upgrades. examples/upgrade is tested as systemd would drive it,
// with SIGHUP sent the moment each generation announces itself, through 50
// upgrades. (A SIGHUP from a closing terminal no longer ends a process
// that runs an Upgrader either: it is a daemon.)
//
// # Draining: Serve
//
// After Exit, the old process must answer every request a client has sent
// it, and http.Server's Shutdown does not: right after reading a request,
// net/http drops it unanswered when the server is shutting down (its
// connection loop checks for shutdown after reading a request), so a
// connection accepted just before Shutdown whose request arrives just
// after fails; Shutdown, like SetKeepAlivesEnabled(false), closes idle
// kept-alive connections at once, under clients that may be sending their
// next request on them (Go's client then silently resends a GET, and fails
// a POST); and it neither waits for hijacked connections nor closes them.
//
// Serve drains the way HTTP allows: it closes the listener (the successor
// accepts what is queued), runs the server's RegisterOnShutdown hooks,
// answers every request on the connections it accepted, ends each HTTP/1
// connection at a response with "Connection: close", closes one that
// stays idle only after UpgradeOptions.Linger (1s by default), lets HTTP/2
// streams finish after GOAWAY, waits for hijacked connections, and returns
// nil when no connection is left (or an error wrapping
// os.ErrDeadlineExceeded, with the count of connections cut, after
// DrainTimeout, 30s by default). HTTP/1: the load test upgrades a loopback
// server 20 times under four clients in each of three modes (a fresh
// connection per GET, kept-alive GETs, kept-alive POSTs whose body the
// client cannot resend) and counts failures and the client's silent
// resends (httptrace): 0 and 0 of 10,000 or more requests per mode with
// FORK_TEST_LONG=1 (3,000 in the default run). With srv.Shutdown alone
// (FORK_TEST_DRAIN=shutdown) one such run failed 12 fresh GETs and 50
// POSTs, and the client resent 57 kept-alive GETs (a busy 2-core machine).
//
// # WebSockets
//
// A WebSocket is a hijacked connection: net/http forgets it, and Serve
// waits for it until DrainTimeout (then closes it, and counts it in its
// error). The server must close it, with status 1001 ("going away"), which
// tells the client to reconnect, to the new process:
//
//	closing := make(chan struct{})
//	var once sync.Once
//	srv.RegisterOnShutdown(func() { once.Do(func() { close(closing) }) }) // Serve runs it as the drain begins
//	// in each WebSocket's writer goroutine, also right after the upgrade:
//	case <-closing:
//		c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), deadline)
//		// read until the client's close frame (or a deadline), then c.Close()
//
// Checking closing after the upgrade matters: a WebSocket whose upgrade
// request was in flight when the hooks ran is told nothing otherwise, and
// is cut at DrainTimeout. examples/wsupgrade is this server with
// gorilla/websocket; its test runs 50 gorilla clients through 20 upgrades,
// and every WebSocket that ends, ends with 1001 (1,000 of 1,000), never
// 1006. Serve waits for a hijacked connection whose descriptor it can
// reach (TCP or unix, under TLS or any wrapper with a NetConn method).
//
// # HTTP/2
//
// net/http's HTTP/2 server sends one GOAWAY, carrying the last stream it
// has seen; a stream the client sent while that GOAWAY was on its way is
// refused. Go's client retries such a request by itself when it can: one
// without a body, or whose body it can rewind (GetBody, which
// http.NewRequest sets for a bytes.Reader, bytes.Buffer or strings.Reader);
// otherwise it fails it ("cannot retry err [http2: Transport received
// Server's graceful shutdown GOAWAY] after Request.Body was written", or "cannot
// rewind body after connection loss" for a request given to a connection
// that had just received GOAWAY). The cure is a second GOAWAY after a PING
// round trip, as grpc-go and Envoy send, and net/http gives no way to send
// it. Measured (TestUpgradeHTTP2, Go's HTTP/2 client, 16 concurrent POSTs
// with bodies it cannot rewind on one h2c connection, 20 upgrades, about
// 3,800 to 6,000 requests per run; a busy 2-core machine): 112 to 175
// failed with Serve over 9 runs, 113 to 162 with srv.Shutdown alone over
// 2, and the client moved 0 to 18 others to a new connection before their
// body was sent. So over HTTP/2 no request is dropped unanswered, but a
// request that races the GOAWAY fails unless the client can resend it:
// give HTTP/2 clients rewindable bodies (or idempotent requests), or serve
// them HTTP/1. Serve sends GOAWAY to every HTTP/2
// connection as the drain begins, over TLS or h2c, idle or not.
//
// # gRPC and other servers
//
// A native grpc.Server drains with the module
// github.com/sturdy-go/sturdy/fork/forkgrpc (its own go.mod, so this one
// does not depend on gRPC): forkgrpc.Serve(u, srv, ln). gRPC served as an
// http.Handler goes through Serve. Any other server drains the same way:
// after Exit, close the listener; finish every connection already
// accepted, including one whose first bytes have not been read yet; end
// each where the protocol allows it without racing the client (after a
// response, or with the protocol's goodbye); cut what is left after
// Upgrader.DrainTimeout. The forkgrpc package documentation spells this
// out for a raw TCP protocol.
//
// # Guarantees
//
//   - A child started by Start holds exactly its stdio and the named files,
//     generation after generation: the tests run a chain of 1024 (4096
//     with FORK_TEST_LONG=1), each generation opening descriptors without
//     close-on-exec, and every one holds the same open objects (compared
//     by /proc/self/fd target and inode), and no process or zombie
//     remains.
//   - Start passes duplicates through exec.Cmd, so the caller's sockets
//     keep their non-blocking mode (exec.Cmd's ExtraFiles would switch a
//     live listener to blocking mode, and its Close could then hang).
//   - A failed upgrade leaves no process, zombie or descriptor behind, and
//     the PID file never names the dead process.
//   - Every goroutine the package starts ends: the child reaper when the
//     child exits, the parent watcher at Stop.
//
// The companion package forktest snapshots open descriptors by identity
// and lists child processes, for tests of programs built on this one.
//
// # Errors
//
// The Upgrader's own sentinels are the ones a caller branches on:
// ErrInProgress, ErrNotReady, ErrUpgraded, ErrStopped and, inside an
// *UpgradeError, ErrChildExited. Misuse and malformed input wrap
// os.ErrInvalid, timeouts os.ErrDeadlineExceeded.
//
// Only Linux is supported; elsewhere Start, NewUpgrader and the Upgrader's
// methods return an error wrapping errors.ErrUnsupported, and Init adopts
// nothing.
package fork
