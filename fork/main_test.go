//go:build linux

package fork_test

import (
	"os"
	"testing"

	"github.com/sturdy-go/sturdy/fork"
	"github.com/sturdy-go/sturdy/fork/internal/forkroles"
)

// TestMain runs a child role (internal/forkroles) when the tests started
// this binary as a child, and the tests otherwise.
func TestMain(m *testing.M) {
	if role := os.Getenv(forkroles.EnvRole); role != "" {
		forkroles.Run(role)
	}
	dir, err := os.MkdirTemp("", "forkhelper")
	if err != nil {
		panic(err)
	}
	fork.SetHelperDir(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
