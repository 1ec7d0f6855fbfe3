// Command clone measures RelayDB's physical clone (CLONE INSTANCE) against a donor that keeps
// taking writes, in one run, and prints:
//
//   - the donor's sysbench oltp_write_only throughput (transactions/s) without a clone, over
//     -duration, and during a clone (the seconds of sysbench's per-second reports that fall
//     inside the clone), and their ratio;
//   - the clone's duration and rate (MiB/s over the bytes copied);
//   - whether the clone, started as a node of its own and replicating from the donor by
//     auto-position, holds exactly the donor's tables (relaydb checksum exit status 0).
//
// Setup: a donor node (server_id 1) built from this working tree with sysbench's tables
// (-tables × -table-size rows) and a filler table of incompressible rows that brings its store
// to -size; a recipient node (server_id 2) that runs CLONE INSTANCE … DATA DIRECTORY with
// clone_max_data_bandwidth = -bandwidth MiB/s (0: unlimited); the clone is then started as
// server_id 3. All on this machine's loopback: the recipient's work (receiving, hashing,
// writing) shares the CPUs with the donor and sysbench, which a real clone across machines
// would not. Every process is stopped when the run ends, also on an error, Ctrl-C or SIGTERM.
//
// usage: go run ./bench/clone [-size 2GiB] [-duration 30s] [-threads 8] [-bandwidth 0]
//
//	[-tables 4] [-table-size 100000] [-out DIR]
//
// A quick check while developing: -size 200MiB -duration 10s -table-size 10000.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/relaydb/relaydb/test/cluster"
)

type options struct {
	size      int64
	duration  time.Duration
	threads   int
	bandwidth int
	tables    int
	tableSize int
	outDir    string
	bin       string
}

func main() {
	var o options
	size := flag.String("size", "2GiB", "size of the donor's store to clone (KiB, MiB, GiB)")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "length of each sysbench run")
	flag.IntVar(&o.threads, "threads", 8, "sysbench threads")
	flag.IntVar(&o.bandwidth, "bandwidth", 0, "clone_max_data_bandwidth on the recipient, MiB/s (0: unlimited)")
	flag.IntVar(&o.tables, "tables", 4, "sysbench tables")
	flag.IntVar(&o.tableSize, "table-size", 100000, "rows per sysbench table")
	flag.StringVar(&o.outDir, "out", "", "where logs go (default bench/out/clone-<time>)")
	flag.Parse()
	n, err := parseSize(*size)
	if err != nil {
		fmt.Fprintf(os.Stderr, "clone bench: -size: %v\n", err)
		os.Exit(2)
	}
	o.size = n
	if o.outDir == "" {
		o.outDir = filepath.Join("bench", "out", "clone-"+time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "clone bench: %v\n", err)
		os.Exit(2)
	}
	scope := cluster.NewScope(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err = run(ctx, scope, &o)
	stop()
	scope.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "clone bench: %v\n", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func parseSize(s string) (int64, error) {
	m := regexp.MustCompile(`^(\d+)\s*(B|KiB|MiB|GiB)?$`).FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a size such as 2GiB", s)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	switch m[2] {
	case "KiB":
		n <<= 10
	case "MiB":
		n <<= 20
	case "GiB":
		n <<= 30
	}
	return n, nil
}

type node struct {
	p    *cluster.Process
	port int
	dir  string
}

func startNode(scope *cluster.Scope, o *options, name, dir string, id int) (*node, error) {
	ports, err := cluster.FreePorts(1)
	if err != nil {
		return nil, err
	}
	p, err := cluster.StartProcess(scope, cluster.ProcessConfig{
		Name: name, Path: o.bin,
		Args: []string{"server", "--datadir", dir, "--host", "127.0.0.1", "--port", strconv.Itoa(ports[0]),
			"--server-id", strconv.Itoa(id)},
		LogPath:      filepath.Join(o.outDir, name+".log"),
		ReadyLine:    cluster.ReadyServer,
		ReadyTimeout: 10 * time.Minute,
	})
	if err != nil {
		return nil, err
	}
	scope.Cleanup(func() { _ = p.Terminate(60 * time.Second) })
	return &node{p: p, port: ports[0], dir: dir}, nil
}

