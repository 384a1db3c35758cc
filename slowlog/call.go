package slowlog

import (
	"context"
	"errors"
)

// ErrNilFunc is returned by Do when the function to call is nil.
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
//
// For a function that returns a value, set it from the closure:
//
//	var user User
//	err := l.Do(ctx, "users.get", func(ctx context.Context) (err error) {
//		user, err = users.Get(ctx, id)
//		return err
//	})
//
// For per-call options, use Start with Context and StopErr.
func (l *Log) Do(ctx context.Context, name string, fn func(context.Context) error) (err error) {
	if fn == nil {
		return ErrNilFunc
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if l == nil {
		return fn(ctx)
	}
	// Do's frames are between the line and the caller: flagDo picks the
	// logger that skips them.
	s := Span{name: name, ctx: ctx, flags: flagDo}
	l.begin(&s, nil, "")
	panicked := true
	defer func() {
		if panicked {
			l.finish(&s, ErrPanicked, nil)
			return
		}
		l.finish(&s, err, nil)
	}()
	err = fn(ctx)
	panicked = false
	return err
}
