package test

import (
	"errors"
	"io"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/gtid"
)

// relayLogGTIDs reads the GTIDs of every whole transaction in a (stopped) node's relay log
// files, before a restart discards them.
func relayLogGTIDs(t *testing.T, dataDir string) gtid.Set {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dataDir, "relay-bin.[0-9]*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no relay log files in %s (%v)", dataDir, err)
	}
	var set gtid.Set
	for _, f := range files {
		r, err := binlog.OpenFile(f)
		if err != nil {
			t.Fatalf("open relay log %s: %v", f, err)
		}
		for {
			tx, err := r.NextTransaction()
			if err != nil {
				// io.EOF, or a transaction cut short by the kill: what follows is not whole.
				if !errors.Is(err, io.EOF) {
					t.Logf("%s: reading stops at %v", filepath.Base(f), err)
				}
				break
			}
			if !tx.Anonymous {
				_ = set.Add(tx.GTID)
			}
		}
		r.Close()
	}
	return set
}

// TestSemiSyncReplicaAckDurability: rpl_semi_sync_replica_ack_durability is WRITE by default,
// takes FSYNC (SET GLOBAL and SET PERSIST), refuses anything else with error 1231, and shows in
// SHOW STATUS with the replica's ack figures. In both settings one ack covers several commits,
// FSYNC fsyncs the relay log before every ack and WRITE never does, and a commit whose ack the
// source got is in the replica's relay log when the replica is killed with SIGKILL right after.
func TestSemiSyncReplicaAckDurability(t *testing.T) {
	for _, mode := range []string{"WRITE", "FSYNC"} {
		t.Run(mode, func(t *testing.T) {
			p, reps := semiSyncCluster(t, 1, "rpl_semi_sync_source_timeout = 600000", nil)
			r := reps[0]
			pdb, rdb := p.db(""), r.db("")
			if got := queryString(t, rdb, "SELECT @@GLOBAL.rpl_semi_sync_replica_ack_durability"); got != "WRITE" {
				t.Fatalf("default rpl_semi_sync_replica_ack_durability = %s, want WRITE", got)
			}
			_, err := rdb.Exec("SET GLOBAL rpl_semi_sync_replica_ack_durability = 'SOMETIMES'")
			var me *mysql.MySQLError
			if !errors.As(err, &me) || me.Number != 1231 {
				t.Fatalf("SET GLOBAL rpl_semi_sync_replica_ack_durability = 'SOMETIMES': %v, want error 1231", err)
			}
			if mode == "FSYNC" {
				mustExec(t, rdb, "SET PERSIST rpl_semi_sync_replica_ack_durability = 'fsync'")
			}
			if got := statusValue(t, rdb, "Rpl_semi_sync_replica_ack_durability"); got != mode {
				t.Fatalf("Rpl_semi_sync_replica_ack_durability = %s, want %s", got, mode)
			}

			mustExec(t, pdb, "CREATE DATABASE d")
			mustExec(t, pdb, "CREATE TABLE d.t (id BIGINT PRIMARY KEY, w INT)")
			get := func(name string, onReplica bool) uint64 {
				db := pdb
				if onReplica {
					db = rdb
				}
				n, err := strconv.ParseUint(statusValue(t, db, name), 10, 64)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				return n
			}
			acks0, fsyncs0, yes0 := get("Rpl_semi_sync_replica_acks", true), get("Rpl_semi_sync_replica_ack_fsyncs", true), get("Rpl_semi_sync_source_yes_tx", false)
			const writers, each = 8, 40
			wdb := p.db("d")
			wdb.SetMaxOpenConns(writers)
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; i < each; i++ {
						if _, err := wdb.Exec("INSERT INTO t VALUES (?, ?)", w*1000+i, w); err != nil {
							t.Error(err)
							return
						}
					}
				}(w)
			}
			wg.Wait()
			commits := uint64(writers * each)
			acks, fsyncs, yes := get("Rpl_semi_sync_replica_acks", true)-acks0, get("Rpl_semi_sync_replica_ack_fsyncs", true)-fsyncs0, get("Rpl_semi_sync_source_yes_tx", false)-yes0
			t.Logf("%s: %d commits acknowledged by %d acks, %d relay log fsyncs", mode, yes, acks, fsyncs)
			if yes != commits || get("Rpl_semi_sync_source_no_tx", false) != 0 {
				t.Fatalf("%d of %d commits waited for an ack (no_tx %d)", yes, commits, get("Rpl_semi_sync_source_no_tx", false))
			}
			if acks == 0 || acks >= commits {
				t.Fatalf("%d acks for %d concurrent commits: want at least one, and fewer acks than commits (one ack covers a group)", acks, commits)
			}
			switch mode {
			case "WRITE":
				if fsyncs != 0 {
					t.Fatalf("WRITE: %d relay log fsyncs before acks, want 0", fsyncs)
				}
			case "FSYNC":
				if fsyncs < acks {
					t.Fatalf("FSYNC: %d relay log fsyncs for %d acks, want one before each ack", fsyncs, acks)
				}
			}

			// Applied acknowledgements go out only while the source waits for them.
			if n := get("Rpl_semi_sync_replica_applied_acks", true); n != 0 {
				t.Fatalf("%d applied acks sent to a source that waits for none (AFTER_SYNC)", n)
			}
			mustExec(t, pdb, "SET GLOBAL rpl_semi_sync_source_wait_point = 'AFTER_APPLY'")
			for i := 0; i < 5; i++ {
				mustExec(t, wdb, "INSERT INTO t VALUES (?, -3)", -10-i)
				if n := queryString(t, rdb, "SELECT COUNT(*) FROM d.t WHERE w = -3"); n != strconv.Itoa(i+1) {
					t.Fatalf("AFTER_APPLY: the replica has %s of the %d rows committed", n, i+1)
				}
			}
			if n := get("Rpl_semi_sync_replica_applied_acks", true); n == 0 {
				t.Fatal("AFTER_APPLY: no applied acks sent")
			}
			mustExec(t, pdb, "SET GLOBAL rpl_semi_sync_source_wait_point = 'AFTER_SYNC'")

			// A commit the source saw acknowledged is in the relay log of a replica killed
			// right after: the ack followed the relay log write.
			mustExec(t, wdb, "INSERT INTO t VALUES (-1, -1)")
			r.kill()
			executed, err := gtid.Parse(queryString(t, pdb, "SELECT @@GLOBAL.gtid_executed"))
			if err != nil {
				t.Fatal(err)
			}
			if relayed := relayLogGTIDs(t, r.dataDir); !relayed.ContainsSet(executed) {
				t.Fatalf("%s: acknowledged transactions %s missing from the killed replica's relay log (it holds %s)",
					mode, gtid.Subtract(executed, relayed), relayed)
			}

			// The setting survives a restart only when persisted; the replica, back, fetches
			// again what its discarded relay log held and acknowledges new commits.
			r.restart("--server-id", "2")
			rdb = r.db("d")
			if got := queryString(t, rdb, "SELECT @@GLOBAL.rpl_semi_sync_replica_ack_durability"); got != mode {
				t.Fatalf("after a restart rpl_semi_sync_replica_ack_durability = %s, want %s", got, mode)
			}
			mustExec(t, rdb, "STOP REPLICA")
			mustExec(t, rdb, "SET GLOBAL rpl_semi_sync_replica_enabled = 1")
			mustExec(t, rdb, "START REPLICA")
			waitStatus(t, pdb, "Rpl_semi_sync_source_clients", "1", 20*time.Second)
			yes0 = get("Rpl_semi_sync_source_yes_tx", false)
			mustExec(t, wdb, "INSERT INTO t VALUES (-2, -2)")
			if get("Rpl_semi_sync_source_yes_tx", false) != yes0+1 {
				t.Fatal("a commit after the replica came back was not acknowledged")
			}
			appliedAllReceived(t, rdb, 30*time.Second)
			if n := queryString(t, rdb, "SELECT COUNT(*) FROM t"); n != strconv.Itoa(writers*each+7) {
				t.Fatalf("the replica has %s rows, want %d", n, writers*each+7)
			}
		})
	}
}
