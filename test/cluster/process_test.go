package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func sh(t *testing.T, tb TB, script string, ready string) (*Process, error) {
	t.Helper()
	return StartProcess(tb, ProcessConfig{Name: "sh", Path: "/bin/sh", Args: []string{"-c", script},
		ReadyLine: ready, ReadyTimeout: 5 * time.Second})
}

// procState is the state letter of /proc/<pid>/stat (R, S, T for stopped, Z, …).
func procState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "gone"
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
}

// gone waits until pid has died (a zombie not yet reaped by init counts as dead).
func gone(t *testing.T, pid int) bool {
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) || procState(t, pid) == "Z" {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func TestProcessLifecycle(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	p, err := sh(t, t, `echo starting; sleep 0.1; echo "run $$ ready for connections"; exec sleep 60`, "ready for connections")
	if err != nil {
		t.Fatal(err)
	}
	pid := p.Pid()
	if !p.Running() || pid == 0 || !strings.Contains(p.Log(), "starting") {
		t.Fatalf("running %v pid %d log %q", p.Running(), pid, p.Log())
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	waitState(t, pid, "T")
	if err := p.Cont(); err != nil {
		t.Fatal(err)
	}
	waitState(t, pid, "S")

	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	if p.Pid() == pid || !gone(t, pid) {
		t.Fatalf("restart: old pid %d, new %d", pid, p.Pid())
	}
	if n := strings.Count(p.Log(), "ready for connections"); n != 2 {
		t.Fatalf("log has %d ready lines after a restart, want 2 (appended):\n%s", n, p.Log())
	}

	// A stopped process dies of Kill.
	p.Stop()
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if p.Running() {
		t.Fatal("running after Kill")
	}
	if err := p.Stop(); err == nil {
		t.Fatal("Stop of an exited process succeeded")
	}
	if err := p.Kill(); err != nil {
		t.Fatalf("second Kill: %v", err)
	}
	if err := p.RestartWith("-c", `echo "again ready for connections"; exec sleep 60`); err != nil || !p.Running() {
		t.Fatalf("RestartWith: %v", err)
	}
}

func waitState(t *testing.T, pid int, want string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := procState(t, pid)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d in state %s, want %s", pid, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProcessTerminate(t *testing.T) {
	p, err := sh(t, t, `trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done`, "ready")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Terminate(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Log(), "bye") || p.ExitCode() != 0 {
		t.Fatalf("exit %d, log %q", p.ExitCode(), p.Log())
	}

	stubborn, err := sh(t, t, `trap '' TERM; echo ready; while :; do sleep 0.05; done`, "ready")
	if err != nil {
		t.Fatal(err)
	}
	if err := stubborn.Terminate(200 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Terminate of a process ignoring SIGTERM: %v", err)
	}
	if stubborn.Running() {
		t.Fatal("still running")
	}
}

func TestProcessNotReady(t *testing.T) {
	_, err := StartProcess(t, ProcessConfig{Name: "slow", Path: "/bin/sh", Args: []string{"-c", "echo warming up; exec sleep 60"},
		ReadyLine: "ready", ReadyTimeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "warming up") {
		t.Fatalf("never-ready process: %v", err)
	}
	_, err = sh(t, t, "echo boom; exit 3", "ready")
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("process exiting early: %v", err)
	}
}

// A Scope (the TB of programs that are not tests) kills everything at Close, helpers the
// process forked included.
func TestProcessScopeCleanupKillsGroup(t *testing.T) {
	s := NewScope(nil)
	p, err := sh(t, s, `sleep 60 & echo "child $!"; echo ready; wait`, "ready")
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	m := regexp.MustCompile(`child (\d+)`).FindStringSubmatch(p.Log())
	if m == nil {
		t.Fatalf("log %q", p.Log())
	}
	child, _ := strconv.Atoi(m[1])
	s.Close()
	if p.Running() {
		t.Fatal("process running after the scope closed")
	}
	if !gone(t, child) {
		t.Fatalf("the process's child %d survived", child)
	}
}

func TestFreePorts(t *testing.T) {
	ps, err := FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ps {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v", ps)
		}
		seen[p] = true
	}
}

func TestNemesisReplaysFromSeed(t *testing.T) {
	faults := []Fault{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	steps := func(seed int64) []Step {
		n := NewNemesis(t, nil, faults, NemesisOptions{Seed: seed})
		var out []Step
		for i := 0; i < 20; i++ {
			out = append(out, n.Next())
		}
		return out
	}
	a, b := steps(42), steps(42)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different schedules")
	}
	if reflect.DeepEqual(a, steps(43)) {
		t.Fatal("different seeds, same schedule")
	}
	for _, s := range a {
		if s.Duration < time.Second || s.Duration > 3*time.Second || s.Quiet < time.Second || s.Quiet > 3*time.Second {
			t.Fatalf("step %+v outside the default bounds", s)
		}
	}
}

func TestNemesisRunRecordsAndHeals(t *testing.T) {
	g := newGreeter(t)
	nw := NewNet(t)
	addr := nw.Link("a", "b", g.addr())
	var victims []string
	faults := []Fault{
		IsolateFault(nw, "a", "b"),
		PartitionFault(nw, "a", "b", "c"),
		NetFault("delay a-b", func() func() { return nw.Delay("a", "b", time.Millisecond) }),
		{Name: "note", Inject: func(rnd *rand.Rand) (string, func() error, error) {
			v := fmt.Sprint(rnd.Intn(1000))
			victims = append(victims, v)
			return v, nil, nil
		}},
	}
	rec := NewRecorder()
	opts := NemesisOptions{Seed: 7, MinFault: 5 * time.Millisecond, MaxFault: 20 * time.Millisecond,
		MinQuiet: time.Millisecond, MaxQuiet: 10 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	if err := NewNemesis(t, rec, faults, opts).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if f := nw.Faults(); len(f) != 0 {
		t.Fatalf("faults in force after Run: %v", f)
	}
	dial(t, addr).mustLine("hello")
	h := rec.History()
	starts, ends := 0, 0
	for _, op := range h {
		if op.Process != NemesisProcess {
			t.Fatalf("non-nemesis entry %+v", op)
		}
		switch s := op.Value.(string); {
		case strings.HasPrefix(s, "start "):
			starts++
		case strings.HasPrefix(s, "end "):
			ends++
		}
	}
	if starts == 0 || starts != ends {
		t.Fatalf("%d starts, %d ends: %+v", starts, ends, h)
	}
	// The same seed draws the same victims (the schedule's timing aside).
	victims2 := victims
	victims = nil
	ctx2, cancel2 := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel2()
	NewNemesis(t, nil, faults, opts).Run(ctx2)
	k := min(len(victims), len(victims2))
	if k == 0 || !reflect.DeepEqual(victims[:k], victims2[:k]) {
		t.Fatalf("victims %v then %v with one seed", victims2, victims)
	}
	t.Logf("%d faults injected and healed; history of the first:\n%v", starts, h[:min(len(h), 6)])
}
