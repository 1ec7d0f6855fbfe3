// Command contention measures RelayDB against MariaDB 10.11 where transactions contend for the
// same rows, in one run, and prints figures and ratios (RelayDB / MariaDB):
//
//   - the FOR UPDATE transfer over a few hot accounts, at each client count of -clients, for
//     -duration each:
//     BEGIN; SELECT id, balance FROM accounts WHERE id IN (?,?) FOR UPDATE;
//     UPDATE accounts SET balance = balance - ? WHERE id = ?;
//     UPDATE accounts SET balance = balance + ? WHERE id = ?; COMMIT
//     A transaction that fails is rolled back and counted by MySQL error code; it is not retried
//     (the client draws the next transfer). Reported: commits/s, errors/s per code, commit
//     latency, and afterwards the invariants on both servers: the sum of the balances is
//     unchanged, and every account holds exactly what the acknowledged transfers say;
//   - sysbench oltp_write_only and oltp_read_write at -sysbench-threads threads, through
//     bench/sysbench-compare.sh (which starts and stops its own servers the same way), with
//     server-side prepared statements as in the fast-path figures of BENCHMARKS.md:
//     transactions/s and the errors sysbench rolled back and retried (1213, 1205, 1020) per
//     second.
//
// Servers: a single RelayDB node with its defaults (durable: the binlog is fsynced per commit
// group), built from this working tree, and MariaDB alone started by
// ../shared/anchors/mariadb-pair.sh start-primary (sync_binlog=1,
// innodb_flush_log_at_trx_commit=1). Each listens on a free loopback port with a fresh data
// directory; only one runs at a time (MariaDB first), so neither pays for the other's background
// work. Both are stopped when the run ends, also on an error, Ctrl-C or SIGTERM.
//
// usage: go run ./bench/contention [-clients 4,16] [-duration 20s] [-accounts 10]
//
//	[-sysbench 60s] [-sysbench-threads 8] [-sysbench-table-size 100000] [-ps=true] [-out DIR]
//
// A quick check while developing: -duration 3s -sysbench 5s -sysbench-table-size 10000.
// -sysbench 0 skips sysbench.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/relaydb/relaydb/test/cluster"
)

// initialBalance is every account's balance before each run.
const initialBalance = 1_000_000

type options struct {
	accounts      int
	clients       []int
	duration      time.Duration
	prepared      bool
	relayArgs     string
	sbDuration    time.Duration
	sbThreads     int
	sbTableSize   int
	sharedDir     string
	outDir        string
	root          string
	relayCommit   string
	mariaVersion  string
	relayBin      string
	started       time.Time
	sysbenchError error
}

func main() {
	os.Exit(run())
}