func (n *node) db() (*sql.DB, error) {
	return sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/?timeout=10s&readTimeout=3600s&writeTimeout=600s", n.port))
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func run(ctx context.Context, scope *cluster.Scope, o *options) error {
	binDir := scope.TempDir()
	logf("building relaydb")
	bin, err := cluster.BuildRelayDB(binDir, false)
	if err != nil {
		return err
	}
	o.bin = bin
	base := scope.TempDir()
	donor, err := startNode(scope, o, "donor", filepath.Join(base, "donor"), 1)
	if err != nil {
		return err
	}
	ddb, err := donor.db()
	if err != nil {
		return err
	}
	defer ddb.Close()
	for _, q := range []string{
		"CREATE DATABASE sbtest", "CREATE DATABASE fill",
		"CREATE TABLE fill.blobs (id INT PRIMARY KEY, b LONGBLOB)",
		"CREATE USER cloner@'%' IDENTIFIED BY 'clonepw'", "GRANT CLONE_ADMIN ON *.* TO cloner@'%'",
		"CREATE USER repl@'%' IDENTIFIED WITH mysql_native_password BY 'replpw'", "GRANT REPLICATION SLAVE ON *.* TO repl@'%'",
	} {
		if _, err := ddb.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	logf("sysbench prepare: %d tables x %d rows", o.tables, o.tableSize)
	if _, err := sysbench(ctx, o, donor.port, "prepare", 0, filepath.Join(o.outDir, "prepare.log")); err != nil {
		return err
	}
	store := filepath.Join(donor.dir, "data")
	logf("loading incompressible rows until the store holds %s", fmtBytes(o.size))
	row := make([]byte, 1<<20)
	for id := 0; dirSize(store) < o.size; id++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		_, _ = rand.Read(row)
		if _, err := ddb.ExecContext(ctx, "INSERT INTO fill.blobs VALUES (?, ?)", id, row); err != nil {
			return fmt.Errorf("load: %w", err)
		}
		if id%256 == 255 {
			logf("  store %s", fmtBytes(dirSize(store)))
		}
	}
	logf("donor store: %s", fmtBytes(dirSize(store)))

	logf("sysbench oltp_write_only, %d threads, %s, no clone", o.threads, o.duration)
	base1, err := sysbench(ctx, o, donor.port, "run", o.duration, filepath.Join(o.outDir, "write_only-alone.log"))
	if err != nil {
		return err
	}
	alone := base1.mean(0, o.duration)

	recip, err := startNode(scope, o, "recipient", filepath.Join(base, "recipient"), 2)
	if err != nil {
		return err
	}
	rdb, err := recip.db()
	if err != nil {
		return err
	}
	defer rdb.Close()
	if _, err := rdb.ExecContext(ctx, fmt.Sprintf("SET GLOBAL clone_max_data_bandwidth = %d", o.bandwidth)); err != nil {
		return err
	}
	target := filepath.Join(base, "clone")
	logf("sysbench oltp_write_only again, with CLONE INSTANCE … DATA DIRECTORY started 2 s in")
	type cloneResult struct {
		start, end time.Time
		err        error
	}
	cloned := make(chan cloneResult, 1)
	sbStart := time.Now()
	go func() {
		time.Sleep(2 * time.Second)
		r := cloneResult{start: time.Now()}
		_, r.err = rdb.ExecContext(ctx, fmt.Sprintf("CLONE INSTANCE FROM cloner@'127.0.0.1':%d IDENTIFIED BY 'clonepw' DATA DIRECTORY = '%s'", donor.port, target))
		r.end = time.Now()
		cloned <- r
	}()
	during, err := sysbench(ctx, o, donor.port, "run", o.duration, filepath.Join(o.outDir, "write_only-clone.log"))
	if err != nil {
		return err
	}
	var cr cloneResult
	select {
	case cr = <-cloned:
	case <-time.After(time.Hour):
		return errors.New("the clone did not end within an hour after sysbench")
	}
	if cr.err != nil {
		return fmt.Errorf("CLONE INSTANCE: %w", cr.err)
	}
	var copied int64
	if err := rdb.QueryRowContext(ctx, "SELECT DATA FROM performance_schema.clone_progress WHERE STAGE = 'FILE COPY'").Scan(&copied); err != nil {
		return err
	}
	cloneDur := cr.end.Sub(cr.start)
	from, to := cr.start.Sub(sbStart), cr.end.Sub(sbStart)
	withClone := during.mean(from, to)
	cloneInWindow := to <= o.duration
	rdb.Close()
	if err := recip.p.Terminate(60 * time.Second); err != nil {
		return err
	}

	logf("starting the clone (server_id 3) and replicating from the donor by auto-position")
	cl, err := startNode(scope, o, "clone", target, 3)
	if err != nil {
		return err
	}
	cdb, err := cl.db()
	if err != nil {
		return err
	}
	defer cdb.Close()
	if _, err := cdb.ExecContext(ctx, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='repl', SOURCE_PASSWORD='replpw', SOURCE_AUTO_POSITION=1", donor.port)); err != nil {
		return err
	}
	if _, err := cdb.ExecContext(ctx, "START REPLICA"); err != nil {
		return err
	}
	var want string
	if err := ddb.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed").Scan(&want); err != nil {
		return err
	}
	catchStart := time.Now()
	for {
		var ok int
		if err := cdb.QueryRowContext(ctx, "SELECT GTID_SUBSET(?, @@GLOBAL.gtid_executed)", want).Scan(&ok); err != nil {
			return err
		}
		if ok == 1 {
			break
		}
		if time.Since(catchStart) > 10*time.Minute {
			return errors.New("the clone did not catch up within 10 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	catchUp := time.Since(catchStart)
	ck := exec.CommandContext(ctx, o.bin, "checksum", "--host", "127.0.0.1", "--port", strconv.Itoa(donor.port), "--user", "root",
		"--replica", net.JoinHostPort("127.0.0.1", strconv.Itoa(cl.port)))
	var ckOut bytes.Buffer
	ck.Stdout, ck.Stderr = &ckOut, &ckOut
	ckErr := ck.Run()
	_ = os.WriteFile(filepath.Join(o.outDir, "checksum.log"), ckOut.Bytes(), 0o644)
	ckCode := ck.ProcessState.ExitCode()

	fmt.Printf("## clone: RelayDB CLONE INSTANCE under sysbench oltp_write_only (%s)\n\n", time.Now().Format("2006-01-02"))
	fmt.Printf("- donor store %s (%d sysbench tables x %d rows + incompressible filler); %d sysbench threads; clone_max_data_bandwidth %d MiB/s (0: unlimited)\n",
		fmtBytes(dirSize(store)), o.tables, o.tableSize, o.threads, o.bandwidth)
	fmt.Printf("- donor oltp_write_only without a clone: %.0f tps (mean over %s)\n", alone, o.duration)
	note := ""
	if !cloneInWindow {
		note = " (the clone outlasted sysbench: only the seconds up to sysbench's end count)"
	}
	fmt.Printf("- donor oltp_write_only during the clone: %.0f tps (mean over the clone's %s)%s\n", withClone, cloneDur.Round(time.Millisecond), note)
	if alone > 0 {
		fmt.Printf("- ratio during / without: %.2f\n", withClone/alone)
	}
	fmt.Printf("- clone: %s in %s = %.1f MiB/s (from the statement to its OK, checkpoint and checksums included)\n",
		fmtBytes(copied), cloneDur.Round(time.Millisecond), float64(copied)/(1<<20)/cloneDur.Seconds())
	fmt.Printf("- the clone caught up with the donor in %s by auto-position\n", catchUp.Round(time.Millisecond))
	if ckErr == nil && ckCode == 0 {
		fmt.Printf("- relaydb checksum: exit 0, every table matches\n")
	} else {
		fmt.Printf("- relaydb checksum: exit %d (see %s)\n", ckCode, filepath.Join(o.outDir, "checksum.log"))
		return fmt.Errorf("checksums differ")
	}
	return nil
}

// series is sysbench's per-second report: tps at each second since the run started.
type series map[int]float64

var reReport = regexp.MustCompile(`^\[ *(\d+)s \] .* tps: ([0-9.]+)`)

// mean is the mean tps over the reports for seconds in (from, to].
func (s series) mean(from, to time.Duration) float64 {
	var sum float64
	var n int
	for sec, tps := range s {
		at := time.Duration(sec) * time.Second
		if at > from && at <= to+500*time.Millisecond {
			sum += tps
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

func sysbench(ctx context.Context, o *options, port int, command string, d time.Duration, logPath string) (series, error) {
	args := []string{"oltp_write_only", "--db-driver=mysql", "--mysql-host=127.0.0.1", "--mysql-port=" + strconv.Itoa(port),
		"--mysql-user=root", "--mysql-password=", "--mysql-db=sbtest", "--tables=" + strconv.Itoa(o.tables),
		"--table-size=" + strconv.Itoa(o.tableSize)}
	if command == "run" {
		args = append(args, "--threads="+strconv.Itoa(o.threads), "--time="+strconv.Itoa(int(d.Seconds())), "--report-interval=1",
			"--mysql-ignore-errors=1213,1205,1020")
	} else {
		args = append(args, "--threads=4")
	}
	cmd := exec.CommandContext(ctx, "sysbench", append(args, command)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	_ = os.WriteFile(logPath, out.Bytes(), 0o644)
	if err != nil {
		return nil, fmt.Errorf("sysbench %s: %w (see %s)", command, err, logPath)
	}
	s := series{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if m := reReport.FindStringSubmatch(sc.Text()); m != nil {
			sec, _ := strconv.Atoi(m[1])
			tps, _ := strconv.ParseFloat(m[2], 64)
			s[sec] = tps
		}
	}
	return s, nil
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
