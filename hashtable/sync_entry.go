package hashtable

import (
	"reflect"
	"sync/atomic"
	"unsafe"
)

// syncEntry is a key and its current value. The key never changes; the
// value is replaced atomically, without a lock: in word, as its bits, when
// V is a small type without pointers (see inlineValue), else in box, which
// points to an immutable copy.
type syncEntry[K comparable, V any] struct {
	key  K
	word atomic.Uint64
	box  atomic.Pointer[V]
}

// syncEntryBox allocates an entry together with the first value its box
// points to: one allocation per insertion.
type syncEntryBox[K comparable, V any] struct {
	e syncEntry[K, V]
	v V
}

// inlineValue reports whether V fits in a syncEntry's word: at most 8
// bytes and no pointers.
func inlineValue[V any]() bool {
	switch reflect.TypeFor[V]().Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64:
		return true
	}
	return false
}

// newEntry returns an entry holding key and val, not yet published.
func (s *Sync[K, V]) newEntry(key K, val V) *syncEntry[K, V] {
	if s.inline {
		e := &syncEntry[K, V]{key: key}
		e.word.Store(wordOf(val))
		return e
	}
	b := &syncEntryBox[K, V]{e: syncEntry[K, V]{key: key}, v: val}
	b.e.box.Store(&b.v)
	return &b.e
}

// value returns e's current value.
func (s *Sync[K, V]) value(e *syncEntry[K, V]) V {
	if s.inline {
		w := e.word.Load()
		return *(*V)(unsafe.Pointer(&w))
	}
	return *e.box.Load()
}

// set replaces e's value with val.
func (s *Sync[K, V]) set(e *syncEntry[K, V], val V) {
	if s.inline {
		e.word.Store(wordOf(val))
		return
	}
	e.box.Store(&val)
}

// wordOf returns the bits of a value that inlineValue accepts.
func wordOf[V any](v V) uint64 {
	var w uint64
	*(*V)(unsafe.Pointer(&w)) = v
	return w
}