func run() int {
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "contention:", err)
		return 1
	}
	o := options{root: root, started: time.Now()}
	clients := flag.String("clients", "4,16", "client counts of the FOR UPDATE transfer, comma-separated")
	flag.IntVar(&o.accounts, "accounts", 10, "accounts the transfers move money between (the hot rows)")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "how long the transfer runs at each client count")
	flag.BoolVar(&o.prepared, "ps", true, "transfer statements as server-side prepared statements, prepared once per connection (false: text protocol)")
	flag.StringVar(&o.relayArgs, "relaydb-args", "", "extra options for relaydb server, space-separated (e.g. --pprof-addr 127.0.0.1:6060 to profile)")
	flag.DurationVar(&o.sbDuration, "sysbench", 60*time.Second, "duration of each sysbench workload (0: skip sysbench)")
	flag.IntVar(&o.sbThreads, "sysbench-threads", 8, "sysbench threads")
	flag.IntVar(&o.sbTableSize, "sysbench-table-size", 100000, "rows per sysbench table (4 tables)")
	flag.StringVar(&o.sharedDir, "shared", filepath.Join(root, "..", "shared"), "folder holding anchors/mariadb-pair.sh")
	flag.StringVar(&o.outDir, "out", filepath.Join(root, "bench", "out", "contention-"+time.Now().Format("20060102-150405")), "folder for server and sysbench logs")
	flag.Parse()
	for _, s := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "contention: bad -clients %q\n", *clients)
			return 2
		}
		o.clients = append(o.clients, n)
	}
	if o.accounts < 2 {
		fmt.Fprintln(os.Stderr, "contention: -accounts must be at least 2")
		return 2
	}
	if o.sbDuration > 0 && o.sbDuration < time.Second {
		fmt.Fprintln(os.Stderr, "contention: -sysbench is whole seconds (or 0 to skip)")
		return 2
	}

	// Ctrl-C and SIGTERM cancel ctx; the deferred scope.Close then stops both servers.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	scope := cluster.NewScope(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	defer scope.Close()

	if err := o.prepare(scope); err != nil {
		fmt.Fprintln(os.Stderr, "contention:", err)
		return 1
	}
	logf("logs in %s", o.outDir)

	var res [2][]transferResult // mariadb, relaydb
	for i, target := range []string{"mariadb", "relaydb"} {
		r, err := o.transferOn(ctx, scope, target)
		res[i] = r
		if err != nil {
			fmt.Fprintf(os.Stderr, "contention: %s: %v\n", target, err)
			return 1
		}
	}
	var sb map[string]sbFigures
	if o.sbDuration > 0 {
		sb, o.sysbenchError = o.sysbench(ctx)
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "contention: interrupted")
			return 130
		}
	}

	report := o.report(res[0], res[1], sb)
	fmt.Print(report)
	if err := os.WriteFile(filepath.Join(o.outDir, "report.md"), []byte(report), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "contention:", err)
	}
	for _, rs := range res {
		for _, r := range rs {
			if r.invariantErr != "" {
				return 3
			}
		}
	}
	if o.sysbenchError != nil {
		return 2
	}
	return 0
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func repoRoot() (string, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the source tree")
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(self))), nil // bench/contention/main.go → root
}

// prepare checks the tools, makes the log folder, notes the commit and builds relaydb.
func (o *options) prepare(scope *cluster.Scope) error {
	tools := []string{"mariadbd", "mariadb", "mariadb-install-db", "bash", "git"}
	if o.sbDuration > 0 {
		tools = append(tools, "sysbench", "curl", "timeout")
	}
	for _, c := range tools {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("%s not found (apt-get install -y sysbench mariadb-server mariadb-client curl)", c)
		}
	}
	if _, err := os.Stat(o.pairScript()); err != nil {
		return fmt.Errorf("%s not found (set -shared): %w", o.pairScript(), err)
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return err
	}
	// Read before building: other commits may land while the benchmark runs.
	out, err := exec.Command("git", "-C", o.root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return fmt.Errorf("git rev-parse: %w", err)
	}
	o.relayCommit = strings.TrimSpace(string(out))
	if exec.Command("git", "-C", o.root, "diff", "--quiet", "HEAD", "--").Run() != nil {
		o.relayCommit += "+dirty"
	}
	if v, err := exec.Command("mariadbd", "--version").Output(); err == nil {
		if f := strings.Fields(string(v)); len(f) >= 3 {
			o.mariaVersion = f[2]
		}
	}
	logf("building relaydb at %s", o.relayCommit)
	o.relayBin, err = cluster.BuildRelayDB(scope.TempDir(), false)
	return err
}

func (o *options) pairScript() string {
	return filepath.Join(o.sharedDir, "anchors", "mariadb-pair.sh")
}

// --- servers --------------------------------------------------------------------------------

// server is one running server of the comparison; stop shuts it down (idempotent, also
// registered with the scope).
type server struct {
	name string
	port int
	stop func()
}

func freePort() (int, error) {
	ps, err := cluster.FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ps[0], nil
}

// dsn is root's data source name on database (may be empty).
func dsn(port int, database string) string {
	return fmt.Sprintf("root@tcp(127.0.0.1:%d)/%s?timeout=10s&readTimeout=120s&writeTimeout=120s", port, database)
}

