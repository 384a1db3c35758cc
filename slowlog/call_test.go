package slowlog

import (
	"context"
	"errors"
	"strconv"
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
	if _, err := Call[int](l, context.Background(), "x", nil); !errors.Is(err, ErrNilFunc) {
		t.Fatalf("Call(nil fn) = %v", err)
	}
	if _, err := Wrap[int, int](l, "x", nil)(context.Background(), 1); !errors.Is(err, ErrNilFunc) {
		t.Fatalf("Wrap(nil fn) = %v", err)
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

func TestCallAndWrap(t *testing.T) {
	t.Parallel()
	l, c, logs := newTest(t)
	v, err := Call(l, context.Background(), "parse", func(context.Context) (int, error) {
		c.Advance(time.Second)
		return strconv.Atoi("42")
	}, Always())
	if v != 42 || err != nil {
		t.Fatalf("Call = %v, %v", v, err)
	}
	get := Wrap(l, "get", func(_ context.Context, k string) (string, error) {
		c.Advance(time.Millisecond)
		return "v" + k, nil
	}, Always())
	s, err := get(context.Background(), "k")
	if s != "vk" || err != nil {
		t.Fatalf("wrapped = %q, %v", s, err)
	}
	if logs.Len() != 2 {
		t.Fatalf("%d lines, want 2 (Always)", logs.Len())
	}
	if v, _ := field(logs.All()[1], "tier"); v != "always" {
		t.Fatalf("tier %v", v)
	}
	var nl *Log
	if v, err := Call(nl, context.Background(), "x", func(context.Context) (int, error) { return 1, nil }); v != 1 || err != nil {
		t.Fatalf("nil Log Call = %v %v", v, err)
	}
}
