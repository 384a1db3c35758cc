package hashtable

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// seedStrings returns the ways fmt could spell the words of a seed.
func seedStrings(k0, k1 uint64) []string {
	var out []string
	for _, k := range []uint64{k0, k1} {
		out = append(out, strconv.FormatUint(k, 10), strconv.FormatUint(k, 16), strconv.FormatUint(k, 8), strconv.FormatUint(k, 2), fmt.Sprintf("%X", k))
	}
	return out
}

// TestPrintLikeBuiltinMap prints Maps and Syncs with every verb and flag
// fmt knows, alone, in structs (pointer and value, exported and
// unexported fields), in slices and through a panic value, and checks that
// each prints as the builtin map with the same entries does, and that the
// seed never appears.
func TestPrintLikeBuiltinMap(t *testing.T) {
	t.Parallel()
	// A seed whose decimal, hex, octal and binary spellings are long
	// enough never to appear by chance in the printed entries.
	const k0, k1 = 0x5eed5eed12345678, 0x0bad5eedcafe4321
	m := New[string, int](WithSeed(k0, k1))
	s := NewSync[string, int](WithSeed(k0, k1))
	builtin := map[string]int{"a": 1, "b": 2, "c": 3}
	for k, v := range builtin {
		m.Put(k, v)
		s.Put(k, v)
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%o", "%b", "%e", "%t", "%10v", "%-10v", "% v", "%08v"}
	for _, verb := range verbs {
		want := fmt.Sprintf(verb, builtin)
		for name, got := range map[string]string{
			"*Map":  fmt.Sprintf(verb, m),
			"Map":   fmt.Sprintf(verb, *m),
			"*Sync": fmt.Sprintf(verb, s),
		} {
			if got != want {
				t.Errorf("%s %s: %q, want %q as the builtin map prints", name, verb, got, want)
			}
		}
	}

	type exported struct {
		M  *Map[string, int]
		V  Map[string, int]
		S  *Sync[string, int]
		Xs []*Map[string, int]
	}
	type unexported struct {
		m *Map[string, int]
		v Map[string, int]
		s *Sync[string, int]
	}
	e := exported{M: m, V: *m, S: s, Xs: []*Map[string, int]{m}}
	u := unexported{m: m, v: *m, s: s}
	var outs []string
	for _, verb := range verbs {
		outs = append(outs, fmt.Sprintf(verb, e), fmt.Sprintf(verb, &e), fmt.Sprintf(verb, u), fmt.Sprintf(verb, &u), fmt.Sprintf(verb, []any{m, s}))
	}
	// An exported field prints as the builtin map (fmt calls Format).
	if got, want := fmt.Sprintf("%v", e), fmt.Sprintf("{%v %v %v [%v]}", builtin, builtin, builtin, builtin); got != want {
		t.Errorf("struct with exported fields: %q, want %q", got, want)
	}
	// A panic dump of a value that formats with fmt.
	func() {
		defer func() { outs = append(outs, fmt.Sprint(recover())) }()
		panic(fmt.Errorf("bad state: %+v", u))
	}()
	for _, out := range outs {
		for _, k := range seedStrings(k0, k1) {
			if strings.Contains(out, k) {
				t.Fatalf("printed %q, which holds the seed as %q", out, k)
			}
		}
	}
}

func TestPrintNilAndZero(t *testing.T) {
	t.Parallel()
	var nilMap *Map[string, int]
	var nilSync *Sync[string, int]
	var zero Map[string, int]
	var nilBuiltin map[string]int
	cases := []struct{ name, got, want string }{
		{"nil *Map %v", fmt.Sprintf("%v", nilMap), "<nil>"},
		{"nil *Sync %v", fmt.Sprintf("%v", nilSync), "<nil>"},
		{"zero Map %v", fmt.Sprintf("%v", &zero), fmt.Sprintf("%v", nilBuiltin)},
		{"zero Map %#v", fmt.Sprintf("%#v", &zero), fmt.Sprintf("%#v", nilBuiltin)},
		{"empty Map %#v", fmt.Sprintf("%#v", New[string, int]()), fmt.Sprintf("%#v", map[string]int{})},
		{"new(Sync) %v", fmt.Sprintf("%v", new(Sync[string, int])), "map[]"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
}

// TestNilMapReadsLikeNilBuiltinMap checks that a nil *Map and a nil *Sync
// answer reads as a nil builtin map does, and that Put on them panics with
// a message that says what to do.
func TestNilMapReadsLikeNilBuiltinMap(t *testing.T) {
	t.Parallel()
	var m *Map[string, int]
	if m.Len() != 0 || m.Has("a") || m.Delete("a") {
		t.Fatal("nil *Map: Len, Has or Delete not as on a nil builtin map")
	}
	if v, ok := m.Get("a"); ok || v != 0 {
		t.Fatalf("nil *Map: Get = %d, %v", v, ok)
	}
	if v, ok := GetBytes(m, []byte("a")); ok || v != 0 {
		t.Fatalf("nil *Map: GetBytes = %d, %v", v, ok)
	}
	for k := range m.All() {
		t.Fatalf("nil *Map: All produced %q", k)
	}
	for k := range m.Keys() {
		t.Fatalf("nil *Map: Keys produced %q", k)
	}
	m.Clear()
	m.Compact()
	if st := m.Stats(); st != (Stats{}) {
		t.Fatalf("nil *Map: Stats = %+v", st)
	}
	var s *Sync[string, int]
	if s.Len() != 0 || s.Delete("a") {
		t.Fatal("nil *Sync: Len or Delete not as on a nil builtin map")
	}
	if _, ok := s.Get("a"); ok {
		t.Fatal("nil *Sync: Get found a key")
	}
	if _, ok := GetBytesSync(s, []byte("a")); ok {
		t.Fatal("nil *Sync: GetBytesSync found a key")
	}
	for k := range s.All() {
		t.Fatalf("nil *Sync: All produced %q", k)
	}
	if st := s.Stats(); st != (Stats{}) {
		t.Fatalf("nil *Sync: Stats = %+v", st)
	}
	for name, put := range map[string]func(){"Map": func() { m.Put("a", 1) }, "Sync": func() { s.Put("a", 1) }} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "Put on a nil *"+name) {
					t.Errorf("Put on a nil *%s: recovered %v", name, r)
				}
			}()
			put()
		}()
	}
}
