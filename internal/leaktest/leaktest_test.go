package leaktest

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestWaitsForEndingGoroutine: a goroutine that ends later than goleak's own
// retries would wait is not reported.
func TestWaitsForEndingGoroutine(t *testing.T) {
	release := make(chan struct{})
	go func() { <-release }()
	time.AfterFunc(800*time.Millisecond, func() { close(release) })
	if err := Find(goleak.IgnoreTopFunction("time.Sleep")); err != nil {
		t.Fatalf("a goroutine that ends after 0.8 s reported as leaked: %v", err)
	}
}

// TestReportsStuckGoroutine: a goroutine that never ends is reported once
// the patience runs out.
func TestReportsStuckGoroutine(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	go func() { <-stuck }()
	if err := find(50*time.Millisecond, goleak.IgnoreTopFunction("time.Sleep")); err == nil {
		t.Fatal("a goroutine blocked for good was not reported")
	}
}
