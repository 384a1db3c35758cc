package hashtable

import "fmt"

// Format makes fmt print the map as it prints a builtin map[K]V holding the
// same entries, with the same verb and flags: "map[a:1 b:2]" for %v, keys in
// sorted order, and map[string]int{"a":1, "b":2} for %#v. It never prints
// the seed, and the sorted order reveals nothing of it either, as the
// map's own order would. A map that was never used prints as a nil
// builtin map.
//
// Format has a value receiver so that a Map held by value, in an exported
// field of a struct that is printed, prints as a map too; a nil *Map prints
// as "<nil>", as fmt prints every nil pointer whose methods have value
// receivers.
func (m Map[K, V]) Format(f fmt.State, verb rune) {
	var b map[K]V
	if m.seed != nil {
		b = make(map[K]V, m.used)
		for k, v := range m.All() {
			b[k] = v
		}
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), b)
}

// Format makes fmt print the map as it prints a builtin map[K]V holding the
// same entries (see Map.Format); a nil *Sync prints as "<nil>". Under
// concurrent writes it prints what Range produces.
func (s *Sync[K, V]) Format(f fmt.State, verb rune) {
	if s == nil {
		fmt.Fprint(f, "<nil>")
		return
	}
	b := make(map[K]V)
	s.Range(func(k K, v V) bool {
		b[k] = v
		return true
	})
	fmt.Fprintf(f, fmt.FormatString(f, verb), b)
}
