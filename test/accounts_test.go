package test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/relaydb/relaydb/internal/gtid"
)

// login connects to n as user/password and runs a query, returning the error if either fails.
func login(n *node, user, password, query string) error {
	db, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(127.0.0.1:%d)/?timeout=10s&readTimeout=30s", user, password, n.port))
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	return rows.Close()
}

// showGrants is SHOW GRANTS FOR account, one line per grant ("" and the error if it fails).
func showGrants(db *sql.DB, account string) (string, error) {
	rows, err := db.Query("SHOW GRANTS FOR " + account)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return "", err
		}
		out = append(out, g)
	}
	return strings.Join(out, "\n"), rows.Err()
}

// sameGrants fails unless account has the same grants on both servers, and returns them.
func sameGrants(t *testing.T, pdb, rdb *sql.DB, account string) string {
	t.Helper()
	want, err := showGrants(pdb, account)
	if err != nil {
		t.Fatalf("primary: SHOW GRANTS FOR %s: %v", account, err)
	}
	got, err := showGrants(rdb, account)
	if err != nil {
		t.Fatalf("replica: SHOW GRANTS FOR %s: %v", account, err)
	}
	if got != want {
		t.Fatalf("SHOW GRANTS FOR %s: replica has\n%s\nprimary has\n%s", account, got, want)
	}
	return got
}

