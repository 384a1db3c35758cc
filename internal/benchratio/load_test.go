package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fakeProc writes synthetic /proc files: stat with the given non-idle and
// idle ticks, self/stat with the process's own and its children's ticks,
// and loadavg.
func fakeProc(t *testing.T, dir string, user, system, idle, steal, guest, utime, stime, cutime, cstime uint64, loadavg float64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	// cpu user nice system idle iowait irq softirq steal guest guest_nice
	stat := fmt.Sprintf("cpu  %d 0 %d %d 7 0 0 %d %d 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 1 2 3\n", user, system, idle, steal, guest)
	// A command name with a space and a parenthesis, as comm may hold.
	self := fmt.Sprintf("4242 (bench ratio) R 1 4242 4242 0 -1 4194304 100 0 0 0 %d %d %d %d 20 0 3 0 1 2 3\n", utime, stime, cutime, cstime)
	for name, body := range map[string]string{
		"stat":      stat,
		"self/stat": self,
		"loadavg":   fmt.Sprintf("%.2f 0.50 0.25 1/96 30363\n", loadavg),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseProc(t *testing.T) {
	busy, err := parseStat([]byte("cpu  34823 5 22015 649943 5571 3 251 11 900 0\ncpu0 1 1 1 1 1 1 1 1 1 1\n"))
	// user+nice+system+irq+softirq+steal; idle, iowait and guest left out.
	if want := uint64(34823 + 5 + 22015 + 3 + 251 + 11); err != nil || busy != want {
		t.Fatalf("parseStat = %d, %v; want %d", busy, err, want)
	}
	own, err := parseSelfStat([]byte("77 (a) b) (c) S 1 77 77 0 -1 0 0 0 0 0 10 20 300 4000 20 0 1 0\n"))
	if err != nil || own != 4330 {
		t.Fatalf("parseSelfStat = %d, %v; want 4330", own, err)
	}
	la, err := parseLoadavg([]byte("2.72 2.42 1.14 2/96 30363\n"))
	if err != nil || la != 2.72 {
		t.Fatalf("parseLoadavg = %v, %v", la, err)
	}
	for _, bad := range []string{"", "intr 1 2\n", "cpu  1 2 x 4 5\n", "cpu 1 2\n"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "1 (x) S 1 2 3\n", "1 x S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n"} {
		if _, err := parseSelfStat([]byte(bad)); err == nil {
			t.Errorf("parseSelfStat(%q) accepted", bad)
		}
	}
	if _, err := parseLoadavg([]byte("x 1 2\n")); err == nil {
		t.Error("parseLoadavg accepted x")
	}
}

// TestAccounting checks the arithmetic on synthetic /proc files: the
// machine's non-idle time less our own and our children's is the others'.
func TestAccounting(t *testing.T) {
	dir := t.TempDir()
	p := procfs{root: dir, hz: 100}
	fakeProc(t, dir, 1000, 500, 9000, 0, 0, 100, 50, 0, 0, 0.05)
	a, err := p.sample()
	if err != nil {
		t.Fatal(err)
	}
	// 10 s later: the machine spent 2500 more non-idle ticks (25 s of
	// CPU: user 1800, system 400, steal 300; guest is inside user). We
	// used 400 ticks ourselves and our waited-for children 1800, so the
	// others used 300 ticks: 3 s in 10 s, 0.3 of a core.
	fakeProc(t, dir, 2800, 900, 9500, 300, 77, 450, 100, 1500, 300, 1.9)
	b, err := p.sample()
	if err != nil {
		t.Fatal(err)
	}
	a.at, b.at = time.Unix(100, 0), time.Unix(110, 0)
	l := between(a, b)
	if !l.measured || !near(l.others, 0.3) || l.before != 0.05 || l.after != 1.9 || l.wall != 10*time.Second {
		t.Fatalf("between: %+v; want 0.3 cores from load 0.05 to 1.9 in 10s", l)
	}
	if !l.busy() || refuse(l, false) == nil || refuse(l, true) != nil {
		t.Fatalf("0.3 cores: busy %v, refuse %v / forced %v", l.busy(), refuse(l, false), refuse(l, true))
	}
	if s := l.String(); !strings.Contains(s, "other processes used 0.30 cores on average (limit 0.1), load average 0.05 before and 1.90 after") {
		t.Fatalf("String: %s", s)
	}

	// All the work ours: nothing for the others, and rounding below zero
	// (our ticks counted before the machine's) stays at zero.
	fakeProc(t, dir, 2800+30, 900, 9600, 300, 77, 450+20, 100, 1500+15, 300, 0.1)
	c, _ := p.sample()
	c.at = b.at.Add(time.Second)
	if l := between(b, c); !l.measured || l.others != 0 || l.busy() || refuse(l, false) != nil {
		t.Fatalf("quiet: %+v", l)
	}
	// Just at the limit passes; just over it does not.
	fakeProc(t, dir, 2800+10, 900, 9600, 300, 77, 450, 100, 1500, 300, 0.1)
	d, _ := p.sample()
	d.at = b.at.Add(time.Second)
	if l := between(b, d); !near(l.others, 0.1) || l.busy() {
		t.Fatalf("0.1 cores: %+v", l)
	}
	d.at = b.at.Add(999 * time.Millisecond)
	if l := between(b, d); l.others <= maxOthers || !l.busy() {
		t.Fatalf("just over 0.1 cores: %+v", l)
	}

	// No /proc: not measured, which refuses too.
	m := startLoad(newProcfs(filepath.Join(dir, "absent")))
	if l := m.now(); l.measured || !l.busy() || !strings.Contains(refuse(l, false).Error(), "cannot tell how busy") || refuse(l, true) != nil {
		t.Fatalf("no /proc: %+v", l)
	}
}

// TestClockTicks reads AT_CLKTCK from the auxiliary vector, here and in a
// synthetic one.
func TestClockTicks(t *testing.T) {
	if runtime.GOOS == "linux" {
		if hz := clockTicks("/proc/self/auxv"); hz != 100 && hz != 1024 && hz != 1000 && hz != 250 {
			t.Errorf("AT_CLKTCK = %v", hz)
		}
	}
	if hz := clockTicks(filepath.Join(t.TempDir(), "absent")); hz != 100 {
		t.Errorf("without auxv: %v, want the default 100", hz)
	}
}

// spinner starts a shell that loops forever and returns it; the caller
// kills it.
func spinner(t *testing.T) *exec.Cmd {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	cmd := exec.Command(sh, "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// cpuOf returns the seconds of CPU process pid has used.
func cpuOf(t *testing.T, pid int, hz float64) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	var ticks float64
	for _, v := range f[11:13] { // utime, stime
		var n float64
		fmt.Sscan(v, &n)
		ticks += n
	}
	return ticks / hz
}

// waitCPU waits until process pid has used at least d of CPU since from,
// and returns how much; the limit of minutes is a hang guard only.
func waitCPU(t *testing.T, pid int, hz, from, d float64) float64 {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Minute); ; {
		if used := cpuOf(t, pid, hz) - from; used >= d {
			return used
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d used less than %vs of CPU in 3 minutes", pid, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBusyLoopSeen runs a busy loop in another process while the meter
// runs: its CPU must show as the others'. The loop is our child, but it is
// not waited for until after the second sample, so the kernel has not
// added its time to ours: to the meter it is any other program. Other work
// on the machine only adds to what the meter sees, so the check holds on a
// busy machine.
func TestBusyLoopSeen(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	p := newProcfs("/proc")
	spin := spinner(t)
	pid := spin.Process.Pid
	m := startLoad(p)
	if m.err != nil {
		t.Fatal(m.err)
	}
	from := cpuOf(t, pid, p.hz)
	waitCPU(t, pid, p.hz, from, 0.5)
	l := m.now()
	used := cpuOf(t, pid, p.hz) - from // read after the sample: at least what it saw
	others := l.others * l.wall.Seconds()
	// The sample's window began before from was read and ended after the
	// wait: it holds all but the ticks of rounding, a few per processor.
	slack := float64(4*runtime.NumCPU()) / p.hz
	if !l.measured || others < used-slack-0.1 {
		t.Fatalf("a busy loop used %.2fs of CPU in %v, but the meter saw %.2fs from other processes (%+v)", used, l.wall, others, l)
	}
	t.Logf("busy loop %.2fs of CPU; others %.2fs in %v: %s", used, others, l.wall.Round(time.Millisecond), l)
}

// TestOwnWorkNotOthers: CPU that this process and its waited-for children
// use counts as ours, not the others'.
func TestOwnWorkNotOthers(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	p := newProcfs("/proc")
	a, err := p.sample()
	if err != nil {
		t.Fatal(err)
	}
	// A child that spins until it has used 0.3 s of CPU, then is waited
	// for; and as much work in this process.
	spin := spinner(t)
	waitCPU(t, spin.Process.Pid, p.hz, 0, 0.3)
	spin.Process.Kill()
	spin.Wait()
	self := cpuOf(t, os.Getpid(), p.hz)
	x := uint64(1)
	for cpuOf(t, os.Getpid(), p.hz)-self < 0.3 {
		for range 1_000_000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	b, err := p.sample()
	if err != nil {
		t.Fatal(err)
	}
	if own := float64(b.own-a.own) / p.hz; own < 0.6-float64(4)/p.hz {
		t.Fatalf("own CPU %.2fs, want at least 0.6s: 0.3s in the process and 0.3s in a waited-for child (x=%d)", own, x)
	}
}

// TestRefuseReadme: a busy run does not touch the README without -force;
// with it, the stamp says so in bold.
func TestRefuseReadme(t *testing.T) {
	readme := filepath.Join(t.TempDir(), "README.md")
	doc := "# x\n" + beginMarker + "\nold\n" + endMarker + "\n"
	if err := os.WriteFile(readme, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	rows := []row{{key: "Get/n=1000/hit", label: "hit", unit: "cpu-ns/op", ours: 21, base: 20, ratio: 1.05, lo: 1, hi: 1.1, n: 2, target: "<=1.1", verdict: "met"}}
	st := stamp{date: "2026-12-04 16:00 UTC", nproc: 2, rounds: 8, benchtime: "200ms",
		load: load{measured: true, wall: time.Minute, others: 0.85, before: 1.5, after: 2.5}}
	err := writeReadme(readme, st, rows, false)
	if err == nil || !strings.Contains(err.Error(), "0.85 cores") || !strings.Contains(err.Error(), "-force") {
		t.Fatalf("busy run: %v, want a refusal that names the load and -force", err)
	}
	if b, _ := os.ReadFile(readme); string(b) != doc {
		t.Fatalf("a refused run changed the README:\n%s", b)
	}
	st.forced = true
	if err := writeReadme(readme, st, rows, true); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(readme)
	if !strings.Contains(string(b), "**other processes used 0.85 cores on average (limit 0.1), load average 1.50 before and 2.50 after (with benchratio's own), over the limit: written with -force") {
		t.Fatalf("forced stamp not in bold:\n%s", b)
	}
	// A quiet run is written, its stamp plain.
	st.forced, st.load.others = false, 0.02
	if err := writeReadme(readme, st, rows, false); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(readme)
	if s := string(b); strings.Contains(s, "**other") || !strings.Contains(s, "; other processes used 0.02 cores on average") {
		t.Fatalf("quiet stamp:\n%s", s)
	}
	var out strings.Builder
	writeText(&out, st, rows)
	if strings.Contains(out.String(), "NOT A QUIET") {
		t.Fatalf("quiet text: %s", out.String())
	}
	st.load.others = 0.5
	out.Reset()
	writeText(&out, st, rows)
	if !strings.Contains(out.String(), "NOT A QUIET MACHINE: other processes used 0.50 cores") {
		t.Fatalf("busy text: %s", out.String())
	}
}
