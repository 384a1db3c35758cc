package slowlog

import (
	"bytes"
	"runtime"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// RunningMessage is the message of the line Watch writes for a call that
// is still running.
const RunningMessage = "slow call still running"

// maxStackDump bounds the buffer for the dump of all goroutines that the
// watch takes when a call is overdue.
const maxStackDump = 64 << 20

// A flight is a call in progress, known to the watch.
type flight struct {
	name     string
	start    int64
	gid      uint64
	reported bool
}

// track registers a call that starts now on the calling goroutine.
func (l *Log) track(name string) uint64 {
	gid := goroutineID()
	start := l.mono()
	l.flightsMu.Lock()
	l.flightID++
	id := l.flightID
	l.flights[id] = flight{name: name, start: start, gid: gid}
	l.flightsMu.Unlock()
	return id
}

func (l *Log) untrack(id uint64) {
	l.flightsMu.Lock()
	delete(l.flights, id)
	l.flightsMu.Unlock()
}

func (l *Log) watchLoop(every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.scan()
			if l.onScan != nil {
				l.onScan()
			}
		}
	}
}

// scan logs, once each, the calls that have been running for at least the
// watch duration. The goroutine stacks are dumped only when there is one.
func (l *Log) scan() {
	now := l.mono()
	var due []flight
	l.flightsMu.Lock()
	for id, f := range l.flights {
		if !f.reported && now-f.start >= l.watch {
			f.reported = true
			l.flights[id] = f
			due = append(due, f)
		}
	}
	l.flightsMu.Unlock()
	if len(due) == 0 {
		return
	}
	dump := allStacks()
	for _, f := range due {
		ce := l.z.Check(zap.WarnLevel, RunningMessage)
		if ce == nil {
			continue
		}
		if _, ok := l.allow(l.statsFor(f.name), now); !ok {
			continue
		}
		running := time.Duration(now - f.start)
		ce.Write(
			zap.String("name", f.name),
			zap.Duration("running", running),
			zap.String("seconds", seconds(running)),
			zap.String("stack", stackOf(dump, f.gid)),
		)
	}
}

// goroutineID reads the calling goroutine's id from the header of its
// stack trace, "goroutine 18 [running]:". The runtime gives no cheaper way.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	var id uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

func allStacks() []byte {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) || len(buf) >= maxStackDump {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

// stackOf returns the trace of goroutine gid from a dump of all
// goroutines, or "" when it is not in the dump (it ended meanwhile).
func stackOf(dump []byte, gid uint64) string {
	head := "goroutine " + strconv.FormatUint(gid, 10) + " ["
	var rest []byte
	if bytes.HasPrefix(dump, []byte(head)) {
		rest = dump
	} else if i := bytes.Index(dump, []byte("\n"+head)); i >= 0 {
		rest = dump[i+1:]
	} else {
		return ""
	}
	if j := bytes.Index(rest, []byte("\n\n")); j >= 0 {
		rest = rest[:j]
	}
	return string(bytes.TrimRight(rest, "\n"))
}
