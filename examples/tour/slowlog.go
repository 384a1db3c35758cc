package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sturdy-go/sturdy/slowlog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// requestIDKey is where the tour's "middleware" puts a request id.
type requestIDKey struct{}

func tourSlowlog(w io.Writer) error {
	// Log lines go to the tour's output, indented, without timestamps,
	// with the caller: the line of the tour that made the call.
	enc := zap.NewDevelopmentEncoderConfig()
	enc.TimeKey = ""
	enc.ConsoleSeparator = " "
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(indent{w}), zapcore.DebugLevel)
	l := slowlog.New(zap.New(core, zap.AddCaller()),
		slowlog.Tiers(
			slowlog.Tier{Over: 5 * time.Millisecond, Level: zapcore.InfoLevel},
			slowlog.Tier{Over: 20 * time.Millisecond, Level: zapcore.WarnLevel},
			slowlog.Tier{Over: 40 * time.Millisecond, Level: zapcore.ErrorLevel},
		),
		slowlog.Keep(16),
		// What the request carries goes on each of its lines.
		slowlog.ContextFields(func(ctx context.Context) []zap.Field {
			if id, ok := ctx.Value(requestIDKey{}).(string); ok {
				return []zap.Field{zap.String("request_id", id)}
			}
			return nil
		}),
	)
	defer l.Close()

	fmt.Fprintln(w, "   tiers: over 5ms logs at INFO, over 20ms at WARN, over 40ms at ERROR; below 5ms nothing")
	sleep := func(d time.Duration) func(context.Context) error {
		return func(ctx context.Context) error {
			select {
			case <-time.After(d):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	ctx := context.WithValue(context.Background(), requestIDKey{}, "req-7f3a")
	for i := 0; i < 20; i++ {
		_ = l.Do(ctx, "cache.get", sleep(100*time.Microsecond))
	}
	_ = l.Do(ctx, "db.query", sleep(8*time.Millisecond))
	_ = l.Do(ctx, "db.query", sleep(25*time.Millisecond))
	_ = l.Do(ctx, "db.query", sleep(45*time.Millisecond))
	_ = l.Do(ctx, "payment.charge", func(context.Context) error {
		time.Sleep(6 * time.Millisecond)
		return errors.New("card declined")
	})
	// Start and Stop time any stretch of code; Context gives it the
	// request's context.
	s := l.Start("render", slowlog.Context(ctx))
	time.Sleep(7 * time.Millisecond)
	s.Stop()

	fmt.Fprintln(w, "   the ring of recent slow calls, newest first (like SLOWLOG GET):")
	kept := map[string]int{}
	for _, e := range l.Entries() {
		errText := ""
		if e.Err != nil {
			errText = "  err=" + e.Err.Error()
		}
		fmt.Fprintf(w, "     #%d %-15s %v%s\n", e.ID, e.Name, e.Duration.Round(100*time.Microsecond), errText)
		kept[e.Name]++
	}
	fmt.Fprintln(w, "   per-name statistics:")
	for _, s := range l.Stats() {
		fmt.Fprintf(w, "     %-15s count=%-3d slow=%d p50=%v p99=%v max=%v\n", s.Name, s.Count, s.Slow,
			s.P50.Round(10*time.Microsecond), s.P99.Round(10*time.Microsecond), s.Max.Round(10*time.Microsecond))
	}
	// Each of these slept past the lowest threshold, so each is slow
	// however busy the machine; a busy machine may add a slow cache.get.
	if kept["db.query"] != 3 || kept["payment.charge"] != 1 || kept["render"] != 1 {
		return fmt.Errorf("the ring holds %v, want 3 db.query, 1 payment.charge and 1 render", kept)
	}
	return nil
}

// indent prefixes each line written with the tour's margin.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	if _, err := fmt.Fprintf(i.w, "   > %s", p); err != nil {
		return 0, err
	}
	return len(p), nil
}
