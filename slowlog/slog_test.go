package slowlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestNewSlog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c := newClock()
	l := NewSlog(s, WithClock(c.Now), Threshold(time.Millisecond))
	sp := l.Start("db.query")
	c.Advance(1500 * time.Microsecond)
	sp.StopErr(errors.New("boom"))
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	want := map[string]any{
		"level": "INFO", "msg": Message, "name": "db.query",
		"duration": 1.5e6, "seconds": "0.001500000", "err": "boom", "tier": "1ms",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v (line %s)", k, got[k], v, buf.Bytes())
		}
	}
	// Sampled lines at Debug are dropped by the handler's level.
	buf.Reset()
	ls := NewSlog(s, Threshold(time.Hour), Sample(1))
	ls.Start("x").Stop()
	if buf.Len() != 0 {
		t.Fatalf("debug line written through an Info handler: %s", buf.Bytes())
	}
}

func TestSlogCore(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	z := zap.New(SlogCore(h)).Named("svc").With(zap.String("app", "a"), zap.Namespace("req"), zap.Int("id", 7))
	levels := []struct {
		zl   zapcore.Level
		want string
	}{
		{zapcore.DebugLevel, "DEBUG"}, {zapcore.InfoLevel, "INFO"}, {zapcore.WarnLevel, "WARN"},
		{zapcore.ErrorLevel, "ERROR"}, {zapcore.DPanicLevel, "ERROR"},
	}
	for _, lv := range levels {
		buf.Reset()
		z.Log(lv.zl, "m", zap.Bool("ok", true), zap.Namespace("inner"), zap.Duration("d", time.Second), zap.Skip())
		var got map[string]any
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatalf("%v: %s", err, buf.Bytes())
		}
		req, _ := got["req"].(map[string]any)
		inner, _ := req["inner"].(map[string]any)
		// Record attributes, the logger name among them, go into the
		// group that With's namespace opened.
		if got["level"] != lv.want || req["logger"] != "svc" || got["app"] != "a" ||
			req == nil || req["id"] != 7.0 || req["ok"] != true || inner["d"] != 1e9 {
			t.Errorf("%v: %s", lv.zl, buf.Bytes())
		}
	}
	buf.Reset()
	zap.New(SlogCore(h)).Error("e", zap.Error(verboseErr{}), zap.Object("obj", zapcore.ObjectMarshalerFunc(
		func(enc zapcore.ObjectEncoder) error { enc.AddInt("k", 1); return nil })))
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	obj, _ := got["obj"].(map[string]any)
	if got["error"] != "short" || got["errorVerbose"] != "long" || obj["k"] != 1.0 {
		t.Fatalf("error and object fields: %s", buf.Bytes())
	}
	if SlogCore(nil) == nil || NewSlog(nil) == nil {
		t.Fatalf("nil handler or logger")
	}
	core := SlogCore(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if core.Enabled(zapcore.InfoLevel) || !core.Enabled(zapcore.WarnLevel) || core.Sync() != nil {
		t.Fatalf("Enabled does not follow the handler's level")
	}
}

// verboseErr prints more with %+v, so zap adds an errorVerbose key.
type verboseErr struct{}

func (verboseErr) Error() string { return "short" }

func (e verboseErr) Format(s fmt.State, verb rune) {
	if s.Flag('+') {
		_, _ = io.WriteString(s, "long")
		return
	}
	_, _ = io.WriteString(s, e.Error())
}
