package slowlog

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMiddleware(t *testing.T) {
	t.Parallel()
	l, c, logs := newTest(t, Threshold(100*time.Millisecond))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		c.Advance(time.Second)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "item "+r.PathValue("id"))
	})
	mux.HandleFunc("/plain/", func(w http.ResponseWriter, r *http.Request) {
		c.Advance(time.Second)
	})
	mux.HandleFunc("/fast", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/copy", func(w http.ResponseWriter, r *http.Request) {
		c.Advance(time.Second)
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through Unwrap: %v", err)
		}
		// A LimitedReader has no WriteTo, so io.Copy uses ReadFrom.
		_, _ = io.Copy(w, io.LimitReader(strings.NewReader("copied"), 100))
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		c.Advance(time.Second)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		_ = buf.Flush()
	})
	srv := httptest.NewServer(l.Middleware(mux))
	defer srv.Close()

	for _, path := range []string{"/items/7?token=secret", "/plain/x?a=b", "/fast", "/missing", "/copy", "/hijack"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	if logs.Len() != 4 {
		t.Fatalf("%d lines, want the four slow requests", logs.Len())
	}
	want := []map[string]any{
		{"name": "GET /items/{id}", "method": "GET", "path": "/items/7", "status": int64(201), "bytes": int64(6), "tier": "100ms"},
		{"name": "GET /plain/", "method": "GET", "path": "/plain/x", "status": int64(200), "bytes": int64(0)},
		{"name": "GET /copy", "status": int64(200), "bytes": int64(6)},
		{"name": "GET /hijack", "status": int64(0), "bytes": int64(0)},
	}
	for i, w := range want {
		got := logs.All()[i].ContextMap()
		for k, v := range w {
			if got[k] != v {
				t.Errorf("line %d: %s = %#v, want %#v", i, k, got[k], v)
			}
		}
		if strings.Contains(got["path"].(string), "secret") {
			t.Errorf("query string logged: %v", got)
		}
	}
	e := l.Entries()[3]
	if e.HTTP == nil || *e.HTTP != (HTTPInfo{Method: "GET", Path: "/items/7", Status: 201, Bytes: 6}) {
		t.Fatalf("entry HTTP %+v", e.HTTP)
	}
	names := map[string]uint64{}
	for _, s := range l.Stats() {
		names[s.Name] = s.Count
	}
	for _, n := range []string{"GET /items/{id}", "GET /plain/", "GET /fast", "GET (unrouted)"} {
		if names[n] != 1 {
			t.Errorf("stats %v: want one call of %q", names, n)
		}
	}
}

func TestMiddlewareOptionsAndWriter(t *testing.T) {
	t.Parallel()
	l, c, logs := newTest(t, Threshold(0), RequestName(func(r *http.Request) string {
		if r.URL.RawQuery == "" {
			return ""
		}
		return r.URL.Path + "?" + r.URL.RawQuery
	}))
	h := l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.Advance(time.Millisecond)
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through the middleware: %v", err)
		}
		if _, _, err := http.NewResponseController(w).Hijack(); !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("Hijack on a recorder: %v, want ErrNotSupported", err)
		}
		if r.URL.Path == "/boom" {
			panic(http.ErrAbortHandler)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/q?x=1", nil))
	if !rec.Flushed {
		t.Fatalf("Flush did not reach the recorder")
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PUT", "/p", nil))
	func() {
		defer func() { _ = recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/boom", nil))
	}()
	var names []any
	for _, e := range logs.All() {
		v, _ := field(e, "name")
		names = append(names, v)
	}
	if len(names) != 3 || names[0] != "/q?x=1" || names[1] != "PUT (unrouted)" || names[2] != "GET (unrouted)" {
		t.Fatalf("names %v, want RequestName's, then the default", names)
	}
	if e := l.Entries()[0]; !errors.Is(e.Err, ErrPanicked) {
		t.Fatalf("panicking handler entry err %v", e.Err)
	}
	if nl := (*Log)(nil); nl.Middleware(h) == nil || New(nil).Middleware(nil) == nil {
		t.Fatalf("nil handler or log gave a nil handler")
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	l, c, _ := newTest(t, Threshold(time.Millisecond))
	timed(l, c, "a", 2*time.Millisecond)
	s := l.Start("b")
	c.Advance(time.Second)
	s.StopErr(errors.New("bad"))
	timed(l, c, "c", time.Microsecond)
	h := l.Handler()

	get := func(method, target string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
		return rec
	}
	rec := get("GET", "/")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var rep struct {
		Entries []map[string]any `json:"entries"`
		Stats   []Stats          `json:"stats"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Entries) != 2 || rep.Entries[0]["name"] != "b" || rep.Entries[0]["err"] != "bad" ||
		rep.Entries[0]["seconds"] != "1.000000000" || rep.Entries[0]["id"] != 2.0 || rep.Entries[0]["tier"] != "1ms" {
		t.Fatalf("entries %v", rep.Entries)
	}
	if len(rep.Stats) != 3 || rep.Stats[1].Name != "b" || rep.Stats[1].Max != time.Second || rep.Stats[1].Errors != 1 {
		t.Fatalf("stats %+v", rep.Stats)
	}
	if err := json.Unmarshal(get("GET", "/?n=1").Body.Bytes(), &rep); err != nil || len(rep.Entries) != 1 {
		t.Fatalf("n=1: %d entries, %v", len(rep.Entries), err)
	}
	for _, bad := range []string{"/?n=-1", "/?n=x", "/?n=1e3"} {
		if rec := get("GET", bad); rec.Code != 400 || !strings.HasPrefix(rec.Body.String(), "slowlog: handler: bad n") {
			t.Errorf("%s: %d %q", bad, rec.Code, rec.Body.String())
		}
	}
	if rec := get("POST", "/"); rec.Code != 405 || rec.Header().Get("Allow") == "" {
		t.Fatalf("POST: %d", rec.Code)
	}
	if rec := get("HEAD", "/"); rec.Code != 200 || rec.Body.Len() != 0 {
		t.Fatalf("HEAD: %d with %d bytes", rec.Code, rec.Body.Len())
	}
	l.Reset()
	if body := get("GET", "/").Body.String(); body != `{"entries":[],"stats":[]}`+"\n" {
		t.Fatalf("empty report %q", body)
	}
}

// TestUnroutedNamesBounded: without a route pattern, requests are named
// by method only, so that a client sending many paths or odd methods
// cannot make names.
func TestUnroutedNamesBounded(t *testing.T) {
	t.Parallel()
	l, _, _ := newTest(t, Threshold(time.Hour))
	h := l.Middleware(http.NotFoundHandler())
	for i := range 100 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/p"+strconv.Itoa(i), nil))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("M"+strconv.Itoa(i), "/", nil))
	}
	var names []string
	for _, s := range l.Stats() {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"GET (unrouted)", "OTHER (unrouted)"}) {
		t.Fatalf("names %q", names)
	}
}
