package replica

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/mariabinlog"
	"github.com/relaydb/relaydb/internal/wire"
)

// What the receiver does differently for a MariaDB source (README, "Replicating from
// MariaDB"): it tolerates the missing server_uuid, says it understands MariaDB's GTID events
// (@mariadb_slave_capability), asks for the binlog with COM_BINLOG_DUMP (MariaDB answers
// COM_BINLOG_DUMP_GTID with error 1047), and turns MariaDB's events into MySQL-format
// transactions under GTIDs derived from MariaDB's (package mariabinlog).

// isMariaDB reports whether the source's greeting names MariaDB (vitess has already taken off
// the "5.5.5-" prefix MariaDB puts before its version).
func isMariaDB(conn *mysql.Conn) bool {
	return strings.Contains(strings.ToLower(conn.ServerVersion), "mariadb")
}

// sourceIdentity reads the source's server_id and server_uuid. A source without server_uuid
// (MariaDB) is not an error: as MySQL's receiver does, it is logged and replication goes on.
func (r *Replica) sourceIdentity(conn *mysql.Conn) (uint32, string, error) {
	res, err := conn.ExecuteFetch("SELECT @@GLOBAL.server_id", 1, false)
	if err != nil {
		return 0, "", err
	}
	var id uint32
	if len(res.Rows) == 1 {
		fmt.Sscan(res.Rows[0][0].ToString(), &id)
	}
	res, err = conn.ExecuteFetch("SELECT @@GLOBAL.server_uuid", 1, false)
	if errno(err, 0) == mysql.ERUnknownSystemVariable {
		r.opts.Logger.Warn(fmt.Sprintf("Unknown system variable 'SERVER_UUID' on source. A probable cause is that the variable is not supported on the source (version: %s), even though it is on the replica (version: %s)",
			conn.ServerVersion, binlog.ServerVersion))
		return id, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	var uuid string
	if len(res.Rows) == 1 {
		uuid = res.Rows[0][0].ToString()
	}
	return id, uuid, nil
}

// mariaDBCapability is the statement that tells a MariaDB source this replica takes its GTID
// events as they are ("" for a MySQL source).
func mariaDBCapability(maria bool) string {
	if !maria {
		return ""
	}
	return fmt.Sprintf("SET @mariadb_slave_capability = %d", mariabinlog.SlaveCapability)
}

// requestDump asks the source for its binlog: by GTID set (auto-position, MySQL sources only),
// or from a file and position: where the last connection left off, else the configured one.
func (r *Replica) requestDump(conn *mysql.Conn, cfg Config, has gtid.Set, maria bool) error {
	if cfg.AutoPosition && maria {
		return mysql.NewSQLError(mariabinlog.ErrNotSupported, "42000",
			"This version of RelayDB doesn't yet support 'SOURCE_AUTO_POSITION=1 with a MariaDB source'; use SOURCE_AUTO_POSITION=0 with SOURCE_LOG_FILE and SOURCE_LOG_POS")
	}
	if !maria && (cfg.AutoPosition || cfg.LogFile == "") {
		return conn.WriteComBinlogDumpGTID(r.opts.ServerID, "", 4, mysql.BinlogThroughGTID, has.Encode())
	}
	file, pos := cfg.LogFile, max(cfg.LogPos, 4)
	r.mu.Lock()
	if r.st.resumeFile != "" {
		file, pos = r.st.resumeFile, max(r.st.resumePos, 4)
	}
	r.mu.Unlock()
	if maria {
		if pos > 1<<32-1 {
			return fmt.Errorf("binlog position %d does not fit COM_BINLOG_DUMP", pos)
		}
		return conn.WriteComBinlogDump(r.opts.ServerID, file, uint32(pos), 0)
	}
	return conn.WriteComBinlogDumpGTID(r.opts.ServerID, file, pos, 0, nil)
}

// mariaTxnStart starts relaying the transaction whose translated GTID event (and BEGIN) out
// holds (built in stream format f's checksum): it returns the transaction so far, its GTID, and whether it began with BEGIN. This
// server's own transactions, come back around a ring, are not relayed (nil), as in readEvents.
func (r *Replica) mariaTxnStart(f binlog.Format, out []binlog.Event, standalone bool) (binlog.Txn, gtid.GTID, bool, error) {
	g, err := binlog.DecodeGTID(binlog.NewFormat(f.Checksum), out[0])
	if err != nil {
		return nil, gtid.GTID{}, false, err
	}
	if out[0].ServerID() == r.opts.ServerID && !r.opts.ReplicateSameServerID {
		return nil, g.GTID, false, nil
	}
	return binlog.Txn(out), g.GTID, !standalone, nil
}

// mariaDBSemiSyncReader reads a semi-synchronous MariaDB dump's packets straight from the
// socket. A MariaDB primary reads each acknowledgement (sequence id 0) on the dump's own
// connection state and numbers the packets after it from 1, where vitess's reader expects the
// dump's sequence to go on ("invalid sequence"): so sequence ids are not checked here. Safe
// because nothing is buffered when the dump starts (the source sends nothing unasked before
// it), and nothing but the dump is read afterwards.
func mariaDBSemiSyncReader(conn *mysql.Conn) func(context.Context) ([]byte, error) {
	br := bufio.NewReaderSize(conn.Conn, 64<<10)
	return func(context.Context) ([]byte, error) {
		p, _, err := wire.ReadPacket(br, 0) // sequence ids deliberately not checked
		return p, err
	}
}
