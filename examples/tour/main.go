// Command tour runs every sturdy package once, offline and on loopback,
// and narrates what each one did, with figures measured on the spot.
//
//	go run ./examples/tour                 # every section
//	go run ./examples/tour -only slowlog   # some sections, by name
//	go run ./examples/tour -h              # usage, what it does, the flags
//
// Each section is independent: a failing section prints its error, the
// others still run, and the exit status is 1.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
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
	{"fork", "an upgrade in place: the listener passes to a new generation, no request unanswered", tourFork},
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
	os.Exit(run(os.Stdout, os.Stderr, os.Args[1:]))
}

const about = `The tour runs every sturdy package once, offline and on loopback, and
narrates what each did, with figures measured on the spot. Sections:
`

// run is the program: the tour goes to w, usage errors to errw. It returns
// the exit status: 0, 1 when a section failed, 2 for bad flags.
func run(w, errw io.Writer, args []string) int {
	fs := flag.NewFlagSet("tour", flag.ContinueOnError)
	fs.SetOutput(errw)
	only := fs.String("only", "", "run only the sections in `list`, names separated by commas")
	usage := func(out io.Writer) {
		fmt.Fprintf(out, "usage: tour [-only list]\n\n%s", about)
		for _, s := range sections {
			fmt.Fprintf(out, "  %-10s %s\n", s.name, s.what)
		}
		fmt.Fprintf(out, "\nflags:\n")
		fs.SetOutput(out)
		fs.PrintDefaults()
		fs.SetOutput(errw)
	}
	fs.Usage = func() {} // printed below, to stdout when asked for
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(w)
			return 0
		}
		usage(errw)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(errw, "tour: unexpected argument %q\n", fs.Arg(0))
		usage(errw)
		return 2
	}
	chosen := sections
	if *only != "" {
		chosen = nil
		for _, name := range strings.Split(*only, ",") {
			i := slices.IndexFunc(sections, func(s section) bool { return s.name == strings.TrimSpace(name) })
			if i < 0 {
				fmt.Fprintf(errw, "tour: -only: no section %q\n", name)
				usage(errw)
				return 2
			}
			chosen = append(chosen, sections[i])
		}
	}

	fmt.Fprintln(w, "sturdy tour: six building blocks for services that must keep working under hostile input")
	status := 0
	for _, s := range chosen {
		fmt.Fprintf(w, "\n== %s: %s\n", s.name, s.what)
		start := time.Now()
		if err := s.run(w); err != nil {
			fmt.Fprintf(w, "   FAILED: %v\n", err)
			status = 1
			continue
		}
		fmt.Fprintf(w, "   (%s done in %v)\n", s.name, time.Since(start).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "\ntour finished: %d sections\n", len(chosen))
	return status
}
