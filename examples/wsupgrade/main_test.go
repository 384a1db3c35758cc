package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const serverEnv = "STURDY_WSUPGRADE_SERVER"

// hangGuard bounds every wait: reaching it means something hangs.
const hangGuard = 5 * time.Minute

func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) == "1" {
		main()
	}
	// Later generations are orphaned when their parent exits; as a
	// subreaper this test inherits and reaps them.
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, 36 /* PR_SET_CHILD_SUBREAPER */, 1, 0)
	os.Exit(m.Run())
}

// TestWebSocketsThroughUpgrades: gorilla/websocket clients echo messages
// on the server while it upgrades itself 20 times. Every WebSocket that
// ends must end with a close frame carrying 1001 ("going away"), after
// which its client reconnects, to the new process; no other end (1006, a
// reset, a failed dial) may happen; and no generation may exit with a
// WebSocket still open (before fork's Serve waited for hijacked
// connections, every generation did).
func TestWebSocketsThroughUpgrades(t *testing.T) {
	upgrades, clients := 20, 50
	if testing.Short() {
		upgrades, clients = 5, 20
	}
	cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), serverEnv+"=1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	var all strings.Builder
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	pids := []int{cmd.Process.Pid}
	reaped := map[int]bool{}
	defer func() {
		for _, pid := range pids {
			if !reaped[pid] {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = cmd.Wait()
		for _, pid := range pids[1:] {
			if !reaped[pid] {
				var ws syscall.WaitStatus
				_, _ = syscall.Wait4(pid, &ws, 0, nil)
			}
		}
	}()
	// await waits until every pattern has matched a line, in any order.
	await := func(res ...*regexp.Regexp) [][]string {
		t.Helper()
		found := make([][]string, len(res))
		left := len(res)
		deadline := time.After(hangGuard)
		for left > 0 {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("server output ended before %v:\n%s", res, all.String())
				}
				all.WriteString(line + "\n")
				for i, re := range res {
					if found[i] == nil {
						if m := re.FindStringSubmatch(line); m != nil {
							found[i], left = m, left-1
							break
						}
					}
				}
			case <-deadline:
				t.Fatalf("not all of %v:\n%s", res, all.String())
			}
		}
		return found
	}
	serving := regexp.MustCompile(`^pid (\d+): serving (ws://\S+)$`)
	url := await(serving)[0][2]

	var echoes, goingAway, failed atomic.Int64
	var mu sync.Mutex
	ends := map[string]int{} // every other end, by what the client saw
	fail := func(what string) {
		failed.Add(1)
		mu.Lock()
		ends[what]++
		mu.Unlock()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, _, err := websocket.DefaultDialer.Dial(url, nil)
				if err != nil {
					fail("dial: " + err.Error())
					continue
				}
				for n := 0; ; n++ {
					select {
					case <-stop:
						_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
						c.Close()
						return
					default:
					}
					msg := []byte("message " + strconv.Itoa(n))
					err := c.WriteMessage(websocket.TextMessage, msg)
					var got []byte
					if err == nil {
						_, got, err = c.ReadMessage()
					}
					if err == nil && string(got) != string(msg) {
						err = fmt.Errorf("echo %q for %q", got, msg)
					}
					if err != nil {
						var ce *websocket.CloseError
						if errors.As(err, &ce) && ce.Code == websocket.CloseGoingAway {
							goingAway.Add(1)
						} else {
							fail(err.Error())
						}
						c.Close()
						break
					}
					echoes.Add(1)
				}
			}
		}()
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	for i := 0; i < upgrades; i++ {
		old := pids[len(pids)-1]
		// Let the generation echo before replacing it.
		for n := echoes.Load(); echoes.Load() < n+int64(clients); time.Sleep(time.Millisecond) {
		}
		if err := syscall.Kill(old, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		m := await(serving, regexp.MustCompile(fmt.Sprintf(`^pid %d: drained, exiting; WebSockets still open: (\d+)$`, old)))
		pid, _ := strconv.Atoi(m[0][1])
		pids = append(pids, pid)
		if m[1][1] != "0" {
			t.Errorf("generation %d exited with %s WebSockets open", old, m[1][1])
		}
	}
	for n := echoes.Load(); echoes.Load() < n+int64(clients); time.Sleep(time.Millisecond) {
	}
	close(stop)
	wg.Wait()
	last := pids[len(pids)-1]
	if err := syscall.Kill(last, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	await(regexp.MustCompile(fmt.Sprintf(`^pid %d: drained, exiting; WebSockets still open: 0$`, last)))
	if err := cmd.Wait(); err != nil {
		t.Errorf("generation 0: %v", err)
	}
	reaped[pids[0]] = true
	for i, pid := range pids[1:] {
		// Every generation said "drained, exiting"; one that exited
		// before its parent was reaped by it (ECHILD here).
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		reaped[pid] = true
		if err == nil && (!ws.Exited() || ws.ExitStatus() != 0) {
			t.Errorf("generation %d (pid %d) ended %v", i+1, pid, ws)
		}
	}
	t.Logf("%d clients, %d upgrades: %d echoes, %d WebSockets ended with 1001, %d other ends %v",
		clients, upgrades, echoes.Load(), goingAway.Load(), failed.Load(), ends)
	if failed.Load() != 0 {
		t.Errorf("%d WebSockets ended otherwise than with 1001: %v", failed.Load(), ends)
	}
	if goingAway.Load() < int64(upgrades) {
		t.Errorf("only %d ends with 1001 in %d upgrades", goingAway.Load(), upgrades)
	}
}

func TestBadFlag(t *testing.T) {
	if code := run(io.Discard, []string{"-nope"}); code != 2 {
		t.Fatalf("run(-nope) = %d, want 2", code)
	}
}
