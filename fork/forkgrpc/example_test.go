package forkgrpc_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/sturdy-go/sturdy/fork"
	"github.com/sturdy-go/sturdy/fork/forkgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A gRPC server under an Upgrader, first generation. Here the program
// sends itself SIGTERM, as systemctl stop would; a successful Upgrade (on
// SIGHUP) ends Serve the same way, once the new process is ready.
func ExampleServe() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM) // before Ready
	defer signal.Stop(sig)
	u, err := fork.NewUpgrader(fork.UpgradeOptions{})
	if err != nil {
		panic(err)
	}
	defer u.Stop()
	ln, err := u.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer()
	srv.RegisterService(&service, nil) // the test service: Pid answers os.Getpid()
	served := make(chan error, 1)
	go func() { served <- forkgrpc.Serve(u, srv, ln) }()
	if err := u.Ready(); err != nil {
		panic(err)
	}

	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	out := new(wrapperspb.StringValue)
	if err := cc.Invoke(context.Background(), "/forkgrpc.test.Test/Pid", wrapperspb.String("?"), out); err != nil {
		panic(err)
	}
	fmt.Println("answered by this process:", out.GetValue() == strconv.Itoa(os.Getpid()))
	cc.Close()

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		panic(err)
	}
	if <-sig == syscall.SIGTERM { // on SIGHUP: go u.Upgrade()
		u.Stop()
	}
	fmt.Println("drained:", <-served)
	// Output:
	// answered by this process: true
	// drained: <nil>
}
