package slowlog

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDo(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		fn      func(c *fakeClock, cancel context.CancelFunc) func(context.Context) error
		err     error
		ctxErr  error
		entries int
	}{
		{
			name: "fast success is not kept",
			ctx:  func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			fn: func(c *fakeClock, _ context.CancelFunc) func(context.Context) error {
				return func(context.Context) error { c.Advance(time.Millisecond); return nil }
			},
		},
		{
			name: "slow error",
			ctx:  func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			fn: func(c *fakeClock, _ context.CancelFunc) func(context.Context) error {
				return func(context.Context) error { c.Advance(time.Second); return boom }
			},
			err: boom, entries: 1,
		},
		{
			name: "canceled during the call",
			ctx:  func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			fn: func(c *fakeClock, cancel context.CancelFunc) func(context.Context) error {
				return func(ctx context.Context) error { c.Advance(time.Second); cancel(); return ctx.Err() }
			},
			err: context.Canceled, ctxErr: context.Canceled, entries: 1,
		},
		{
			name: "deadline exceeded",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithDeadline(context.Background(), time.Unix(1, 0))
			},
			fn: func(c *fakeClock, _ context.CancelFunc) func(context.Context) error {
				return func(ctx context.Context) error { c.Advance(time.Second); return nil }
			},
			ctxErr: context.DeadlineExceeded, entries: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, c, logs := newTest(t)
			ctx, cancel := tt.ctx()
			defer cancel()
			err := l.Do(ctx, "job", tt.fn(c, cancel))
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("Do returned %v, want %v", err, tt.err)
			}
			es := l.Entries()
			if len(es) != tt.entries {
				t.Fatalf("%d entries, want %d", len(es), tt.entries)
			}
			if tt.entries == 0 {
				return
			}
			if !errors.Is(es[0].Err, tt.err) || !errors.Is(es[0].CtxErr, tt.ctxErr) {
				t.Fatalf("entry err %v ctx %v, want %v %v", es[0].Err, es[0].CtxErr, tt.err, tt.ctxErr)
			}
			if v, ok := field(logs.All()[0], "ctx"); (tt.ctxErr != nil) != ok || (ok && v != tt.ctxErr.Error()) {
				t.Fatalf("ctx field %v (%v), want %v", v, ok, tt.ctxErr)
			}
		})
	}
}

func TestDoBadInput(t *testing.T) {
	t.Parallel()
	l, _, _ := newTest(t)
	if err := l.Do(context.Background(), "x", nil); !errors.Is(err, ErrNilFunc) {
		t.Fatalf("Do(nil fn) = %v, want ErrNilFunc", err)
	}
	//lint:ignore SA1012 a nil context is bad input that Do must survive
	if err := l.Do(nil, "x", func(ctx context.Context) error { return ctx.Err() }); err != nil {
		t.Fatalf("Do(nil ctx) = %v", err)
	}
	var nl *Log
	if err := nl.Do(context.Background(), "x", func(context.Context) error { return errors.New("y") }); err == nil || err.Error() != "y" {
		t.Fatalf("nil Log Do = %v, want fn's error", err)
	}
}

func TestDoPanic(t *testing.T) {
	t.Parallel()
	l, c, _ := newTest(t)
	func() {
		defer func() {
			if r := recover(); r != "bad" {
				t.Fatalf("recovered %v, want the original panic", r)
			}
		}()
		_ = l.Do(context.Background(), "p", func(context.Context) error {
			c.Advance(time.Second)
			panic("bad")
		})
	}()
	es := l.Entries()
	if len(es) != 1 || !errors.Is(es[0].Err, ErrPanicked) {
		t.Fatalf("entries %+v, want one with ErrPanicked", es)
	}
}

func TestStartContext(t *testing.T) {
	t.Parallel()
	l, c, logs := newTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := l.Start("q", Context(ctx), Always())
	c.Advance(time.Second)
	cancel()
	s.StopErr(ctx.Err())
	e := l.Entries()[0]
	if !errors.Is(e.CtxErr, context.Canceled) || !errors.Is(e.Err, context.Canceled) {
		t.Fatalf("entry err %v ctx %v, want both context.Canceled", e.Err, e.CtxErr)
	}
	if v, _ := field(logs.All()[0], "ctx"); v != context.Canceled.Error() {
		t.Fatalf("ctx field %v", v)
	}
	// Without Context, or with a nil one, there is no context error.
	//lint:ignore SA1012 a nil context is bad input that Context must survive
	for _, opts := range [][]CallOption{nil, {Context(nil)}} {
		timed(l, c, "q", time.Second, opts...)
		if e := l.Entries()[0]; e.CtxErr != nil {
			t.Fatalf("options %v: ctx %v, want none", opts, e.CtxErr)
		}
	}
	// A fast call never asks the context.
	ctx2 := &countingCtx{Context: ctx}
	timed(l, c, "q", time.Microsecond, Context(ctx2))
	if ctx2.n != 0 {
		t.Fatalf("a fast call asked its context's Err %d times", ctx2.n)
	}
}

// countingCtx counts the calls of Err.
type countingCtx struct {
	context.Context
	n int
}

func (c *countingCtx) Err() error { c.n++; return c.Context.Err() }
