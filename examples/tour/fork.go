package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sturdy-go/sturdy/fork"
)

// childEnv marks the tour's own child process: the new generation of its
// upgrade.
const childEnv = "STURDY_TOUR_CHILD"

// forkChild is the new generation's whole life: take over the listener
// the tour passed, serve until the tour has gone, drain, exit.
func forkChild() int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "tour child: %v\n", err)
		return 1
	}
	// What the tour passed, as Init adopted it, before the Upgrader
	// takes it over.
	inherited := inheritedTargets()
	u, err := fork.NewUpgrader(fork.UpgradeOptions{})
	if err != nil {
		return fail(err)
	}
	defer u.Stop()
	ln, err := u.Listen("tcp", "127.0.0.1:0") // the parent's very socket
	if err != nil {
		return fail(err)
	}
	defer ln.Close()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "pid %d (the new generation, started by an upgrade: %v) answered %s %s\n%s",
			os.Getpid(), u.HasParent(), r.Method, r.URL.Path, describeFDs(inherited))
	})}
	served := make(chan error, 1)
	go func() { served <- u.Serve(srv, ln) }()
	if err := u.Ready(); err != nil {
		return fail(err)
	}
	<-u.ParentExited()
	u.Stop()
	if err := <-served; err != nil {
		return fail(err)
	}
	return 0
}

// inheritedTargets maps what each descriptor Init adopted points at (a
// socket or pipe, by inode) to the name the parent gave it.
func inheritedTargets() map[string]string {
	m := make(map[string]string)
	for _, nf := range fork.Inherited() {
		rc, err := nf.File.SyscallConn() // not Fd(): it would make the socket blocking
		if err != nil {
			continue
		}
		_ = rc.Control(func(fd uintptr) {
			if target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(fd))); err == nil {
				m[target] = nf.Name
			}
		})
	}
	return m
}

// describeFDs lists this process's descriptors in three groups: standard
// input, output and error; those inherited from the tour (matched by what
// they point at, as the Upgrader holds its own duplicates); and those the
// new process opened itself (the Go runtime's poller and its wake-up pipe
// or eventfd, the cgroup files it reads to size GOMAXPROCS, ...). It says
// whether the parent's secret file is among them.
func describeFDs(inherited map[string]string) string {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return "   its descriptors: unknown (" + err.Error() + ")\n"
	}
	defer dir.Close()
	names, _ := dir.Readdirnames(-1)
	slices.SortFunc(names, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
	var stdio, passed, own []string
	leaked := false
	for _, n := range names {
		if n == strconv.Itoa(int(dir.Fd())) {
			continue // the directory being read
		}
		target, err := os.Readlink("/proc/self/fd/" + n)
		if err != nil {
			continue
		}
		leaked = leaked || strings.Contains(target, "tour-secret")
		kind, _, _ := strings.Cut(target, "[")
		entry := n + "=" + strings.TrimSuffix(kind, ":")
		switch fd, _ := strconv.Atoi(n); {
		case fd <= 2:
			stdio = append(stdio, n)
		case inherited[target] != "":
			passed = append(passed, entry+" ("+inherited[target]+")")
		default:
			own = append(own, entry)
		}
	}
	verdict := "no tour-secret file: nothing was inherited by accident"
	if leaked {
		verdict = "LEAKED the parent's tour-secret file"
	}
	return fmt.Sprintf("   its descriptors: stdio %s\n"+
		"     inherited, exactly what the upgrade passed: %s\n"+
		"     opened by the new process itself (this request's connection, the Go runtime's poller, cgroup reads): %s\n"+
		"     %s\n", strings.Join(stdio, " "), strings.Join(passed, " "), strings.Join(own, " "), verdict)
}

// tourFork upgrades a server in place: the tour serves, re-executes itself
// as the new generation, which takes over the listening socket, and
// drains with Serve while the new one answers.
func tourFork(w io.Writer) error {
	// A file this process opened and does not pass: the new generation
	// must not get it.
	secret, err := os.CreateTemp("", "tour-secret")
	if err != nil {
		return err
	}
	defer os.Remove(secret.Name())
	defer secret.Close()

	exe, err := os.Executable()
	if err != nil {
		return err
	}
	u, err := fork.NewUpgrader(fork.UpgradeOptions{Path: exe, Args: []string{}, Env: append(os.Environ(), childEnv+"=1")})
	if err != nil {
		return err
	}
	defer u.Stop()
	ln, err := u.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "pid %d (the tour) answered %s %s\n", os.Getpid(), r.Method, r.URL.Path)
	})}
	served := make(chan error, 1)
	go func() { served <- u.Serve(srv, ln) }()
	if err := u.Ready(); err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	get := func(path string) error {
		resp, err := client.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		closing := ""
		if resp.Close {
			closing = " [Connection: close]"
		}
		first, rest, _ := strings.Cut(strings.TrimSuffix(string(body), "\n"), "\n")
		fmt.Fprintf(w, "   %s%s\n", first, closing)
		if rest != "" {
			fmt.Fprintln(w, rest)
		}
		if strings.Contains(string(body), "LEAKED") {
			return fmt.Errorf("the new generation inherited a file it was not given")
		}
		return nil
	}
	if err := get("/before"); err != nil {
		return err
	}

	var prepared, parented bool
	fork.AtFork(func() { prepared = true }, func() { parented = true }, nil)
	start := time.Now()
	if err := u.Upgrade(); err != nil {
		return err
	}
	fmt.Fprintf(w, "   upgrade: the new generation took the listener and was ready in %v (hooks ran: prepare %v, parent %v)\n",
		time.Since(start).Round(10*time.Microsecond), prepared, parented)
	// The kept-alive connection still leads to the tour, which answers
	// and ends it at that response.
	if err := get("/during"); err != nil {
		return err
	}
	start = time.Now()
	if err := <-served; err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	fmt.Fprintf(w, "   the tour drained in %v: every request it had was answered\n", time.Since(start).Round(10*time.Microsecond))
	if err := get("/after"); err != nil {
		return err
	}
	fmt.Fprintf(w, "   %s stayed with the tour; stopping lets the new generation see its parent go and exit\n", filepath.Base(secret.Name()))
	return nil
}
