package adminsql

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/gtid"
)

func mustSet(t *testing.T, s string) *gtid.Set {
	t.Helper()
	set, err := gtid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return &set
}

const uuid1 = "3e11fa47-71ca-11e1-9e33-c80aa9429562"

// TestAccepted: MySQL's (and MariaDB's) forms, as clients and tools write them, parse to the
// expected statements, and print back to text that parses to the same statement.
func TestAccepted(t *testing.T) {
	for _, c := range []struct {
		q    string
		want Statement
	}{
		{"SHOW BINARY LOGS", &ShowBinaryLogs{}},
		{"show master logs;", &ShowBinaryLogs{}},
		{"  SHOW\n\tBINARY LOG STATUS ; ", &ShowBinaryLogStatus{}},
		{"SHOW MASTER STATUS", &ShowBinaryLogStatus{}},
		{"/* tool */ SHOW MASTER STATUS -- trailing\n", &ShowBinaryLogStatus{}},
		{"SHOW BINLOG EVENTS", &ShowBinlogEvents{}},
		{"SHOW BINLOG EVENTS IN 'binlog.000002' FROM 4 LIMIT 2, 10", &ShowBinlogEvents{File: "binlog.000002", HasFrom: true, From: 4, HasLimit: true, Offset: 2, Count: 10}},
		{`show binlog events in "b.1" limit 3 offset 1`, &ShowBinlogEvents{File: "b.1", HasLimit: true, Offset: 1, Count: 3}},
		{"SHOW BINLOG EVENTS LIMIT 1", &ShowBinlogEvents{HasLimit: true, Count: 1}},
		{"FLUSH LOGS", &FlushBinaryLogs{}},
		{"flush local binary logs", &FlushBinaryLogs{NoWriteToBinlog: true, BinaryOnly: true}},
		{"FLUSH NO_WRITE_TO_BINLOG LOGS", &FlushBinaryLogs{NoWriteToBinlog: true}},
		{"PURGE BINARY LOGS TO 'binlog.000003'", &PurgeBinaryLogs{Target: "binlog.000003"}},
		{"PURGE MASTER LOGS BEFORE '2026-01-02 03:04:05'", &PurgeBinaryLogs{Before: true, Target: "2026-01-02 03:04:05"}},
		{"RESET MASTER", &ResetBinaryLogs{Legacy: true}},
		{"RESET BINARY LOGS AND GTIDS", &ResetBinaryLogs{}},
		{"SET GLOBAL gtid_purged = '" + uuid1 + ":1-5'", &SetGTIDPurged{Value: uuid1 + ":1-5"}},
		{"SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '" + uuid1 + ":1-5';", &SetGTIDPurged{Value: "+" + uuid1 + ":1-5"}},
		{"SET @@global.gtid_purged := ''", &SetGTIDPurged{}},
		{"SHOW REPLICAS", &ShowReplicas{}},
		{"SHOW SLAVE HOSTS", &ShowReplicas{Legacy: true}},
		{"SHOW REPLICA STATUS", &ShowReplicaStatus{}},
		{"SHOW SLAVE STATUS FOR CHANNEL 'src1'", &ShowReplicaStatus{Legacy: true, Channel: Channel{Named: true, Name: "src1"}}},
		{"CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=3306, SOURCE_USER='repl', SOURCE_PASSWORD='p''w\\'x', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1 FOR CHANNEL 'src1'",
			&ChangeSource{Options: []Option{
				{Name: "SOURCE_HOST", Kind: String, Str: "127.0.0.1"}, {Name: "SOURCE_PORT", Kind: Uint, Num: 3306},
				{Name: "SOURCE_USER", Kind: String, Str: "repl"}, {Name: "SOURCE_PASSWORD", Kind: String, Str: "p'w'x"},
				{Name: "SOURCE_AUTO_POSITION", Kind: Bool, Num: 1}, {Name: "SOURCE_CONNECT_RETRY", Kind: Uint, Num: 1}},
				Channel: Channel{Named: true, Name: "src1"}}},
		{"change master to master_host = \"h\", master_log_file='b.000001', master_log_pos = 4, master_heartbeat_period = 0.5, MASTER_SSL=0",
			&ChangeSource{Legacy: true, Options: []Option{
				{Name: "SOURCE_HOST", Kind: String, Str: "h"}, {Name: "SOURCE_LOG_FILE", Kind: String, Str: "b.000001"},
				{Name: "SOURCE_LOG_POS", Kind: Uint, Num: 4}, {Name: "SOURCE_HEARTBEAT_PERIOD", Kind: Decimal, Dec: 0.5},
				{Name: "SOURCE_SSL", Kind: Bool}}}},
		{"CHANGE REPLICATION SOURCE TO IGNORE_SERVER_IDS = (2, 3), IGNORE_SERVER_IDS = (), PRIVILEGE_CHECKS_USER = 'priv'@'localhost', SOURCE_TLS_CIPHERSUITES = NULL, ASSIGN_GTIDS_TO_ANONYMOUS_TRANSACTIONS = local, REQUIRE_TABLE_PRIMARY_KEY_CHECK = STREAM",
			&ChangeSource{Options: []Option{
				{Name: "IGNORE_SERVER_IDS", Kind: IDList, IDs: []uint64{2, 3}}, {Name: "IGNORE_SERVER_IDS", Kind: IDList},
				{Name: "PRIVILEGE_CHECKS_USER", Kind: Account, Str: "priv", Host: "localhost"},
				{Name: "SOURCE_TLS_CIPHERSUITES", Kind: StringOrNull, Null: true},
				{Name: "ASSIGN_GTIDS_TO_ANONYMOUS_TRANSACTIONS", Kind: WordOrString, Word: true, Str: "LOCAL"},
				{Name: "REQUIRE_TABLE_PRIMARY_KEY_CHECK", Kind: Word, Word: true, Str: "STREAM"}}}},
		{"CHANGE MASTER TO MASTER_USE_GTID = slave_pos", &ChangeSource{Legacy: true, Options: []Option{{Name: "MASTER_USE_GTID", Kind: Word, Word: true, Str: "SLAVE_POS"}}}},
		{"START REPLICA", &StartReplica{}},
		{"start slave io_thread", &StartReplica{Threads: Threads{IO: true}}},
		{"START REPLICA SQL_THREAD, IO_THREAD FOR CHANNEL 'a'", &StartReplica{Threads: Threads{IO: true, SQL: true}, Channel: Channel{Named: true, Name: "a"}}},
		{"START REPLICA SQL_THREAD UNTIL SQL_AFTER_GTIDS = '" + uuid1 + ":1-3'", &StartReplica{Threads: Threads{SQL: true}, Until: &Until{AfterGTIDs: mustSet(t, uuid1+":1-3")}}},
		{"START REPLICA UNTIL SQL_BEFORE_GTIDS = '" + uuid1 + ":7'", &StartReplica{Until: &Until{BeforeGTIDs: mustSet(t, uuid1+":7")}}},
		{"START SLAVE UNTIL MASTER_LOG_FILE = 'b.000002', MASTER_LOG_POS = 1234", &StartReplica{Until: &Until{SourceLogFile: "b.000002", SourceLogPos: 1234}}},
		{"STOP REPLICA", &StopReplica{}},
		{"STOP SLAVE IO_THREAD FOR CHANNEL ''", &StopReplica{Threads: Threads{IO: true}, Channel: Channel{Named: true}}},
		{"RESET REPLICA", &ResetReplica{}},
		{"RESET SLAVE ALL FOR CHANNEL 'x'", &ResetReplica{Legacy: true, All: true, Channel: Channel{Named: true, Name: "x"}}},
		{"CHANGE REPLICATION FILTER REPLICATE_DO_DB = (db1, `db 2`), replicate_ignore_table = (db.t, `x`.`y`), " +
			"REPLICATE_WILD_DO_TABLE = ('db.t%', \"a.b\\_c\"), REPLICATE_REWRITE_DB = ((a, b), (`c`, d)), REPLICATE_IGNORE_DB = () FOR CHANNEL 'src2'",
			&ChangeFilter{Filters: []Filter{
				{Kind: "REPLICATE_DO_DB", Values: []string{"db1", "db 2"}},
				{Kind: "REPLICATE_IGNORE_TABLE", Values: []string{"db.t", "x.y"}},
				{Kind: "REPLICATE_WILD_DO_TABLE", Values: []string{"db.t%", `a.b\_c`}},
				{Kind: "REPLICATE_REWRITE_DB", Rewrites: []Rewrite{{"a", "b"}, {"c", "d"}}},
				{Kind: "REPLICATE_IGNORE_DB"}}, Channel: Channel{Named: true, Name: "src2"}}},
		{"SHOW CLUSTER STATUS", &ShowCluster{}},
		{"show cluster journal", &ShowCluster{Journal: true}},
		{"SWITCHOVER", &Switchover{}},
		{"SWITCHOVER TO 'n2' MODE AVAILABILITY MAX LAG 2.5", &Switchover{To: "n2", Mode: "availability", HasMaxLag: true, MaxLag: 2.5}},
	} {
		got, err := Parse(c.q)
		if err != nil {
			t.Errorf("%q: %v", c.q, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %#v\nwant %#v", c.q, got, c.want)
			continue
		}
		again, err := Parse(got.String())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("%q printed as %q: %#v, %v", c.q, got.String(), again, err)
		}
	}
}

