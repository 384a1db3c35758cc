package slowlog

import (
	"context"
	"errors"
)

// ErrNilFunc is returned by Do and the helpers when the function to call
// is nil.
var ErrNilFunc = errors.New("slowlog: cannot time the call: the function is nil")

// ErrPanicked is recorded as the error of a call whose function panicked;
// the panic itself goes on unchanged.
var ErrPanicked = errors.New("slowlog: call did not return: it panicked")

// Do calls fn(ctx) as a call named name and returns its error. The entry
// and the log line carry the error and, when the context was done by the
// time fn returned, the context's error (context.Canceled or
// context.DeadlineExceeded, field "ctx"). If fn panics, the call is
// recorded with ErrPanicked and the panic continues. A nil ctx is taken as
// context.Background().
func (l *Log) Do(ctx context.Context, name string, fn func(context.Context) error) error {
	if fn == nil {
		return ErrNilFunc
	}
	_, err := Call(l, ctx, name, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, fn(ctx)
	})
	return err
}

// Call is Do for a function that returns a value and an error, with
// per-call options.
func Call[T any](l *Log, ctx context.Context, name string, fn func(context.Context) (T, error), opts ...CallOption) (v T, err error) {
	if fn == nil {
		return v, ErrNilFunc
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if l == nil {
		return fn(ctx)
	}
	s := l.Start(name, opts...)
	panicked := true
	defer func() {
		if panicked {
			err = ErrPanicked
		}
		l.finish(&s, err, ctx.Err(), nil)
	}()
	v, err = fn(ctx)
	panicked = false
	return v, err
}

// Wrap returns fn timed as calls named name: each call of the result is a
// Call.
func Wrap[A, T any](l *Log, name string, fn func(context.Context, A) (T, error), opts ...CallOption) func(context.Context, A) (T, error) {
	return func(ctx context.Context, a A) (T, error) {
		if fn == nil {
			var zero T
			return zero, ErrNilFunc
		}
		return Call(l, ctx, name, func(ctx context.Context) (T, error) { return fn(ctx, a) }, opts...)
	}
}
