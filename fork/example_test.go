//go:build linux

package fork_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sturdy-go/sturdy/fork"
)

// Start a child with one named file. The child (here a shell, standing in
// for any program) sees it as descriptor 3, announced by the systemd
// variables; a Go child would call fork.Init and fork.Inherited instead.
func ExampleStart() {
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	defer r.Close()
	cmd := exec.Command("/bin/sh", "-c", `echo "$LISTEN_FDS $LISTEN_FDNAMES" >&3`)
	if err := fork.Start(cmd, fork.NamedFile{Name: "results", File: w}); err != nil {
		panic(err)
	}
	w.Close() // the child has its copy
	if err := cmd.Wait(); err != nil {
		panic(err)
	}
	var b strings.Builder
	buf := make([]byte, 64)
	for {
		n, err := r.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	fmt.Print(b.String())
	// Output: 1 results
}

// Hooks run like pthread_atfork's: prepare in reverse order of
// registration, parent in order.
func ExampleAtFork() {
	var log []string
	record := func(s string) func() {
		return func() {
			if len(log) < 4 { // later Starts of this test binary add nothing
				log = append(log, s)
			}
		}
	}
	fork.AtFork(record("prepare A"), record("parent A"), nil)
	fork.AtFork(record("prepare B"), record("parent B"), nil)
	cmd := exec.Command("/bin/sh", "-c", "exit 0")
	if err := fork.Start(cmd); err != nil {
		panic(err)
	}
	if err := cmd.Wait(); err != nil {
		panic(err)
	}
	fmt.Println(strings.Join(log, "\n"))
	// Output:
	// prepare B
	// prepare A
	// parent A
	// parent B
}

// A whole server under an Upgrader: kill -HUP upgrades it in place, kill
// -TERM drains it and exits. This is the first generation: Listen opens a
// new socket; in a process started by Upgrade it returns the old process's
// very socket. The signals are handled before Ready: from Ready on, the
// PID file and systemd name this process, and a reload may come at once.
// Here the program sends itself SIGTERM, as systemctl stop would; a
// successful Upgrade ends Serve the same way, once the new process serves.
func ExampleUpgrader() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM)
	defer signal.Stop(sig)

	u, err := fork.NewUpgrader(fork.UpgradeOptions{}) // PIDFile, timeouts, ListenConfig: see UpgradeOptions
	if err != nil {
		log.Fatal(err)
	}
	defer u.Stop()
	ln, err := u.Listen("tcp", "127.0.0.1:0") // after an upgrade: the old process's very socket
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	})}
	served := make(chan error, 1)
	go func() { served <- u.Serve(srv, ln) }() // serve; after Exit, drain
	if err := u.Ready(); err != nil {          // the old process's Upgrade returns nil now
		log.Fatal(err)
	}
	fmt.Println("serving; started by an upgrade:", u.HasParent())

	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(body))
	client.CloseIdleConnections() // else the drain waits Linger for it
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		log.Fatal(err)
	}

	for {
		select {
		case s := <-sig:
			if s == syscall.SIGTERM {
				u.Stop() // drain, then exit
				continue
			}
			go func() {
				// An error means the new process failed: this one keeps serving.
				if err := u.Upgrade(); err != nil && !errors.Is(err, fork.ErrInProgress) {
					log.Print(err)
				}
			}()
		case err := <-served: // a successor serves, or Stop: every sent request was answered
			fmt.Println("drained:", err)
			return
		}
	}
	// Output:
	// serving; started by an upgrade: false
	// hello
	// drained: <nil>
}
