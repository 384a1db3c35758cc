package slowlog

import (
	"encoding/json"
	"sync"
	"time"

	"go.uber.org/zap/zapcore"
)

// An Entry is one slow call kept in the ring.
type Entry struct {
	ID       uint64        // increases by one per kept entry, across Reset
	Name     string        // the call's name
	Start    time.Time     // when the call started (wall clock)
	Duration time.Duration // how long it took
	Err      error         // the error it returned, if any
	CtxErr   error         // the error of the call's context when it ended, if any
	Tier     Tier          // the highest threshold it reached, and that tier's level
	HTTP     *HTTPInfo     // Middleware: the request; nil for other calls
	Trace    string        // the trace file written for this call (FlightRecorder), "" if none
}

// HTTPInfo describes the request of an Entry made by Middleware.
type HTTPInfo struct {
	Method string `json:"method"`
	Path   string `json:"path"`   // URL path, without the query string
	Status int    `json:"status"` // 200 when the handler wrote nothing, 0 when it hijacked the connection
	Bytes  int64  `json:"bytes"`  // body bytes written
}

// httpCall is what Middleware hands finish: the request, and where
// Middleware was called, the caller of its lines.
type httpCall struct {
	HTTPInfo
	caller *zapcore.EntryCaller
}

type entryJSON struct {
	ID       uint64    `json:"id"`
	Name     string    `json:"name"`
	Start    time.Time `json:"start"`
	Duration int64     `json:"duration_ns"`
	Seconds  string    `json:"seconds"`
	Err      string    `json:"err,omitempty"`
	CtxErr   string    `json:"ctx,omitempty"`
	Tier     string    `json:"tier"`
	Level    string    `json:"level"`
	HTTP     *HTTPInfo `json:"http,omitempty"`
	Trace    string    `json:"trace,omitempty"`
}

// MarshalJSON encodes the entry with its errors as strings, its duration
// in nanoseconds (duration_ns) and as the nine-decimal seconds string of
// the log line.
func (e Entry) MarshalJSON() ([]byte, error) {
	j := entryJSON{
		ID:       e.ID,
		Name:     e.Name,
		Start:    e.Start,
		Duration: int64(e.Duration),
		Seconds:  seconds(e.Duration),
		Tier:     e.Tier.Over.String(),
		Level:    e.Tier.Level.String(),
		HTTP:     e.HTTP,
		Trace:    e.Trace,
	}
	if e.Err != nil {
		j.Err = e.Err.Error()
	}
	if e.CtxErr != nil {
		j.CtxErr = e.CtxErr.Error()
	}
	return json.Marshal(j)
}

// ring keeps the most recent entries; IDs are given under its lock so that
// the ring is always in ID order.
type ring struct {
	mu   sync.Mutex
	buf  []Entry
	next int // where the next entry goes
	n    int // how many are kept
	id   uint64
}

// add keeps e and returns its ID. It writes the entry field by field:
// copying a whole Entry into the ring would cost a bulk write barrier
// while the GC marks.
func (r *ring) add(e *Entry) uint64 {
	r.mu.Lock()
	r.id++
	id := r.id
	k := &r.buf[r.next]
	k.ID = id
	k.Name = e.Name
	k.Start = e.Start
	k.Duration = e.Duration
	k.Err = e.Err
	k.CtxErr = e.CtxErr
	k.Tier = e.Tier
	k.HTTP = e.HTTP
	k.Trace = e.Trace
	r.next = (r.next + 1) % len(r.buf)
	r.n = min(r.n+1, len(r.buf))
	r.mu.Unlock()
	return id
}

func (r *ring) entries() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Entry, r.n)
	for i := range out {
		out[i] = r.buf[(r.next-1-i+2*len(r.buf))%len(r.buf)]
	}
	return out
}

func (r *ring) reset() {
	r.mu.Lock()
	clear(r.buf)
	r.next, r.n = 0, 0
	r.mu.Unlock()
}

// Entries returns the kept slow entries, newest first, like SLOWLOG GET.
// The slice is a copy; the caller may keep it.
func (l *Log) Entries() []Entry {
	if l == nil || len(l.ring.buf) == 0 {
		return nil
	}
	return l.ring.entries()
}

// Len returns how many entries the ring holds, like SLOWLOG LEN.
func (l *Log) Len() int {
	if l == nil {
		return 0
	}
	l.ring.mu.Lock()
	defer l.ring.mu.Unlock()
	return l.ring.n
}
