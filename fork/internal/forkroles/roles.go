//go:build linux

// Package forkroles holds the child programs of the fork package's tests,
// benchmarks and examples. The test binary runs them from TestMain, and
// internal/forkhelper, a small uninstrumented program that starts in a
// millisecond or two, runs them for the stress tests. Run selects one by
// name; the environment variables below configure it.
package forkroles

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sturdy-go/sturdy/fork"
	"github.com/sturdy-go/sturdy/fork/forktest"
)

// Environment variables of the roles.
const (
	EnvRole    = "FORKHELPER_ROLE"    // the role to run
	EnvMode    = "FORKHELPER_MODE"    // a variant of the role
	EnvOut     = "FORKHELPER_OUT"     // where the role writes its report
	EnvAddr    = "FORKHELPER_ADDR"    // the address to Listen on
	EnvPIDFile = "FORKHELPER_PIDFILE" // UpgradeOptions.PIDFile
	EnvGen     = "FORKHELPER_GEN"     // chain: this generation
	EnvGens    = "FORKHELPER_GENS"    // chain: how many generations
	EnvUnix    = "FORKHELPER_UNIX"    // upgrade: also Listen on this unix socket, ...
	EnvFile    = "FORKHELPER_FILE"    // ... ListenPacket on UDP and OpenFile this file
	EnvH2C     = "FORKHELPER_H2C"     // server: also speak HTTP/2 without TLS (h2c)
)

// soReusePort is SO_REUSEPORT on the common Linux architectures (the
// syscall package lacks it).
const soReusePort = 15

// target is the readlink target of c's descriptor: the open object.
func target(c syscall.Conn) string {
	rc, err := c.SyscallConn()
	if err != nil {
		die("%v", err)
	}
	var s string
	_ = rc.Control(func(fd uintptr) { s, err = os.Readlink("/proc/self/fd/" + strconv.Itoa(int(fd))) })
	if err != nil {
		die("%v", err)
	}
	return s
}

// Run runs role and exits the process: status 0 on success, 3 on a
// failure (reported on standard error).
func Run(role string) {
	switch role {
	case "chain":
		chain()
	case "upgrade":
		upgrade()
	case "server":
		server()
	case "hooks":
		hooks()
	case "inherit":
		inherit()
	case "systemd":
		systemd()
	case "orphan":
		orphan()
	case "hupready":
		hupReady()
	default:
		die("unknown role %q", role)
	}
	os.Exit(0)
}

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "forkroles %d: %s\n", os.Getpid(), fmt.Sprintf(format, args...))
	os.Exit(3)
}

// out writes the report atomically to $FORKHELPER_OUT, if set.
func out(format string, args ...any) {
	path := os.Getenv(EnvOut)
	if path == "" {
		return
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf(format, args...)), 0o644); err != nil {
		die("report: %v", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		die("report: %v", err)
	}
}

// OpenFDs lists this process's descriptors as "fd=target" sorted by number
// (see forktest.OpenFDs).
func OpenFDs() (string, error) {
	fds, err := forktest.OpenFDs()
	if err != nil {
		return "", err
	}
	return fds.String(), nil
}

// chain is one generation of TestChain: adopt, note the descriptors, use
// the listener, open two descriptors without close-on-exec, start the next
// generation and exit without waiting for it.
func chain() {
	if err := fork.Init(); err != nil {
		die("init: %v", err)
	}
	fds, err := OpenFDs()
	if err != nil {
		die("%v", err)
	}
	gen, _ := strconv.Atoi(os.Getenv(EnvGen))
	total, _ := strconv.Atoi(os.Getenv(EnvGens))
	files := fork.Inherited()
	if !fork.IsChild() || len(files) != 2 || files[0].Name != "listener" || files[1].Name != "report" {
		die("generation %d inherited %v (child %v)", gen, files, fork.IsChild())
	}
	if err := ping(files[0].File, byte(gen)); err != nil {
		die("generation %d: listener: %v", gen, err)
	}
	// As cgo or a raw system call would: no O_CLOEXEC, and a plain dup.
	if _, err := syscall.Open("/proc/version", syscall.O_RDONLY, 0); err != nil {
		die("open: %v", err)
	}
	if _, err := syscall.Dup(int(files[0].File.Fd())); err != nil {
		die("dup: %v", err)
	}
	line := fmt.Sprintf("%d %d %s\n", gen, os.Getpid(), fds)
	if _, err := files[1].File.WriteString(line); err != nil {
		die("report: %v", err)
	}
	if gen+1 < total {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), EnvGen+"="+strconv.Itoa(gen+1))
		cmd.Stderr = os.Stderr
		if err := fork.Start(cmd, files...); err != nil {
			die("generation %d: start: %v", gen, err)
		}
	}
}

