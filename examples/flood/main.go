// Command flood shows hash flooding against an HTTP form parser, and
// hashtable.Map shrugging it off.
//
//	go run ./examples/flood [-bits 14]
//	go run ./examples/flood -h    # usage, what it does, the flags
//
// It serves one handler on loopback that parses an
// application/x-www-form-urlencoded body into a table: a naive chained
// table keyed by DJBX33A (/naive), or a hashtable.Map keyed by SipHash with
// a random seed (/sturdy). Then it posts two bodies of 2^bits fields to
// each: fields with random names, and fields whose names all collide under
// DJBX33A ("EzEz...", "EzFY...", ...). It prints the request times side by
// side. The naive table goes quadratic on the crafted body; the seeded
// SipHash map cannot be steered, so both bodies cost it the same.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/sturdy-go/sturdy/hashtable"
)

// maxBody bounds a form body, as any real server must.
const maxBody = 8 << 20

func main() { os.Exit(run(os.Stdout, os.Stderr, os.Args[1:])) }

const about = `Flood attacks an HTTP form parser with field names that all collide
under DJBX33A, the string hash of many languages before 2012. It serves, on
loopback, a handler that stores the form's fields in a naive chained table
(/naive) or in a hashtable.Map (/sturdy), posts a body of random names and
one of colliding names to each, and prints the times and the work: the naive
table goes quadratic on the crafted body; the seeded SipHash map costs the
same for both.
`

// run is the program: the report goes to w, usage errors to errw. It
// returns the exit status: 0, 1 when the demonstration failed, 2 for bad
// flags.
func run(w, errw io.Writer, args []string) int {
	fs := flag.NewFlagSet("flood", flag.ContinueOnError)
	fs.SetOutput(errw)
	usage := func(out io.Writer) {
		fmt.Fprintf(out, "usage: flood [-bits n]\n\n%s\nflags:\n", about)
		fs.SetOutput(out)
		fs.PrintDefaults()
		fs.SetOutput(errw)
	}
	fs.Usage = func() {} // printed below, to stdout when asked for
	bits := fs.Int("bits", 14, "post 2^`n` fields per body (4..16)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(w)
			return 0
		}
		usage(errw) // after the flag package's message
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(errw, "flood: unexpected argument %q\n", fs.Arg(0))
		usage(errw)
		return 2
	}
	if *bits < 4 || *bits > 16 {
		fmt.Fprintf(errw, "flood: -bits %d is out of range: use 4 to 16\n", *bits)
		return 2
	}
	if err := flood(w, *bits); err != nil {
		fmt.Fprintf(errw, "flood: %v\n", err)
		return 1
	}
	return 0
}

// table is what the handler stores fields in.
type table interface {
	Put(k, v string)
	Len() int
}

// result is what the handler answered: the fields it stored, and the work
// its table did (key comparisons for the naive table, the longest probe
// sequence for hashtable.Map).
type result struct {
	fields int
	work   string
}

func parseForm(body io.Reader, t table) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	for _, field := range strings.Split(string(data), "&") {
		if field == "" {
			continue
		}
		k, v, _ := strings.Cut(field, "=")
		if k, err = url.QueryUnescape(k); err != nil {
			return fmt.Errorf("bad field name: %w", err)
		}
		if v, err = url.QueryUnescape(v); err != nil {
			return fmt.Errorf("bad field value: %w", err)
		}
		t.Put(k, v)
	}
	return nil
}

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /naive", func(w http.ResponseWriter, r *http.Request) {
		t := newNaiveTable()
		if err := parseForm(http.MaxBytesReader(w, r.Body, maxBody), t); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d %d key comparisons\n", t.Len(), t.compares)
	})
	mux.HandleFunc("POST /sturdy", func(w http.ResponseWriter, r *http.Request) {
		m := hashtable.New[string, string]()
		if err := parseForm(http.MaxBytesReader(w, r.Body, maxBody), mapTable{m}); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		st := m.Stats()
		fmt.Fprintf(w, "%d longest probe %d\n", m.Len(), st.MaxProbe)
	})
	return mux
}

type mapTable struct {
	m *hashtable.Map[string, string]
}

func (t mapTable) Put(k, v string) { t.m.Put(k, v) }
func (t mapTable) Len() int        { return t.m.Len() }

func body(keys []string) []byte {
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteString("=1")
	}
	return b.Bytes()
}

func post(client *http.Client, u string, b []byte) (time.Duration, result, error) {
	start := time.Now()
	resp, err := client.Post(u, "application/x-www-form-urlencoded", bytes.NewReader(b))
	if err != nil {
		return 0, result{}, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	elapsed := time.Since(start)
	if err != nil {
		return 0, result{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, result{}, fmt.Errorf("%s: %s: %s", u, resp.Status, out)
	}
	var r result
	var rest string
	if _, err := fmt.Sscanf(string(out), "%d", &r.fields); err != nil {
		return 0, result{}, fmt.Errorf("%s: unexpected answer %q", u, out)
	}
	_, rest, _ = strings.Cut(strings.TrimSpace(string(out)), " ")
	r.work = rest
	return elapsed, r, nil
}

func flood(w io.Writer, bits int) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	defer func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(w, "flood: server: %v\n", err)
		}
	}()

	n := 1 << bits
	crafted := collidingKeys(bits)
	random := randomKeys(n, 2*bits, uint64(time.Now().UnixNano()))
	bodies := []struct {
		name string
		data []byte
	}{{"random", body(random)}, {"crafted", body(crafted)}}

	client := &http.Client{Timeout: 2 * time.Minute}
	defer client.CloseIdleConnections()
	base := "http://" + l.Addr().String()
	fmt.Fprintf(w, "POSTing %d form fields (%d KiB) per request to a loopback server\n", n, len(bodies[1].data)>>10)
	fmt.Fprintf(w, "%-8s %-8s %12s %s\n", "table", "body", "time", "work")
	for _, tab := range []string{"naive", "sturdy"} {
		var times [2]time.Duration
		for i, b := range bodies {
			d, r, err := post(client, base+"/"+tab, b.data)
			if err != nil {
				return err
			}
			if r.fields != n {
				return fmt.Errorf("%s stored %d fields, want %d", tab, r.fields, n)
			}
			times[i] = d
			fmt.Fprintf(w, "%-8s %-8s %12v %s\n", tab, b.name, d.Round(10*time.Microsecond), r.work)
		}
		fmt.Fprintf(w, "%-8s crafted/random = %.1fx\n", tab, float64(times[1])/float64(times[0]))
	}
	return nil
}
