package slowlog

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
)

// Middleware times each request that next serves as a call named after
// its route (see RequestName; where no route pattern is known, after its
// method only): method, URL path without the query string,
// status and body bytes written are in the log line and in the entry's
// HTTP. A handler that panics is recorded with ErrPanicked and the panic
// goes on. The ResponseWriter that next gets supports Flush, Hijack and
// http.ResponseController through Unwrap. A nil next is
// http.DefaultServeMux, as for http.Server.
//
// The request's context is the call's context (see Context): a client
// that went away shows as ctx "context canceled", and ContextFields sees
// what the request carries. To see a tracing middleware's span, put this
// middleware inside it. With a logger that adds the caller, the caller of
// a request's line is where Middleware was called.
func (l *Log) Middleware(next http.Handler) http.Handler {
	if next == nil {
		next = http.DefaultServeMux
	}
	if l == nil {
		return next
	}
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:])
	f, _ := runtime.CallersFrames(pcs[:]).Next()
	caller := frameCaller(f)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &responseWriter{w: w}
		method, path := r.Method, r.URL.Path // before next can change them
		// Until the mux has routed the request, the watch knows it by its
		// path.
		s := Span{name: path, ctx: r.Context()}
		l.begin(&s, nil, method)
		panicked := true
		defer func() {
			s.name = l.requestName(r, method, path)
			var err error
			if panicked {
				err = ErrPanicked
			}
			status := rw.status
			if status == 0 && !rw.hijacked {
				status = http.StatusOK
			}
			hi := httpCall{HTTPInfo{Method: method, Path: path, Status: status, Bytes: rw.bytes}, &caller}
			l.finish(&s, err, &hi)
		}()
		next.ServeHTTP(rw, r)
		panicked = false
	})
}

// Unrouted is what the default name of a request has after its method
// when no route pattern is known: "GET (unrouted)". Raw paths are not
// names, since each distinct path would get statistics of its own until
// MaxNames; the path is in the line and the entry.
const Unrouted = "(unrouted)"

// requestName names a request after it was served, when an
// http.ServeMux has set its Pattern; method and path are as they were
// before.
func (l *Log) requestName(r *http.Request, method, path string) string {
	if l.reqName != nil {
		if n := l.reqName(r); n != "" {
			return n
		}
	}
	if p := r.Pattern; p != "" {
		if i := strings.IndexByte(p, ' '); i > 0 && !strings.Contains(p[:i], "/") {
			return p // "GET /items/{id}" names its method already
		}
		return method + " " + p
	}
	return unroutedName(method)
}

// unroutedName is the default name of a request of method with no
// pattern: one name per standard method and one for all others, so that
// a client cannot make names.
func unroutedName(method string) string {
	switch method {
	case http.MethodGet:
		return "GET " + Unrouted
	case http.MethodHead:
		return "HEAD " + Unrouted
	case http.MethodPost:
		return "POST " + Unrouted
	case http.MethodPut:
		return "PUT " + Unrouted
	case http.MethodPatch:
		return "PATCH " + Unrouted
	case http.MethodDelete:
		return "DELETE " + Unrouted
	case http.MethodOptions:
		return "OPTIONS " + Unrouted
	case http.MethodConnect:
		return "CONNECT " + Unrouted
	case http.MethodTrace:
		return "TRACE " + Unrouted
	}
	return "OTHER " + Unrouted
}

type responseWriter struct {
	w        http.ResponseWriter
	status   int
	bytes    int64
	hijacked bool
}

func (rw *responseWriter) Header() http.Header { return rw.w.Header() }

func (rw *responseWriter) WriteHeader(code int) {
	if rw.status == 0 && code >= 200 {
		rw.status = code
	}
	rw.w.WriteHeader(code)
}

func (rw *responseWriter) Write(p []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.w.Write(p)
	rw.bytes += int64(n)
	return n, err
}

// ReadFrom keeps io.Copy to the writer as fast as without the middleware
// (sendfile on a TCP connection).
func (rw *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := io.Copy(rw.w, r)
	rw.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the original writer.
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.w }

// Flush flushes the original writer when it can.
func (rw *responseWriter) Flush() {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	_ = http.NewResponseController(rw.w).Flush()
}

// Hijack hijacks the original writer's connection when it can.
func (rw *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, b, err := http.NewResponseController(rw.w).Hijack()
	if err == nil {
		rw.hijacked = true
	}
	return c, b, err
}

// Report is what Handler serves.
type Report struct {
	Entries []Entry `json:"entries"` // newest first
	Stats   []Stats `json:"stats"`   // by name
}

// Handler serves, to GET and HEAD, the ring and the statistics as JSON (a
// Report), like SLOWLOG GET. The query parameter n limits the entries to
// the n newest. Other methods get 405; a bad n gets 400.
//
// The report shows a service's inner workings: call names, request paths,
// timings, errors, and the paths of trace files (FlightRecorder). Serve it
// where only operators reach it, on an internal listener or an admin mux,
// never beside "/" on the public one:
//
//	admin := http.NewServeMux()
//	admin.Handle("GET /debug/slowlog", l.Handler())
//	go http.ListenAndServe("127.0.0.1:6060", admin) // or behind the admin auth
//	http.ListenAndServe(":8080", l.Middleware(publicMux))
func (l *Log) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "slowlog: handler: method "+r.Method+" not allowed: use GET", http.StatusMethodNotAllowed)
			return
		}
		rep := Report{Entries: l.Entries(), Stats: l.Stats()}
		if q := r.URL.Query().Get("n"); q != "" {
			n, err := strconv.Atoi(q)
			if err != nil || n < 0 {
				http.Error(w, "slowlog: handler: bad n "+strconv.Quote(q)+": want a non-negative integer", http.StatusBadRequest)
				return
			}
			rep.Entries = rep.Entries[:min(n, len(rep.Entries))]
		}
		if rep.Entries == nil {
			rep.Entries = []Entry{}
		}
		if rep.Stats == nil {
			rep.Stats = []Stats{}
		}
		b, err := json.Marshal(rep)
		if err != nil {
			http.Error(w, "slowlog: handler: encoding the report: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(append(b, '\n'))
	})
}
