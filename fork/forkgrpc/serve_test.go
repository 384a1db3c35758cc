package forkgrpc_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sturdy-go/sturdy/fork"
	"github.com/sturdy-go/sturdy/fork/forkgrpc"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const (
	roleEnv  = "FORKGRPC_TEST_SERVER"
	drainEnv = "FORKGRPC_TEST_DRAIN" // "graceful": srv.GracefulStop alone, for comparison runs
	timeEnv  = "FORKGRPC_TEST_DRAIN_TIMEOUT"
)

// hangGuard bounds every wait: reaching it means something hangs.
const hangGuard = 5 * time.Minute

func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) == "1" {
		server()
		os.Exit(0)
	}
	// Later generations are orphaned when their parent exits; as a
	// subreaper this test inherits and reaps them.
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, 36 /* PR_SET_CHILD_SUBREAPER */, 1, 0)
	os.Exit(m.Run())
}

// The test service, without generated code: Pid answers the serving
// process's pid; Ticks streams the pid every few milliseconds until the
// client goes.
var service = grpc.ServiceDesc{
	ServiceName: "forkgrpc.test.Test",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Pid",
		Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			return wrapperspb.String(strconv.Itoa(os.Getpid())), nil
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Ticks",
		ServerStreams: true,
		Handler: func(_ any, stream grpc.ServerStream) error {
			in := new(wrapperspb.StringValue)
			if err := stream.RecvMsg(in); err != nil {
				return err
			}
			pid := wrapperspb.String(strconv.Itoa(os.Getpid()))
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				if err := stream.SendMsg(pid); err != nil {
					return err
				}
				select {
				case <-stream.Context().Done():
					return stream.Context().Err()
				case <-t.C:
				}
			}
		},
	}},
}

// server is every generation of the test server: SIGHUP upgrades,
// SIGTERM drains and exits; it prints "pid N: serving ADDR" when ready and
// "pid N: drained: ERR" at the end.
func server() {
	if err := fork.Init(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM)
	timeout, _ := time.ParseDuration(os.Getenv(timeEnv))
	u, err := fork.NewUpgrader(fork.UpgradeOptions{DrainTimeout: timeout, ReadyTimeout: hangGuard})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer u.Stop()
	ln, err := u.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := grpc.NewServer()
	srv.RegisterService(&service, nil)
	served := make(chan error, 1)
	if os.Getenv(drainEnv) == "graceful" {
		go func() { _ = srv.Serve(ln) }()
		go func() {
			<-u.Exit()
			srv.GracefulStop()
			served <- nil
		}()
	} else {
		go func() { served <- forkgrpc.Serve(u, srv, ln) }()
	}
	if err := u.Ready(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pid := os.Getpid()
	fmt.Printf("pid %d: serving %s\n", pid, ln.Addr())
	var upgrades sync.WaitGroup
	for {
		select {
		case s := <-sig:
			if s == syscall.SIGTERM {
				u.Stop()
				continue
			}
			upgrades.Add(1)
			go func() {
				defer upgrades.Done()
				if err := u.Upgrade(); err != nil {
					fmt.Fprintf(os.Stderr, "pid %d: %v\n", pid, err)
				}
			}()
		case err := <-served:
			upgrades.Wait()
			fmt.Printf("pid %d: drained: %v\n", pid, err)
			return
		}
	}
}

// generations runs the server's first generation and upgrades it.
type generations struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string
	all   strings.Builder
	pids  []int
	addr  string
	drain map[int]string // each generation's drain result
}

var (
	servingRe = regexp.MustCompile(`^pid (\d+): serving (\S+)$`)
	drainedRe = regexp.MustCompile(`^pid (\d+): drained: (.*)$`)
)

func startGenerations(t *testing.T, env ...string) *generations {
	g := &generations{t: t, lines: make(chan string, 1024), drain: map[int]string{}}
	g.cmd = exec.Command(os.Args[0])
	g.cmd.Env = append(append(os.Environ(), roleEnv+"=1"), env...)
	g.cmd.Stderr = os.Stderr
	stdout, err := g.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			g.lines <- sc.Text()
		}
		close(g.lines)
	}()
	g.pids = []int{g.cmd.Process.Pid}
	t.Cleanup(g.kill)
	g.addr = g.await(true, -1)
	return g
}

