package commitlog

import (
	"fmt"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/binlog/rowenc"
	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/readonly"
	"github.com/relaydb/relaydb/internal/semisync"
	"github.com/relaydb/relaydb/internal/storage"
)

// maxRowsEventData is where a rows event is closed and the next begun, as MySQL's
// binlog_row_event_max_size (8 KiB) does.
const maxRowsEventData = 8 << 10

// stmtEndFlag is a rows event's STMT_END_F: the last rows event of a statement.
const stmtEndFlag = 1

// tableLog caches a table version's row encoder and TABLE_MAP event.
type tableLog struct {
	once     sync.Once
	err      error
	enc      *rowenc.Table
	tableMap []byte // built with a zero header; timestamp and server id are patched per use
}

func (l *Log) tableFor(t *storage.LoggedTable) (*tableLog, error) {
	v, _ := l.tables.LoadOrStore(t, &tableLog{})
	tl := v.(*tableLog)
	tl.once.Do(func() {
		tl.enc, tl.err = rowenc.NewTable(t.Database, t.Name, t.Schema)
		if tl.err != nil {
			return
		}
		var ev mysql.BinlogEvent
		ev, tl.err = tl.enc.TableMapEvent(l.format.Vitess(), mysql.BinlogEventMetadata{}, t.ID, rowenc.MetadataFull)
		if tl.err == nil {
			tl.tableMap = ev.Bytes()
		}
	})
	return tl, tl.err
}

// sessionSettings are the session variables that shape a transaction's log entry.
type sessionSettings struct {
	logBin   bool
	minimal  bool // binlog_row_image=MINIMAL
	explicit bool
	gtid     gtid.GTID
	wait     semisync.Level // what the commit waits for from replicas
	late     bool           // it waits after the commit is visible (AFTER_COMMIT)
}

func (l *Log) settings(ctx *sql.Context) (sessionSettings, error) {
	s := sessionSettings{logBin: true}
	if v, err := ctx.GetSessionVariable(ctx, "sql_log_bin"); err == nil {
		s.logBin = readonly.IsOn(v)
	}
	if v, err := ctx.GetSessionVariable(ctx, "binlog_row_image"); err == nil {
		s.minimal = strings.EqualFold(fmt.Sprint(v), "MINIMAL")
	}
	if v, err := ctx.GetSessionVariable(ctx, "gtid_next"); err == nil {
		next := strings.TrimSpace(fmt.Sprint(v))
		if next != "" && !strings.EqualFold(next, "AUTOMATIC") {
			g, err := gtid.ParseGTID(next)
			if err != nil {
				return s, fmt.Errorf("gtid_next: %w", err)
			}
			s.explicit, s.gtid = true, g
		}
	}
	s.wait, s.late = l.durability(ctx)
	return s, nil
}

// durability decides what a commit waits for: the session's replication_durability (a RelayDB
// extension: ASYNC, SEMI_SYNC or SYNC for this session's transactions), or by DEFAULT the
// source's semi-sync settings.
func (l *Log) durability(ctx *sql.Context) (semisync.Level, bool) {
	if l.semi == nil {
		return semisync.Async, false
	}
	st := l.semi.Settings()
	choice := "DEFAULT"
	if v, err := ctx.GetSessionVariable(ctx, "replication_durability"); err == nil {
		choice = strings.ToUpper(fmt.Sprint(v))
	}
	switch choice {
	case "ASYNC":
		return semisync.Async, false
	case "SEMI_SYNC":
		return semisync.Received, st.WaitPoint == semisync.AfterCommit
	case "SYNC":
		return semisync.Applied, false
	}
	switch {
	case !st.Enabled:
		return semisync.Async, false
	case st.WaitPoint == semisync.AfterApply:
		return semisync.Applied, false
	}
	return semisync.Received, st.WaitPoint == semisync.AfterCommit
}

// Committed implements storage.CommitLogger: a commit logged to wait AFTER_COMMIT waits here,
// visible already, until enough replicas acknowledge it.
func (l *Log) Committed(ctx *sql.Context, a any) error {
	e, ok := a.(*entry)
	if !ok || e == nil || !e.late || e.wait == semisync.Async || l.semi == nil {
		return nil
	}
	return l.semi.Wait(ctx, e.end, e.wait, 1)
}

// consumeGTIDNext returns gtid_next to AUTOMATIC once an explicit GTID has been used.
func consumeGTIDNext(ctx *sql.Context) {
	_ = ctx.SetSessionVariable(ctx, "gtid_next", "AUTOMATIC")
}

// BeginReplay marks the session's next commit as the re-application of t, already in the
// binlog (recovery); EndReplay clears it.
func (l *Log) BeginReplay(sessionID uint32, t *binlog.Transaction) { l.replays.Store(sessionID, t) }
func (l *Log) EndReplay(sessionID uint32)                          { l.replays.Delete(sessionID) }

