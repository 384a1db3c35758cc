package slowlog

import (
	"sync"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/leaktest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// observed returns a logger that records every line at level and above.
func observed(level zapcore.Level) (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(level)
	return zap.New(core), logs
}

// newTest returns a Log on a fake clock that records lines from Debug up.
func newTest(t *testing.T, opts ...Option) (*Log, *fakeClock, *observer.ObservedLogs) {
	t.Helper()
	c := newClock()
	z, logs := observed(zapcore.DebugLevel)
	l := New(z, append([]Option{WithClock(c.Now)}, opts...)...)
	t.Cleanup(l.Close)
	return l, c, logs
}

// timed runs one call of name that takes d on the fake clock.
func timed(l *Log, c *fakeClock, name string, d time.Duration, opts ...CallOption) {
	s := l.Start(name, opts...)
	c.Advance(d)
	s.Stop()
}

// field returns the value of key in a logged line's context, and whether
// it is there.
func field(e observer.LoggedEntry, key string) (any, bool) {
	v, ok := e.ContextMap()[key]
	return v, ok
}
