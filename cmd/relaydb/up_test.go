package main

import (
	"bufio"
	"context"
	gosql "database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// upProc is a running `relaydb up`.
type upProc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    strings.Builder // stdout and stderr
	exited chan struct{}
	ports  []int // node k's port is ports[k-1]
	roles  []string
	pids   []int // node k's first pid is pids[k-1]
	others []int // the arbiter's pid, and the pids of restarted nodes
}

var (
	upNodeLine    = regexp.MustCompile(`^\s*node(\d+)\s+(primary|replica)\s+127\.0\.0\.1:(\d+)\s+pid (\d+)\s+mariadb -h127\.0\.0\.1 -P(\d+) -uroot$`)
	upArbiterLine = regexp.MustCompile(`^\s*arbiter\s+voter\s+127\.0\.0\.1:\d+\s+pid (\d+)`)
	upRestartLine = regexp.MustCompile(`node\d+ restarted \(pid (\d+)\)`)
)

// startUp runs `relaydb up` with args and waits (bounded) for its summary.
func startUp(t *testing.T, args ...string) *upProc {
	t.Helper()
	u := &upProc{exited: make(chan struct{})}
	u.cmd = exec.Command(binary(t), append([]string{"up"}, args...)...)
	stdout, err := u.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	u.cmd.Stderr = &lockedWriter{u: u}
	if err := u.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	summary := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			u.mu.Lock()
			u.out.WriteString(line + "\n")
			if m := upNodeLine.FindStringSubmatch(line); m != nil {
				port, _ := strconv.Atoi(m[3])
				pid, _ := strconv.Atoi(m[4])
				u.ports, u.pids, u.roles = append(u.ports, port), append(u.pids, pid), append(u.roles, m[2])
			}
			for _, re := range []*regexp.Regexp{upArbiterLine, upRestartLine} {
				if m := re.FindStringSubmatch(line); m != nil {
					pid, _ := strconv.Atoi(m[1])
					u.others = append(u.others, pid)
				}
			}
			u.mu.Unlock()
			if strings.Contains(line, "Ctrl-C stops all nodes") {
				close(summary)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = u.cmd.Wait()
		close(u.exited)
	}()
	t.Cleanup(func() { u.cleanup(t) })
	select {
	case <-summary:
	case <-u.exited:
		t.Fatalf("relaydb up exited before its summary (exit %d):\n%s", u.cmd.ProcessState.ExitCode(), u.output())
	case <-time.After(90 * time.Second):
		t.Fatalf("no summary from relaydb up after 90s:\n%s", u.output())
	}
	return u
}

type lockedWriter struct{ u *upProc }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.u.mu.Lock()
	defer w.u.mu.Unlock()
	return w.u.out.Write(p)
}

func (u *upProc) output() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.out.String()
}

// cleanup stops up if the test left it running, and kills any node it left behind.
func (u *upProc) cleanup(t *testing.T) {
	select {
	case <-u.exited:
	default:
		_ = u.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-u.exited:
		case <-time.After(45 * time.Second):
			_ = u.cmd.Process.Kill()
			<-u.exited
		}
	}
	u.mu.Lock()
	pids := append(append([]int(nil), u.pids...), u.others...)
	u.mu.Unlock()
	for _, pid := range pids {
		if alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if t.Failed() {
		t.Logf("relaydb up output:\n%s", u.output())
	}
}

// stop sends sig and returns up's exit code.
func (u *upProc) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	if err := u.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-u.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("relaydb up did not exit within 60s of %v", sig)
	}
	return u.cmd.ProcessState.ExitCode()
}