// ping accepts one connection of its own on the listener f and echoes a
// byte through it.
func ping(f *os.File, b byte) error {
	l, err := net.FileListener(f)
	if err != nil {
		return err
	}
	defer l.Close()
	c, err := net.Dial(l.Addr().Network(), l.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := c.Write([]byte{b}); err != nil {
		return err
	}
	var got [1]byte
	if _, err := io.ReadFull(s, got[:]); err != nil {
		return err
	}
	if got[0] != b {
		return fmt.Errorf("echo %d, got %d", b, got[0])
	}
	return nil
}

// upgrade is the new process of the Upgrade tests. It listens, serves an
// echo, reports what it got, then per $FORKHELPER_MODE: "exit" exits with
// status 3 before anything; "hang" never calls Ready; "wait" waits for
// SIGUSR1 before Ready; "crash" panics right after Ready; otherwise it calls Ready
// and exits when its parent has.
func upgrade() {
	mode := os.Getenv(EnvMode)
	if err := fork.Init(); err != nil {
		die("init: %v", err)
	}
	if mode == "exit" {
		os.Exit(3)
	}
	if mode == "pidexit" {
		// What a new process killed inside Ready leaves: the PID file
		// names it, and its parent never heard that it was ready.
		_ = os.WriteFile(os.Getenv(EnvPIDFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
		os.Exit(3)
	}
	names := make([]string, 0, 4)
	for _, nf := range fork.Inherited() {
		names = append(names, nf.Name)
	}
	// A ListenConfig applies to sockets this process creates; every one
	// here is inherited, so Control must never run.
	var controls atomic.Int32
	u, err := fork.NewUpgrader(fork.UpgradeOptions{
		PIDFile: os.Getenv(EnvPIDFile),
		ListenConfig: &net.ListenConfig{Control: func(string, string, syscall.RawConn) error {
			controls.Add(1)
			return nil
		}},
	})
	if err != nil {
		die("%v", err)
	}
	l, err := u.Listen("tcp", os.Getenv(EnvAddr))
	if err != nil {
		die("%v", err)
	}
	go echo(l)
	reuse := -1
	if rc, err := l.(*net.TCPListener).SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { reuse, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort) })
	}
	extra := ""
	if path := os.Getenv(EnvUnix); path != "" {
		// The other kinds an Upgrader passes on: a unix listener, a UDP
		// socket, a plain file.
		ul, err := u.Listen("unix", path)
		if err != nil {
			die("%v", err)
		}
		defer ul.Close()
		pc, err := u.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			die("%v", err)
		}
		defer pc.Close()
		f, err := u.OpenFile(os.Getenv(EnvFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			die("%v", err)
		}
		defer f.Close()
		if _, err := f.WriteString("child\n"); err != nil {
			die("%v", err)
		}
		extra = fmt.Sprintf("unix=%s\nudp=%s\n", target(ul.(syscall.Conn)), target(pc.(syscall.Conn)))
	}
	fds, err := OpenFDs()
	if err != nil {
		die("%v", err)
	}
	out("pid=%d\naddr=%s\nparent=%v\nchild=%v\nnames=%s\nfds=%s\ncontrols=%d\nreuseport=%d\n%s",
		os.Getpid(), l.Addr(), u.HasParent(), fork.IsChild(), strings.Join(names, ","), fds, controls.Load(), reuse, extra)
	switch mode {
	case "hang":
		time.Sleep(time.Hour)
	case "wait":
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		<-usr1
	}
	if err := u.Ready(); err != nil {
		die("%v", err)
	}
	if mode == "crash" {
		panic("crash right after Ready")
	}
	<-u.ParentExited()
	u.Stop()
	l.Close()
}