// SetOrigin makes the session's commits logged with serverID, the server where they originated,
// instead of this server's: the replication applier re-logging what it applies
// (log_replica_updates), so that circular and chained topologies can tell where an event came
// from. ClearOrigin ends it. Sessions are told apart by identity, not by id: the applier's
// parallel workers share one connection id.
func (l *Log) SetOrigin(s sql.Session, serverID uint32) { l.origins.Store(s, serverID) }
func (l *Log) ClearOrigin(s sql.Session)                { l.origins.Delete(s) }

func (l *Log) replaying(ctx *sql.Context) *entry {
	if v, ok := l.replays.Load(ctx.Session.ID()); ok {
		return &entry{replay: v.(*binlog.Transaction)}
	}
	return nil
}

// logsDB applies binlog-do-db / binlog-ignore-db to a database name.
func (l *Log) logsDB(db string) bool {
	if l.doDB == nil && l.ignoreDB == nil {
		return true
	}
	db = strings.ToLower(db)
	if l.doDB != nil {
		return l.doDB[db]
	}
	return !l.ignoreDB[db]
}

func (l *Log) header(ctx *sql.Context) binlog.Header {
	id := l.opts.ServerID
	if ctx.Session != nil {
		if v, ok := l.origins.Load(ctx.Session); ok {
			id = v.(uint32)
		}
	}
	return binlog.Header{Timestamp: uint32(ctx.QueryTime().Unix()), ServerID: id}
}

// TxnEntry implements storage.CommitLogger for a transaction's row changes (binlog_format=ROW).
func (l *Log) TxnEntry(ctx *sql.Context, changes []storage.RowChange, statements []storage.StatementLog) (any, bool, error) {
	if e := l.replaying(ctx); e != nil {
		if len(changes) == 0 && !ctx.GetIgnoreAutoCommit() {
			// The implicit commit of nothing that START TRANSACTION makes before the replayed
			// transaction begins: it must not record the transaction's GTID in the store's
			// state, or a crash between it and the real commit would leave the store claiming
			// a transaction whose rows it lacks (found by the rewind soak's kill -9 right
			// after a restart's replay, reading the Pebble WAL).
			return nil, false, nil
		}
		return e, false, nil
	}
	if v, ok := l.rewinds.Load(ctx.Session.ID()); ok {
		return &entry{rewind: v.(*rewindMark)}, false, nil
	}
	if len(changes) == 0 && !ctx.GetIgnoreAutoCommit() {
		// A statement that wrote nothing outside BEGIN … COMMIT (every autocommit SELECT, the
		// SET gtid_next itself) logs nothing and does not use up gtid_next; only an empty
		// BEGIN … COMMIT does. Returning before reading any session variable keeps reads cheap.
		return nil, false, nil
	}
	s, err := l.settings(ctx)
	if err != nil {
		return nil, false, err
	}
	if s.explicit {
		consumeGTIDNext(ctx)
		if l.Contains(s.gtid) {
			return nil, true, nil // already executed: the transaction is skipped
		}
	}
	if !s.logBin {
		return nil, false, nil
	}
	h := l.header(ctx)
	e := &entry{explicit: s.explicit, gtid: s.gtid, header: h, wait: s.wait, late: s.late}
	begin, err := l.format.Query(h, binlog.Query{ThreadID: ctx.Session.ID(), SQL: "BEGIN", SQLMode: binlog.DefaultSQLMode, Charset: sessionCharset(ctx)})
	if err != nil {
		return nil, false, err
	}
	e.events = append(e.events, begin)
	logged, err := l.appendChanges(e, h, changes, statements, s.minimal)
	if err != nil {
		return nil, false, err
	}
	if logged == 0 && !s.explicit {
		return nil, false, nil // nothing to log (binlog-do-db / binlog-ignore-db)
	}
	if logged == 0 {
		// An empty transaction (to skip a GTID) ends with COMMIT, as MySQL logs it.
		commit, err := l.format.Query(h, binlog.Query{ThreadID: ctx.Session.ID(), SQL: "COMMIT", SQLMode: binlog.DefaultSQLMode, Charset: sessionCharset(ctx)})
		if err != nil {
			return nil, false, err
		}
		e.events = append(e.events, commit)
	} else {
		e.events = append(e.events, l.format.XID(h, l.xid.Add(1)))
	}
	return e, false, nil
}