func alive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// freePorts returns a base port such that base..base+n-1 and the cluster ports
// base+10000..base+10000+n are free on 127.0.0.1. Both ranges lie below the usual ephemeral
// range (32768 and up), so that outgoing connections do not take them meanwhile.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	free := func(p int) bool {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return false
		}
		ln.Close()
		return true
	}
	for range 100 {
		base := 20000 + rand.Intn(22700-20000)
		ok := true
		for p := base; p < base+n && ok; p++ {
			ok = free(p) && free(p+10000)
		}
		if ok && free(base+10000+n) {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

// primaryPort is the port of the node the summary lists as the primary.
func (u *upProc) primaryPort(t *testing.T) int {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, r := range u.roles {
		if r == "primary" {
			return u.ports[i]
		}
	}
	t.Fatalf("the summary lists no primary:\n%s", u.out.String())
	return 0
}

// waitOutput waits (bounded) until up's output contains s.
func (u *upProc) waitOutput(t *testing.T, s string, d time.Duration) {
	t.Helper()
	for start := time.Now(); time.Since(start) < d; time.Sleep(100 * time.Millisecond) {
		if strings.Contains(u.output(), s) {
			return
		}
	}
	t.Fatalf("no %q in relaydb up's output after %s:\n%s", s, d, u.output())
}

func rootDB(t *testing.T, port int) *gosql.DB {
	t.Helper()
	db, err := gosql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/?timeout=5s&readTimeout=30s", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// waitRows polls (up to 10 s) until app.t on the node at port holds exactly want.
func waitRows(t *testing.T, port int, want string) {
	t.Helper()
	db := rootDB(t, port)
	var got string
	var err error
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(50 * time.Millisecond) {
		var s gosql.NullString
		err = db.QueryRow("SELECT GROUP_CONCAT(v ORDER BY id) FROM app.t").Scan(&s)
		if got = s.String; err == nil && got == want {
			return
		}
	}
	t.Fatalf("node on port %d: app.t = %q (err %v), want %q", port, got, err, want)
}

// checkNodesGone checks that up's exit left none of its nodes running.
func checkNodesGone(t *testing.T, u *upProc) {
	t.Helper()
	for i, pid := range u.pids {
		if alive(pid) {
			t.Errorf("node%d (pid %d) still running after relaydb up exited", i+1, pid)
		}
	}
	u.mu.Lock()
	others := append([]int(nil), u.others...)
	u.mu.Unlock()
	for _, pid := range others {
		if alive(pid) {
			t.Errorf("pid %d (the arbiter or a restarted node) still running after relaydb up exited", pid)
		}
	}
}

// TestUpClusterReplicatesAndRestarts runs `relaydb up` twice on one datadir: the first run
// builds a replicating cluster, the second starts the same one again.
func TestUpClusterReplicatesAndRestarts(t *testing.T) {
	dir := t.TempDir()
	base := freePorts(t, 3)
	args := []string{"--nodes", "3", "--port", strconv.Itoa(base), "--datadir", dir}

	u := startUp(t, args...)
	if len(u.ports) != 3 || u.ports[0] != base || u.ports[2] != base+2 {
		t.Fatalf("summary lists ports %v, want %d-%d:\n%s", u.ports, base, base+2, u.output())
	}
	pport := u.primaryPort(t)
	replicaPort := base
	if pport == base {
		replicaPort = base + 1
	}
	primary := rootDB(t, pport)
	for _, s := range []string{
		"CREATE DATABASE app",
		"CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO app.t VALUES (1, 'first')",
	} {
		if _, err := primary.Exec(s); err != nil {
			t.Fatalf("primary: %s: %v", s, err)
		}
	}
	for _, port := range []int{base, base + 1, base + 2} {
		waitRows(t, port, "first")
	}
	if _, err := rootDB(t, replicaPort).Exec("INSERT INTO app.t VALUES (9, 'on a replica')"); err == nil || !strings.Contains(err.Error(), "1290") {
		t.Errorf("write on a replica: %v, want error 1290 (super_read_only)", err)
	}
	primary.Close()
	if code := u.stop(t, syscall.SIGINT); code != 0 {
		t.Fatalf("relaydb up exit code %d after SIGINT:\n%s", code, u.output())
	}
	checkNodesGone(t, u)
	if fi, err := os.Stat(filepath.Join(dir, "cluster.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("cluster.json: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if code, out := runOnce(t, nil, "up", "--nodes", "2", "--datadir", dir); code == 0 || !strings.Contains(out, "3-node cluster") {
		t.Errorf("up --nodes 2 on a 3-node cluster: exit %d\n%s", code, out)
	}

	u = startUp(t, args...)
	for _, port := range []int{base, base + 1, base + 2} {
		waitRows(t, port, "first")
	}
	if _, err := rootDB(t, u.primaryPort(t)).Exec("INSERT INTO app.t VALUES (2, 'second')"); err != nil {
		t.Fatalf("primary after restart: %v", err)
	}
	for _, port := range []int{base, base + 1, base + 2} {
		waitRows(t, port, "first,second")
	}
	if code := u.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("relaydb up exit code %d after SIGTERM:\n%s", code, u.output())
	}
	checkNodesGone(t, u)
}

// TestUpRefusesBusyPortAndStopsOnNodeFailure checks the two ways a start fails: a busy port
// (nothing is started or written) and a node that exits while starting (the others are stopped).
func TestUpRefusesBusyPortAndStopsOnNodeFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cluster")
	base := freePorts(t, 2)
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(base+1)))
	if err != nil {
		t.Fatal(err)
	}
	code, out := runOnce(t, nil, "up", "--nodes", "2", "--arbiter", "--port", strconv.Itoa(base), "--datadir", dir)
	ln.Close()
	if code == 0 || !strings.Contains(out, fmt.Sprintf("port %d is not free", base+1)) {
		t.Fatalf("busy port: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "cluster.json")); err == nil {
		t.Error("cluster.json written although the cluster could not start")
	}

	// A server holding node2's datadir makes node2 exit at startup.
	startServer(t, "--datadir", filepath.Join(dir, "node2"), "--port", "0")
	code, out = runOnce(t, nil, "up", "--nodes", "2", "--arbiter", "--port", strconv.Itoa(base), "--datadir", dir)
	if code == 0 || !strings.Contains(out, "node2") || !strings.Contains(out, "exited before it was ready") {
		t.Fatalf("node2 failing: exit %d\n%s", code, out)
	}
	ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(base)))
	if err != nil {
		t.Fatalf("node1 still holds its port after up gave up: %v", err)
	}
	ln.Close()
}

