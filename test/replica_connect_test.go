package test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestReplicaRetriesUnreachableSource: a replica whose source cannot be reached shows
// Replica_IO_Running "Connecting", state "Connecting to source" and error 2003, and keeps
// retrying every CONNECT_RETRY seconds; once the source is reachable it connects and catches up
// by itself. With SOURCE_RETRY_COUNT exhausted, the receiver stops, as in MySQL.
func TestReplicaRetriesUnreachableSource(t *testing.T) {
	p := startNode(t, "", "--server-id", "1")
	r := startNode(t, "", "--server-id", "2")
	pdb := p.db("")
	createReplUser(t, pdb)
	mustExec(t, pdb, "CREATE DATABASE d")
	mustExec(t, pdb, "CREATE TABLE d.t (id INT PRIMARY KEY)")
	mustExec(t, pdb, "INSERT INTO d.t VALUES (1), (2), (3)")

	// A port nobody listens on yet; later a forwarder to the primary takes it.
	port := freePort(t)
	rdb := r.db("")
	mustExec(t, rdb, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='repl', SOURCE_PASSWORD='pw', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1", port))
	mustExec(t, rdb, "START REPLICA")
	var st map[string]string
	deadline := time.Now().Add(15 * time.Second)
	for {
		st = replicaStatus(t, rdb)
		if st["Last_IO_Errno"] == "2003" && strings.Contains(st["Last_IO_Error"], "retries: 2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unreachable source: no second failed attempt within 15s: %v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st["Replica_IO_Running"] != "Connecting" || st["Replica_IO_State"] != "Connecting to source" || st["Replica_SQL_Running"] != "Yes" {
		t.Fatalf("unreachable source: IO %q state %q SQL %q", st["Replica_IO_Running"], st["Replica_IO_State"], st["Replica_SQL_Running"])
	}
	unreachable := st["Last_IO_Error"]

	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go forward(ln, fmt.Sprintf("127.0.0.1:%d", p.port))
	took := waitCaughtUp(t, pdb, rdb, 30*time.Second)
	if got := queryString(t, rdb, "SELECT COUNT(*) FROM d.t"); got != "3" {
		t.Fatalf("replica has %s rows after connecting, want 3", got)
	}
	st = replicaStatus(t, rdb)
	if st["Replica_IO_Running"] != "Yes" {
		t.Fatalf("after the source came back: %v", st)
	}

	// RETRY_COUNT bounds the attempts: the receiver gives up and stops.
	mustExec(t, rdb, "STOP REPLICA")
	mustExec(t, rdb, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_PORT=%d, SOURCE_RETRY_COUNT=2", freePort(t)))
	mustExec(t, rdb, "START REPLICA")
	deadline = time.Now().Add(15 * time.Second)
	for {
		st = replicaStatus(t, rdb)
		if st["Replica_IO_Running"] == "No" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("RETRY_COUNT=2: receiver still running after 15s: %v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st["Last_IO_Errno"] != "2003" || !strings.Contains(st["Last_IO_Error"], "retries: 2") {
		t.Fatalf("RETRY_COUNT=2: receiver stopped with %s %q", st["Last_IO_Errno"], st["Last_IO_Error"])
	}
	t.Logf("unreachable: IO Connecting, %q; connected and caught up %s after the source became reachable; with RETRY_COUNT=2 the receiver stopped: %q",
		unreachable, took.Round(time.Millisecond), st["Last_IO_Error"])
}

// forward accepts connections on ln and joins each to target, until ln is closed.
func forward(ln net.Listener, target string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			s, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer s.Close()
			go func() { io.Copy(s, c); s.Close() }()
			io.Copy(c, s)
		}()
	}
}

// TestUntilAfterExecutedGTIDsStopsAtOnce: START REPLICA SQL_THREAD UNTIL SQL_AFTER_GTIDS with a
// set the replica has already executed stops the applier at once, before any later transaction.
func TestUntilAfterExecutedGTIDsStopsAtOnce(t *testing.T) {
	_, r, pdb, rdb := replicatedTable(t, "id INT PRIMARY KEY")
	// After a restart the relay log is empty: the applier has no transaction to look at.
	r.kill()
	r.restart("--server-id", "2")
	rdb = r.db("")
	have := queryString(t, rdb, "SELECT @@GLOBAL.gtid_executed")
	mustExec(t, rdb, "STOP REPLICA SQL_THREAD")
	mustExec(t, rdb, "START REPLICA SQL_THREAD UNTIL SQL_AFTER_GTIDS = '"+have+"'")
	deadline := time.Now().Add(10 * time.Second)
	for replicaStatus(t, rdb)["Replica_SQL_Running"] != "No" {
		if time.Now().After(deadline) {
			t.Fatalf("applier still running 10 s after UNTIL SQL_AFTER_GTIDS = its own gtid_executed: %v", replicaStatus(t, rdb))
		}
		time.Sleep(20 * time.Millisecond)
	}
	mustExec(t, pdb, "INSERT INTO d.t VALUES (1)")
	time.Sleep(300 * time.Millisecond)
	if got := queryString(t, rdb, "SELECT @@GLOBAL.gtid_executed"); got != have {
		t.Fatalf("the applier went past its UNTIL set: %s, want %s", got, have)
	}
	t.Logf("UNTIL SQL_AFTER_GTIDS = %s (already executed): the applier stopped at once and applied nothing more", have)
}

// TestApplierStopsOnErrorAndSkip: a transaction that cannot be applied (a duplicate key, a
// missing row) stops the applier with MySQL's Last_SQL_Errno and Last_SQL_Error; the operator
// skips it by committing an empty transaction under its GTID, and replication goes on.
func TestApplierStopsOnErrorAndSkip(t *testing.T) {
	_, _, pdb, rdb := replicatedTable(t, "id INT PRIMARY KEY, v INT")
	uuid := queryString(t, pdb, "SELECT @@GLOBAL.server_uuid")

	var report []string
	for _, c := range []struct {
		name, onReplica, onPrimary string
		errno                      string
	}{
		{"duplicate key", "INSERT INTO d.t VALUES (5, 0)", "INSERT INTO d.t VALUES (5, 1)", "1062"},
		{"missing row", "DELETE FROM d.t WHERE id = 5", "UPDATE d.t SET v = 2 WHERE id = 5", "1032"},
	} {
		// Change the replica behind replication's back (as an operator mistake would).
		conn, err := rdb.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"SET SESSION sql_log_bin = 0", c.onReplica, "SET SESSION sql_log_bin = 1"} {
			if _, err := conn.ExecContext(context.Background(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		conn.Close()
		mustExec(t, pdb, c.onPrimary)
		failing := queryString(t, pdb, "SELECT @@GLOBAL.gtid_executed")
		var st map[string]string
		deadline := time.Now().Add(15 * time.Second)
		for {
			st = replicaStatus(t, rdb)
			if st["Replica_SQL_Running"] == "No" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the applier did not stop: %v", c.name, st)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if st["Last_SQL_Errno"] != c.errno || st["Last_Errno"] != c.errno || st["Last_SQL_Error"] == "" || st["Replica_IO_Running"] != "Yes" {
			t.Fatalf("%s: Last_SQL_Errno %s (want %s), Last_SQL_Error %q, IO %s", c.name, st["Last_SQL_Errno"], c.errno, st["Last_SQL_Error"], st["Replica_IO_Running"])
		}
		// The failing transaction is the primary's last one: skip it with an empty transaction.
		seq := failing[strings.LastIndex(failing, "-")+1:]
		skip, err := rdb.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"SET gtid_next = '" + uuid + ":" + seq + "'", "BEGIN", "COMMIT", "SET gtid_next = 'AUTOMATIC'"} {
			if _, err := skip.ExecContext(context.Background(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		skip.Close()
		if got := queryString(t, rdb, "SELECT @@GLOBAL.gtid_executed"); !strings.HasSuffix(got, "-"+seq) {
			t.Fatalf("%s: after the empty transaction gtid_executed is %s, want it to end at %s", c.name, got, seq)
		}
		mustExec(t, rdb, "START REPLICA")
		mustExec(t, pdb, "INSERT INTO d.t VALUES (100 + ?, 0)", len(report))
		waitCaughtUp(t, pdb, rdb, 30*time.Second)
		if st := replicaStatus(t, rdb); st["Replica_SQL_Running"] != "Yes" || st["Last_SQL_Errno"] != "0" {
			t.Fatalf("%s: after the skip: %v", c.name, st)
		}
		report = append(report, fmt.Sprintf("%s: Last_SQL_Errno %s (%.90s…); skipped %s:%s with an empty transaction, replication went on",
			c.name, c.errno, st["Last_SQL_Error"], uuid[:8], seq))
	}
	t.Log(strings.Join(report, "; "))
}

// TestShowReplicasListsReplicaPort: a replica registers with its source (COM_REGISTER_SLAVE)
// with the port it serves clients on, so SHOW REPLICAS / SHOW SLAVE HOSTS on the source can be
// used to find it.
func TestShowReplicasListsReplicaPort(t *testing.T) {
	p := startNode(t, "", "--server-id", "1")
	r := startNode(t, "", "--server-id", "7")
	pdb := p.db("")
	createReplUser(t, pdb)
	replicaOf(t, r, p, "")
	deadline := time.Now().Add(15 * time.Second)
	for {
		var sid, port int
		var host, src, uuid string
		err := pdb.QueryRow("SHOW REPLICAS").Scan(&sid, &host, &port, &src, &uuid)
		if err == nil && sid == 7 && port == r.port {
			t.Logf("SHOW REPLICAS: Server_Id %d, Host %s, Port %d, Source_Id %s", sid, host, port, src)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SHOW REPLICAS: server_id %d port %d (err %v), want 7 and %d", sid, port, err, r.port)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The replica replicates after registering.
	mustExec(t, pdb, "CREATE DATABASE d")
	waitCaughtUp(t, pdb, r.db(""), 30*time.Second)
}
