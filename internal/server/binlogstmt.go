package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/relaydb/relaydb/internal/adminsql"
	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/commitlog"
	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/replica"
)

// binlogAdmin runs the binary log statements GMS's parser does not know, with MySQL's syntax,
// result columns, privileges and error codes: SHOW BINARY LOGS, SHOW BINARY LOG STATUS,
// SHOW BINLOG EVENTS, FLUSH BINARY LOGS, PURGE BINARY LOGS and RESET MASTER.
type binlogAdmin struct {
	log      *commitlog.Log // nil without a binary log
	dataDir  string
	sessions *sessionTable
	users    *mysql_db.MySQLDb
	// syncState has the store record the log's state (after RESET MASTER).
	syncState func() error

	// Replication's source side: the node's identity, the connected replicas, and a channel
	// closed when the node stops (ending the dumps).
	serverID   uint32
	serverUUID string
	replicas   *replicaRegistry
	stop       <-chan struct{}
	channels   *replica.Channels // nil without a binary log
	// clusterStatus reads the node's cluster status (nil outside a cluster).
	clusterStatus func() *func(ctx context.Context) ClusterStatus
	// clusterSwitchover runs a planned switchover (nil outside a cluster).
	clusterSwitchover func() *ClusterSwitchoverFunc
	// inCluster refuses the statements by which a client could take replication away from the
	// control plane (CHANGE REPLICATION SOURCE, RESET MASTER, RESET REPLICA).
	inCluster bool
	// clone runs the CLONE statements (clonestmt.go).
	clone *cloneService
}

// clusterOwned refuses, on a cluster member, a statement the control plane owns (malformed or
// not: the refusal says why the statement cannot be used at all).
func (a *binlogAdmin) clusterOwned(st adminsql.Statement) error {
	if !a.inCluster {
		return nil
	}
	var head string
	switch s := st.(type) {
	case *adminsql.ChangeSource:
		head = s.Head()
	case *adminsql.ResetBinaryLogs:
		head = s.String()
	case *adminsql.ResetReplica:
		head = s.Head()
	default:
		return nil
	}
	return mysql.NewSQLError(adminsql.ERUnknownError, "HY000", "%s is managed by the RelayDB cluster on a cluster member (the control plane chooses and re-points sources)", head)
}

// handle runs query if it is one of the statements of adminsql; handled is false otherwise.
// adminsql.Parse looks at the first word before anything else, so other statements pay almost
// nothing.
func (a *binlogAdmin) handle(ctx context.Context, c *mysql.Conn, query string) (res *sqltypes.Result, handled bool, err error) {
	st, perr := adminsql.Parse(query)
	if st == nil {
		return nil, false, nil
	}
	switch st.(type) {
	case *adminsql.CloneInstance, *adminsql.CloneDonorBegin, *adminsql.CloneDonorRead, *adminsql.CloneDonorEnd:
		if a.clone == nil {
			return nil, false, nil
		}
		if perr != nil {
			return nil, true, perr
		}
		return a.cloneStatement(ctx, c, st)
	}
	if err := a.clusterOwned(st); err != nil {
		return nil, true, err
	}
	if perr != nil {
		return nil, true, perr
	}
	switch s := st.(type) {
	case *adminsql.Switchover:
		return a.run(ctx, c, []string{"REPLICATION_SLAVE_ADMIN"}, false, func() (*sqltypes.Result, error) { return a.switchover(ctx, s) })
	case *adminsql.ShowCluster:
		return a.run(ctx, c, []string{"REPLICATION CLIENT"}, false, func() (*sqltypes.Result, error) { return a.showCluster(ctx, s.Journal) })
	case *adminsql.SetGTIDPurged:
		return a.run(ctx, c, []string{"SYSTEM_VARIABLES_ADMIN"}, true, func() (*sqltypes.Result, error) { return a.setPurged(s.Value) })
	case *adminsql.ShowBinaryLogs:
		return a.run(ctx, c, []string{"REPLICATION CLIENT"}, true, a.showLogs)
	case *adminsql.ShowBinaryLogStatus:
		return a.run(ctx, c, []string{"REPLICATION CLIENT"}, false, a.showStatus)
	case *adminsql.ShowBinlogEvents:
		return a.run(ctx, c, []string{"REPLICATION SLAVE"}, true, func() (*sqltypes.Result, error) { return a.showEvents(s) })
	case *adminsql.FlushBinaryLogs:
		return a.run(ctx, c, []string{"RELOAD"}, false, a.flush)
	case *adminsql.PurgeBinaryLogs:
		return a.run(ctx, c, []string{"BINLOG_ADMIN"}, true, func() (*sqltypes.Result, error) {
			if !s.Before {
				return a.purge(a.log.PurgeTo(s.Target))
			}
			t, err := time.ParseInLocation("2006-01-02 15:04:05", strings.TrimSpace(s.Target), time.Local)
			if err != nil {
				if t, err = time.ParseInLocation("2006-01-02", strings.TrimSpace(s.Target), time.Local); err != nil {
					return nil, mysql.NewSQLError(adminsql.ERWrongValue, "HY000", "Incorrect DATETIME value: '%s'", s.Target)
				}
			}
			return a.purge(a.log.PurgeBefore(t))
		})
	case *adminsql.ResetBinaryLogs:
		return a.run(ctx, c, []string{"RELOAD"}, false, a.reset)
	case *adminsql.ShowReplicas:
		return a.run(ctx, c, []string{"REPLICATION SLAVE"}, false, func() (*sqltypes.Result, error) { return a.showReplicas(s.Legacy) })
	}
	return a.replicaStatement(ctx, c, st)
}