// TestUpTopologies: `up --topology chain` cascades node1 → node2 → node3 (a row written on
// node1 reaches node3 through node2, which is read-only), and `up --topology dual` makes two
// writable primaries of each other whose auto-increment values interleave.
func TestUpTopologies(t *testing.T) {
	t.Run("chain", func(t *testing.T) {
		base := freePorts(t, 3)
		u := startUp(t, "--topology", "chain", "--nodes", "3", "--port", strconv.Itoa(base), "--datadir", t.TempDir())
		if !strings.Contains(u.output(), "Chain: each node replicates from the one before it") {
			t.Fatalf("summary:\n%s", u.output())
		}
		for _, s := range []string{"CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO app.t VALUES (1, 'first')"} {
			if _, err := rootDB(t, base).Exec(s); err != nil {
				t.Fatalf("node1: %s: %v", s, err)
			}
		}
		waitRows(t, base+2, "first")
		var src string
		if err := rootDB(t, base+2).QueryRow("SELECT @@GLOBAL.super_read_only").Scan(&src); err != nil || src != "1" {
			t.Errorf("node3 super_read_only = %q (%v)", src, err)
		}
		st := map[string]string{}
		rows, err := rootDB(t, base+2).Query("SHOW REPLICA STATUS")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]gosql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			for i, c := range cols {
				st[c] = vals[i].String
			}
		}
		rows.Close()
		if st["Source_Port"] != strconv.Itoa(base+1) {
			t.Errorf("node3 replicates from port %s, want node2's %d", st["Source_Port"], base+1)
		}
		if code := u.stop(t, syscall.SIGINT); code != 0 {
			t.Fatalf("exit %d:\n%s", code, u.output())
		}
		checkNodesGone(t, u)
	})
	t.Run("dual", func(t *testing.T) {
		base := freePorts(t, 2)
		u := startUp(t, "--topology", "dual", "--port", strconv.Itoa(base), "--datadir", t.TempDir())
		if len(u.ports) != 2 || !strings.Contains(u.output(), "Dual primary") {
			t.Fatalf("summary:\n%s", u.output())
		}
		n1, n2 := rootDB(t, base), rootDB(t, base+1)
		for _, s := range []string{"CREATE DATABASE app", "CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))"} {
			if _, err := n1.Exec(s); err != nil {
				t.Fatalf("node1: %s: %v", s, err)
			}
		}
		waitRows(t, base+1, "")
		for i := 0; i < 3; i++ {
			if _, err := n1.Exec("INSERT INTO app.t (v) VALUES ('a')"); err != nil {
				t.Fatal(err)
			}
			if _, err := n2.Exec("INSERT INTO app.t (v) VALUES ('b')"); err != nil {
				t.Fatal(err)
			}
		}
		want := "a,b,a,b,a,b"
		waitRows(t, base, want)
		waitRows(t, base+1, want)
		var ids string
		if err := n2.QueryRow("SELECT GROUP_CONCAT(id ORDER BY id) FROM app.t").Scan(&ids); err != nil || ids != "1,2,3,4,5,6" {
			t.Errorf("ids %q (%v), want 1,2,3,4,5,6 (node1 odd, node2 even)", ids, err)
		}
		if code := u.stop(t, syscall.SIGINT); code != 0 {
			t.Fatalf("exit %d:\n%s", code, u.output())
		}
		checkNodesGone(t, u)
	})
}