// await reads the output until a new generation serves (if serving) and
// generation old has drained (if old >= 0); it returns the address.
func (g *generations) await(serving bool, old int) string {
	g.t.Helper()
	addr := ""
	deadline := time.After(hangGuard)
	for serving || (old >= 0 && g.drain[old] == "") {
		select {
		case line, ok := <-g.lines:
			if !ok {
				g.t.Fatalf("server output ended:\n%s", g.all.String())
			}
			g.all.WriteString(line + "\n")
			if m := servingRe.FindStringSubmatch(line); m != nil && serving {
				pid, _ := strconv.Atoi(m[1])
				if len(g.pids) == 0 || pid != g.pids[0] || len(g.pids) == 1 {
					if pid != g.pids[len(g.pids)-1] {
						g.pids = append(g.pids, pid)
					}
				}
				addr, serving = m[2], false
			}
			if m := drainedRe.FindStringSubmatch(line); m != nil {
				pid, _ := strconv.Atoi(m[1])
				g.drain[pid] = m[2]
			}
		case <-deadline:
			g.t.Fatalf("no progress:\n%s", g.all.String())
		}
	}
	return addr
}

// upgrade sends SIGHUP to the current generation and waits until the new
// one serves and the old one has drained.
func (g *generations) upgrade() {
	g.t.Helper()
	old := g.pids[len(g.pids)-1]
	if err := syscall.Kill(old, syscall.SIGHUP); err != nil {
		g.t.Fatal(err)
	}
	g.await(true, old)
}

// stop drains the last generation and reaps every one.
func (g *generations) stop() {
	g.t.Helper()
	last := g.pids[len(g.pids)-1]
	if err := syscall.Kill(last, syscall.SIGTERM); err != nil {
		g.t.Fatal(err)
	}
	g.await(false, last)
	if err := g.cmd.Wait(); err != nil {
		g.t.Errorf("generation 0: %v", err)
	}
	for _, pid := range g.pids[1:] {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err == nil && (!ws.Exited() || ws.ExitStatus() != 0) {
			g.t.Errorf("generation %d ended %v", pid, ws)
		}
	}
	g.pids = nil
}

func (g *generations) kill() {
	for _, pid := range g.pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if g.pids != nil {
		_ = g.cmd.Wait()
		for _, pid := range g.pids[1:] {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, 0, nil)
		}
	}
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

func callPid(ctx context.Context, cc *grpc.ClientConn) (string, error) {
	out := new(wrapperspb.StringValue)
	err := cc.Invoke(ctx, "/forkgrpc.test.Test/Pid", wrapperspb.String("?"), out)
	return out.GetValue(), err
}

// TestUnaryThroughUpgrades upgrades a native grpc.Server served by
// forkgrpc.Serve 10 times (-short: 3) while four clients call a unary
// RPC, in two modes: a fresh connection per call, and one channel shared
// by all. No call may fail. FORKGRPC_TEST_DRAIN=graceful runs the servers
// with srv.GracefulStop alone, to see what Serve prevents.
func TestUnaryThroughUpgrades(t *testing.T) {
	upgrades := 10
	if testing.Short() {
		upgrades = 3
	}
	for _, mode := range []string{"fresh", "shared"} {
		t.Run(mode, func(t *testing.T) {
			g := startGenerations(t, drainEnv+"="+os.Getenv(drainEnv))
			var shared *grpc.ClientConn
			if mode == "shared" {
				shared = dial(t, g.addr)
				defer shared.Close()
			}
			var ok, failed atomic.Int64
			var mu sync.Mutex
			errs := map[string]int{}
			servedBy := map[string]int{}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						cc := shared
						if cc == nil {
							cc = dial(t, g.addr)
						}
						ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
						pid, err := callPid(ctx, cc)
						cancel()
						if shared == nil {
							cc.Close()
						}
						mu.Lock()
						if err != nil {
							failed.Add(1)
							errs[err.Error()]++
						} else {
							ok.Add(1)
							servedBy[pid]++
						}
						mu.Unlock()
					}
				}()
			}
			progress := func() {
				for n := ok.Load(); ok.Load() < n+50; time.Sleep(time.Millisecond) {
				}
			}
			for i := 0; i < upgrades; i++ {
				progress()
				g.upgrade()
			}
			progress()
			close(stop)
			wg.Wait()
			g.stop()
			t.Logf("%s: %d upgrades, %d calls served by %d generations, %d failed %v", mode, upgrades, ok.Load(), len(servedBy), failed.Load(), errs)
			if failed.Load() != 0 {
				t.Errorf("%s: %d calls failed: %v", mode, failed.Load(), errs)
			}
			for pid, res := range g.drain {
				if res != "<nil>" {
					t.Errorf("generation %d drained with %s", pid, res)
				}
			}
		})
	}
}