// ownSequence is the highest GTID sequence number n's own server_uuid has in gtid_executed.
func ownSequence(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	sid, err := gtid.ParseSID(queryString(t, db, "SELECT @@server_uuid"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := gtid.Parse(queryString(t, db, "SELECT @@GLOBAL.gtid_executed"))
	if err != nil {
		t.Fatal(err)
	}
	return set.NextGNO(sid) - 1
}

// TestAccountStatementsReplicate: CREATE USER, GRANT, ALTER USER, REVOKE, RENAME USER, roles
// and DROP USER on a primary reach a replica and, through its log_replica_updates, the
// replica's own replica; the accounts log in there with the primary's passwords, which the
// binary log holds only hashed. Each statement has its own GTID, a failed one none, and
// sql_log_bin=0 keeps one local; binlog-ignore-db does not apply to them.
func TestAccountStatementsReplicate(t *testing.T) {
	p := startNode(t, "", "--server-id", "1", "--binlog-ignore-db=scratch")
	r := startNode(t, "", "--server-id", "2")
	r2 := startNode(t, "", "--server-id", "3")
	pdb := p.db("")
	createReplUser(t, pdb)
	mustExec(t, pdb, "CREATE DATABASE db")
	mustExec(t, pdb, "CREATE TABLE db.t (id INT PRIMARY KEY)")
	mustExec(t, pdb, "INSERT INTO db.t VALUES (1)")
	mustExec(t, pdb, "CREATE DATABASE scratch")
	replicaOf(t, r, p, "")
	rdb := r.db("")
	waitCaughtUp(t, pdb, rdb, 30*time.Second)
	// The replica got repl from its source: its own replica logs in with it (cascading).
	replicaOf(t, r2, r, "")
	r2db := r2.db("")

	const pw = "Secret-Pw-1"
	before := ownSequence(t, pdb)
	sdb := p.db("scratch") // the default database is one binlog-ignore-db names
	sdb.SetMaxOpenConns(1)
	mustExec(t, sdb, "CREATE USER 'app'@'%' IDENTIFIED BY '"+pw+"'")
	mustExec(t, sdb, "GRANT SELECT ON db.* TO 'app'@'%'")
	if _, err := pdb.Exec("CREATE USER 'app'@'%' IDENTIFIED BY 'x'"); err == nil {
		t.Fatal("creating an existing user succeeded")
	}
	if got := ownSequence(t, pdb) - before; got != 2 {
		t.Fatalf("two account statements and a failed one took %d GTIDs, want 2", got)
	}
	waitCaughtUp(t, pdb, rdb, 30*time.Second)
	waitCaughtUp(t, pdb, r2db, 30*time.Second)
	for _, n := range []*node{r, r2} {
		if err := login(n, "app", pw, "SELECT * FROM db.t"); err != nil {
			t.Fatalf("app cannot log in to replica %d and read db.t: %v", n.port, err)
		}
	}
	t.Logf("grants of app on the replica:\n%s", sameGrants(t, pdb, rdb, "'app'@'%'"))
	sameGrants(t, pdb, r2db, "'app'@'%'")

	// The binary log holds the hash, never the password.
	rows, err := pdb.Query("SHOW BINLOG EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	logged := ""
	for rows.Next() {
		var file, typ, info string
		var pos, sid, end int64
		if err := rows.Scan(&file, &pos, &typ, &sid, &end, &info); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(info, pw) {
			t.Fatalf("the password is in the binary log: %s", info)
		}
		if strings.Contains(strings.ToLower(info), "create user `app`") {
			logged = info
		}
	}
	rows.Close()
	if !strings.Contains(logged, "mysql_native_password as '*") {
		t.Fatalf("CREATE USER logged as %q, want the password's hash", logged)
	}

	mustExec(t, pdb, "ALTER USER 'app'@'%' IDENTIFIED BY 'pw2'")
	mustExec(t, pdb, "REVOKE SELECT ON db.* FROM 'app'@'%'")
	mustExec(t, pdb, "GRANT INSERT, UPDATE ON db.t TO 'app'@'%'")
	mustExec(t, pdb, "CREATE ROLE reader")
	mustExec(t, pdb, "GRANT SELECT ON db.* TO reader")
	mustExec(t, pdb, "GRANT reader TO 'app'@'%'")
	waitCaughtUp(t, pdb, rdb, 30*time.Second)
	if err := login(r, "app", pw, "SELECT 1"); err == nil {
		t.Fatal("app still logs in to the replica with its old password")
	}
	if err := login(r, "app", "pw2", "SELECT 1"); err != nil {
		t.Fatalf("app cannot log in to the replica with its new password: %v", err)
	}
	sameGrants(t, pdb, rdb, "'app'@'%'")
	sameGrants(t, pdb, rdb, "reader")

	mustExec(t, pdb, "RENAME USER 'app'@'%' TO 'app2'@'%'")
	waitCaughtUp(t, pdb, rdb, 30*time.Second)
	if err := login(r, "app", "pw2", "SELECT 1"); err == nil {
		t.Fatal("app still logs in to the replica after RENAME USER")
	}
	if err := login(r, "app2", "pw2", "SELECT 1"); err != nil {
		t.Fatalf("app2 cannot log in to the replica after RENAME USER: %v", err)
	}
	sameGrants(t, pdb, rdb, "'app2'@'%'")

	// sql_log_bin=0: a local account.
	conn, err := pdb.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"SET sql_log_bin = 0", "CREATE USER local1 IDENTIFIED BY 'l'", "SET sql_log_bin = 1"} {
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close()

	mustExec(t, pdb, "DROP ROLE reader")
	mustExec(t, pdb, "DROP USER 'app2'@'%'")
	waitCaughtUp(t, pdb, rdb, 30*time.Second)
	waitCaughtUp(t, pdb, r2db, 30*time.Second)
	if _, err := showGrants(rdb, "local1"); err == nil {
		t.Fatal("an account created with sql_log_bin=0 reached the replica")
	}
	for _, n := range []*node{r, r2} {
		if err := login(n, "app2", "pw2", "SELECT 1"); err == nil {
			t.Fatalf("app2 still logs in to replica %d after DROP USER", n.port)
		}
	}
	if _, err := showGrants(rdb, "reader"); err == nil {
		t.Fatal("the role reader is still on the replica after DROP ROLE")
	}
	if st := replicaStatus(t, rdb); st["Last_SQL_Errno"] != "0" {
		t.Fatalf("replica applier error: %v", st)
	}

	// The replica persisted what it applied: repl survives its restart (its replica reconnects).
	r.stop()
	r.restart()
	rdb = r.db("")
	if _, err := showGrants(rdb, "repl"); err != nil {
		t.Fatalf("repl is gone from the replica after a restart: %v", err)
	}
}

// TestSetPasswordReplicates: SET PASSWORD FOR an account, and an account's SET PASSWORD for
// itself, change the password on the replica too.
func TestSetPasswordReplicates(t *testing.T) {
	p := startNode(t, "", "--server-id", "1")
	r := startNode(t, "", "--server-id", "2")
	pdb := p.db("")
	createReplUser(t, pdb)
	replicaOf(t, r, p, "")
	rdb := r.db("")
	mustExec(t, pdb, "CREATE USER u IDENTIFIED BY 'first'")
	mustExec(t, pdb, "SET PASSWORD FOR u = 'second'")
	waitCaughtUp(t, pdb, rdb, 30*time.Second)
	if err := login(r, "u", "second", "SELECT 1"); err != nil {
		t.Fatalf("u cannot log in to the replica with the password SET PASSWORD FOR gave it: %v", err)
	}
	if err := login(r, "u", "first", "SELECT 1"); err == nil {
		t.Fatal("u still logs in to the replica with its first password")
	}
	if err := login(p, "u", "second", "SET PASSWORD = 'third'"); err != nil {
		t.Fatalf("u cannot change its own password: %v", err)
	}
	waitCaughtUp(t, pdb, rdb, 30*time.Second)
	if err := login(r, "u", "third", "SELECT 1"); err != nil {
		t.Fatalf("u cannot log in to the replica with the password it set itself: %v", err)
	}
	if err := login(r, "u", "second", "SELECT 1"); err == nil {
		t.Fatal("u still logs in to the replica with its second password")
	}
}