// TestUpFailsOverAndRestarts: kill -9 the primary of a 3-node `up` cluster; another node takes
// writes within seconds, and `up` restarts the killed node, which rejoins as a replica.
func TestUpFailsOverAndRestarts(t *testing.T) {
	dir := t.TempDir()
	base := freePorts(t, 3)
	u := startUp(t, "--port", strconv.Itoa(base), "--datadir", dir)
	if len(u.ports) != 3 {
		t.Fatalf("summary lists %d nodes, want 3:\n%s", len(u.ports), u.output())
	}
	checkFailover(t, u, dir)
	if code := u.stop(t, syscall.SIGINT); code != 0 || !strings.Contains(u.output(), "relaydb up: all nodes stopped") {
		t.Fatalf("exit %d after SIGINT:\n%s", code, u.output())
	}
	checkNodesGone(t, u)
}

// TestUpTwoNodesAndArbiterFailOver: with --nodes 2 --arbiter, the arbiter's vote lets the
// surviving data node be promoted when the primary is killed.
func TestUpTwoNodesAndArbiterFailOver(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: another cluster start and failover (TestUpFailsOverAndRestarts covers the 3-node case)")
	}
	dir := t.TempDir()
	base := freePorts(t, 2)
	u := startUp(t, "--nodes", "2", "--arbiter", "--port", strconv.Itoa(base), "--datadir", dir)
	u.mu.Lock()
	nOthers := len(u.others)
	u.mu.Unlock()
	if len(u.ports) != 2 || nOthers != 1 || !strings.Contains(u.output(), "and an arbiter") {
		t.Fatalf("summary: want 2 nodes and an arbiter:\n%s", u.output())
	}
	if cl, err := readClusterFile(filepath.Join(dir, "cluster.json")); err != nil || !cl.Arbiter || !cl.Cluster {
		t.Errorf("cluster.json: %+v, %v; want arbiter and cluster", cl, err)
	}
	checkFailover(t, u, dir)
	if code := u.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, u.output())
	}
	checkNodesGone(t, u)
}

