package slowlog

import (
	"sync/atomic"
	"time"
	"unsafe"
)

// A nameTable finds the statistics of a name. It is replaced, never
// changed, when a name is added or the Log is Reset, except for its cache.
//
// The map is copy on write, so a lookup takes no lock, but hashing the
// name is most of the fast path's own work. The cache in front of it is
// keyed by the address and length of the name's bytes: a call site that
// passes a string constant passes the same address every time, so its
// lookup is one pointer comparison. A hit is exact: the cached stats hold
// the very string they were found by, which keeps its bytes alive, so no
// other string can have the same address and length while it is cached
// (strings are immutable). A name built at run time gets a new address
// each call, misses, and takes the map; it is never cached, so it does
// not evict the constants.
type nameTable struct {
	m     map[string]*stats
	cache [cacheSize]atomic.Pointer[stats]
}

const (
	cacheBits = 8
	cacheSize = 1 << cacheBits
)

func newNameTable(m map[string]*stats) *nameTable { return &nameTable{m: m} }

// slot returns the cache slot of the string whose bytes start at p.
func (t *nameTable) slot(p *byte) *atomic.Pointer[stats] {
	h := uint64(uintptr(unsafe.Pointer(p))) * 0x9e3779b97f4a7c15
	return &t.cache[h>>(64-cacheBits)]
}

// statsFor returns the statistics of name, creating them on first use.
func (l *Log) statsFor(name string) *stats {
	t := l.names.Load()
	p := unsafe.StringData(name)
	slot := t.slot(p)
	if st := slot.Load(); st != nil && unsafe.StringData(st.name) == p && len(st.name) == len(name) {
		return st
	}
	return l.lookup(t, slot, name)
}

// lookup is statsFor past a cache miss.
func (l *Log) lookup(t *nameTable, slot *atomic.Pointer[stats], name string) *stats {
	st, ok := t.m[name]
	if !ok {
		if st = l.other.Load(); st == nil {
			st = l.addName(name)
		}
	}
	if unsafe.StringData(st.name) == unsafe.StringData(name) && len(st.name) == len(name) {
		slot.Store(st)
	}
	return st
}

func (l *Log) addName(name string) *stats {
	since := l.wallNow() // before the lock: the clock may be the user's
	l.namesMu.Lock()
	defer l.namesMu.Unlock()
	old := l.names.Load()
	if st, ok := old.m[name]; ok {
		return st
	}
	if len(old.m) >= l.maxNames {
		st := l.other.Load()
		if st == nil {
			st = &stats{name: OtherName, since: since}
			l.other.Store(st)
		}
		return st
	}
	m := make(map[string]*stats, len(old.m)+1)
	for k, v := range old.m {
		m[k] = v
	}
	st := &stats{name: name, since: since}
	m[name] = st
	t := newNameTable(m)
	for i := range old.cache {
		t.cache[i].Store(old.cache[i].Load())
	}
	l.names.Store(t)
	return st
}

// wallNow reads the wall clock, or the clock given to WithClock.
func (l *Log) wallNow() time.Time {
	if l.now != nil {
		return l.now()
	}
	return time.Now()
}