// startRelayDB starts a single node with default options on a fresh datadir.
func (o *options) startRelayDB(scope *cluster.Scope) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf("relaydb: starting on 127.0.0.1:%d", port)
	p, err := cluster.StartProcess(scope, cluster.ProcessConfig{
		Name: "relaydb",
		Path: o.relayBin,
		Args: append([]string{"server", "--datadir", filepath.Join(scope.TempDir(), "data"), "--host", "127.0.0.1",
			"--port", strconv.Itoa(port), "--server-id", "1"}, strings.Fields(o.relayArgs)...),
		LogPath:   filepath.Join(o.outDir, "relaydb.log"),
		ReadyLine: cluster.ReadyServer,
	})
	if err != nil {
		return nil, err
	}
	stop := sync.OnceFunc(func() {
		if err := p.Terminate(60 * time.Second); err != nil {
			logf("relaydb: %v", err)
		}
	})
	return &server{name: "relaydb", port: port, stop: stop}, nil
}

// startMariaDB starts MariaDB alone with mariadb-pair.sh start-primary in a fresh folder. The
// script runs in its own process group (mariadbd stays in it), so that the terminal's Ctrl-C
// reaches only this program, which then stops the server in order.
func (o *options) startMariaDB(ctx context.Context, scope *cluster.Scope) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	base := scope.TempDir()
	env := append(os.Environ(), "BASE="+base, "PRIMARY_PORT="+strconv.Itoa(port))
	pair := func(arg string) *exec.Cmd {
		c := exec.Command("bash", o.pairScript(), arg)
		c.Env = env
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return c
	}
	pidOf := func() int {
		b, _ := os.ReadFile(filepath.Join(base, "primary", "pid"))
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return pid
	}
	var pgid int
	stop := sync.OnceFunc(func() {
		pid := pidOf()
		if out, err := pair("stop").CombinedOutput(); err != nil {
			logf("mariadb-pair.sh stop: %v %s", err, out)
		}
		gone := func() bool { return pid == 0 || syscall.Kill(pid, 0) != nil }
		for deadline := time.Now().Add(60 * time.Second); !gone() && time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
		}
		if !gone() {
			logf("mariadb: pid %d did not exit within 60 s of SIGTERM; killing it", pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if pgid > 0 {
			syscall.Kill(-pgid, syscall.SIGKILL) // anything else the script left in its group
		}
		copyFile(filepath.Join(base, "primary", "log"), filepath.Join(o.outDir, "mariadb.log"))
	})
	scope.Cleanup(stop)
	logf("mariadb: starting (mariadb-pair.sh start-primary) on 127.0.0.1:%d", port)
	cmd := pair("start-primary")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("mariadb-pair.sh: %w", err)
	}
	pgid = cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("mariadb-pair.sh start-primary: %v\n%s", err, out.String())
	}
	return &server{name: "mariadb", port: port, stop: stop}, nil
}

func copyFile(from, to string) {
	b, err := os.ReadFile(from)
	if err == nil {
		_ = os.WriteFile(to, b, 0o644)
	}
}

// --- the FOR UPDATE transfer ---------------------------------------------------------------

// transferResult is one run of the transfer at one client count on one server.
type transferResult struct {
	clients    int
	elapsed    time.Duration
	commits    int64
	errors     map[int]int64 // by MySQL error code; 0: not a MySQL error (connection, timeout)
	ambiguous  int64         // COMMITs whose outcome the client cannot know
	latencies  []time.Duration
	sumBefore  int64
	sumAfter   int64
	mismatched int // accounts whose balance differs from the acknowledged transfers
	// deltas is the net change the acknowledged transfers made, by account id.
	deltas []int64
	load   string // 1-minute load average at the end of the run
	// invariantErr is empty when the sum is unchanged and every balance is what the
	// acknowledged transfers say.
	invariantErr string
}

func (r transferResult) perSec(n int64) float64 { return float64(n) / r.elapsed.Seconds() }

func (r transferResult) errorCount() int64 {
	var n int64
	for _, v := range r.errors {
		n += v
	}
	return n
}

