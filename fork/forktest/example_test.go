//go:build linux

package forktest_test

import (
	"fmt"
	"os"

	"github.com/sturdy-go/sturdy/fork/forktest"
)

// Find what a piece of code left open.
func ExampleDiff() {
	before, err := forktest.OpenFDs()
	if err != nil {
		panic(err)
	}
	f, err := os.Open(os.DevNull) // forgotten
	if err != nil {
		panic(err)
	}
	defer f.Close()
	after, err := forktest.OpenFDs()
	if err != nil {
		panic(err)
	}
	added, removed := forktest.Diff(before, after)
	fmt.Println(len(added), added[0].Target, len(removed))
	// Output: 1 /dev/null 0
}
