//go:build !linux

package forktest

import (
	"errors"
	"fmt"
)

// OpenFDs returns an error wrapping errors.ErrUnsupported on this system.
func OpenFDs() (FDs, error) {
	return nil, fmt.Errorf("forktest: %w: no /proc", errors.ErrUnsupported)
}

// Children returns an error wrapping errors.ErrUnsupported on this system.
func Children() (map[int]string, error) {
	return nil, fmt.Errorf("forktest: %w: no /proc", errors.ErrUnsupported)
}