// appendChanges logs each statement as text when StatementStarted chose so, and the rest as row
// events, in statement order, and returns how many statements it logged. binlog-do-db and
// binlog-ignore-db apply to the default database of a statement logged as text and to each
// table's database for rows, as in MySQL.
func (l *Log) appendChanges(e *entry, h binlog.Header, changes []storage.RowChange, statements []storage.StatementLog, minimal bool) (int, error) {
	byStmt := make(map[int]storage.StatementLog, len(statements))
	for _, s := range statements {
		if s.Info != nil {
			byStmt[s.Stmt] = s
		}
	}
	filtered := l.doDB != nil || l.ignoreDB != nil
	logged := 0
	for _, stmt := range byStatement(changes) {
		if s, ok := byStmt[stmt[0].Stmt]; ok {
			info := s.Info.(*stmtInfo)
			if filtered && !l.logsDB(info.db) {
				continue
			}
			if err := l.appendStatementEvents(e, info, s); err != nil {
				return 0, err
			}
			logged++
			continue
		}
		if filtered {
			kept := stmt[:0:0]
			for _, c := range stmt {
				if l.logsDB(c.Table.Database) {
					kept = append(kept, c)
				}
			}
			stmt = kept
		}
		if len(stmt) == 0 {
			continue
		}
		if err := l.appendRowEvents(e, h, stmt, minimal); err != nil {
			return 0, err
		}
		logged++
	}
	return logged, nil
}

// rowsRun is a rows event being assembled: consecutive changes of one kind to one table with
// the same column bitmaps.
type rowsRun struct {
	table          *storage.LoggedTable
	kind           byte // 'w', 'u', 'd'
	identify, data mysql.Bitmap
	rows           []mysql.Row
	size           int
}

func (l *Log) appendRowEvents(e *entry, h binlog.Header, changes []storage.RowChange, minimal bool) error {
	vf := l.format.Vitess()
	meta := mysql.BinlogEventMetadata{ServerID: h.ServerID, Timestamp: h.Timestamp}
	img := rowenc.ImageFull
	if minimal {
		img = rowenc.ImageMinimal
	}
	for _, stmt := range byStatement(changes) {
		// One statement: its table maps, then its rows events, the last flagged STMT_END_F.
		var mapped []*storage.LoggedTable
		for _, c := range stmt {
			if !containsTable(mapped, c.Table) {
				mapped = append(mapped, c.Table)
				tl, err := l.tableFor(c.Table)
				if err != nil {
					return err
				}
				e.events = append(e.events, l.format.Restamp(tl.tableMap, h))
			}
		}
		var runs []*rowsRun
		var cur *rowsRun
		for _, c := range stmt {
			tl, err := l.tableFor(c.Table)
			if err != nil {
				return err
			}
			var kind byte
			var identify, data mysql.Bitmap
			var row mysql.Row
			switch {
			case c.Before == nil:
				kind, data = 'w', tl.enc.AllColumns()
			case c.After == nil:
				kind, identify = 'd', tl.enc.BeforeImageColumns(img)
			default:
				kind, identify = 'u', tl.enc.BeforeImageColumns(img)
				if data, err = tl.enc.AfterImageColumns(img, c.Before, c.After); err != nil {
					return err
				}
			}
			if c.Before != nil {
				if row.NullIdentifyColumns, row.Identify, err = tl.enc.EncodeImage(c.Before, identify); err != nil {
					return fmt.Errorf("binlog row image of %s.%s: %w", c.Table.Database, c.Table.Name, err)
				}
			}
			if c.After != nil {
				if row.NullColumns, row.Data, err = tl.enc.EncodeImage(c.After, data); err != nil {
					return fmt.Errorf("binlog row image of %s.%s: %w", c.Table.Database, c.Table.Name, err)
				}
			}
			n := len(row.Identify) + len(row.Data) + 2*(len(tl.enc.Columns)+7)/8
			if cur == nil || cur.table != c.Table || cur.kind != kind || cur.size+n > maxRowsEventData ||
				!sameBitmap(cur.identify, identify) || !sameBitmap(cur.data, data) {
				cur = &rowsRun{table: c.Table, kind: kind, identify: identify, data: data}
				runs = append(runs, cur)
			}
			cur.rows = append(cur.rows, row)
			cur.size += n
		}
		for k, r := range runs {
			rows := mysql.Rows{IdentifyColumns: r.identify, DataColumns: r.data, Rows: r.rows}
			if k == len(runs)-1 {
				rows.Flags = stmtEndFlag
			}
			var ev mysql.BinlogEvent
			switch r.kind {
			case 'w':
				ev = mysql.NewWriteRowsEvent(vf, meta, r.table.ID, rows)
			case 'u':
				ev = mysql.NewUpdateRowsEvent(vf, meta, r.table.ID, rows)
			default:
				ev = mysql.NewDeleteRowsEvent(vf, meta, r.table.ID, rows)
			}
			e.events = append(e.events, binlog.Event(ev.Bytes()))
		}
	}
	return nil
}

