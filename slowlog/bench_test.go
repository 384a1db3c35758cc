package slowlog

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/trace"
	"strconv"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/internal/benchcpu"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

var sinkDuration time.Duration

// jsonLogger writes JSON lines to io.Discard at Info, like a production
// logger.
func jsonLogger() *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel))
}

// BenchmarkFastPath times a call below the threshold: slowlog's Start and
// Stop against the bare time.Now and time.Since a user would otherwise
// write (bare), and against the two monotonic clock reads slowlog itself
// makes (clock), so that slowlog - clock is slowlog's own work.
func BenchmarkFastPath(b *testing.B) {
	b.Run("slowlog", func(b *testing.B) {
		l := New(jsonLogger(), Threshold(time.Hour))
		b.ReportAllocs()
		m := benchcpu.Start()
		for b.Loop() {
			l.Start("db.query").Stop()
		}
		m.Report(b, 1)
	})
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		m := benchcpu.Start()
		for b.Loop() {
			t := time.Now()
			sinkDuration += time.Since(t)
		}
		m.Report(b, 1)
	})
	b.Run("clock", func(b *testing.B) {
		base := time.Now()
		b.ReportAllocs()
		m := benchcpu.Start()
		for b.Loop() {
			t := time.Since(base)
			sinkDuration += time.Since(base) - t
		}
		m.Report(b, 1)
	})
}

// BenchmarkSlowPath times a logged call that writes a JSON line to
// io.Discard, against timing the call by hand and writing the same fields
// with zap's Info.
func BenchmarkSlowPath(b *testing.B) {
	b.Run("slowlog", func(b *testing.B) {
		l := New(jsonLogger(), Threshold(0))
		b.ReportAllocs()
		m := benchcpu.Start()
		for b.Loop() {
			l.Start("db.query").Stop()
		}
		m.Report(b, 1)
	})
	b.Run("zap", func(b *testing.B) {
		z := jsonLogger()
		b.ReportAllocs()
		m := benchcpu.Start()
		for b.Loop() {
			t := time.Now()
			d := time.Since(t)
			z.Info("slow call",
				zap.String("name", "db.query"),
				zap.Duration("duration", d),
				zap.String("seconds", strconv.FormatFloat(d.Seconds(), 'f', 9, 64)),
				zap.String("tier", "0s"),
			)
		}
		m.Report(b, 1)
	})
}

// BenchmarkFastPathParallel is the fast path with every P on one name,
// the worst case for the shared histogram bucket.
func BenchmarkFastPathParallel(b *testing.B) {
	b.Run("slowlog", func(b *testing.B) {
		l := New(jsonLogger(), Threshold(time.Hour))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Start("db.query").Stop()
			}
		})
	})
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var sum time.Duration
			for pb.Next() {
				t := time.Now()
				sum += time.Since(t)
			}
			_ = sum
		})
	})
}

// BenchmarkDo is Do on a fast call against calling the function directly.
func BenchmarkDo(b *testing.B) {
	ctx := context.Background()
	fn := func(context.Context) error { return nil }
	b.Run("slowlog", func(b *testing.B) {
		l := New(jsonLogger(), Threshold(time.Hour))
		b.ReportAllocs()
		m := benchcpu.Start()
		for b.Loop() {
			_ = l.Do(ctx, "db.query", fn)
		}
		m.Report(b, 1)
	})
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		m := benchcpu.Start()
		for b.Loop() {
			t := time.Now()
			_ = fn(ctx)
			sinkDuration += time.Since(t)
		}
		m.Report(b, 1)
	})
}

// BenchmarkWatch is the fast path with Watch on, which registers every
// call in a slot of the watch's table and labels its goroutine, against
// the fast path without it.
func BenchmarkWatch(b *testing.B) {
	b.Run("watch", func(b *testing.B) {
		l := New(jsonLogger(), Threshold(time.Hour), Watch(time.Hour))
		defer l.Close()
		b.ReportAllocs()
		m := benchcpu.Start()
		for b.Loop() {
			l.Start("db.query").Stop()
		}
		m.Report(b, 1)
	})
	b.Run("nowatch", func(b *testing.B) {
		l := New(jsonLogger(), Threshold(time.Hour))
		b.ReportAllocs()
		m := benchcpu.Start()
		for b.Loop() {
			l.Start("db.query").Stop()
		}
		m.Report(b, 1)
	})
}

// BenchmarkWatchParallel is BenchmarkWatch with every P on one name: with
// Watch, calls on different cores must not share a lock or a cache line.
func BenchmarkWatchParallel(b *testing.B) {
	for _, watch := range []bool{true, false} {
		name := "nowatch"
		if watch {
			name = "watch"
		}
		b.Run(name, func(b *testing.B) {
			opts := []Option{Threshold(time.Hour)}
			if watch {
				opts = append(opts, Watch(time.Hour))
			}
			l := New(jsonLogger(), opts...)
			defer l.Close()
			b.ReportAllocs()
			m := benchcpu.Start()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					l.Start("db.query").Stop()
				}
			})
			m.Report(b, 1)
		})
	}
}

// flightLog returns a Log with FlightRecorder on (the recorder running) and
// a threshold no call reaches.
func flightLog(b *testing.B) *Log {
	l := New(jsonLogger(), Threshold(time.Hour), FlightRecorder(FlightConfig{Dir: b.TempDir()}))
	if l.fr == nil || l.fr.fr == nil {
		b.Fatal("the flight recorder did not start")
	}
	b.Cleanup(l.Close)
	return l
}

// BenchmarkFastPathFlight is BenchmarkFastPath with the flight recorder
// running in both: what slowlog adds to the clock reads when the
// runtime's tracer is on (nothing is emitted per fast call).
func BenchmarkFastPathFlight(b *testing.B) {
	b.Run("slowlog", func(b *testing.B) {
		l := flightLog(b)
		b.ReportAllocs()
		m := benchcpu.Start()
		for b.Loop() {
			l.Start("db.query").Stop()
		}
		m.Report(b, 1)
	})
	b.Run("bare", func(b *testing.B) {
		flightLog(b)
		b.ReportAllocs()
		m := benchcpu.Start()
		for b.Loop() {
			t := time.Now()
			sinkDuration += time.Since(t)
		}
		m.Report(b, 1)
	})
}

// BenchmarkMiddlewareFlight serves small requests over loopback HTTP from
// parallel clients, the handler behind Middleware: with the flight
// recorder on through FlightRecorder (flight), with the runtime's flight
// recorder started by hand and no FlightRecorder (tracer: what the
// runtime's tracer costs alone), and without any (plain). cpu-ns/op is
// the process CPU (client and server) per request.
func BenchmarkMiddlewareFlight(b *testing.B) {
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello\n")
	})
	for _, mode := range []string{"flight", "tracer", "plain"} {
		b.Run(mode, func(b *testing.B) {
			var l *Log
			switch mode {
			case "flight":
				l = flightLog(b)
			case "tracer":
				fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
				if err := fr.Start(); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(fr.Stop)
				l = New(jsonLogger(), Threshold(time.Hour))
			default:
				l = New(jsonLogger(), Threshold(time.Hour))
			}
			mux := http.NewServeMux()
			mux.Handle("GET /hello", hello)
			srv := httptest.NewServer(l.Middleware(mux))
			defer srv.Close()
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			url := srv.URL + "/hello"
			b.SetParallelism(4)
			b.ReportAllocs()
			m := benchcpu.Start()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
			m.Report(b, 1)
		})
	}
}
