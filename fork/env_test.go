package fork

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseListen(t *testing.T) {
	tests := []struct {
		fds, names string
		namesSet   bool
		want       []string
		err        bool
	}{
		{"0", "", false, []string{}, false},
		{"0", "", true, []string{}, false},
		{"2", "", false, []string{"unknown", "unknown"}, false},
		{"2", "a:b c", true, []string{"a", "b c"}, false},
		{"1", "http", true, []string{"http"}, false},
		{"1", "", true, nil, true},    // empty name
		{"2", "a", true, nil, true},   // too few names
		{"1", "a:b", true, nil, true}, // too many
		{"0", "a", true, nil, true},
		{"01", "a", true, nil, true},
		{"-1", "", false, nil, true},
		{"+1", "a", true, nil, true},
		{"x", "", false, nil, true},
		{"", "", false, nil, true},
		{"65537", "", false, nil, true},
		{"1", "a\x01", true, nil, true},
	}
	for _, tt := range tests {
		got, err := parseListen(tt.fds, tt.names, tt.namesSet)
		if (err != nil) != tt.err {
			t.Errorf("parseListen(%q, %q): %v", tt.fds, tt.names, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, os.ErrInvalid) {
				t.Errorf("parseListen(%q, %q): %v does not wrap os.ErrInvalid", tt.fds, tt.names, err)
			}
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseListen(%q, %q) = %q, want %q", tt.fds, tt.names, got, tt.want)
		}
	}
}

func TestMarker(t *testing.T) {
	m := marker{ppid: 4242, start: 98765, ids: []fileID{{0x803, 0x1a2b}, {0, 1}, {^uint64(0), ^uint64(0)}}}
	s := formatMarker(m)
	if s != "2 4242 98765 803.1a2b 0.1 ffffffffffffffff.ffffffffffffffff" {
		t.Errorf("formatMarker = %q", s)
	}
	got, err := parseMarker(s)
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Errorf("parseMarker(%q) = %+v, %v", s, got, err)
	}
	if got, err := parseMarker("2 7 0"); err != nil || len(got.ids) != 0 || got.start != 0 {
		t.Errorf("no files: %+v, %v", got, err)
	}
	// Version 1, from an older parent: no start time.
	if got, err := parseMarker("1 4242 803.1a2b"); err != nil || !reflect.DeepEqual(got, marker{ppid: 4242, ids: []fileID{{0x803, 0x1a2b}}}) {
		t.Errorf("version 1: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "2", "2 7", "1 7 0", "3 7 0", "2 0 0", "2 -3 0", "2 +3 0", "2 7 x", "2 7 -1", "2 7 +1",
		"2 7 0 1", "2 7 0 1.", "2 7 0 .1", "2 7 0 1.x", "2 7 0 +1.1", "2 7 0  1.1", "2 7 0 1.1.1", "1", "1 0", "1 7 x", "1 7 0"} {
		if _, err := parseMarker(bad); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("parseMarker(%q): %v, want os.ErrInvalid", bad, err)
		}
	}
	if _, err := parsePID("+5"); err == nil {
		t.Error("parsePID accepted +5")
	}
}

func TestKeyFor(t *testing.T) {
	tests := []struct{ kind, network, addr, want string }{
		{"listen", "tcp", "127.0.0.1:8080", "listen/tcp/127.0.0.1%3A8080"},
		{"listen", "tcp", ":0", "listen/tcp/%3A0"},
		{"listen", "tcp6", "[::1]:80", "listen/tcp6/[%3A%3A1]%3A80"},
		{"listen", "unix", "/run/a b.sock", "listen/unix/%2Frun%2Fa%20b.sock"},
		{"packet", "ip4:icmp", "0.0.0.0", "packet/ip4%3Aicmp/0.0.0.0"},
		{"file", "", "/var/log/x%y", "file/%2Fvar%2Flog%2Fx%25y"},
	}
	for _, tt := range tests {
		got, err := keyFor(tt.kind, tt.network, tt.addr)
		if err != nil || got != tt.want {
			t.Errorf("keyFor(%q, %q, %q) = %q, %v; want %q", tt.kind, tt.network, tt.addr, got, err, tt.want)
		}
		if err := validName(got); err != nil {
			t.Errorf("key %q is not a valid name: %v", got, err)
		}
	}
	if _, err := keyFor("listen", "unix", strings.Repeat("é", 100)); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("overlong key: %v", err)
	}
}
