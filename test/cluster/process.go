package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Ready lines of RelayDB's processes (ProcessConfig.ReadyLine).
const (
	ReadyServer  = "ready for connections" // relaydb server
	ReadyArbiter = "arbiter ready"         // relaydb arbiter
)

// ProcessConfig says how to start a process.
type ProcessConfig struct {
	// Name identifies the process in logs and errors ("n1", "arbiter").
	Name string
	// Path is the executable; Args its arguments (without argv[0]).
	Path string
	Args []string
	// Dir is the working directory (the harness's own when empty). Env, when not nil, is the
	// whole environment.
	Dir string
	Env []string
	// LogPath receives stdout and stderr, appended across restarts. Empty: <name>.log in a
	// temporary directory.
	LogPath string
	// ReadyLine, when not empty, is a substring of the line the process prints once it serves
	// ("ready for connections"); Start and Restart wait for it. Only lines printed by the
	// current run count.
	ReadyLine string
	// ReadyTimeout bounds the wait for ReadyLine (default 60s). A process not ready in time is
	// killed and Start returns an error carrying the end of its log.
	ReadyTimeout time.Duration
}

// Process is one OS process started by the harness. It runs in its own process group, and
// every signal goes to the whole group, so helpers it forks (sh -c) go with it.
//
// Invariant: a process the harness started is killed at cleanup (and, on Linux, if the test
// binary itself dies), whatever state it is in (stopped processes are killed too).
type Process struct {
	tb  TB
	cfg ProcessConfig // Args and Env guarded by mu (RestartWith and SetEnv change them)

	mu     sync.Mutex
	cmd    *exec.Cmd     // guarded by mu; the current run
	exited chan struct{} // guarded by mu; closed when the current run has been reaped
	logf   *os.File      // guarded by mu; the current run's log file
}

// StartProcess starts cfg's command and, when cfg.ReadyLine is set, waits until it is ready.
// The process is killed at tb's cleanup.
func StartProcess(tb TB, cfg ProcessConfig) (*Process, error) {
	if cfg.Name == "" {
		cfg.Name = filepath.Base(cfg.Path)
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 60 * time.Second
	}
	if cfg.LogPath == "" {
		dir, err := tempDir(tb)
		if err != nil {
			return nil, err
		}
		cfg.LogPath = filepath.Join(dir, cfg.Name+".log")
	}
	p := &Process{cfg: cfg, tb: tb}
	// Registered after the temporary directory, so it runs before the directory is removed.
	tb.Cleanup(func() { _ = p.Kill() })
	if err := p.start(); err != nil {
		return nil, err
	}
	return p, nil
}

// Name is the process's name from its config.
func (p *Process) Name() string { return p.cfg.Name }

// LogPath is the file the process's output goes to.
func (p *Process) LogPath() string { return p.cfg.LogPath }

// Log returns everything the process has printed so far, across restarts.
func (p *Process) Log() string {
	b, err := os.ReadFile(p.cfg.LogPath)
	if err != nil {
		return fmt.Sprintf("(log %s unreadable: %v)", p.cfg.LogPath, err)
	}
	return string(b)
}

// Pid is the current run's process id (0 before the first start).
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether the current run has not exited (a stopped process is running).
func (p *Process) Running() bool {
	p.mu.Lock()
	ex := p.exited
	p.mu.Unlock()
	if ex == nil {
		return false
	}
	select {
	case <-ex:
		return false
	default:
		return true
	}
}

// Exited returns a channel closed when the current run has exited.
func (p *Process) Exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

// ExitCode is the current run's exit status, or -1 while it runs or when a signal ended it.
func (p *Process) ExitCode() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Restart starts the process again with the same arguments, after killing the current run if
// it is still alive, and waits for its ready line.
func (p *Process) Restart() error {
	if err := p.Kill(); err != nil {
		return err
	}
	return p.start()
}

// RestartWith is Restart with new arguments, kept for later restarts.
func (p *Process) RestartWith(args ...string) error {
	if err := p.Kill(); err != nil {
		return err
	}
	p.mu.Lock()
	p.cfg.Args = append([]string(nil), args...)
	p.mu.Unlock()
	return p.start()
}

// SetEnv replaces the environment of later runs (nil: the harness's own), for a restart with a
// failpoint set, for instance.
func (p *Process) SetEnv(env []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg.Env = append([]string(nil), env...)
	if env == nil {
		p.cfg.Env = nil
	}
}

// Kill sends SIGKILL to the process group and waits for the process to exit (at most 30s).
// Killing an exited process does nothing.
func (p *Process) Kill() error {
	if !p.Running() {
		return nil
	}
	// A stopped process dies of SIGKILL too; nothing to continue first.
	_ = p.signal(syscall.SIGKILL)
	return p.wait(30 * time.Second)
}

// Stop freezes the process (SIGSTOP): its sockets stay open and nothing answers, as a machine
// that hangs. Cont resumes it.
func (p *Process) Stop() error { return p.signal(syscall.SIGSTOP) }

// Cont resumes a stopped process (SIGCONT).
func (p *Process) Cont() error { return p.signal(syscall.SIGCONT) }

