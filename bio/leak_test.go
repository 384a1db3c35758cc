package bio

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine is left when all tests end.
// Many tests drop Conns unfinished, which is allowed: their cleanups end
// the engines once the collector finds them, so collect first.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// Each collection queues the cleanups of the Conns it found;
		// goleak.Find waits, retrying, for their goroutines to end.
		var err error
		for range 5 {
			runtime.GC()
			if err = goleak.Find(); err == nil {
				break
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// TestAbandonedConnEndsEngine drops Conns in the middle of a handshake and
// after it, and waits for the cleanup to end their engine goroutines.
func TestAbandonedConnEndsEngine(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	var engines []*engine
	for range 3 {
		client, server := Client(p.clientConfig()), Server(p.serverConfig())
		client.Handshake() // parked, waiting for the ServerHello
		engines = append(engines, client.e)
		move(t, client, server, whole) // the server waits for the client's Finished
		engines = append(engines, server.e)
		done1, done2 := Client(p.clientConfig()), Server(p.serverConfig())
		handshake(t, done1, done2, whole) // both parked reading records
		engines = append(engines, done1.e, done2.e)
	}
	deadline := time.Now().Add(peerTimeout) // against a hang only
	for _, e := range engines {
		for !exited(e) {
			if time.Now().After(deadline) {
				t.Fatal("an abandoned Conn's engine goroutine did not end")
			}
			runtime.GC()
			time.Sleep(time.Millisecond)
		}
	}
}

// exited reports whether e's goroutine has returned. Holding e does not
// keep its Conn alive: the engine never points back at the Conn.
func exited(e *engine) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.exited
}

// TestEngineEndsAfterCloseAndDrain checks the orderly ends: both sides
// close, or one side closes and then the transport ends.
func TestEngineEndsAfterCloseAndDrain(t *testing.T) {
	p := newPKI(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	client, server := Client(p.clientConfig()), Server(p.serverConfig())
	handshake(t, client, server, whole)
	client.Close()
	move(t, client, server, whole)
	client.CloseIncoming() // the transport ends before the server answers
	server.Close()
	if !finished(client) || !finished(server) {
		t.Fatal("engines still run")
	}
}