// checkFailover writes a row on the primary, kills its process with SIGKILL, and checks that
// within 10 s another node takes a write (the others refusing it with error 1290) and holds
// the first row, and that the killed node comes back as a read-only replica with both rows.
func checkFailover(t *testing.T, u *upProc, dir string) {
	t.Helper()
	old := u.primaryPort(t)
	k := old - u.ports[0] + 1
	dbs := map[int]*gosql.DB{}
	for _, p := range u.ports {
		dbs[p] = rootDB(t, p)
	}
	for _, s := range []string{"CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO app.t VALUES (1, 'first')"} {
		if _, err := dbs[old].Exec(s); err != nil {
			t.Fatalf("primary node%d: %s: %v", k, s, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("node%d", k), "relaydb.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("node%d/relaydb.pid: %q", k, data)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()

	// Another node takes the write within 10 s. REPLACE is idempotent: an attempt that timed
	// out on the client side may still commit.
	deadline := killed.Add(10 * time.Second)
	writable := 0
	var lastErr error
	for writable == 0 && time.Now().Before(deadline) {
		for _, p := range u.ports {
			if p == old {
				continue
			}
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			_, err := dbs[p].ExecContext(ctx, "REPLACE INTO app.t VALUES (2, 'second')")
			cancel()
			if err == nil {
				writable = p
				break
			}
			lastErr = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	if writable == 0 {
		t.Fatalf("no node took a write within 10 s of killing node%d (last error %v):\n%s", k, lastErr, u.output())
	}
	t.Logf("port %d took a write %.1f s after node%d was killed", writable, time.Since(killed).Seconds(), k)
	for _, p := range u.ports {
		if p == old || p == writable {
			continue
		}
		if _, err := dbs[p].Exec("INSERT INTO app.t VALUES (9, 'not the primary')"); err == nil || !strings.Contains(err.Error(), "1290") {
			t.Errorf("write on port %d, not the primary: %v, want error 1290", p, err)
		}
	}
	waitRows(t, writable, "first,second")
	u.waitOutput(t, fmt.Sprintf("node%d (primary) exited: signal: killed; the cluster is failing over", k), 5*time.Second)
	u.waitOutput(t, fmt.Sprintf("node%d is the primary now (epoch", writable-u.ports[0]+1), 5*time.Second)

	// up restarts the killed node, which rejoins as a replica.
	u.waitOutput(t, fmt.Sprintf("node%d rejoined as a replica", k), 30*time.Second)
	waitRows(t, old, "first,second")
	db := rootDB(t, old)
	var ro string
	if err := db.QueryRow("SELECT @@GLOBAL.super_read_only").Scan(&ro); err != nil || ro != "1" {
		t.Errorf("the killed node after its return: super_read_only = %q (%v), want 1", ro, err)
	}
	if _, err := db.Exec("INSERT INTO app.t VALUES (9, 'on the old primary')"); err == nil || !strings.Contains(err.Error(), "1290") {
		t.Errorf("write on the old primary after its return: %v, want error 1290", err)
	}
}

// TestUpRefusesClustersThatCannotFailOver: a 2-node HA cluster without an arbiter, and a
// datadir from an older `up` whose replicas were set up by hand, are refused before anything
// starts.
func TestUpRefusesClustersThatCannotFailOver(t *testing.T) {
	dir := t.TempDir()
	code, out := runOnce(t, nil, "up", "--nodes", "2", "--port", "23001", "--datadir", filepath.Join(dir, "two"))
	if code == 0 || !strings.Contains(out, "add --arbiter") {
		t.Errorf("--nodes 2 without --arbiter: exit %d\n%s", code, out)
	}
	if code, out := runOnce(t, nil, "up", "--topology", "chain", "--arbiter", "--datadir", filepath.Join(dir, "chain")); code != 2 || !strings.Contains(out, "--arbiter is for the default topology") {
		t.Errorf("--topology chain --arbiter: exit %d\n%s", code, out)
	}
	old := filepath.Join(dir, "old")
	if err := os.MkdirAll(filepath.Join(old, "node1"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(old, "cluster.json"), []byte(`{"nodes": 3, "port": 23001, "repl_user": "repl", "repl_password": "x", "setup_done": true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = runOnce(t, nil, "up", "--datadir", old)
	if code == 0 || !strings.Contains(out, "older relaydb up") || !strings.Contains(out, "use a new --datadir") {
		t.Errorf("an older up's datadir: exit %d\n%s", code, out)
	}
}

// TestUpGrowsClusterByClone: `up --nodes 4` on a 3-node cluster seeds node4 with a clone of
// the primary (its gtid_purged is the whole history: nothing was replayed), adds it as a voter
// (4 members, 2 acks), and it replicates what the primary writes afterwards.
func TestUpGrowsClusterByClone(t *testing.T) {
	dir := t.TempDir()
	base := freePorts(t, 4)
	u := startUp(t, "--port", strconv.Itoa(base), "--datadir", dir)
	p := rootDB(t, u.primaryPort(t))
	for _, q := range []string{"CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(10))",
		"INSERT INTO app.t VALUES (1, 'a'), (2, 'b')"} {
		if _, err := p.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var history string
	if err := p.QueryRow("SELECT @@global.gtid_executed").Scan(&history); err != nil {
		t.Fatal(err)
	}
	if code := u.stop(t, syscall.SIGINT); code != 0 {
		t.Fatalf("exit %d after SIGINT:\n%s", code, u.output())
	}
	u = startUp(t, "--port", strconv.Itoa(base), "--datadir", dir, "--nodes", "4")
	if len(u.ports) != 4 || !strings.Contains(u.output(), "node4 seeded by a clone of") ||
		!strings.Contains(u.output(), "the cluster grew from 3 to 4 nodes") {
		t.Fatalf("want node4 cloned and the cluster grown to 4:\n%s", u.output())
	}
	n4 := rootDB(t, u.ports[3])
	var purged string
	if err := n4.QueryRow("SELECT @@global.gtid_purged").Scan(&purged); err != nil || purged != history {
		t.Fatalf("node4's gtid_purged %q (err %v), want the cloned history %q", purged, err, history)
	}
	if _, err := rootDB(t, u.primaryPort(t)).Exec("INSERT INTO app.t VALUES (3, 'c')"); err != nil {
		t.Fatal(err)
	}
	waitRows(t, u.ports[3], "a,b,c")
	if cl, err := readClusterFile(filepath.Join(dir, "cluster.json")); err != nil || cl.Nodes != 4 {
		t.Fatalf("cluster.json: %+v, %v; want 4 nodes", cl, err)
	}
	out, err := exec.Command(binary(t), "status", "--datadir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "2 acks") || !strings.Contains(string(out), "member_added") {
		t.Fatalf("relaydb status (err %v): want 4 members with 2 acks and the member_added journal entry:\n%s", err, out)
	}
	if code := u.stop(t, syscall.SIGINT); code != 0 {
		t.Fatalf("exit %d after SIGINT:\n%s", code, u.output())
	}
	checkNodesGone(t, u)
}