// run checks privileges and that a binary log exists (when needsLog), then runs fn.
func (a *binlogAdmin) run(ctx context.Context, c *mysql.Conn, privs []string, needsLog bool, fn func() (*sqltypes.Result, error)) (*sqltypes.Result, bool, error) {
	if err := a.checkPrivileges(ctx, c, privs); err != nil {
		return nil, true, err
	}
	if a.log == nil && needsLog {
		return nil, true, mysql.NewSQLError(adminsql.ERNoBinaryLogging, "HY000", "You are not using binary logging")
	}
	res, err := fn()
	return res, true, err
}

func (a *binlogAdmin) checkPrivileges(ctx context.Context, c *mysql.Conn, privs []string) error {
	if a.users == nil || !a.users.Enabled() {
		return nil
	}
	var sess sql.Session = a.sessions.get(c.ConnectionID)
	if sess == nil {
		// A connection that sent no query yet (a replica's first command may be the dump).
		u, ok := c.UserData.(sql.MysqlConnectionUser)
		if !ok {
			return mysql.NewSQLError(adminsql.ERSpecificAccessDenied, "42000", "Access denied; you need (at least one of) the SUPER, %s privilege(s) for this operation", strings.Join(privs, ", "))
		}
		sess = sql.NewBaseSessionWithClientServer(c.RemoteAddr().String(), sql.Client{User: u.User, Address: u.Host}, c.ConnectionID)
	}
	sctx := sql.NewContext(ctx, sql.WithSession(sess))
	if a.users.UserHasPrivileges(sctx, sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{}, sql.PrivilegeType_Super)) {
		return nil
	}
	for _, p := range privs {
		if pt, ok := sql.PrivilegeTypeFromString(p); ok {
			if a.users.UserHasPrivileges(sctx, sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{}, pt)) {
				return nil
			}
		} else if a.users.UserHasPrivileges(sctx, sql.NewDynamicPrivilegedOperation(strings.ToLower(p))) {
			return nil
		}
	}
	return mysql.NewSQLError(adminsql.ERSpecificAccessDenied, "42000", "Access denied; you need (at least one of) the SUPER, %s privilege(s) for this operation", strings.Join(privs, ", "))
}

func field(name string, t querypb.Type) *querypb.Field {
	f := &querypb.Field{Name: name, Type: t, Charset: 33}
	if t == querypb.Type_UINT64 || t == querypb.Type_INT64 {
		f.Charset = 63
		f.Flags = uint32(querypb.MySqlFlag_NOT_NULL_FLAG)
	}
	return f
}

func text(s string) sqltypes.Value { return sqltypes.MakeTrusted(querypb.Type_VARCHAR, []byte(s)) }
func number(n uint64) sqltypes.Value {
	return sqltypes.MakeTrusted(querypb.Type_UINT64, strconv.AppendUint(nil, n, 10))
}

func (a *binlogAdmin) showLogs() (*sqltypes.Result, error) {
	files, err := a.log.Writer().Files()
	if err != nil {
		return nil, err
	}
	res := &sqltypes.Result{Fields: []*querypb.Field{field("Log_name", querypb.Type_VARCHAR), field("File_size", querypb.Type_UINT64), field("Encrypted", querypb.Type_VARCHAR)}}
	for _, f := range files {
		res.Rows = append(res.Rows, []sqltypes.Value{text(f.Name), number(uint64(f.Size)), text("No")})
	}
	return res, nil
}

func statusFields() []*querypb.Field {
	return []*querypb.Field{field("File", querypb.Type_VARCHAR), field("Position", querypb.Type_UINT64),
		field("Binlog_Do_DB", querypb.Type_VARCHAR), field("Binlog_Ignore_DB", querypb.Type_VARCHAR),
		field("Executed_Gtid_Set", querypb.Type_VARCHAR)}
}

