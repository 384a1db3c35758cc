//go:build !linux

package fork

import "os/exec"

func adopt() ([]NamedFile, bool, error) { return nil, false, nil }

// Start returns an error wrapping errors.ErrUnsupported on this system: it
// cannot guarantee which descriptors a child inherits here.
func Start(cmd *exec.Cmd, files ...NamedFile) error {
	return unsupported("start")
}