// transferOn starts target, runs the transfer at every client count and stops it.
func (o *options) transferOn(ctx context.Context, scope *cluster.Scope, target string) ([]transferResult, error) {
	var s *server
	var err error
	if target == "relaydb" {
		s, err = o.startRelayDB(scope)
	} else {
		s, err = o.startMariaDB(ctx, scope)
	}
	if err != nil {
		return nil, err
	}
	defer s.stop()
	if err := setup(ctx, s.port); err != nil {
		return nil, fmt.Errorf("set up: %w", err)
	}
	// Statements name tables without their database: RelayDB at 368f992 answers
	// DELETE FROM contention.accounts with error 1049 when the session has no database.
	d := dsn(s.port, "contention")
	if !o.prepared {
		d += "&interpolateParams=true"
	}
	db, err := sql.Open("mysql", d)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var out []transferResult
	for _, n := range o.clients {
		if err := o.resetAccounts(ctx, db); err != nil {
			return out, err
		}
		logf("%s: FOR UPDATE transfer, %d clients, %d accounts, %s", target, n, o.accounts, o.duration)
		r, err := o.transfer(ctx, d, n)
		if err != nil {
			return out, err
		}
		o.checkInvariant(ctx, db, &r)
		out = append(out, r)
		logf("%s: %d clients: %.0f commits/s, errors %s, %s", target, n, r.perSec(r.commits), errorText(r, false), invariantText(r))
	}
	return out, nil
}

// setup creates the database and the accounts table afresh.
func setup(ctx context.Context, port int) error {
	db, err := sql.Open("mysql", dsn(port, ""))
	if err != nil {
		return err
	}
	defer db.Close()
	for _, q := range []string{
		"DROP DATABASE IF EXISTS contention",
		"CREATE DATABASE contention",
		"CREATE TABLE contention.accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL)",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func (o *options) resetAccounts(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, "DELETE FROM accounts"); err != nil {
		return err
	}
	var vals []string
	for i := 1; i <= o.accounts; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d)", i, initialBalance))
	}
	_, err := db.ExecContext(ctx, "INSERT INTO accounts VALUES "+strings.Join(vals, ", "))
	return err
}

// transfer runs n clients for o.duration against dsn and returns what they saw; the
// invariants are checked by the caller.
func (o *options) transfer(ctx context.Context, dsn string, n int) (transferResult, error) {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return transferResult{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	type worker struct {
		conn      *sql.Conn
		stmts     [3]*sql.Stmt
		deltas    []int64 // by account id; acknowledged transfers only
		commits   int64
		errors    map[int]int64
		ambiguous int64
		lat       []time.Duration
	}
	queries := [3]string{
		"SELECT id, balance FROM accounts WHERE id IN (?, ?) FOR UPDATE",
		"UPDATE accounts SET balance = balance - ? WHERE id = ?",
		"UPDATE accounts SET balance = balance + ? WHERE id = ?",
	}
	ws := make([]*worker, n)
	defer func() {
		for _, w := range ws {
			if w != nil && w.conn != nil {
				w.conn.Close()
			}
		}
	}()
	// Connections are opened and statements prepared before the clock starts.
	for i := range ws {
		w := &worker{deltas: make([]int64, o.accounts+1), errors: map[int]int64{}}
		ws[i] = w
		if w.conn, err = db.Conn(ctx); err != nil {
			return transferResult{}, err
		}
		if o.prepared {
			for j, q := range queries {
				if w.stmts[j], err = w.conn.PrepareContext(ctx, q); err != nil {
					return transferResult{}, fmt.Errorf("prepare %s: %w", q, err)
				}
			}
		}
	}
	start := time.Now()
	end := start.Add(o.duration)
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(int64(i + 1)))
			for time.Now().Before(end) && ctx.Err() == nil {
				from := 1 + rnd.Intn(o.accounts)
				to := 1 + rnd.Intn(o.accounts-1)
				if to >= from {
					to++
				}
				amt := int64(1 + rnd.Intn(100))
				t0 := time.Now()
				committed, ambiguous, err := transferOnce(ctx, w.conn, w.stmts, queries, from, to, amt)
				switch {
				case committed:
					w.commits++
					w.lat = append(w.lat, time.Since(t0))
					w.deltas[from] -= amt
					w.deltas[to] += amt
				case ctx.Err() != nil:
					return
				default:
					w.errors[errCode(err)]++
					if ambiguous {
						w.ambiguous++
					}
				}
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return transferResult{}, ctx.Err()
	}
	r := transferResult{clients: n, elapsed: time.Since(start), errors: map[int]int64{}}
	deltas := make([]int64, o.accounts+1)
	for _, w := range ws {
		r.commits += w.commits
		r.ambiguous += w.ambiguous
		r.latencies = append(r.latencies, w.lat...)
		for c, v := range w.errors {
			r.errors[c] += v
		}
		for id, d := range w.deltas {
			deltas[id] += d
		}
	}
	r.sumBefore = int64(o.accounts) * initialBalance
	r.deltas = deltas
	r.load = loadAverage()
	return r, nil
}