// Terminate sends SIGTERM and waits up to grace for a clean exit, then kills. It returns an
// error when the process had to be killed.
func (p *Process) Terminate(grace time.Duration) error {
	if !p.Running() {
		return nil
	}
	_ = p.signal(syscall.SIGCONT) // a stopped process cannot act on SIGTERM
	_ = p.signal(syscall.SIGTERM)
	if err := p.wait(grace); err == nil {
		return nil
	}
	if err := p.Kill(); err != nil {
		return err
	}
	return fmt.Errorf("%s did not exit within %s of SIGTERM; killed", p.cfg.Name, grace)
}

func (p *Process) signal(sig syscall.Signal) error {
	pid := p.Pid()
	if pid == 0 || !p.Running() {
		return fmt.Errorf("%s: signal %v: not running", p.cfg.Name, sig)
	}
	// The negative pid addresses the process group (Setpgid made the pid its id).
	if err := syscall.Kill(-pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: signal %v: %w", p.cfg.Name, sig, err)
	}
	return nil
}

func (p *Process) wait(d time.Duration) error {
	select {
	case <-p.Exited():
		return nil
	case <-time.After(d):
		return fmt.Errorf("%s (pid %d) still running %s after the signal", p.cfg.Name, p.Pid(), d)
	}
}

func (p *Process) start() error {
	p.mu.Lock()
	args := append([]string(nil), p.cfg.Args...)
	env := p.cfg.Env
	p.mu.Unlock()
	cmd := exec.Command(p.cfg.Path, args...)
	cmd.Dir = p.cfg.Dir
	cmd.Env = env
	cmd.SysProcAttr = sysProcAttr()
	// Output is read through a pipe that children may inherit; do not wait for them forever.
	cmd.WaitDelay = 2 * time.Second
	logf, err := os.OpenFile(p.cfg.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: open log: %w", p.cfg.Name, err)
	}
	w := &readyWriter{dst: logf, line: p.cfg.ReadyLine, ready: make(chan struct{})}
	cmd.Stdout = w
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("%s: start %s: %w", p.cfg.Name, p.cfg.Path, err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited, p.logf = cmd, exited, logf
	p.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	p.tb.Logf("cluster: started %s (pid %d): %s %s; log %s", p.cfg.Name, cmd.Process.Pid, p.cfg.Path, strings.Join(args, " "), p.cfg.LogPath)
	if p.cfg.ReadyLine == "" {
		return nil
	}
	select {
	case <-w.ready:
		return nil
	case <-exited:
		return fmt.Errorf("%s exited (%v) before printing %q; log:\n%s", p.cfg.Name, cmd.ProcessState, p.cfg.ReadyLine, tail(p.Log(), 4000))
	case <-time.After(p.cfg.ReadyTimeout):
		_ = p.Kill()
		return fmt.Errorf("%s did not print %q within %s; killed; log:\n%s", p.cfg.Name, p.cfg.ReadyLine, p.cfg.ReadyTimeout, tail(p.Log(), 4000))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// readyWriter copies a run's output to its log and closes ready at the first line containing
// line. exec.Cmd calls Write from one goroutine (Stdout and Stderr are the same writer).
type readyWriter struct {
	dst     *os.File
	line    string
	ready   chan struct{}
	partial []byte // the current unfinished line, kept only until ready
	done    bool
}

func (w *readyWriter) Write(b []byte) (int, error) {
	n, err := w.dst.Write(b)
	if w.line != "" && !w.done {
		w.partial = append(w.partial, b...)
		for {
			i := bytes.IndexByte(w.partial, '\n')
			if i < 0 {
				break
			}
			if bytes.Contains(w.partial[:i], []byte(w.line)) {
				w.done = true
				w.partial = nil
				close(w.ready)
				break
			}
			w.partial = w.partial[i+1:]
		}
	}
	if err != nil {
		// Keep the process alive even when the log cannot be written.
		return len(b), nil
	}
	return n, nil
}

// FreePorts returns n distinct loopback TCP ports that were free a moment ago. They lie below
// the kernel's ephemeral range, so the listeners and outgoing connections that tests open
// meanwhile on port 0 (proxies, clients) cannot take them; a port is never handed out twice
// by one process. Another program can still take one before it is used.
func FreePorts(n int) ([]int, error) {
	low := ephemeralLow()
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[int]bool{}
	}
	var out []int
	for tries := 0; len(out) < n && tries < 20000; tries++ {
		p := lowestTestPort + rand.Intn(low-lowestTestPort)
		if handedOut.ports[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		handedOut.ports[p] = true
		out = append(out, p)
	}
	if len(out) < n {
		return nil, fmt.Errorf("free port: found only %d of %d below %d", len(out), n, low)
	}
	return out, nil
}

// lowestTestPort keeps test servers clear of the well-known and registered low ports.
const lowestTestPort = 10000

var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// ephemeralLow is the first port of the kernel's ephemeral range (32768 when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > lowestTestPort+1000 {
				return v
			}
		}
	}
	return 32768
}