func (a *binlogAdmin) showStatus() (*sqltypes.Result, error) {
	if a.log == nil {
		return &sqltypes.Result{Fields: statusFields()}, nil // empty, as MySQL without a log
	}
	pos := a.log.Writer().Position()
	return &sqltypes.Result{Fields: statusFields(), Rows: [][]sqltypes.Value{{
		text(pos.File), number(pos.Offset), text(strings.Join(a.log.DoDB(), ",")),
		text(strings.Join(a.log.IgnoreDB(), ",")), text(a.log.Executed().String()),
	}}}, nil
}

// showEvents lists events as MySQL's SHOW BINLOG EVENTS does.
func (a *binlogAdmin) showEvents(s *adminsql.ShowBinlogEvents) (*sqltypes.Result, error) {
	fail := func(why string) error {
		return mysql.NewSQLError(adminsql.ERErrorWhenExecutingCommand, "HY000", "Error when executing command SHOW BINLOG EVENTS: %s", why)
	}
	files, err := a.log.Writer().Files()
	if err != nil {
		return nil, err
	}
	name := s.File
	if name == "" && len(files) > 0 {
		name = files[0].Name
	}
	known := false
	for _, f := range files {
		known = known || f.Name == name
	}
	if !known {
		return nil, fail("Could not find target log")
	}
	offset, count := uint64(0), uint64(1<<63)
	if s.HasLimit {
		offset, count = s.Offset, s.Count
	}
	r, err := binlog.OpenFile(filepath.Join(a.dataDir, name))
	if err != nil {
		return nil, fail(err.Error())
	}
	defer r.Close()
	if s.HasFrom {
		from := int64(min(s.From, math.MaxInt64))
		if from < 4 {
			from = 4
		}
		if err := r.SetPos(from); err != nil {
			return nil, fail("Wrong offset or I/O error")
		}
	}
	res := &sqltypes.Result{Fields: []*querypb.Field{field("Log_name", querypb.Type_VARCHAR), field("Pos", querypb.Type_UINT64),
		field("Event_type", querypb.Type_VARCHAR), field("Server_id", querypb.Type_UINT64),
		field("End_log_pos", querypb.Type_UINT64), field("Info", querypb.Type_VARCHAR)}}
	f := r.Format()
	var seen uint64
	add := func(start int64, ev binlog.Event) {
		seen++
		if seen > offset && uint64(len(res.Rows)) < count {
			res.Rows = append(res.Rows, []sqltypes.Value{text(name), number(uint64(start)), text(ev.Type().String()),
				number(uint64(ev.ServerID())), number(uint64(ev.LogPos())), text(eventInfo(f, ev))})
		}
	}
	if !s.HasFrom || s.From == 4 {
		// The reader has consumed the FORMAT_DESCRIPTION at offset 4; MySQL lists it first.
		_, fde := r.FormatDescription()
		add(4, fde)
	}
	for uint64(len(res.Rows)) < count {
		ev, start, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if s.HasFrom && s.From != 4 && seen == 0 {
				return nil, fail("Wrong offset or I/O error")
			}
			return nil, fail(err.Error())
		}
		add(start, ev)
	}
	return res, nil
}

// eventInfo is the Info column MySQL shows for an event.
func eventInfo(f binlog.Format, ev binlog.Event) string {
	switch ev.Type() {
	case binlog.TypeFormatDescription:
		if fd, err := binlog.DecodeFormatDescription(ev); err == nil {
			return fmt.Sprintf("Server ver: %s, Binlog ver: %d", fd.ServerVersion, fd.BinlogVersion)
		}
	case binlog.TypePreviousGTIDs:
		if s, err := binlog.DecodePreviousGTIDs(f, ev); err == nil {
			return s.String()
		}
	case binlog.TypeGTID:
		if g, err := binlog.DecodeGTID(f, ev); err == nil {
			return fmt.Sprintf("SET @@SESSION.GTID_NEXT= '%s'", g.GTID)
		}
	case binlog.TypeAnonymousGTID:
		return "SET @@SESSION.GTID_NEXT= 'ANONYMOUS'"
	case binlog.TypeQuery:
		if q, err := binlog.DecodeQuery(f, ev); err == nil {
			if q.Database != "" && q.SQL != "BEGIN" && q.SQL != "COMMIT" {
				return "use `" + q.Database + "`; " + q.SQL
			}
			return q.SQL
		}
	case binlog.TypeIntVar:
		if typ, v, err := binlog.DecodeIntVar(f, ev); err == nil {
			if typ == binlog.IntVarLastInsertID {
				return fmt.Sprintf("LAST_INSERT_ID=%d", v)
			}
			return fmt.Sprintf("INSERT_ID=%d", v)
		}
	case binlog.TypeRand:
		if s1, s2, err := binlog.DecodeRand(f, ev); err == nil {
			return fmt.Sprintf("rand_seed1=%d,rand_seed2=%d", s1, s2)
		}
	case binlog.TypeUserVar:
		if uv, err := binlog.DecodeUserVar(f, ev); err == nil {
			return "@`" + uv.Name + "`"
		}
	case binlog.TypeXID:
		if x, err := binlog.DecodeXID(f, ev); err == nil {
			return fmt.Sprintf("COMMIT /* xid=%d */", x)
		}
	case binlog.TypeRotate:
		if pos, next, err := binlog.DecodeRotate(f, ev); err == nil {
			return fmt.Sprintf("%s;pos=%d", next, pos)
		}
	case binlog.TypeTableMap:
		if id, ok := ev.TableID(f); ok && len(ev.Body(f)) >= 8 {
			return fmt.Sprintf("table_id: %d (%s)", id, tableMapName(ev.Body(f)))
		}
	case binlog.TypeWriteRows, binlog.TypeUpdateRows, binlog.TypeDeleteRows,
		binlog.TypeWriteRowsV1, binlog.TypeUpdateRowsV1, binlog.TypeDeleteRowsV1:
		if id, ok := ev.TableID(f); ok && len(ev.Body(f)) >= 8 {
			b := ev.Body(f)
			s := fmt.Sprintf("table_id: %d", id)
			if b[6]&1 != 0 {
				s += " flags: STMT_END_F"
			}
			return s
		}
	}
	return ""
}

