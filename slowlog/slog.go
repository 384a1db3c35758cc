package slowlog

import (
	"context"
	"log/slog"
	"slices"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewSlog returns a Log that writes its lines to s, for programs that log
// with log/slog. It is New(zap.New(SlogCore(s.Handler())), opts...). A
// nil s is slog.Default().
func NewSlog(s *slog.Logger, opts ...Option) *Log {
	if s == nil {
		s = slog.Default()
	}
	return New(zap.New(SlogCore(s.Handler())), opts...)
}

// SlogCore returns a zapcore.Core that hands every entry to h as a
// slog.Record, so that zap loggers (and so a Log) can write through a
// log/slog handler. Levels map Debug, Info and Warn to their slog
// namesakes and Error and above to slog.LevelError; h.Enabled decides what
// is written. Fields become attributes in order, keeping their Go types
// (a zap.Duration is a slog duration); zap.Namespace becomes a slog
// group. The logger name, when set, is the attribute "logger", and a
// stack trace the attribute "stacktrace". Encoding goes through
// zapcore.MapObjectEncoder, so this path allocates more than a zap
// encoder does.
func SlogCore(h slog.Handler) zapcore.Core {
	if h == nil {
		h = slog.Default().Handler()
	}
	return slogCore{h: h}
}

type slogCore struct{ h slog.Handler }

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	}
	return slog.LevelError
}

func (c slogCore) Enabled(l zapcore.Level) bool {
	return c.h.Enabled(context.Background(), slogLevel(l))
}

func (c slogCore) With(fields []zapcore.Field) zapcore.Core {
	h := c.h
	var pending []slog.Attr
	for _, f := range fields {
		if f.Type == zapcore.NamespaceType {
			if len(pending) > 0 {
				h = h.WithAttrs(pending)
				pending = nil
			}
			h = h.WithGroup(f.Key)
			continue
		}
		pending = appendField(pending, f)
	}
	if len(pending) > 0 {
		h = h.WithAttrs(pending)
	}
	return slogCore{h: h}
}

func (c slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	var pc uintptr
	if e.Caller.Defined {
		pc = e.Caller.PC
	}
	r := slog.NewRecord(e.Time, slogLevel(e.Level), e.Message, pc)
	if e.LoggerName != "" {
		r.AddAttrs(slog.String("logger", e.LoggerName))
	}
	r.AddAttrs(toAttrs(fields)...)
	if e.Stack != "" {
		r.AddAttrs(slog.String("stacktrace", e.Stack))
	}
	return c.h.Handle(context.Background(), r)
}

func (c slogCore) Sync() error { return nil }

// toAttrs converts fields in order; a namespace takes every later field
// into its group.
func toAttrs(fields []zapcore.Field) []slog.Attr {
	var out []slog.Attr
	for i, f := range fields {
		if f.Type == zapcore.NamespaceType {
			return append(out, slog.Attr{Key: f.Key, Value: slog.GroupValue(toAttrs(fields[i+1:])...)})
		}
		out = appendField(out, f)
	}
	return out
}

func appendField(out []slog.Attr, f zapcore.Field) []slog.Attr {
	if f.Type == zapcore.SkipType {
		return out
	}
	enc := zapcore.NewMapObjectEncoder()
	f.AddTo(enc)
	if v, ok := enc.Fields[f.Key]; ok && len(enc.Fields) == 1 {
		return append(out, slog.Any(f.Key, v))
	}
	// A field may add several keys (an error adds "errorVerbose"): keep
	// its own key first and the rest in a stable order.
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		if k != f.Key {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if v, ok := enc.Fields[f.Key]; ok {
		out = append(out, slog.Any(f.Key, v))
	}
	for _, k := range keys {
		out = append(out, slog.Any(k, enc.Fields[k]))
	}
	return out
}
