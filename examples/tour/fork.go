package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sturdy-go/sturdy/fork"
)

// childEnv marks the tour's own child process.
const childEnv = "STURDY_TOUR_CHILD"

// forkChild is the child's whole life: answer one HTTP request on the
// listener it inherited, then exit.
func forkChild() int {
	var ln net.Listener
	for _, nf := range fork.Inherited() {
		if nf.Name == "http" {
			l, err := net.FileListener(nf.File)
			if err != nil {
				fmt.Fprintf(os.Stderr, "tour child: %v\n", err)
				return 1
			}
			nf.File.Close()
			ln = l
		}
	}
	if ln == nil {
		fmt.Fprintln(os.Stderr, "tour child: no listener named http was inherited")
		return 1
	}
	defer ln.Close()
	conn, err := ln.Accept()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tour child: %v\n", err)
		return 1
	}
	defer conn.Close()
	req, err := http.ReadRequest(bufio.NewReader(conn))
	if err != nil {
		fmt.Fprintf(os.Stderr, "tour child: %v\n", err)
		return 1
	}
	body := fmt.Sprintf("child pid %d answered %s %s\n   child's descriptors: %s\n", os.Getpid(), req.Method, req.URL.Path, describeFDs())
	fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	return 0
}

// describeFDs lists what this process's descriptors point at, and says
// whether the parent's secret file is among them.
func describeFDs() string {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	defer dir.Close()
	names, _ := dir.Readdirnames(-1)
	slices.SortFunc(names, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
	var parts []string
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
		parts = append(parts, n+"="+strings.TrimSuffix(kind, ":"))
	}
	verdict := "no tour-secret file"
	if leaked {
		verdict = "LEAKED the parent's tour-secret file"
	}
	return strings.Join(parts, " ") + " (" + verdict + ")"
}

func tourFork(w io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	lnFile, err := ln.(*net.TCPListener).File()
	if err != nil {
		return err
	}
	defer lnFile.Close()

	// A file this process opened and does not pass: the child must not
	// get it.
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
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	var prepared, parented bool
	fork.AtFork(func() { prepared = true }, func() { parented = true }, nil)
	start := time.Now()
	if err := fork.Start(cmd, fork.NamedFile{Name: "http", File: lnFile}); err != nil {
		return err
	}
	fmt.Fprintf(w, "   started child pid %d with exactly stdio and one named listener (hooks ran: prepare %v, parent %v)\n", cmd.Process.Pid, prepared, parented)

	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + ln.Addr().String() + "/hello")
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("child: %w", err)
	}
	fmt.Fprintf(w, "   %s", body)
	fmt.Fprintf(w, "   from start to answer: %v; the child exited cleanly; %s stayed with the parent\n", elapsed.Round(10*time.Microsecond), filepath.Base(secret.Name()))
	if strings.Contains(string(body), "LEAKED") {
		return fmt.Errorf("the child inherited a file it was not given: %s", body)
	}
	if !strings.Contains(string(body), "answered GET /hello") {
		return fmt.Errorf("unexpected answer %q", body)
	}
	return nil
}