func containsTable(ts []*storage.LoggedTable, t *storage.LoggedTable) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

func sameBitmap(a, b mysql.Bitmap) bool {
	if a.Count() != b.Count() {
		return false
	}
	for i := 0; i < a.Count(); i++ {
		if a.Bit(i) != b.Bit(i) {
			return false
		}
	}
	return true
}

// DDLEntry implements storage.CommitLogger: a statement that changed the catalog is logged as
// one QUERY event with the session's default database (binlog-do-db / binlog-ignore-db
// apply to that database, as MySQL does for statements).
func (l *Log) DDLEntry(ctx *sql.Context, created *storage.LoggedTable) (any, error) {
	if e := l.replaying(ctx); e != nil {
		return e, nil
	}
	q := strings.TrimSpace(ctx.Query())
	if !isDDL(q) {
		return nil, nil
	}
	if isCreateSelect(q) {
		// The rows the SELECT copies are committed, and logged, as the statement's own
		// transaction; the DDL is logged as the plain CREATE TABLE of the table it made, or a
		// replay would insert them twice.
		if created == nil {
			return nil, mysql.NewSQLError(1786, "HY000", "Statement violates GTID consistency: CREATE TABLE ... SELECT.")
		}
		q = createTableStatement(created)
	}
	s, err := l.settings(ctx)
	if err != nil {
		return nil, err
	}
	if s.explicit {
		consumeGTIDNext(ctx)
	}
	db := ctx.GetCurrentDatabase()
	if !s.logBin || !l.logsDB(db) {
		return nil, nil
	}
	h := l.header(ctx)
	ev, err := l.format.Query(h, binlog.Query{
		ThreadID: ctx.Session.ID(), Database: db, SQL: strings.TrimSuffix(q, ";"),
		SQLMode: binlog.DefaultSQLMode, Charset: sessionCharset(ctx),
	})
	if err != nil {
		return nil, err
	}
	// DDL waits for replicas at the sync point even under AFTER_COMMIT: its caller holds the
	// catalog lock until the commit returns, so waiting later would stall every reader.
	return &entry{events: []binlog.Event{ev}, explicit: s.explicit, gtid: s.gtid, header: h, sbr: true, wait: s.wait}, nil
}

// isDDL reports whether a statement's first keyword makes it DDL (the statements that change
// the catalog and are logged as QUERY events).
func isDDL(q string) bool {
	q = strings.TrimSpace(q)
	for strings.HasPrefix(q, "/*") {
		end := strings.Index(q, "*/")
		if end < 0 {
			return false
		}
		q = strings.TrimSpace(q[end+2:])
	}
	word := q
	if i := strings.IndexFunc(q, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '(' }); i >= 0 {
		word = q[:i]
	}
	switch strings.ToUpper(word) {
	case "CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE":
		return true
	}
	return false
}

// byStatement splits a transaction's changes into the runs made by each statement.
func byStatement(changes []storage.RowChange) [][]storage.RowChange {
	var out [][]storage.RowChange
	for i := 0; i < len(changes); {
		j := i
		for j < len(changes) && changes[j].Stmt == changes[i].Stmt {
			j++
		}
		out = append(out, changes[i:j])
		i = j
	}
	return out
}

// isCreateSelect reports whether q is CREATE TABLE ... SELECT.
func isCreateSelect(q string) bool {
	if !strings.Contains(strings.ToLower(q), "select") {
		return false
	}
	st, err := sqlparser.Parse(q)
	if err != nil {
		return false
	}
	ddl, ok := st.(*sqlparser.DDL)
	return ok && ddl.OptSelect != nil
}

// createTableStatement is the CREATE TABLE of a table version (its columns and primary key, as
// SHOW CREATE TABLE prints them).
func createTableStatement(t *storage.LoggedTable) string {
	var f sql.MySqlSchemaFormatter
	var cols []string
	for _, c := range t.Schema.Schema {
		def, onUpdate := "", ""
		if c.Default != nil {
			def = c.Default.String()
		}
		if c.OnUpdate != nil {
			onUpdate = c.OnUpdate.String()
		}
		cols = append(cols, f.GenerateCreateTableColumnDefinition(c, def, onUpdate, sql.Collation_Default))
	}
	var pk []string
	for _, o := range t.Schema.PkOrdinals {
		pk = append(pk, t.Schema.Schema[o].Name)
	}
	if len(pk) > 0 {
		cols = append(cols, f.GenerateCreateTablePrimaryKeyDefinition(pk))
	}
	return "CREATE TABLE " + f.QuoteIdentifier(t.Database) + "." + f.QuoteIdentifier(t.Name) + " (\n" + strings.Join(cols, ",\n") + "\n)"
}