// hupReady calls Ready before it handles SIGHUP, the order that let a
// reload kill a server: it announces itself in the PID file, waits for
// SIGUSR1 (the test sends SIGHUP first), and reports that it is alive.
func hupReady() {
	if err := fork.Init(); err != nil {
		die("init: %v", err)
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	u, err := fork.NewUpgrader(fork.UpgradeOptions{PIDFile: os.Getenv(EnvPIDFile)})
	if err != nil {
		die("%v", err)
	}
	defer u.Stop()
	if err := u.Ready(); err != nil {
		die("%v", err)
	}
	<-usr1
	out("alive")
}

// echo serves each connection on l by copying it back.
func echo(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(c, c)
		}()
	}
}

// server is the HTTP server of the upgrade-under-load test: it answers
// every request with its pid (a POST after reading its whole body, with
// the body's length), upgrades on SIGHUP, and serves and drains with
// Upgrader.Serve until its Upgrader says so (after an upgrade, or
// SIGTERM), and creates $FORKHELPER_OUT.upgraded.<pid> when an Upgrade
// succeeded. /hold answers "holding" at once and then holds the request
// until the client goes. The first generation writes its address to
// $FORKHELPER_OUT; a later one creates $FORKHELPER_OUT.parent-exited.<pid>
// when it sees its parent go. With $FORKHELPER_MODE=shutdown it drains the
// way Serve replaces, with srv.Shutdown alone, for comparison runs.
func server() {
	if err := fork.Init(); err != nil {
		die("init: %v", err)
	}
	u, err := fork.NewUpgrader(fork.UpgradeOptions{
		PIDFile:      os.Getenv(EnvPIDFile),
		ReadyTimeout: 5 * time.Minute,
		DrainTimeout: 5 * time.Minute,
	})
	if err != nil {
		die("%v", err)
	}
	defer u.Stop()
	l, err := u.Listen("tcp", os.Getenv(EnvAddr))
	if err != nil {
		die("%v", err)
	}
	pid := strconv.Itoa(os.Getpid())
	if !u.HasParent() {
		out("%s", l.Addr())
	} else if path := os.Getenv(EnvOut); path != "" {
		// Tell the test when the parent is gone, however it went.
		go func() {
			<-u.ParentExited()
			_ = os.WriteFile(path+".parent-exited."+pid, []byte("yes"), 0o644)
		}()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			n, err := io.Copy(io.Discard, r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			_, _ = fmt.Fprintf(w, "%s %d", pid, n)
			return
		}
		_, _ = io.WriteString(w, pid)
	})
	mux.HandleFunc("/hold", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "holding\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Minute}
	if os.Getenv(EnvH2C) != "" {
		srv.Protocols = new(http.Protocols)
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetUnencryptedHTTP2(true)
	}
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM)
	var upgrades sync.WaitGroup // the report of a success is written before exit
	go func() {
		for s := range sig {
			if s == syscall.SIGTERM {
				u.Stop()
				continue
			}
			upgrades.Add(1)
			go func() {
				defer upgrades.Done()
				if err := u.Upgrade(); err != nil {
					fmt.Fprintf(os.Stderr, "server %s: %v\n", pid, err)
				} else if path := os.Getenv(EnvOut); path != "" {
					_ = os.WriteFile(path+".upgraded."+pid, []byte("yes"), 0o644)
				}
			}()
		}
	}()
	served := make(chan error, 1)
	if os.Getenv(EnvMode) == "shutdown" {
		// The recipe Serve replaces, for comparison runs: serve, and on
		// Exit shut down.
		go func() {
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				die("serve: %v", err)
			}
		}()
		go func() {
			<-u.Exit()
			served <- srv.Shutdown(context.Background())
		}()
	} else {
		go func() { served <- u.Serve(srv, l) }()
	}
	if err := u.Ready(); err != nil {
		die("%v", err)
	}
	if err := <-served; err != nil {
		die("serve: %v", err)
	}
	signal.Stop(sig)
	upgrades.Wait()
}

