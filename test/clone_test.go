package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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

	"github.com/go-sql-driver/mysql"
)

// cloneDataMiB is how much incompressible data the clone tests load on the donor: small for CI,
// RELAYDB_CLONE_TEST_MIB for a heavier run.
func cloneDataMiB() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("RELAYDB_CLONE_TEST_MIB"), &n); err == nil && n > 0 {
		return n
	}
	return 24
}

// cloneDonor starts a donor (server_id 1) with the bank tables, a filler table of mib MiB of
// random bytes, the replication user repl and a clone user cloner@'%' with CLONE_ADMIN.
func cloneDonor(t *testing.T, mib int) (*node, *sql.DB) {
	t.Helper()
	p := startNode(t, "", "--server-id", "1")
	db := p.db("")
	createReplUser(t, db)
	createBank(t, db)
	mustExec(t, db, "CREATE USER cloner@'%' IDENTIFIED BY 'clonepw'")
	mustExec(t, db, "GRANT CLONE_ADMIN ON *.* TO cloner@'%'")
	mustExec(t, db, "CREATE DATABASE fill")
	mustExec(t, db, "CREATE TABLE fill.blobs (id INT PRIMARY KEY, b LONGBLOB)")
	row := make([]byte, 64<<10)
	for i := 0; i < mib*16; i++ {
		if _, err := rand.Read(row); err != nil {
			t.Fatal(err)
		}
		mustExec(t, db, "INSERT INTO fill.blobs VALUES (?, ?)", i, row)
	}
	return p, db
}

// writeWhile runs the bank workload on p until stop is closed; the returned function waits
// for the writers and reports how many transfers were acknowledged.
func writeWhile(t *testing.T, p *node) (stop func() int) {
	t.Helper()
	db := p.db("bank")
	db.SetMaxOpenConns(4)
	done := make(chan struct{})
	var acked sync.Map
	wg := bankWorkload(db, 4, done, &acked, 7)
	return func() int {
		close(done)
		wg.Wait()
		n := 0
		acked.Range(func(_, _ any) bool { n++; return true })
		return n
	}
}

// checkClone starts a node on dir (a clone of p), checks that it has its own identity and a
// subset of p's GTIDs, makes it replicate from p by auto-position and compares every table
// with relaydb checksum.
func checkClone(t *testing.T, p *node, dir string, serverID int) *node {
	t.Helper()
	c := startNode(t, dir, "--server-id", fmt.Sprint(serverID))
	verifyClone(t, p, c)
	return c
}

// verifyClone checks the running clone c of p (see checkClone).
func verifyClone(t *testing.T, p, c *node) {
	t.Helper()
	if !strings.Contains(c.log(), "starting one with them as gtid_purged") {
		t.Errorf("the clone did not start a fresh binary log from its GTIDs; log:\n%s", c.log())
	}
	pdb, cdb := p.db(""), c.db("")
	if a, b := queryString(t, pdb, "SELECT @@server_uuid"), queryString(t, cdb, "SELECT @@server_uuid"); a == b {
		t.Fatalf("the clone has the donor's server_uuid %s", a)
	}
	executed := queryString(t, cdb, "SELECT @@GLOBAL.gtid_executed")
	if executed == "" || queryString(t, cdb, "SELECT @@GLOBAL.gtid_purged") != executed {
		t.Errorf("clone: gtid_executed %q, gtid_purged %q: want the cloned set as both", executed, queryString(t, cdb, "SELECT @@GLOBAL.gtid_purged"))
	}
	if queryString(t, pdb, fmt.Sprintf("SELECT GTID_SUBSET('%s', @@GLOBAL.gtid_executed)", executed)) != "1" {
		t.Fatalf("the clone's gtid_executed %s is not the donor's", executed)
	}
	replicaOf(t, c, p, "")
	waitCaughtUp(t, pdb, cdb, 60*time.Second)
	code, out, errOut := runChecksum(t, p, []string{c.addr()})
	if code != 0 {
		t.Fatalf("relaydb checksum exit %d:\n%s\n%s", code, out, errOut)
	}
	if st := replicaStatus(t, cdb); st["Last_Errno"] != "0" || st["Replica_SQL_Running"] != "Yes" {
		t.Fatalf("clone's replication: %v", st)
	}
}