// TestStreamEndsAtDrainTimeout: a server stream that never ends by itself
// keeps the old process draining until DrainTimeout; then the stream ends
// with codes.Unavailable, which the client treats as "open it again", and
// the reopened stream reaches the new process. No stream ends otherwise.
func TestStreamEndsAtDrainTimeout(t *testing.T) {
	upgrades := 3
	g := startGenerations(t, timeEnv+"=200ms")
	cc := dial(t, g.addr)
	defer cc.Close()
	var unavailable, other atomic.Int64
	var mu sync.Mutex
	var otherErrs []string
	ticks := map[string]int{} // by pid
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ctx, cancel := context.WithCancel(context.Background())
				go func() {
					select {
					case <-stop:
					case <-ctx.Done():
					}
					cancel()
				}()
				err := func() error {
					s, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/forkgrpc.test.Test/Ticks")
					if err != nil {
						return err
					}
					if err := s.SendMsg(wrapperspb.String("?")); err != nil {
						return err
					}
					if err := s.CloseSend(); err != nil {
						return err
					}
					for {
						in := new(wrapperspb.StringValue)
						if err := s.RecvMsg(in); err != nil {
							return err
						}
						mu.Lock()
						ticks[in.GetValue()]++
						mu.Unlock()
					}
				}()
				cancel()
				select {
				case <-stop:
					return
				default:
				}
				if status.Code(err) == codes.Unavailable {
					unavailable.Add(1)
				} else if !errors.Is(err, io.EOF) {
					other.Add(1)
					mu.Lock()
					otherErrs = append(otherErrs, err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	waitTicks := func(pid int) {
		for {
			mu.Lock()
			n := ticks[strconv.Itoa(pid)]
			mu.Unlock()
			if n >= 10 {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	for i := 0; i < upgrades; i++ {
		waitTicks(g.pids[len(g.pids)-1])
		g.upgrade()
	}
	waitTicks(g.pids[len(g.pids)-1])
	close(stop)
	wg.Wait()
	drains := make([]string, 0, len(g.drain))
	for _, res := range g.drain {
		drains = append(drains, res)
	}
	g.stop()
	t.Logf("%d upgrades: streams ended with Unavailable %d times, otherwise %d %v; drains: %v", upgrades, unavailable.Load(), other.Load(), otherErrs, drains)
	if other.Load() != 0 {
		t.Errorf("%d streams ended with something other than Unavailable: %v", other.Load(), otherErrs)
	}
	if unavailable.Load() < int64(upgrades) {
		t.Errorf("only %d streams ended with Unavailable in %d upgrades", unavailable.Load(), upgrades)
	}
	for _, res := range drains {
		if !strings.Contains(res, "still open after 200ms") {
			t.Errorf("a drain ended %q, want the connection cut at DrainTimeout", res)
		}
	}
}

// TestServeInvalid: nil arguments are an error, not a panic.
func TestServeInvalid(t *testing.T) {
	if err := forkgrpc.Serve(nil, nil, nil); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("Serve(nil, nil, nil) = %v, want os.ErrInvalid", err)
	}
}

// TestServeInProcess: Serve in this process, with calls on a fresh
// connection and on a kept one; after Stop it returns nil, and no
// goroutine is left behind once the clients are closed.
func TestServeInProcess(t *testing.T) {
	u, err := fork.NewUpgrader(fork.UpgradeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Stop()
	ln, err := u.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	srv.RegisterService(&service, nil)
	served := make(chan error, 1)
	go func() { served <- forkgrpc.Serve(u, srv, ln) }()
	if err := u.Ready(); err != nil {
		t.Fatal(err)
	}
	kept := dial(t, ln.Addr().String())
	for i := 0; i < 3; i++ {
		fresh := dial(t, ln.Addr().String())
		for _, cc := range []*grpc.ClientConn{fresh, kept} {
			if pid, err := callPid(context.Background(), cc); err != nil || pid != strconv.Itoa(os.Getpid()) {
				t.Fatalf("call: %q, %v", pid, err)
			}
		}
		fresh.Close()
	}
	u.Stop()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	kept.Close()
	goleak.VerifyNone(t)
}

// TestServeStoppedEarly: a server stopped by its owner before Exit ends
// Serve with grpc.ErrServerStopped, wrapped.
func TestServeStoppedEarly(t *testing.T) {
	u, err := fork.NewUpgrader(fork.UpgradeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Stop()
	ln, err := u.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	served := make(chan error, 1)
	go func() { served <- forkgrpc.Serve(u, srv, ln) }()
	cc := dial(t, ln.Addr().String())
	defer cc.Close()
	_, _ = callPid(context.Background(), cc) // Unimplemented: the server is serving
	srv.Stop()
	if err := <-served; !errors.Is(err, grpc.ErrServerStopped) {
		t.Errorf("Serve: %v, want grpc.ErrServerStopped", err)
	}
}