// tableMapName reads "db.table" from a TABLE_MAP body (post-header of 8 bytes, then
// length-prefixed NUL-terminated names).
func tableMapName(b []byte) string {
	p := 8
	if p >= len(b) {
		return "?"
	}
	dl := int(b[p])
	if p+1+dl+1 >= len(b) {
		return "?"
	}
	db := string(b[p+1 : p+1+dl])
	p += 1 + dl + 1
	tl := int(b[p])
	if p+1+tl > len(b) {
		return "?"
	}
	return db + "." + string(b[p+1:p+1+tl])
}

func (a *binlogAdmin) flush() (*sqltypes.Result, error) {
	if a.log == nil {
		return &sqltypes.Result{}, nil
	}
	return &sqltypes.Result{}, a.log.Rotate()
}

// purge maps the writer's refusals to MySQL's errors.
func (a *binlogAdmin) purge(removed []string, err error) (*sqltypes.Result, error) {
	if err == nil {
		return &sqltypes.Result{RowsAffected: 0}, nil
	}
	if errors.Is(err, binlog.ErrUnknownLog) {
		return nil, mysql.NewSQLError(adminsql.ERUnknownTargetBinlog, "HY000", "Target log not found in binlog index")
	}
	if errors.Is(err, errLogInUse) {
		return nil, mysql.NewSQLError(adminsql.ERLogInUse, "HY000", "A purgeable log is in use, will not purge (%v)", err)
	}
	return nil, mysql.NewSQLError(adminsql.ERBinlogPurgeFatalErr, "HY000", "Fatal error during log purge: %v", err)
}

func (a *binlogAdmin) reset() (*sqltypes.Result, error) {
	if a.log == nil {
		return nil, mysql.NewSQLError(adminsql.ERFlushSourceBinlogClosed, "HY000", "Binlog closed, cannot RESET MASTER")
	}
	if err := a.log.Reset(); err != nil {
		return nil, err
	}
	if a.syncState != nil {
		if err := a.syncState(); err != nil {
			return nil, err
		}
	}
	return &sqltypes.Result{}, nil
}

// setPurged runs SET GLOBAL gtid_purged: it declares GTIDs as executed without their
// transactions, as after loading a dump taken at that point. As in MySQL 5.7, gtid_executed must
// be empty (load the dump with sql_log_bin=0); a leading '+' (MySQL 8's "add to") is accepted in
// that case too. The binary log then starts afresh with the set as its PREVIOUS_GTIDS, so it
// survives restarts as gtid_purged and a source refuses to serve it (1236) to replicas.
func (a *binlogAdmin) setPurged(value string) (*sqltypes.Result, error) {
	v := strings.TrimSpace(value)
	v = strings.TrimSpace(strings.TrimPrefix(v, "+"))
	set, err := gtid.Parse(v)
	if err != nil {
		return nil, mysql.NewSQLError(adminsql.ERMalformedGTIDSetSpec, "HY000", "Malformed GTID set specification '%s'.", value)
	}
	if !a.log.Executed().IsEmpty() {
		return nil, mysql.NewSQLError(adminsql.ERCantSetGTIDPurged, "HY000", "@@GLOBAL.GTID_PURGED can only be set when @@GLOBAL.GTID_EXECUTED is empty.")
	}
	if err := a.log.ResetTo(set); err != nil {
		return nil, err
	}
	if a.syncState != nil {
		if err := a.syncState(); err != nil {
			return nil, err
		}
	}
	return &sqltypes.Result{}, nil
}
