package hashtable

import (
	"maps"
	"testing"
)

// FuzzMap runs a byte-coded sequence of operations against a map and the
// builtin map and compares them after every step, then checks the
// structure. Each operation is two bytes: an opcode and a key. It runs the
// same sequence on a SipHash map and on one whose hash maps every key to
// one of three values, so long probe sequences, tombstones next to
// collisions and uneven splits are explored as well.
func FuzzMap(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 1, 1, 2, 1, 1, 1, 3, 0})
	f.Add([]byte{0, 5, 0, 6, 0, 7, 2, 6, 5, 0, 0, 8, 4, 0})
	seq := make([]byte, 0, 2048)
	for i := range 1024 {
		seq = append(seq, byte(i%3)*2%5, byte(i*7))
	}
	f.Add(seq)
	f.Fuzz(func(t *testing.T, ops []byte) {
		// The weak map costs O(n) per operation: keep runs short.
		ops = ops[:min(len(ops), 4096)]
		weak := func(_, _ uint64, k uint16) uint64 { return uint64(k%3) << 62 }
		fuzzOps(t, New[uint16, int](), ops)
		fuzzOps(t, NewFunc[uint16, int](weak), ops)
	})
}

// fuzzKey decodes an operation's key from its two bytes. Keys spread over
// a range larger than one table, so splits happen once enough distinct keys
// were put.
func fuzzKey(op, arg byte) uint16 {
	k := uint16(arg) * 13
	if op&0x80 != 0 {
		k += uint16(op&0x70) << 8
	}
	return k
}

func fuzzOps(t *testing.T, m *Map[uint16, int], ops []byte) {
	model := map[uint16]int{}
	iterating := false
	for i := 0; i+1 < len(ops); i += 2 {
		k := fuzzKey(ops[i], ops[i+1])
		switch ops[i] & 0x0f % 7 {
		case 0, 1:
			m.Put(k, i)
			model[k] = i
		case 2:
			_, want := model[k]
			if got := m.Delete(k); got != want {
				t.Fatalf("op %d: Delete(%d) = %v, want %v", i, k, got, want)
			}
			delete(model, k)
		case 3:
			got, ok := m.Get(k)
			want, wok := model[k]
			if ok != wok || got != want {
				t.Fatalf("op %d: Get(%d) = %d, %v; want %d, %v", i, k, got, ok, want, wok)
			}
		case 4:
			m.Clear()
			clear(model)
		case 5:
			m.Compact()
		case 6:
			if iterating {
				break
			}
			// Iterate while deleting and inserting: entries present
			// throughout come out exactly once.
			iterating = true
			seen := map[uint16]int{}
			touched := map[uint16]bool{}
			added := 0
			for key := range m.All() {
				seen[key]++
				victim := key ^ uint16(ops[i+1])
				if m.Delete(victim) {
					touched[victim] = true
				}
				delete(model, victim)
				// Bounded: each added key may be produced in turn.
				if added < 32 {
					added++
					m.Put(key+1, i)
					touched[key+1] = true
					model[key+1] = i
				}
			}
			for key, n := range seen {
				if n > 1 {
					t.Fatalf("op %d: key %d produced %d times", i, key, n)
				}
			}
			for key := range maps.Keys(model) {
				if !touched[key] && seen[key] == 0 {
					t.Fatalf("op %d: key %d present throughout but not produced", i, key)
				}
			}
		}
		if m.Len() != len(model) {
			t.Fatalf("op %d: Len %d, want %d", i, m.Len(), len(model))
		}
	}
	if err := invariantError(m); err != nil {
		t.Fatal(err)
	}
	if got := maps.Collect(m.All()); !maps.Equal(got, model) {
		t.Fatalf("All gave %d entries, want %d", len(got), len(model))
	}
}

// FuzzSync runs a byte-coded sequence of operations against a Sync and the
// builtin map (two bytes an operation, as in FuzzMap), with SipHash and
// with a hash that sends every key to one of three values, and checks each
// shard's structure at the end.
func FuzzSync(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 1, 1, 2, 1, 1, 1, 3, 0, 4, 0, 5, 0})
	seq := make([]byte, 0, 1024)
	for i := range 512 {
		seq = append(seq, byte(i%3)*2%7, byte(i*11))
	}
	f.Add(seq)
	f.Fuzz(func(t *testing.T, ops []byte) {
		ops = ops[:min(len(ops), 4096)]
		weak := func(_, _ uint64, k uint16) uint64 { return uint64(k%3) << 62 }
		fuzzSyncOps(t, NewSync[uint16, int](WithShards(4)), ops)
		fuzzSyncOps(t, NewSyncFunc[uint16, int](weak, WithShards(2)), ops)
	})
}

func fuzzSyncOps(t *testing.T, s *Sync[uint16, int], ops []byte) {
	model := map[uint16]int{}
	for i := 0; i+1 < len(ops); i += 2 {
		k := fuzzKey(ops[i], ops[i+1])
		switch ops[i] & 0x0f % 7 {
		case 0:
			s.Put(k, i)
			model[k] = i
		case 1:
			got, loaded := s.LoadOrStore(k, i)
			want, ok := model[k]
			if !ok {
				want = i
				model[k] = i
			}
			if got != want || loaded != ok {
				t.Fatalf("op %d: LoadOrStore(%d) = %d, %v; want %d, %v", i, k, got, loaded, want, ok)
			}
		case 2:
			_, want := model[k]
			if got := s.Delete(k); got != want {
				t.Fatalf("op %d: Delete(%d) = %v, want %v", i, k, got, want)
			}
			delete(model, k)
		case 3:
			got, ok := s.Get(k)
			want, wok := model[k]
			if ok != wok || got != want {
				t.Fatalf("op %d: Get(%d) = %d, %v; want %d, %v", i, k, got, ok, want, wok)
			}
		case 4:
			s.Clear()
			clear(model)
		case 5:
			s.Compact()
		case 6:
			if got := maps.Collect(s.All()); !maps.Equal(got, model) {
				t.Fatalf("op %d: All gave %d entries, want %d", i, len(got), len(model))
			}
		}
	}
	if s.Len() != len(model) {
		t.Fatalf("Len %d, want %d", s.Len(), len(model))
	}
	checkSyncInvariants(t, s)
}

// FuzzHash compares Hash with dchest/siphash and hash13 with the plain
// reference, for keys of any length and seed.
func FuzzHash(f *testing.F) {
	f.Add(uint64(0), uint64(0), []byte(""))
	f.Add(uint64(1), uint64(2), []byte("a twenty-byte key..."))
	f.Add(^uint64(0), uint64(3), []byte("1234567"))
	f.Fuzz(func(t *testing.T, k0, k1 uint64, p []byte) {
		checkSip(t, k0, k1, p)
	})
}
