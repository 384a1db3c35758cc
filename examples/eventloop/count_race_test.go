//go:build race

package main

// idleClientCount is how many clients the idle load test runs: under the
// race detector, which allows 8128 live goroutines and runs handshakes
// about ten times slower, fewer than the 10,000 of a plain run.
const idleClientCount = 1000
