package bio

import "sync"

// poolBufSize is the capacity of pooled buffer storage: one full record
// with its header and overhead.
const poolBufSize = maxRecordPlaintext + 1024

// bufPool holds the storage of emptied buffers, so an idle Conn keeps none
// while a busy one reuses it record after record without allocating. It
// holds *[]byte, which goes in and out of an interface without allocating.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, poolBufSize)
	return &b
}}

// buffer is a byte queue: bytes are appended at the end and read from the
// front. Its storage comes from bufPool and goes back with release.
type buffer struct {
	b   []byte  // unread bytes are b[r:]; nil when released
	r   int     //
	ptr *[]byte // the pool's handle for b's storage
}

// Len reports how many unread bytes the buffer holds.
func (q *buffer) Len() int { return len(q.b) - q.r }

// read moves unread bytes into p. It never moves the unread bytes or the
// free space after them, so a slice from tail stays valid across reads.
func (q *buffer) read(p []byte) int {
	n := copy(p, q.b[q.r:])
	q.r += n
	return n
}

// write appends p.
func (q *buffer) write(p []byte) {
	q.ensure(len(p))
	q.b = append(q.b, p...)
}

// tail returns free space of at least n bytes after the unread bytes, for
// a writer that reports what it filled through commit.
func (q *buffer) tail(n int) []byte {
	q.ensure(n)
	return q.b[len(q.b):cap(q.b)]
}

// commit records that n bytes of the slice returned by tail were filled.
func (q *buffer) commit(n int) { q.b = q.b[:len(q.b)+n] }

// ensure makes room for n more bytes: storage from the pool, then the
// space freed by reads, then a bigger array.
func (q *buffer) ensure(n int) {
	if q.ptr == nil {
		q.ptr = bufPool.Get().(*[]byte)
		q.b, q.r = (*q.ptr)[:0], 0
	}
	if cap(q.b)-len(q.b) >= n {
		return
	}
	live := copy(q.b, q.b[q.r:])
	q.b, q.r = q.b[:live], 0
	if cap(q.b)-live < n {
		grown := make([]byte, live, live+max(n, live))
		copy(grown, q.b)
		q.b = grown
	}
}

// release gives the storage of an empty buffer back to the pool. Callers
// make sure no slice from tail is in use.
func (q *buffer) release() {
	if q.ptr == nil || q.Len() > 0 {
		return
	}
	if cap(q.b) <= 4*poolBufSize { // a buffer grown far past a record is left to the collector
		*q.ptr = q.b[:0]
		bufPool.Put(q.ptr)
	}
	q.b, q.r, q.ptr = nil, 0, nil
}