// hooks registers three AtFork hooks and reports the order in which the
// child hooks ran in Init.
func hooks() {
	var order []string
	for i := 1; i <= 3; i++ {
		n := strconv.Itoa(i)
		fork.AtFork(
			func() { order = append(order, "prepare"+n) },
			func() { order = append(order, "parent"+n) },
			func() { order = append(order, "child"+n) })
	}
	// A child hook may use the package: Init has adopted the files.
	fork.AtFork(nil, nil, func() { order = append(order, fmt.Sprintf("inherited%d", len(fork.Inherited()))) })
	if err := fork.Init(); err != nil {
		die("init: %v", err)
	}
	out("%s child=%v", strings.Join(order, ","), fork.IsChild())
}

// inherit reports what this process inherited: whether it is a child of
// this package, the names, the descriptors and any leftover variables.
func inherit() {
	if os.Getenv(EnvMode) == "orphan" {
		// Init only once the parent has exited and this process has been
		// reparented.
		for os.Getppid() == orphanParent() {
			time.Sleep(time.Millisecond)
		}
	}
	initErr := fork.Init()
	names := make([]string, 0, 4)
	for _, nf := range fork.Inherited() {
		names = append(names, nf.Name)
	}
	fds, err := OpenFDs()
	if err != nil {
		die("%v", err)
	}
	var left []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LISTEN_") || strings.HasPrefix(kv, fork.EnvMarker+"=") {
			left = append(left, kv)
		}
	}
	out("child=%v\nnames=%s\nfds=%s\nenv=%s\ninit=%v\npid=%d\n",
		fork.IsChild(), strings.Join(names, ","), fds, strings.Join(left, ","), initErr, os.Getpid())
}

// orphanParent is the pid of the parent the orphan role was started by.
func orphanParent() int {
	pid, _ := strconv.Atoi(os.Getenv("FORKHELPER_ORPHAN_PARENT"))
	return pid
}

// orphan starts the inherit role with one file and exits at once, before
// that child calls Init.
func orphan() {
	if err := fork.Init(); err != nil {
		die("init: %v", err)
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		die("%v", err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), EnvRole+"=inherit", EnvMode+"=orphan",
		"FORKHELPER_ORPHAN_PARENT="+strconv.Itoa(os.Getpid()))
	cmd.Stderr = os.Stderr
	if err := fork.Start(cmd, fork.NamedFile{Name: "orphaned", File: f}); err != nil {
		die("%v", err)
	}
}

// systemd is a first-generation server under socket activation: it asks
// its Upgrader for $FORKHELPER_ADDR and reports the socket it got and the
// inherited files left unclaimed.
func systemd() {
	if err := fork.Init(); err != nil {
		die("init: %v", err)
	}
	u, err := fork.NewUpgrader(fork.UpgradeOptions{})
	if err != nil {
		die("%v", err)
	}
	defer u.Stop()
	l, err := u.Listen("tcp", os.Getenv(EnvAddr))
	if err != nil {
		die("%v", err)
	}
	defer l.Close()
	rc, err := l.(*net.TCPListener).SyscallConn()
	if err != nil {
		die("%v", err)
	}
	var target string
	_ = rc.Control(func(fd uintptr) { target, err = os.Readlink("/proc/self/fd/" + strconv.Itoa(int(fd))) })
	if err != nil {
		die("%v", err)
	}
	var left []string
	for _, nf := range fork.Inherited() {
		left = append(left, nf.Name)
	}
	out("socket=%s\nleft=%s\n", target, strings.Join(left, ","))
}