// TestCloneInstanceWhileWriting clones a donor under write load with CLONE INSTANCE … DATA
// DIRECTORY, watching performance_schema.clone_progress, then starts the clone, which must
// replicate from the donor by auto-position and end identical to it.
func TestCloneInstanceWhileWriting(t *testing.T) {
	mib := cloneDataMiB()
	p, _ := cloneDonor(t, mib)
	r := startNode(t, "", "--server-id", "2")
	rdb := r.db("")
	// A quarter of the data per second: the clone lasts about four seconds, long enough to
	// watch it, while the donor keeps taking writes.
	mustExec(t, rdb, fmt.Sprintf("SET GLOBAL clone_max_data_bandwidth = %d", max(1, mib/4)))
	target := filepath.Join(t.TempDir(), "clone1")

	stopWrites := writeWhile(t, p)
	time.Sleep(300 * time.Millisecond)
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := rdb.Exec(fmt.Sprintf("CLONE INSTANCE FROM 'cloner'@'127.0.0.1':%d IDENTIFIED BY 'clonepw' DATA DIRECTORY = '%s'", p.port, target))
		errc <- err
	}()
	var sawCopy bool
	var cloneErr error
	poll := r.db("")
wait:
	for {
		select {
		case cloneErr = <-errc:
			break wait
		case <-time.After(100 * time.Millisecond):
		}
		var state string
		var est, data int64
		err := poll.QueryRow("SELECT STATE, ESTIMATE, DATA FROM performance_schema.clone_progress WHERE STAGE = 'FILE COPY'").Scan(&state, &est, &data)
		if err != nil {
			t.Fatalf("clone_progress: %v", err)
		}
		if state == "In Progress" && est > int64(mib)<<20 && data > 0 && data < est {
			sawCopy = true
		}
	}
	elapsed := time.Since(start)
	acked := stopWrites()
	if cloneErr != nil {
		t.Fatalf("CLONE INSTANCE: %v", cloneErr)
	}
	if !sawCopy {
		t.Errorf("clone_progress never showed FILE COPY in progress with partial data (clone took %s)", elapsed)
	}
	if acked == 0 {
		t.Fatal("no write was acknowledged on the donor during the clone")
	}
	var state, gtids string
	var errNo int
	if err := rdb.QueryRow("SELECT STATE, ERROR_NO, GTID_EXECUTED FROM performance_schema.clone_status").Scan(&state, &errNo, &gtids); err != nil {
		t.Fatal(err)
	}
	if state != "Completed" || errNo != 0 || gtids == "" {
		t.Fatalf("clone_status: state %q, error %d, gtid_executed %q", state, errNo, gtids)
	}
	t.Logf("cloned %d MiB in %s while %d transfers were acknowledged on the donor", mib, elapsed.Round(time.Millisecond), acked)
	checkClone(t, p, target, 3)
}

