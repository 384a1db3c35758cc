package slowtrace_test

import (
	"fmt"
	"time"

	"github.com/sturdy-go/sturdy/slowlog"
	"github.com/sturdy-go/sturdy/slowlog/slowtrace"
)

// A Log whose lines carry, beside the trace file, what the call waited on.
func ExampleSummarize() {
	l := slowlog.New(nil, slowlog.FlightRecorder(slowlog.FlightConfig{
		Dir:       "/var/lib/app/traces",
		Summarize: slowtrace.Summarize, // the line's "why"
	}))
	defer l.Close()
}

// The line a request gets when it waited 150ms for a mutex.
func ExampleSummary_String() {
	s := slowtrace.Summary{
		Name:     "GET /report",
		Duration: 152 * time.Millisecond,
		Covered:  152 * time.Millisecond,
		Running:  2 * time.Millisecond,
		Waits: []slowtrace.Wait{{
			Reason: "sync", What: "sync.(*Mutex).Lock",
			Where: "main.report", File: "/src/app/handler.go", Line: 42,
			Duration: 150 * time.Millisecond,
		}},
	}
	fmt.Println(s.String())
	// Output:
	// of 152ms: 150ms waiting on sync.(*Mutex).Lock at handler.go:42, 2ms running
}