// TestNotOurs: statements that begin otherwise are left to GMS.
func TestNotOurs(t *testing.T) {
	for _, q := range []string{"", "   ", ";", "SELECT 1", "SHOW TABLES", "SHOW STATUS", "START TRANSACTION", "STOP",
		"START GROUP_REPLICATION", "RESET PERSIST", "RESET QUERY CACHE", "FLUSH TABLES", "FLUSH PRIVILEGES", "FLUSH ERROR LOGS",
		"FLUSH LOGS, PRIVILEGES", "CHANGE COLUMN", "PURGE", "SET autocommit = 1", "SET GLOBAL gtid_mode = ON",
		"SET GLOBAL gtid_purged = @x", "SET GLOBAL gtid_purged = 'a', autocommit = 1", "SET @@SESSION.gtid_purged = 'x'",
		"`SHOW` BINARY LOGS", "'SHOW BINARY LOGS'", "SHOWBINARY LOGS"} {
		st, err := Parse(q)
		if st != nil || err != nil {
			t.Errorf("%q: claimed as %#v, %v", q, st, err)
		}
	}
}

// TestRejected: statements that are ours but malformed, or have bad values, get MySQL's error
// codes, and syntax errors MySQL's text pointing at the offending token.
func TestRejected(t *testing.T) {
	for _, c := range []struct {
		q    string
		code int
		near string // for 1064: the text of the message from "near"
	}{
		{"SHOW BINARY LOGS extra", ERParseError, "near 'extra' at line 1"},
		{"SHOW MASTER", ERParseError, "near '' at line 1"},
		{"SHOW BINLOG EVENTS IN binlog.000001", ERParseError, "near 'binlog.000001' at line 1"},
		{"SHOW BINLOG EVENTS FROM -4", ERParseError, "near '-4' at line 1"},
		{"SHOW BINLOG EVENTS LIMIT 1,", ERParseError, "near '' at line 1"},
		{"SHOW BINLOG EVENTS\nFROM 'x'", ERParseError, "near ''x'' at line 2"},
		{"SHOW REPLICA STATUS FOR CHANNEL src1", ERParseError, "near 'src1' at line 1"},
		{"SHOW CLUSTER NODES", ERParseError, "near 'NODES' at line 1"},
		{"PURGE BINARY LOGS", ERParseError, "near '' at line 1"},
		{"PURGE BINARY LOGS BEFORE NOW()", ERParseError, "near 'NOW()' at line 1"},
		{"RESET BINARY LOGS", ERParseError, "near '' at line 1"},
		{"RESET REPLICA EVERYTHING", ERParseError, "near 'EVERYTHING' at line 1"},
		{"CHANGE REPLICATION SOURCE TO", ERParseError, "near '' at line 1"},
		{"CHANGE REPLICATION SOURCE SOURCE_HOST='h'", ERParseError, "near 'SOURCE_HOST='h'' at line 1"},
		{"CHANGE REPLICATION SOURCE TO SOURCE_HOST=h", ERParseError, "near 'h' at line 1"},
		{"CHANGE REPLICATION SOURCE TO SOURCE_PORT='3306'", ERParseError, "near ''3306'' at line 1"},
		{"CHANGE REPLICATION SOURCE TO SOURCE_PORT=-1", ERParseError, "near '-1' at line 1"},
		{"CHANGE REPLICATION SOURCE TO SOURCE_PORT=1.5", ERParseError, "near '1.5' at line 1"},
		{"CHANGE REPLICATION SOURCE TO SOURCE_PORT=99999999999999999999999", ERParseError, "near '99999999999999999999999' at line 1"},
		{"CHANGE REPLICATION SOURCE TO SOURCE_HOST='h',\n  NO_SUCH_OPTION=1", ERParseError, "near 'NO_SUCH_OPTION=1' at line 2"},
		{"CHANGE REPLICATION SOURCE TO SOURCE_HOST='h' SOURCE_PORT=1", ERParseError, "near 'SOURCE_PORT=1' at line 1"},
		{"CHANGE REPLICATION SOURCE TO SOURCE_HOST='h', ", ERParseError, "near '' at line 1"},
		{"CHANGE REPLICATION SOURCE TO SOURCE_HOST='unterminated", ERParseError, "near ''unterminated' at line 1"},
		{"CHANGE REPLICATION SOURCE TO SOURCE_HOST='h' /* unterminated", ERParseError, "near '/* unterminated' at line 1"},
		{"CHANGE REPLICATION SOURCE TO MASTER_USE_GTID = maybe", ERParseError, "near 'maybe' at line 1"},
		{"CHANGE REPLICATION SOURCE TO REQUIRE_TABLE_PRIMARY_KEY_CHECK = 'ON'", ERParseError, "near ''ON'' at line 1"},
		{"CHANGE REPLICATION SOURCE TO IGNORE_SERVER_IDS = (1,)", ERParseError, "near ')' at line 1"},
		{"CHANGE REPLICATION SOURCE TO SOURCE_HOST='h' FOR CHANNEL", ERParseError, "near '' at line 1"},
		{"CHANGE REPLICATION SOURCE TO SOURCE_SSL=2", ERWrongArguments, ""},
		{"CHANGE REPLICATION SOURCE TO SOURCE_HEARTBEAT_PERIOD=4294968", ERReplicaHeartbeatOutOfRange, ""},
		{"CHANGE REPLICATION SOURCE TO SOURCE_DELAY=2147483648", ERSourceDelayOutOfRange, ""},
		{"START REPLICA IO_THREAD,", ERParseError, "near '' at line 1"},
		{"START REPLICA ALL", ERParseError, "near 'ALL' at line 1"},
		{"STOP REPLICA UNTIL SQL_AFTER_GTIDS='x'", ERParseError, "near 'UNTIL SQL_AFTER_GTIDS='x'' at line 1"},
		{"START REPLICA UNTIL SQL_AFTER_GTIDS='not a set'", ERMalformedGTIDSetSpec, ""},
		{"START REPLICA UNTIL SOURCE_LOG_FILE='b.1'", ERBadReplicaUntilCond, ""},
		{"START REPLICA UNTIL SOURCE_LOG_POS=4", ERBadReplicaUntilCond, ""},
		{"START REPLICA UNTIL SQL_AFTER_GTIDS='', SOURCE_LOG_POS=4", ERBadReplicaUntilCond, ""},
		{"START REPLICA UNTIL SQL_AFTER_GTIDS='', SQL_AFTER_GTIDS=''", ERBadReplicaUntilCond, ""},
		{"START REPLICA UNTIL SOURCE_LOG_POS='4'", ERParseError, "near ''4'' at line 1"},
		{"START REPLICA UNTIL NEVER", ERParseError, "near 'NEVER' at line 1"},
		{"CHANGE REPLICATION FILTER", ERParseError, "near '' at line 1"},
		{"CHANGE REPLICATION FILTER REPLICATE_DO_DB = db1", ERParseError, "near 'db1' at line 1"},
		{"CHANGE REPLICATION FILTER REPLICATE_DO_DB = (a,)", ERParseError, "near ')' at line 1"},
		{"CHANGE REPLICATION FILTER NOPE = (a)", ERParseError, "near 'NOPE = (a)' at line 1"},
		{"CHANGE REPLICATION FILTER REPLICATE_REWRITE_DB = ((a))", ERParseError, "near '))' at line 1"},
		{"CHANGE REPLICATION FILTER REPLICATE_DO_DB = (a) REPLICATE_IGNORE_DB = (b)", ERParseError, "near 'REPLICATE_IGNORE_DB = (b)' at line 1"},
		{"CHANGE REPLICATION FILTER REPLICATE_DO_DB = (a), REPLICATE_DO_DB = (b)", ERParseError, "near 'REPLICATE_DO_DB = (b)' at line 1"},
		{"CHANGE REPLICATION FILTER REPLICATE_WILD_DO_TABLE = (shop.ord%)", ERParseError, "near '%)' at line 1"},
		{"SWITCHOVER MODE FAST", ERParseError, "near 'FAST' at line 1"},
		{"SWITCHOVER MAX LAG x", ERParseError, "near 'x' at line 1"},
		{"SWITCHOVER MODE RELIABILITY TO 'n1'", ERParseError, "near 'TO 'n1'' at line 1"},
		{"SHOW BINARY LOGS; SHOW MASTER STATUS", ERParseError, "near 'SHOW MASTER STATUS' at line 1"},
		{"SHOW BINLOG EVENTS IN '" + strings.Repeat("x", 100) + "' junk", ERParseError, "near '" + "junk" + "' at line 1"},
	} {
		st, err := Parse(c.q)
		var se *mysql.SQLError
		if st == nil || !errors.As(err, &se) {
			t.Errorf("%q: %#v, %v; want error %d", c.q, st, err, c.code)
			continue
		}
		if se.Num != c.code {
			t.Errorf("%q: %v; want error %d", c.q, err, c.code)
			continue
		}
		if c.code == ERParseError {
			if se.State != mysql.SSClientError || !strings.HasPrefix(se.Message, "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '") {
				t.Errorf("%q: %v", c.q, err)
			}
			if !strings.HasSuffix(se.Message, c.near) {
				t.Errorf("%q: %q; want it to end with %q", c.q, se.Message, c.near)
			}
		}
	}
	// MySQL quotes at most 80 bytes of the statement.
	_, err := Parse("SHOW BINARY LOGS " + strings.Repeat("y", 200))
	if !strings.Contains(err.Error(), "near '"+strings.Repeat("y", 80)+"' at line 1") {
		t.Errorf("long statement: %v", err)
	}
}