// transferOnce runs one transfer on conn and rolls it back on any error. committed is true only
// when COMMIT returned OK; ambiguous when COMMIT itself failed without a server error (the
// transaction may or may not have committed).
func transferOnce(ctx context.Context, conn *sql.Conn, stmts [3]*sql.Stmt, queries [3]string, from, to int, amt int64) (committed, ambiguous bool, err error) {
	tctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	exec := func(i int, args ...any) error {
		if stmts[i] != nil {
			_, err := stmts[i].ExecContext(tctx, args...)
			return err
		}
		_, err := conn.ExecContext(tctx, queries[i], args...)
		return err
	}
	fail := func(err error) (bool, bool, error) {
		// A deadlock has already rolled the transaction back; a lock wait timeout only the
		// statement. ROLLBACK ends the transaction either way.
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		return false, false, err
	}
	if _, err := conn.ExecContext(tctx, "BEGIN"); err != nil {
		return fail(err)
	}
	var rows *sql.Rows
	if stmts[0] != nil {
		rows, err = stmts[0].QueryContext(tctx, from, to)
	} else {
		rows, err = conn.QueryContext(tctx, queries[0], from, to)
	}
	if err != nil {
		return fail(err)
	}
	for rows.Next() {
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	if err := exec(1, amt, from); err != nil {
		return fail(err)
	}
	if err := exec(2, amt, to); err != nil {
		return fail(err)
	}
	if _, err := conn.ExecContext(tctx, "COMMIT"); err != nil {
		var me *mysql.MySQLError
		if !errors.As(err, &me) {
			return false, true, err
		}
		return fail(err)
	}
	return true, false, nil
}

// loadAverage is the 1-minute load average ("?" where unknown): much more than the run's own
// clients and server can account for means other work shared the machine.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

func errCode(err error) int {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return int(me.Number)
	}
	return 0
}

// checkInvariant reads the accounts after a run: the sum must be unchanged and each balance
// must be the initial one plus the acknowledged transfers.
func (o *options) checkInvariant(ctx context.Context, db *sql.DB, r *transferResult) {
	rows, err := db.QueryContext(ctx, "SELECT id, balance FROM accounts ORDER BY id")
	if err != nil {
		r.invariantErr = err.Error()
		return
	}
	defer rows.Close()
	seen := 0
	var diffs []string
	for rows.Next() {
		var id int
		var bal int64
		if err := rows.Scan(&id, &bal); err != nil {
			r.invariantErr = err.Error()
			return
		}
		seen++
		r.sumAfter += bal
		if id >= 1 && id <= o.accounts {
			if want := initialBalance + r.deltas[id]; bal != want {
				r.mismatched++
				diffs = append(diffs, fmt.Sprintf("id %d: %d, acknowledged transfers say %d", id, bal, want))
			}
		}
	}
	if err := rows.Err(); err != nil {
		r.invariantErr = err.Error()
		return
	}
	var problems []string
	if seen != o.accounts {
		problems = append(problems, fmt.Sprintf("%d accounts, want %d", seen, o.accounts))
	}
	if r.sumAfter != r.sumBefore {
		problems = append(problems, fmt.Sprintf("sum %d, want %d", r.sumAfter, r.sumBefore))
	}
	if len(diffs) > 0 && r.ambiguous == 0 {
		problems = append(problems, strings.Join(diffs, "; "))
	}
	r.invariantErr = strings.Join(problems, "; ")
}

