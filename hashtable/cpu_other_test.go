//go:build !unix

package hashtable

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
