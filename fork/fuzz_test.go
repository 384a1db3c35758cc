package fork

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseListen feeds LISTEN_FDS and LISTEN_FDNAMES, as any parent or
// systemd may set them, to the parser Init uses.
func FuzzParseListen(f *testing.F) {
	f.Add("2", "http:https", true)
	f.Add("1", "", false)
	f.Add("0", "", true)
	f.Add("3", "a::b", true)
	f.Add("01", "x", true)
	f.Fuzz(func(t *testing.T, fds, names string, namesSet bool) {
		got, err := parseListen(fds, names, namesSet)
		if err != nil {
			return
		}
		n, _ := strconv.Atoi(fds)
		if len(got) != n {
			t.Fatalf("%d names for LISTEN_FDS=%q", len(got), fds)
		}
		if !namesSet {
			return
		}
		for _, name := range got {
			if err := validName(name); err != nil {
				t.Fatalf("accepted invalid name %q", name)
			}
		}
		again, err := parseListen(strconv.Itoa(n), strings.Join(got, ":"), true)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("round trip of %q: %q, %v", got, again, err)
		}
	})
}

// FuzzParseMarker feeds EnvMarker values to the parser Init uses.
func FuzzParseMarker(f *testing.F) {
	f.Add("2 4242 98765 803.1a2b 0.1")
	f.Add("2 7 0")
	f.Add("2 7 0 +1.1")
	f.Add("1 7")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMarker(s)
		if err != nil {
			return
		}
		if m.ppid <= 0 {
			t.Fatalf("accepted parent pid %d", m.ppid)
		}
		again, err := parseMarker(formatMarker(m))
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip of %q: %+v %v", s, again, err)
		}
	})
}

// FuzzKeyFor checks that an Upgrader's keys are valid LISTEN_FDNAMES names
// and that distinct listeners never share a key.
func FuzzKeyFor(f *testing.F) {
	f.Add("tcp", "127.0.0.1:80", "tcp", "127.0.0.1%3A80")
	f.Add("unix", "/a/b", "unix/", "a/b")
	f.Add("ip4:1", "x", "ip4", "1/x")
	f.Fuzz(func(t *testing.T, n1, a1, n2, a2 string) {
		k1, err1 := keyFor(kindListen, n1, a1)
		k2, err2 := keyFor(kindListen, n2, a2)
		if err1 == nil {
			if err := validName(k1); err != nil {
				t.Fatalf("key %q: %v", k1, err)
			}
		}
		if err1 == nil && err2 == nil && k1 == k2 && (n1 != n2 || a1 != a2) {
			t.Fatalf("(%q, %q) and (%q, %q) share key %q", n1, a1, n2, a2, k1)
		}
	})
}
