//go:build !linux

package fork

import (
	"errors"
	"fmt"
	"os/exec"
)

func adopt() ([]NamedFile, bool, error) { return nil, false, nil }

// Start returns an error wrapping errors.ErrUnsupported on this system: it
// cannot guarantee which descriptors a child inherits here.
func Start(cmd *exec.Cmd, files ...NamedFile) error {
	return unsupported("start")
}

// unsupported returns the error of op on this system.
func unsupported(op string) error {
	return fmt.Errorf("fork: %s: %w (Linux only)", op, errors.ErrUnsupported)
}
