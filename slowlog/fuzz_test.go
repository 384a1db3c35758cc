package slowlog

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzSeconds checks that the seconds field has exactly nine decimals and
// reads back as the duration it was made from, for every duration.
func FuzzSeconds(f *testing.F) {
	for _, d := range []int64{0, 1, 999999999, 1e9, 12345678, 1<<63 - 1, -1} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, d int64) {
		s := seconds(time.Duration(d))
		whole, frac, ok := strings.Cut(s, ".")
		if !ok || len(frac) != 9 || whole == "" || (len(whole) > 1 && whole[0] == '0') {
			t.Fatalf("seconds(%d) = %q: want digits, a dot and nine decimals", d, s)
		}
		w, err1 := strconv.ParseInt(whole, 10, 64)
		n, err2 := strconv.ParseInt(frac, 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("seconds(%d) = %q: %v %v", d, s, err1, err2)
		}
		if want := max(d, 0); w*1e9+n != want {
			t.Fatalf("seconds(%d) = %q reads back as %d", d, s, w*1e9+n)
		}
	})
}

// FuzzHandlerQuery sends Handler any query string: it must answer 200
// with a JSON report or 400, and never panic.
func FuzzHandlerQuery(f *testing.F) {
	for _, q := range []string{"", "n=1", "n=-1", "n=99999999999999999999", "n=%zz", "n=1&n=2", "x=y"} {
		f.Add(q)
	}
	l := New(nil, Threshold(0), Keep(4))
	for range 6 {
		l.Start("x").Stop()
	}
	h := l.Handler()
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.RawQuery = q
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		switch rec.Code {
		case http.StatusOK:
			var rep struct{ Entries []json.RawMessage }
			if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
				t.Fatalf("query %q: bad JSON: %v", q, err)
			}
			n, err := strconv.Atoi(r.URL.Query().Get("n"))
			if err == nil && len(rep.Entries) > n {
				t.Fatalf("query %q: %d entries", q, len(rep.Entries))
			}
		case http.StatusBadRequest:
		default:
			t.Fatalf("query %q: status %d", q, rec.Code)
		}
	})
}

// FuzzFileSafe checks that a call's name, which may come from a request,
// always makes a file name that stays in Dir: only letters, digits, '.',
// '_' and '-', at most 64 bytes, never empty.
func FuzzFileSafe(f *testing.F) {
	for _, s := range []string{"", "GET /items/{id}", "../../etc/passwd", "..", "a\x00b", "é", strings.Repeat("x", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := fileSafe(name)
		if got == "" || len(got) > 64 || strings.Trim(got, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" {
			t.Fatalf("fileSafe(%q) = %q", name, got)
		}
		if base := "slowlog-T-slow-" + got + ".trace"; filepath.Base(base) != base {
			t.Fatalf("fileSafe(%q) = %q leaves Dir", name, got)
		}
	})
}