func invariantText(r transferResult) string {
	if r.invariantErr != "" {
		return "VIOLATED: " + r.invariantErr
	}
	s := fmt.Sprintf("sum %d unchanged", r.sumAfter)
	if r.ambiguous > 0 {
		s += fmt.Sprintf(" (%d COMMITs of unknown outcome: balances not compared)", r.ambiguous)
	} else {
		s += ", balances match the acknowledged transfers"
	}
	return s
}

// errorText is "0" or "1213: 12.3/s" (rates) or "1213: 246" (counts), codes in order.
func errorText(r transferResult, rates bool) string {
	if len(r.errors) == 0 {
		return "0"
	}
	codes := make([]int, 0, len(r.errors))
	for c := range r.errors {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		name := strconv.Itoa(c)
		if c == 0 {
			name = "non-MySQL"
		}
		if rates {
			parts = append(parts, fmt.Sprintf("%s: %s/s", name, num(r.perSec(r.errors[c]))))
		} else {
			parts = append(parts, fmt.Sprintf("%s: %d", name, r.errors[c]))
		}
	}
	return strings.Join(parts, ", ")
}

// failedShare is the share of attempted transactions that failed, e.g. "12.5 %".
func failedShare(r transferResult) string {
	failed := r.errorCount()
	return fmt.Sprintf("%.1f %%", 100*float64(failed)/float64(max(failed+r.commits, 1)))
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(min(i, len(s))-1, 0)]
}

// --- sysbench, through bench/sysbench-compare.sh -----------------------------------------------

// sbFigures is one sysbench run: transactions/s and errors sysbench ignored (rolled back and
// retried) per second, threads ended by an error, and the codes sysbench printed.
type sbFigures struct {
	tps, ignoredPerSec float64
	ignored            int64
	failedThreads      int
	codes              string
	ok                 bool
}

var (
	sbTxRe      = regexp.MustCompile(`(?m)^\s*transactions:\s*\d+\s*\(([0-9.]+) per sec\.\)`)
	sbIgnoredRe = regexp.MustCompile(`(?m)^\s*ignored errors:\s*(\d+)\s*\(([0-9.]+) per sec\.\)`)
	sbCodeRe    = regexp.MustCompile(`(?:returned error|MySQL error:) (\d+)`)
)

func (o *options) sbWorkloads() []string {
	return []string{"oltp_write_only", "oltp_read_write"}
}

// sysbench runs bench/sysbench-compare.sh with the write workloads only, using the relaydb
// binary built here, and reads its per-run sysbench logs. Keys are "target|workload".
func (o *options) sysbench(ctx context.Context) (map[string]sbFigures, error) {
	var wl []string
	for _, w := range o.sbWorkloads() {
		wl = append(wl, fmt.Sprintf("%s:%d", w, o.sbThreads))
	}
	dir := filepath.Join(o.outDir, "sysbench")
	secs := int(o.sbDuration / time.Second)
	logf("sysbench: bench/sysbench-compare.sh --workloads %s --duration %d (table size %d); its logs in %s",
		strings.Join(wl, ","), secs, o.sbTableSize, dir)
	cmd := exec.Command("bash", filepath.Join(o.root, "bench", "sysbench-compare.sh"),
		"--workloads", strings.Join(wl, ","), "--duration", strconv.Itoa(secs),
		"--tables", "4", "--table-size", strconv.Itoa(o.sbTableSize))
	// The script's defaults otherwise: server-side prepared statements (--db-ps-mode=auto), as in
	// the fast-path figures. SYSBENCH_ARGS from the caller's environment is dropped on purpose.
	cmd.Env = append(filteredEnv("SYSBENCH_ARGS", "RELAYDB_ARGS", "ONLY", "WORKLOADS", "PROFILE", "CHECKSUM"),
		"RELAYDB_BIN="+o.relayBin, "OUT_DIR="+dir, "SHARED_DIR="+o.sharedDir)
	cmd.Dir = o.root
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	// Own process group: a Ctrl-C reaches this program, which passes SIGTERM on; the script's
	// trap then stops its servers.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case err = <-done:
		case <-time.After(180 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			err = <-done
		}
	}
	_ = os.WriteFile(filepath.Join(o.outDir, "sysbench-compare.out"), stdout.Bytes(), 0o644)
	if err != nil {
		err = fmt.Errorf("sysbench-compare.sh: %w (its report: %s)", err, filepath.Join(o.outDir, "sysbench-compare.out"))
		logf("%v", err)
	}
	figs := map[string]sbFigures{}
	for _, t := range []string{"mariadb", "relaydb"} {
		for _, w := range o.sbWorkloads() {
			b, rerr := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%s-%s-%d.log", t, w, o.sbThreads)))
			if rerr != nil {
				continue
			}
			figs[t+"|"+w] = parseSysbench(string(b))
		}
	}
	return figs, err
}

