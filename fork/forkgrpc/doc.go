// Package forkgrpc serves a native gRPC server (google.golang.org/grpc)
// through fork.Upgrader upgrades without failing an RPC a client started.
//
//	u, err := fork.NewUpgrader(fork.UpgradeOptions{})
//	ln, err := u.Listen("tcp", ":50051") // the parent's socket after an upgrade
//	srv := grpc.NewServer()
//	pb.RegisterGreeterServer(srv, &greeter{})
//	go func() { errc <- forkgrpc.Serve(u, srv, ln) }()
//	u.Ready()
//
// Handle SIGHUP and SIGTERM before Ready, as the fork package explains.
//
// # Why not GracefulStop alone
//
// grpc.Server.GracefulStop drains well the connections whose HTTP/2
// handshake is done: two GOAWAYs with a PING between, so that a stream
// the client sent meanwhile is not lost, then it waits for running RPCs.
// But a connection accepted just before it, whose handshake has not begun,
// it closes at once; a client that opened that connection for its call
// fails with "error reading server preface: connection reset by peer".
// With clients that dial per call, that was 1 to 7 failed calls per 10
// upgrades. Serve closes the listener (the successor accepts what is
// queued), waits until every accepted connection has begun its handshake,
// and only then calls GracefulStop.
//
// What clients see: a unary call, on a fresh connection or on a channel
// kept across upgrades, succeeds (the tests allow no failure, through 10
// upgrades in each mode); a kept channel moves to the new process by
// itself. A long stream ends, at the latest at UpgradeOptions.DrainTimeout,
// with codes.Unavailable: gRPC's "try again" status, on which the client
// opens the stream again, on the new process. A stream handler that can
// end earlier should watch u.Exit() and return status.Error with
// codes.Unavailable itself.
//
// gRPC served as an http.Handler inside an http.Server (h2c or TLS) is
// drained by fork.Upgrader.Serve instead; a native grpc.Server is about
// twice as fast.
//
// # Other servers
//
// Any server drains through an upgrade the same way: after u.Exit() is
// closed, close the listener (never before: the successor must hold the
// socket, which it does once Exit is closed by a successful Upgrade);
// finish every connection already accepted, including one accepted just
// before whose first bytes have not been read yet; end each connection
// where the protocol allows it without racing the client (after a
// response, or with the protocol's goodbye, like HTTP/2's GOAWAY or a
// WebSocket's close frame with 1001); and cut what is left at
// u.DrainTimeout(). For a raw TCP protocol with requests and responses:
//
//	<-u.Exit()
//	ln.Close()
//	// each connection's goroutine: answer the request being read, if
//	// any, send the protocol's "closing" message or close after the
//	// response, and return; a connection idle for a short linger is
//	// closed: its client had no request under way.
//	// wait for the goroutines, at most u.DrainTimeout(); close the rest.
//
// The module has its own go.mod, so that the sturdy library does not
// depend on gRPC.
package forkgrpc