// TestCommitsImplicitly: the statements before which a transaction is committed.
func TestCommitsImplicitly(t *testing.T) {
	for q, want := range map[string]bool{
		"FLUSH TABLES":                                  true,
		"flush binary logs":                             true,
		"  CHANGE MASTER TO MASTER_HOST='h'":            true,
		"CHANGE REPLICATION SOURCE TO SOURCE_HOST='h'":  true,
		"CHANGE REPLICATION SOURCE TO nonsense":         false,
		"CHANGE REPLICATION FILTER REPLICATE_DO_DB=(d)": false,
		"START REPLICA":                                 true,
		"STOP SLAVE IO_THREAD":                          true,
		"RESET MASTER":                                  true,
		"RESET BINARY LOGS AND GTIDS":                   true,
		"RESET REPLICA ALL":                             true,
		"START TRANSACTION":                             false,
		"SELECT 'FLUSH'":                                false,
		"SHOW MASTER STATUS":                            false,
		"/* c */ START SLAVE":                           true,
	} {
		if got := CommitsImplicitly(q); got != want {
			t.Errorf("%q: commits implicitly = %v, want %v", q, got, want)
		}
	}
}

// TestOtherStatementsDoNotAllocate: every statement the node receives is offered to Parse and
// CommitsImplicitly first; the ones that are not ours must cost no allocation.
func TestOtherStatementsDoNotAllocate(t *testing.T) {
	for _, q := range []string{"select * from t where id = 1", "INSERT INTO t VALUES (1, 'x')", "set autocommit = 0",
		"start transaction", "show tables", "commit", "/* app */ update t set v = 2 where id = 1", "reset persist"} {
		if n := testing.AllocsPerRun(100, func() {
			if st, err := Parse(q); st != nil || err != nil {
				t.Fatalf("%q claimed", q)
			}
			if CommitsImplicitly(q) {
				t.Fatalf("%q commits", q)
			}
		}); n != 0 {
			t.Errorf("%q: %v allocations", q, n)
		}
	}
}