func filteredEnv(drop ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(drop, k) {
			env = append(env, kv)
		}
	}
	return env
}

func parseSysbench(log string) sbFigures {
	var f sbFigures
	if m := sbTxRe.FindStringSubmatch(log); m != nil {
		f.tps, _ = strconv.ParseFloat(m[1], 64)
		f.ok = true
	}
	if m := sbIgnoredRe.FindStringSubmatch(log); m != nil {
		f.ignored, _ = strconv.ParseInt(m[1], 10, 64)
		f.ignoredPerSec, _ = strconv.ParseFloat(m[2], 64)
	}
	f.failedThreads = strings.Count(log, "function failed")
	counts := map[string]int{}
	for _, m := range sbCodeRe.FindAllStringSubmatch(log, -1) {
		counts[m[1]]++
	}
	var codes []string
	for c, n := range counts {
		codes = append(codes, fmt.Sprintf("%s x%d", c, n))
	}
	sort.Strings(codes)
	f.codes = strings.Join(codes, ", ")
	return f
}

// --- report ----------------------------------------------------------------------------------

func num(v float64) string {
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	s := strconv.FormatFloat(v, 'f', 0, 64)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func ratio(r, m float64) string {
	if m <= 0 {
		return "—"
	}
	return fmt.Sprintf("**%.2f**", r/m)
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}

func (o *options) report(mres, rres []transferResult, sb map[string]sbFigures) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	mem := "?"
	if m, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(m), "\n", 2)[0], "MemTotal:"), "%f", &kb)
		mem = fmt.Sprintf("%.0f GiB", kb/1048576)
	}
	uname, _ := exec.Command("uname", "-sr").Output()
	sbVer, _ := exec.Command("sysbench", "--version").Output()
	ps := "server-side prepared statements, prepared once per connection"
	if !o.prepared {
		ps = "text protocol (parameters interpolated by the client)"
	}
	w("\n## Contention: RelayDB vs MariaDB (%s)\n\n", o.started.UTC().Format("2006-01-02 15:04 MST"))
	w("- command: `%s`\n", strings.TrimSpace("go run ./bench/contention "+strings.Join(os.Args[1:], " ")))
	w("- machine: %d cores, %s, %s\n", runtime.NumCPU(), mem, strings.TrimSpace(string(uname)))
	w("- versions: RelayDB %s (%s), MariaDB %s (mariadb-pair.sh start-primary), %s\n",
		o.relayCommit, runtime.Version(), o.mariaVersion, strings.TrimSpace(string(sbVer)))
	w("- transfer: %d accounts, %s per client count, %s; a failed transaction is rolled back, counted and not retried\n",
		o.accounts, o.duration, ps)
	if sb != nil {
		w("- sysbench: 4 tables x %d rows, %d threads, %d s per workload, server-side prepared statements (sysbench's default --db-ps-mode=auto, as the fast-path figures of 2026-11-22); errors = transactions sysbench rolled back and retried (1213, 1205 or 1020: sysbench does not say which)\n",
			o.sbTableSize, o.sbThreads, int(o.sbDuration/time.Second))
	}
	w("\n| workload | clients | MariaDB commits/s | RelayDB commits/s | RelayDB/MariaDB | MariaDB errors/s | RelayDB errors/s | failed share M / R | commit p50 / p99 ms, MariaDB | RelayDB |\n")
	w("| --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |\n")
	for i := range max(len(mres), len(rres)) {
		var m, r transferResult
		if i < len(mres) {
			m = mres[i]
		}
		if i < len(rres) {
			r = rres[i]
		}
		if m.elapsed == 0 || r.elapsed == 0 {
			continue
		}
		mc, rc := m.perSec(m.commits), r.perSec(r.commits)
		w("| FOR UPDATE transfer, %d accounts | %d | %s | %s | %s | %s | %s | %s / %s | %s / %s | %s / %s |\n",
			o.accounts, r.clients, num(mc), num(rc), ratio(rc, mc), errorText(m, true), errorText(r, true),
			failedShare(m), failedShare(r),
			ms(percentile(m.latencies, 50)), ms(percentile(m.latencies, 99)),
			ms(percentile(r.latencies, 50)), ms(percentile(r.latencies, 99)))
	}
	for _, wl := range o.sbWorkloads() {
		if sb == nil {
			break
		}
		m, mok := sb["mariadb|"+wl]
		r, rok := sb["relaydb|"+wl]
		fig := func(f sbFigures, ok bool, v float64) string {
			if !ok || !f.ok {
				return "FAIL"
			}
			return num(v)
		}
		rat := "—"
		if mok && rok && m.ok && r.ok {
			rat = ratio(r.tps, m.tps)
		}
		share := func(f sbFigures, ok bool) string {
			if !ok || !f.ok || f.tps+f.ignoredPerSec == 0 {
				return "—"
			}
			return fmt.Sprintf("%.1f %%", 100*f.ignoredPerSec/(f.tps+f.ignoredPerSec))
		}
		retried := func(f sbFigures, ok bool) string {
			if !ok || !f.ok {
				return "FAIL"
			}
			if f.ignored == 0 {
				return "0"
			}
			return num(f.ignoredPerSec) + "/s retried"
		}
		w("| sysbench %s | %d | %s | %s | %s | %s | %s | %s / %s | | |\n", wl, o.sbThreads,
			fig(m, mok, m.tps), fig(r, rok, r.tps), rat,
			retried(m, mok), retried(r, rok), share(m, mok), share(r, rok))
	}
	w("\nInvariants after each transfer run (sum of balances unchanged; every balance equal to the\n")
	w("initial one plus the acknowledged transfers):\n\n")
	for _, x := range []struct {
		name string
		rs   []transferResult
	}{{"MariaDB", mres}, {"RelayDB", rres}} {
		for _, r := range x.rs {
			w("- %s, %d clients: %d commits, errors %s: %s\n", x.name, r.clients, r.commits, errorText(r, false), invariantText(r))
		}
	}
	var loads []string
	for i := range min(len(mres), len(rres)) {
		loads = append(loads, fmt.Sprintf("%d clients %s/%s", rres[i].clients, mres[i].load, rres[i].load))
	}
	w("- 1-minute load average at the end of each transfer run, MariaDB/RelayDB (the run itself accounts for up to about 2): %s\n",
		strings.Join(loads, ", "))
	if sb != nil {
		for _, t := range []string{"mariadb", "relaydb"} {
			for _, wl := range o.sbWorkloads() {
				f := sb[t+"|"+wl]
				if f.failedThreads > 0 || f.codes != "" {
					w("- sysbench %s %s: %d threads ended by an error; codes printed: %s\n", t, wl, f.failedThreads, f.codes)
				}
			}
		}
		if o.sysbenchError != nil {
			w("- %v\n", o.sysbenchError)
		}
		w("- sysbench-compare.sh's own table (peak memory, commits per binlog fsync, load): %s\n",
			filepath.Join(o.outDir, "sysbench-compare.out"))
	}
	w("\nlogs: %s\n", o.outDir)
	return b.String()
}
