package test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/gtid"
)

// dumpConn opens a replication connection with vitess's client (a MySQL client the project did
// not write) and asks for a GTID dump.
func dumpConn(t *testing.T, n *node, user, pass string, serverID uint32, file string, has gtid.Set, heartbeat time.Duration) (*mysql.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := mysql.Connect(ctx, &mysql.ConnParams{Host: "127.0.0.1", Port: n.port, Uname: user, Pass: pass})
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(c.Close)
	if _, err := c.ExecuteFetch(fmt.Sprintf("SET @master_heartbeat_period = %d", heartbeat.Nanoseconds()), 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecuteFetch("SET @slave_uuid = '11111111-2222-3333-4444-555555555555'", 0, false); err != nil {
		t.Fatal(err)
	}
	var flags uint16
	var set []byte
	if file == "" {
		flags, set = mysql.BinlogThroughGTID, has.Encode()
	}
	if err := c.WriteComBinlogDumpGTID(serverID, file, 4, flags, set); err != nil {
		return nil, err
	}
	return c, nil
}

// nextEvent reads one event of the stream, with a deadline.
func nextEvent(t *testing.T, c *mysql.Conn, within time.Duration) (mysql.BinlogEvent, error) {
	t.Helper()
	type result struct {
		ev  mysql.BinlogEvent
		err error
	}
	ch := make(chan result, 1)
	go func() {
		ev, err := c.ReadBinlogEvent()
		ch <- result{ev, err}
	}()
	select {
	case r := <-ch:
		return r.ev, r.err
	case <-time.After(within):
		t.Fatalf("no event within %s", within)
		return nil, nil
	}
}

// TestBinlogDumpToReplica serves a binlog dump to vitess's replication client: the privilege is
// checked, transactions the replica has are skipped, new commits are pushed as they happen,
// heartbeats flow while idle, SHOW REPLICAS lists the replica, and a start the source cannot
// serve gets error 1236.
func TestBinlogDumpToReplica(t *testing.T) {
	n := startNode(t, "")
	db := n.db("")
	mustExec(t, db, "CREATE USER repl IDENTIFIED WITH mysql_native_password BY 'pw'")
	mustExec(t, db, "GRANT REPLICATION SLAVE ON *.* TO repl")
	mustExec(t, db, "CREATE USER nobody IDENTIFIED WITH mysql_native_password BY 'pw'")
	mustExec(t, db, "CREATE DATABASE src")
	mustExec(t, db, "CREATE TABLE src.t (id INT PRIMARY KEY, v VARCHAR(20))")
	mustExec(t, db, "INSERT INTO src.t VALUES (1, 'before')")
	executed, err := gtid.Parse(queryString(t, db, "SELECT @@GLOBAL.gtid_executed"))
	if err != nil {
		t.Fatal(err)
	}

	// Without REPLICATION SLAVE: refused.
	c, err := dumpConn(t, n, "nobody", "pw", 77, "", gtid.Set{}, time.Second)
	if err == nil {
		_, err = nextEvent(t, c, 10*time.Second)
	}
	var se *mysql.SQLError
	if !errors.As(err, &se) || se.Num != 1227 {
		t.Fatalf("dump without REPLICATION SLAVE: %v, want 1227", err)
	}

	// A replica that has everything so far gets only what comes next, pushed.
	c, err = dumpConn(t, n, "repl", "pw", 42, "", executed, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	f := binlog.NewFormat(binlog.ChecksumCRC32)
	var vf mysql.BinlogFormat
	sawHeartbeat := false
	inserted := false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		ev, err := nextEvent(t, c, 10*time.Second)
		if err != nil {
			t.Fatalf("dump: %v", err)
		}
		ours := binlog.Event(ev.Bytes())
		switch {
		case ev.IsFormatDescription():
			if vf, err = ev.Format(); err != nil {
				t.Fatal(err)
			}
		case ev.IsGTID():
			g, err := binlog.DecodeGTID(f, ours)
			if err != nil {
				t.Fatal(err)
			}
			if executed.Contains(g.GTID) {
				t.Fatalf("transaction %s the replica has was sent", g.GTID)
			}
		case ours.Type() == binlog.TypeHeartbeat:
			if !sawHeartbeat {
				sawHeartbeat = true
				rows := queryRows(t, db, "SHOW REPLICAS")
				if len(rows) != 1 || rows[0][0] != "42" || rows[0][4] != "11111111-2222-3333-4444-555555555555" {
					t.Fatalf("SHOW REPLICAS while a replica dumps: %v", rows)
				}
				if cols := columns(t, db, "SHOW SLAVE HOSTS"); cols != "Server_Id,Host,Port,Master_Id,Slave_UUID" {
					t.Fatalf("SHOW SLAVE HOSTS columns %s", cols)
				}
				mustExec(t, db, "INSERT INTO src.t VALUES (2, 'pushed')")
				inserted = true
			}
		case ev.IsWriteRows() && inserted:
			t.Logf("pushed row event received after a heartbeat; SHOW REPLICAS listed server_id 42; format %v", vf.ServerVersion)
			goto served
		}
	}
	t.Fatal("the pushed insert never arrived")
served:
	c.Close()

	// A file the source does not have: 1236.
	c, err = dumpConn(t, n, "repl", "pw", 43, "binlog.999999", gtid.Set{}, time.Second)
	if err == nil {
		for {
			if _, err = nextEvent(t, c, 10*time.Second); err != nil {
				break
			}
		}
	}
	if !errors.As(err, &se) || se.Num != 1236 {
		t.Fatalf("dump from an unknown file: %v, want 1236", err)
	}
	t.Logf("unknown file: %s", se.Message)
}
