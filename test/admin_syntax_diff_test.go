package test

import (
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/relaydb/relaydb/test/mariadb"
)

// TestAdminSyntaxErrorsAsMariaDB: malformed administrative statements, in the spellings MariaDB
// knows, get the same error from RelayDB as from a real MariaDB: the code, and the "near '…' at
// line N" that says where the parser stopped. (Where MySQL's grammar and MariaDB's differ,
// RelayDB follows MySQL's: MariaDB accepts START SLAVE IO_THREAD, with a trailing comma and has
// no CHANGE REPLICATION FILTER; those are in adminsql's table tests only.)
func TestAdminSyntaxErrorsAsMariaDB(t *testing.T) {
	maria, err := sql.Open("mysql", mariadb.Start(t).DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer maria.Close()
	relay := startNode(t, "").db("")

	near := func(err error) (uint16, string) {
		var me *mysql.MySQLError
		if !errors.As(err, &me) {
			return 0, ""
		}
		if i := strings.Index(me.Message, " near '"); i >= 0 {
			return me.Number, me.Message[i:]
		}
		return me.Number, ""
	}
	for _, q := range []string{
		"SHOW BINARY LOGS extra",
		"SHOW MASTER",
		"SHOW MASTER STATUS now",
		"SHOW BINLOG EVENTS IN binlog.000001",
		"SHOW BINLOG EVENTS FROM -4",
		"SHOW BINLOG EVENTS\nFROM 'x'",
		"SHOW BINLOG EVENTS LIMIT 1,",
		"SHOW SLAVE STATUS junk",
		"PURGE BINARY LOGS",
		"PURGE MASTER LOGS TO binlog",
		"RESET MASTER now",
		"CHANGE MASTER TO",
		"CHANGE MASTER TO MASTER_HOST=h",
		"CHANGE MASTER TO MASTER_PORT='3306'",
		"CHANGE MASTER TO MASTER_PORT=-1",
		"CHANGE MASTER TO MASTER_HOST='h',\n  NO_SUCH_OPTION=1",
		"CHANGE MASTER TO MASTER_HOST='h' MASTER_PORT=1",
		"CHANGE MASTER TO MASTER_HOST='h', ",
		"CHANGE MASTER TO MASTER_USE_GTID = maybe",
		"CHANGE MASTER TO IGNORE_SERVER_IDS = (1,)",
		"STOP SLAVE UNTIL MASTER_LOG_POS = 4",
		"START SLAVE UNTIL MASTER_LOG_POS = '4'",
	} {
		_, rerr := relay.Exec(q)
		_, merr := maria.Exec(q)
		rc, rn := near(rerr)
		mc, mn := near(merr)
		if rc != mc || rn != mn {
			t.Errorf("%q:\n RelayDB %v\n MariaDB %v", q, rerr, merr)
		}
	}
}
