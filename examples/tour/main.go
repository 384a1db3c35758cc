// Command tour runs every sturdy package once, offline and on loopback,
// and narrates what each one did, with figures measured on the spot.
//
//	go run ./examples/tour
//
// Each section is independent: a failing section prints its error, the
// others still run, and the exit status is 1.
package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sturdy-go/sturdy/fork"
)

// section is one chapter of the tour.
type section struct {
	name string
	what string
	run  func(w io.Writer) error
}

// sections lists the chapters in the order they run.
var sections = []section{
	{"tlsutil", "a dialer that always verifies, and says why it refused", tourTLS},
	{"bio", "TLS with no socket", tourBio},
	{"hashtable", "a map that crafted keys cannot flood", tourHashtable},
	{"slowlog", "log only the slow calls, in tiers, with statistics", tourSlowlog},
	{"observer", "observers that cannot deadlock or hurt each other", tourObserver},
	{"fork", "a child that inherits exactly one listener", tourFork},
}

func main() {
	// First line of main: adopt inherited files and run child hooks.
	if err := fork.Init(); err != nil {
		fmt.Fprintf(os.Stderr, "tour: %v\n", err)
		os.Exit(1)
	}
	if os.Getenv(childEnv) == "1" {
		os.Exit(forkChild())
	}
	os.Exit(run(os.Stdout))
}

func run(w io.Writer) int {
	fmt.Fprintln(w, "sturdy tour: six building blocks for services that must keep working under hostile input")
	status := 0
	for _, s := range sections {
		fmt.Fprintf(w, "\n== %s: %s\n", s.name, s.what)
		start := time.Now()
		if err := s.run(w); err != nil {
			fmt.Fprintf(w, "   FAILED: %v\n", err)
			status = 1
			continue
		}
		fmt.Fprintf(w, "   (%s done in %v)\n", s.name, time.Since(start).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "\ntour finished: %d sections\n", len(sections))
	return status
}
