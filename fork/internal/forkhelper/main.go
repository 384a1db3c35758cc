//go:build linux

// Command forkhelper runs one of the fork package's test roles (see
// internal/forkroles), selected by $FORKHELPER_ROLE. It is small and built
// without the race detector, so it starts in a millisecond or two where the
// race-instrumented test binary takes a hundred: the stress tests start it
// thousands of times.
package main

import (
	"os"

	"github.com/sturdy-go/sturdy/fork/internal/forkroles"
)

func main() { forkroles.Run(os.Getenv(forkroles.EnvRole)) }
