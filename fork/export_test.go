//go:build linux

package fork

// SetHelperDir tells the tests where to build internal/forkhelper.
func SetHelperDir(dir string) { helperDir = dir }
