//go:build !linux

package fork

import (
	"fmt"
	"os/exec"
)

func adopt() ([]NamedFile, bool, error) { return nil, false, nil }

// Start returns ErrUnsupported on this system: it cannot guarantee which
// descriptors a child inherits here.
func Start(cmd *exec.Cmd, files ...NamedFile) error {
	return fmt.Errorf("fork: start: %w", ErrUnsupported)
}
