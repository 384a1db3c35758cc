//go:build linux

// Command forkready is the smallest upgrade child: it adopts the parent's
// listener ($FORKHELPER_ADDR) through a fork.Upgrader, calls Ready and
// exits. BenchmarkUpgrade starts it to measure spawn-to-ready without the
// initialisation of a larger program (the test roles link net/http). With
// FORKREADY_EXIT set it only calls fork.Init and exits: the baseline.
package main

import (
	"fmt"
	"os"

	"github.com/sturdy-go/sturdy/fork"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "forkready: %v\n", err)
		os.Exit(3)
	}
}

func run() error {
	if err := fork.Init(); err != nil {
		return err
	}
	if os.Getenv("FORKREADY_EXIT") != "" {
		return nil
	}
	u, err := fork.NewUpgrader(fork.UpgradeOptions{})
	if err != nil {
		return err
	}
	defer u.Stop()
	l, err := u.Listen("tcp", os.Getenv("FORKHELPER_ADDR"))
	if err != nil {
		return err
	}
	defer l.Close()
	if !u.HasParent() {
		return fmt.Errorf("started without an upgrading parent")
	}
	return u.Ready()
}
