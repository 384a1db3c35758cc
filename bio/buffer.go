package bio

// buffer is a byte queue: bytes are appended at the end and read from the
// front. It reuses its storage, so steady traffic allocates nothing.
type buffer struct {
	b []byte // unread bytes are b[r:]
	r int
}

// Len reports how many unread bytes the buffer holds.
func (q *buffer) Len() int { return len(q.b) - q.r }

// read moves unread bytes into p. It never moves the unread bytes or the
// free space after them, so a slice from tail stays valid across reads
// (the engine may be parked while filling one).
func (q *buffer) read(p []byte) int {
	n := copy(p, q.b[q.r:])
	q.r += n
	return n
}

// write appends p.
func (q *buffer) write(p []byte) {
	if q.r > 0 && len(q.b)+len(p) > cap(q.b) {
		q.compact()
	}
	q.b = append(q.b, p...)
}

// tail returns free space of at least n bytes after the unread bytes, for
// a writer that reports what it filled through commit.
func (q *buffer) tail(n int) []byte {
	if cap(q.b)-len(q.b) < n {
		q.compact()
		if cap(q.b)-len(q.b) < n {
			grown := make([]byte, len(q.b), len(q.b)+n)
			copy(grown, q.b)
			q.b = grown
		}
	}
	return q.b[len(q.b):cap(q.b)]
}

// commit records that n bytes of the slice returned by tail were filled.
func (q *buffer) commit(n int) { q.b = q.b[:len(q.b)+n] }

func (q *buffer) compact() {
	n := copy(q.b, q.b[q.r:])
	q.b = q.b[:n]
	q.r = 0
}
