package adminsql

import (
	"errors"
	"reflect"
	"testing"

	"github.com/dolthub/vitess/go/mysql"
)

var fuzzSeeds = []string{
	"SHOW BINARY LOGS", "SHOW MASTER STATUS", "SHOW BINLOG EVENTS IN 'b.000001' FROM 4 LIMIT 1, 2",
	"FLUSH LOCAL BINARY LOGS", "PURGE BINARY LOGS BEFORE '2026-01-01'", "RESET MASTER", "RESET BINARY LOGS AND GTIDS",
	"SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5'",
	"SHOW SLAVE HOSTS", "SHOW REPLICA STATUS FOR CHANNEL 'c'",
	"CHANGE REPLICATION SOURCE TO SOURCE_HOST='h''x', SOURCE_PORT=3306, SOURCE_HEARTBEAT_PERIOD=0.25, IGNORE_SERVER_IDS=(1,2), PRIVILEGE_CHECKS_USER='u'@'%', SOURCE_TLS_CIPHERSUITES=NULL FOR CHANNEL 'c'",
	"CHANGE MASTER TO MASTER_USE_GTID=current_pos, ASSIGN_GTIDS_TO_ANONYMOUS_TRANSACTIONS='3e11fa47-71ca-11e1-9e33-c80aa9429562'",
	"START SLAVE SQL_THREAD UNTIL SQL_AFTER_GTIDS='3e11fa47-71ca-11e1-9e33-c80aa9429562:1-3:5'",
	"START REPLICA UNTIL RELAY_LOG_FILE='r.1', RELAY_LOG_POS=4", "STOP REPLICA IO_THREAD, SQL_THREAD",
	"RESET SLAVE ALL FOR CHANNEL ''",
	"CHANGE REPLICATION FILTER REPLICATE_DO_DB=(a,`b``c`), REPLICATE_WILD_IGNORE_TABLE=('x.y\\%'), REPLICATE_REWRITE_DB=((a,b))",
	"SWITCHOVER TO 'n1' MODE RELIABILITY MAX LAG 1.5", "SHOW CLUSTER JOURNAL",
	"# comment\nSHOW /*! BINARY */ LOGS -- x",
	"CLONE INSTANCE FROM cloner@db-1.example:3306 IDENTIFIED BY 'p' DATA DIRECTORY '/d' REQUIRE NO SSL",
	"CLONE DONOR READ '0a' 'data/000001.sst' 0 4194304", "CLONE DONOR END 'ab'", "SHOW BINLOG EVENTS IN 'a\\nb\\\\c\\0'",
}

// FuzzParse: Parse never panics; an error comes only with a statement and is a MySQL error;
// an accepted statement prints as text that parses back to an equal statement.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		st, err := Parse(q)
		if err != nil {
			var se *mysql.SQLError
			if st == nil || !errors.As(err, &se) {
				t.Fatalf("%q: %#v, %v", q, st, err)
			}
			return
		}
		if st == nil {
			return
		}
		printed := st.String()
		again, err := Parse(printed)
		if err != nil || !reflect.DeepEqual(again, st) {
			t.Fatalf("%q parsed as %#v, printed as %q, read back as %#v, %v", q, st, printed, again, err)
		}
		_ = CommitsImplicitly(q)
	})
}

// FuzzStringLiteral: any value printed as a string literal (quoteString) or an identifier
// (quoteIdent) lexes back to itself as one token, whatever quotes, backslashes or comment
// markers it holds; String() of every statement relies on it.
func FuzzStringLiteral(f *testing.F) {
	for _, s := range []string{"", "a'b", `a\b`, `x\%y\_z`, `\\%`, "/*", "*/", "-- x", "`", "\x00\n'", `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, q := range []string{quoteString(s), quoteIdent(s)} {
			l := lexer{q: q}
			tok, ok := l.next()
			if !ok || tok.text != s || tok.pos != 0 || tok.end != len(q) {
				t.Fatalf("%q printed as %s lexed as %#v, %v", s, q, tok, ok)
			}
			if end, _ := l.next(); end.kind != tEOF {
				t.Fatalf("%q printed as %s leaves %#v", s, q, end)
			}
		}
	})
}