// runCloneCmd starts relaydb clone; wait for it with cmd.Wait.
func runCloneCmd(t *testing.T, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(relaydbBinary(t), append([]string{"clone"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, &out, &errOut
}

func waitCmd(t *testing.T, cmd *exec.Cmd, within time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(within):
		_ = cmd.Process.Kill()
		t.Fatalf("relaydb clone did not finish within %s", within)
	}
	return -1
}

// stagedFilesComplete counts the staged data files (.sst, immutable) that are whole (their
// manifest size), and the bytes staged so far.
func stagedFilesComplete(dir string) (complete int, staged int64) {
	raw, err := os.ReadFile(filepath.Join(dir, ".clone", "manifest.json"))
	if err != nil {
		return 0, 0
	}
	var m struct {
		Files []struct {
			Name string `json:"name"`
			Size int64  `json:"size"`
		} `json:"files"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return 0, 0
	}
	for _, f := range m.Files {
		st, err := os.Stat(filepath.Join(dir, ".clone", f.Name))
		if err != nil {
			continue
		}
		staged += st.Size()
		if st.Size() == f.Size && strings.HasSuffix(f.Name, ".sst") {
			complete++
		}
	}
	return complete, staged
}

// TestCloneCommandKilledAndResumed runs relaydb clone throttled, kills it with SIGKILL halfway
// (once it has staged half the data and at least one whole data file), checks that nothing was
// installed, runs it again (which keeps the verified files) and checks the clone replicates and
// matches the donor.
func TestCloneCommandKilledAndResumed(t *testing.T) {
	mib := cloneDataMiB()
	p, pdb := cloneDonor(t, mib)
	// Several data files: the flush of each filled memtable makes one.
	mustExec(t, pdb, "CREATE TABLE fill.more (id INT PRIMARY KEY, b LONGBLOB)")
	row := make([]byte, 64<<10)
	for i := 0; i < 16*16; i++ {
		_, _ = rand.Read(row)
		mustExec(t, pdb, "INSERT INTO fill.more VALUES (?, ?)", i, row)
	}
	dir := filepath.Join(t.TempDir(), "clone2")
	from := fmt.Sprintf("cloner:clonepw@127.0.0.1:%d", p.port)
	bandwidth := max(4, mib/8) // MiB/s: about four seconds to the middle
	cmd, _, errOut := runCloneCmd(t, nil, "--from", from, "--datadir", dir, "--max-bandwidth", strconv.Itoa(bandwidth))
	deadline := time.Now().Add(120 * time.Second)
	for {
		if n, staged := stagedFilesComplete(dir); n > 0 && staged >= int64(mib)<<20/2 {
			break
		}
		if cmd.ProcessState != nil || time.Now().After(deadline) {
			t.Fatalf("no whole file staged; stderr:\n%s", errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	complete, staged := stagedFilesComplete(dir)
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Fatal("a killed clone installed data")
	}
	t.Logf("killed with %d whole files, %d bytes staged", complete, staged)

	stopWrites := writeWhile(t, p)
	cmd, out, errOut := runCloneCmd(t, nil, "--from", from, "--datadir", dir)
	code := waitCmd(t, cmd, 180*time.Second)
	stopWrites()
	if code != 0 {
		t.Fatalf("relaydb clone exit %d:\n%s\n%s", code, out.String(), errOut.String())
	}
	if strings.Contains(out.String(), "; 0 B resumed") {
		t.Errorf("the second run fetched everything again:\n%s", out.String())
	}
	for _, want := range []string{"FILE COPY", "%", "/s", "ETA"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("progress bar on stderr lacks %q:\n%s", want, errOut.String())
		}
	}
	t.Logf("relaydb clone: %s", out.String())
	checkClone(t, p, dir, 4)
}

// TestCloneDetectsDamageAndKeepsOldData damages a staged file (test hook), expects the clone to
// fail naming the file and leave the stopped node's own data in place; a clean clone then
// replaces it, the old data being set aside rather than deleted.
func TestCloneDetectsDamageAndKeepsOldData(t *testing.T) {
	p, _ := cloneDonor(t, 4)
	old := startNode(t, "", "--server-id", "5")
	odb := old.db("")
	mustExec(t, odb, "CREATE DATABASE mine")
	mustExec(t, odb, "CREATE TABLE mine.t (id INT PRIMARY KEY)")
	mustExec(t, odb, "INSERT INTO mine.t VALUES (42)")
	oldUUID := queryString(t, odb, "SELECT @@server_uuid")
	odb.Close()
	old.stop()

	from := fmt.Sprintf("cloner:clonepw@127.0.0.1:%d", p.port)
	cmd, out, errOut := runCloneCmd(t, []string{"RELAYDB_CLONE_TEST_DAMAGE=mysql.db"}, "--from", from, "--datadir", old.dataDir, "--quiet")
	if code := waitCmd(t, cmd, 120*time.Second); code != 1 {
		t.Fatalf("damaged clone: exit %d, want 1:\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "verification failed") || !strings.Contains(errOut.String(), "mysql.db") {
		t.Fatalf("damaged clone: no clear verification error:\n%s", errOut.String())
	}
	old.restart("--server-id", "5")
	odb = old.db("")
	if got := queryString(t, odb, "SELECT id FROM mine.t"); got != "42" {
		t.Fatalf("after a failed clone the node's data changed: mine.t holds %q", got)
	}
	odb.Close()
	old.stop()

	cmd, out, errOut = runCloneCmd(t, nil, "--from", from, "--datadir", old.dataDir, "--quiet")
	if code := waitCmd(t, cmd, 120*time.Second); code != 0 {
		t.Fatalf("clone: exit %d:\n%s\n%s", code, out.String(), errOut.String())
	}
	aside, _ := filepath.Glob(filepath.Join(old.dataDir, "clone-old-*", "data"))
	if len(aside) != 1 || !strings.Contains(out.String(), "old data set aside in") {
		t.Fatalf("the node's old data was not set aside (found %v):\n%s", aside, out.String())
	}
	c := checkClone(t, p, old.dataDir, 5)
	cdb := c.db("")
	if got := queryString(t, cdb, "SELECT @@server_uuid"); got != oldUUID {
		t.Errorf("the node's server_uuid changed from %s to %s", oldUUID, got)
	}
	var n int
	if err := cdb.QueryRow("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'mine'").Scan(&n); err != nil || n != 0 {
		t.Errorf("the clone still has the node's own database (n=%d, err=%v)", n, err)
	}
}

// TestCloneInstanceReplacesDataAcrossRestart runs CLONE INSTANCE without DATA DIRECTORY: the
// node stops once the clone is staged and verified, installs it at the next start and reports
// the whole run in clone_status / clone_progress.
func TestCloneInstanceReplacesDataAcrossRestart(t *testing.T) {
	p, _ := cloneDonor(t, 4)
	r := startNode(t, "", "--server-id", "6")
	rdb := r.db("")
	mustExec(t, rdb, "CREATE DATABASE mine")
	if _, err := rdb.Exec(fmt.Sprintf("CLONE INSTANCE FROM cloner@'127.0.0.1':%d IDENTIFIED BY 'clonepw'", p.port)); err != nil {
		t.Fatalf("CLONE INSTANCE: %v", err)
	}
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("the node did not stop to install the clone; log:\n%s", r.log())
	}
	r.restart("--server-id", "6")
	rdb = r.db("")
	rows, err := rdb.Query("SELECT STAGE, STATE FROM performance_schema.clone_progress ORDER BY BEGIN_TIME")
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	for rows.Next() {
		var s, st string
		if err := rows.Scan(&s, &st); err != nil {
			t.Fatal(err)
		}
		stages = append(stages, s+"="+st)
	}
	rows.Close()
	want := "CHECKPOINT=Completed,FILE COPY=Completed,FILE SYNC=Completed,RESTART=Completed,RECOVERY=Completed"
	if strings.Join(stages, ",") != want {
		t.Errorf("clone_progress: %v, want %s", stages, want)
	}
	if got := queryString(t, rdb, "SELECT STATE FROM performance_schema.clone_status"); got != "Completed" {
		t.Errorf("clone_status: %s", got)
	}
	verifyClone(t, p, r)
}

// TestCloneRefusals: wrong password, unreachable donor, non-empty DATA DIRECTORY, missing
// privilege, bad syntax — each a clear MySQL error and nothing changed.
func TestCloneRefusals(t *testing.T) {
	p, pdb := cloneDonor(t, 1)
	mustExec(t, pdb, "CREATE USER weak@'%' IDENTIFIED BY 'weakpw'")
	r := startNode(t, "", "--server-id", "7")
	rdb := r.db("")
	dir := t.TempDir()
	cases := []struct {
		name, stmt string
		code       uint16
	}{
		{"wrong password", fmt.Sprintf("CLONE INSTANCE FROM cloner@'127.0.0.1':%d IDENTIFIED BY 'nope' DATA DIRECTORY = '%s/a'", p.port, dir), 1045},
		{"donor down", fmt.Sprintf("CLONE INSTANCE FROM cloner@'127.0.0.1':%d IDENTIFIED BY 'clonepw' DATA DIRECTORY = '%s/b'", freePort(t), dir), 3862},
		{"no donor privilege", fmt.Sprintf("CLONE INSTANCE FROM weak@'127.0.0.1':%d IDENTIFIED BY 'weakpw' DATA DIRECTORY = '%s/c'", p.port, dir), 1227},
		{"datadir not empty", fmt.Sprintf("CLONE INSTANCE FROM cloner@'127.0.0.1':%d IDENTIFIED BY 'clonepw' DATA DIRECTORY = '%s'", p.port, filepath.Dir(r.logPath)), 1007},
		{"relative datadir", fmt.Sprintf("CLONE INSTANCE FROM cloner@'127.0.0.1':%d IDENTIFIED BY 'clonepw' DATA DIRECTORY = 'rel'", p.port), 1525},
		{"syntax", "CLONE INSTANCE FROM cloner@'127.0.0.1' IDENTIFIED BY 'x'", 1064},
	}
	for _, c := range cases {
		_, err := rdb.Exec(c.stmt)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != c.code {
			t.Errorf("%s: got %v, want error %d", c.name, err, c.code)
		}
	}
	// A user without CLONE_ADMIN on the recipient.
	mustExec(t, rdb, "CREATE USER nobody@'%' IDENTIFIED BY 'x'")
	ndb, err := sql.Open("mysql", fmt.Sprintf("nobody:x@tcp(127.0.0.1:%d)/", r.port))
	if err != nil {
		t.Fatal(err)
	}
	defer ndb.Close()
	_, err = ndb.ExecContext(context.Background(), fmt.Sprintf("CLONE INSTANCE FROM cloner@'127.0.0.1':%d IDENTIFIED BY 'clonepw' DATA DIRECTORY = '%s/d'", p.port, dir))
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1227 {
		t.Errorf("recipient without CLONE_ADMIN: got %v, want 1227", err)
	}
	for _, sub := range []string{"a", "b", "c", "d"} {
		if _, err := os.Stat(filepath.Join(dir, sub, "data")); err == nil {
			t.Errorf("a refused clone installed data in %s", sub)
		}
	}
}

// TestCloneInstanceSurvivesKills interrupts a throttled CLONE INSTANCE … DATA DIRECTORY twice:
// the donor is killed with SIGKILL (the statement fails with a donor error), then, once the
// donor is back and the clone has started again, the recipient is killed with SIGKILL. After
// the recipient's restart the same statement completes, keeping the files already verified.
func TestCloneInstanceSurvivesKills(t *testing.T) {
	mib := cloneDataMiB()
	p, _ := cloneDonor(t, mib)
	r := startNode(t, "", "--server-id", "2")
	target := filepath.Join(t.TempDir(), "clone3")
	stmt := fmt.Sprintf("CLONE INSTANCE FROM 'cloner'@'127.0.0.1':%d IDENTIFIED BY 'clonepw' DATA DIRECTORY = '%s'", p.port, target)
	start := func() chan error {
		rdb := r.db("")
		mustExec(t, rdb, "SET GLOBAL clone_max_data_bandwidth = 4")
		errc := make(chan error, 1)
		go func() {
			_, err := rdb.Exec(stmt)
			errc <- err
		}()
		return errc
	}
	waitStaged := func(errc chan error, atLeast int) {
		t.Helper()
		deadline := time.Now().Add(120 * time.Second)
		for {
			if n, _ := stagedFilesComplete(target); n >= atLeast {
				return
			}
			select {
			case err := <-errc:
				t.Fatalf("the clone ended before it was interrupted: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("no whole data file staged")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	errc := start()
	waitStaged(errc, 1)
	p.kill()
	select {
	case err := <-errc:
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 3862 {
			t.Fatalf("donor killed: got %v, want error 3862", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the clone did not fail after its donor was killed")
	}
	if got := queryString(t, r.db(""), "SELECT STATE FROM performance_schema.clone_status"); got != "Failed" {
		t.Errorf("clone_status after the donor died: %s", got)
	}
	p.restart("--server-id", "1")

	errc = start()
	waitStaged(errc, 2)
	r.kill()
	if _, err := os.Stat(filepath.Join(target, "data")); err == nil {
		t.Fatal("an interrupted clone installed data")
	}
	r.restart("--server-id", "2")
	rdb := r.db("")
	if got := queryString(t, rdb, "SELECT STATE FROM performance_schema.clone_status"); got != "Failed" {
		t.Errorf("clone_status after the recipient was killed mid-clone: %s, want Failed", got)
	}
	mustExec(t, rdb, "SET GLOBAL clone_max_data_bandwidth = 0")
	stopWrites := writeWhile(t, p)
	_, err := rdb.Exec(stmt)
	stopWrites()
	if err != nil {
		t.Fatalf("CLONE INSTANCE after the kills: %v", err)
	}
	if !strings.Contains(r.log(), "clone: resuming") {
		t.Errorf("the last run did not keep the files already staged; log:\n%s", r.log())
	}
	checkClone(t, p, target, 3)
}

// TestCloneDetectsCorruptionInTransit: a donor whose test hook damages the first chunk it serves
// of every data file makes CLONE INSTANCE fail with a verification error naming the file; the
// DATA DIRECTORY gets no data.
func TestCloneDetectsCorruptionInTransit(t *testing.T) {
	t.Setenv("RELAYDB_CLONE_TEST_CORRUPT", ".sst") // inherited by the donor process only
	p, _ := cloneDonor(t, cloneDataMiB())
	os.Unsetenv("RELAYDB_CLONE_TEST_CORRUPT")
	if n := len(regexp.MustCompile(`\.sst`).FindAllString(strings.Join(listFiles(t, filepath.Join(p.dataDir, "data")), " "), -1)); n == 0 {
		t.Fatal("the donor has no data file to damage")
	}
	r := startNode(t, "", "--server-id", "2")
	target := filepath.Join(t.TempDir(), "clone4")
	_, err := r.db("").Exec(fmt.Sprintf("CLONE INSTANCE FROM cloner@'127.0.0.1':%d IDENTIFIED BY 'clonepw' DATA DIRECTORY = '%s'", p.port, target))
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1105 || !strings.Contains(me.Message, "verification failed") || !strings.Contains(me.Message, ".sst") {
		t.Fatalf("corrupt transfer: got %v, want error 1105 naming the damaged .sst", err)
	}
	if _, err := os.Stat(filepath.Join(target, "data")); err == nil {
		t.Fatal("a clone that failed verification installed data")
	}
	if got := queryString(t, r.db(""), "SELECT CONCAT(STATE, ' ', ERROR_NO) FROM performance_schema.clone_status"); got != "Failed 1105" {
		t.Errorf("clone_status: %s", got)
	}
}

func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestCloneInstanceInPlaceKilled kills a node with SIGKILL while CLONE INSTANCE (no DATA
// DIRECTORY) stages a clone of its donor: it restarts on its own data, untouched; the statement
// run again completes, the node stops, and its next start installs the clone.
func TestCloneInstanceInPlaceKilled(t *testing.T) {
	p, _ := cloneDonor(t, cloneDataMiB())
	r := startNode(t, "", "--server-id", "8")
	rdb := r.db("")
	mustExec(t, rdb, "CREATE DATABASE mine")
	mustExec(t, rdb, "SET GLOBAL clone_max_data_bandwidth = 4")
	stmt := fmt.Sprintf("CLONE INSTANCE FROM cloner@'127.0.0.1':%d IDENTIFIED BY 'clonepw'", p.port)
	errc := make(chan error, 1)
	go func() {
		_, err := rdb.Exec(stmt)
		errc <- err
	}()
	deadline := time.Now().Add(120 * time.Second)
	for {
		if n, _ := stagedFilesComplete(r.dataDir); n > 0 {
			break
		}
		select {
		case err := <-errc:
			t.Fatalf("the clone ended before it was interrupted: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no whole data file staged")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.kill()
	r.restart("--server-id", "8")
	rdb = r.db("")
	if got := queryString(t, rdb, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'mine'"); got != "1" {
		t.Fatal("the node lost its own data when a clone was interrupted")
	}
	if got := queryString(t, rdb, "SELECT STATE FROM performance_schema.clone_status"); got != "Failed" {
		t.Errorf("clone_status after the kill: %s", got)
	}
	mustExec(t, rdb, "SET GLOBAL clone_max_data_bandwidth = 0")
	if _, err := rdb.Exec(stmt); err != nil {
		t.Fatalf("CLONE INSTANCE run again: %v", err)
	}
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("the node did not stop to install the clone; log:\n%s", r.log())
	}
	if !strings.Contains(r.log(), "clone: resuming") {
		t.Errorf("the second run did not keep the staged files")
	}
	r.restart("--server-id", "8")
	if aside, _ := filepath.Glob(filepath.Join(r.dataDir, "clone-old-*", "data")); len(aside) != 1 {
		t.Errorf("old data not set aside: %v", aside)
	}
	verifyClone(t, p, r)
}
