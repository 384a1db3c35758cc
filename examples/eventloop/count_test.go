//go:build !race

package main

// idleClientCount is how many clients the idle load test runs.
const idleClientCount = 10000
