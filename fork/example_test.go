//go:build linux

package fork_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

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

// The life of a server under an Upgrader. This is the first generation:
// Listen opens a new socket; in a process started by Upgrade it would
// return the parent's. Here Stop stands in for SIGTERM.
func ExampleUpgrader() {
	u, err := fork.NewUpgrader(fork.UpgradeOptions{})
	if err != nil {
		panic(err)
	}
	ln, err := u.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	// go srv.Serve(ln)
	if err := u.Ready(); err != nil {
		panic(err)
	}
	fmt.Println("serving; started by an upgrade:", u.HasParent())

	// On SIGHUP: go u.Upgrade(). On SIGTERM:
	u.Stop()
	<-u.Exit()
	fmt.Println("draining")
	ln.Close() // srv.Shutdown(ctx)
	// Output:
	// serving; started by an upgrade: false
	// draining
}
