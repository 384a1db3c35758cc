// Package archtest holds the test that enforces rule 1 of sturdy's design:
// the six top-level packages are independent. Each may import the standard
// library, its one allowed outside module and sturdy's internal packages,
// and nothing else; no top-level package imports another. Tests may also
// import go.uber.org/goleak.
//
// The package has no code of its own; run its test with
//
//	go test ./internal/archtest
package archtest
