package commitlog

import (
	"fmt"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/shopspring/decimal"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/binlog/rowenc"
	"github.com/relaydb/relaydb/internal/storage"
)

// Binlog formats (binlog_format).
const (
	formatRow       = "ROW"
	formatStatement = "STATEMENT"
	formatMixed     = "MIXED"
)

// ER_BINLOG_UNSAFE_STATEMENT: the warning MySQL raises for an unsafe statement logged as a
// statement.
const errUnsafeStatement = 1592

// stmtInfo is what the log keeps of a statement it logs as a statement (binlog_format
// STATEMENT, or MIXED and safe): the text and the session state its replay needs.
type stmtInfo struct {
	query        string
	db           string
	at           time.Time
	threadID     uint32
	userVars     []binlog.UserVar
	lastInsertID uint64
	usesLastID   bool
	incr, offset uint16
	rand         bool
	seed1, seed2 uint64
	charset      binlog.Charset
}

// analysis is what a statement's text says about logging it as a statement.
type analysis struct {
	unsafe   string   // why replaying the text could give another result ("" if safe)
	rowsOnly string   // why it cannot be logged as a statement at all
	userVars []string // @variables it reads
	lastID   bool     // it calls LAST_INSERT_ID()
	rand     bool     // it calls RAND() without a seed
}

// unsafeFunctions give a different result on a replica; MySQL marks them unsafe. (RAND() is safe:
// the statement's starting seeds are logged in a RAND event.)
var unsafeFunctions = map[string]bool{
	"uuid": true, "uuid_short": true, "sysdate": true, "found_rows": true, "row_count": true,
	"user": true, "current_user": true, "session_user": true, "system_user": true, "version": true,
	"load_file": true, "sleep": true, "get_lock": true, "release_lock": true, "is_free_lock": true,
	"is_used_lock": true, "release_all_locks": true, "master_pos_wait": true, "source_pos_wait": true,
	"connection_id": true, "random_bytes": true,
}

func analyze(query string) analysis {
	var a analysis
	st, err := sqlparser.Parse(query)
	if err != nil {
		a.rowsOnly = "its text could not be parsed for logging"
		return a
	}
	seen := map[string]bool{}
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		switch n := n.(type) {
		case *sqlparser.FuncExpr:
			name := n.Name.Lowered()
			if unsafeFunctions[name] && a.unsafe == "" {
				a.unsafe = fmt.Sprintf("Statement is unsafe because it uses a system function that may return a different value on the replica (%s).", strings.ToUpper(name))
			}
			if name == "last_insert_id" && len(n.Exprs) == 0 {
				a.lastID = true
			}
			if name == "rand" && len(n.Exprs) == 0 {
				a.rand = true
			}
		case *sqlparser.ColName:
			name := n.Name.String()
			switch {
			case strings.HasPrefix(name, "@@"):
				if a.unsafe == "" {
					a.unsafe = "Statement is unsafe because it uses a system variable that may have a different value on the replica."
				}
			case strings.HasPrefix(name, "@") && n.Qualifier.IsEmpty():
				v := strings.Trim(strings.TrimPrefix(name, "@"), "`'\"")
				if !seen[strings.ToLower(v)] {
					seen[strings.ToLower(v)] = true
					a.userVars = append(a.userVars, v)
				}
			}
		case *sqlparser.SQLVal:
			if n.Type == sqlparser.ValArg {
				a.rowsOnly = "it is a prepared statement with parameters"
			}
		case *sqlparser.Update:
			if n.Limit != nil && len(n.OrderBy) == 0 && a.unsafe == "" {
				a.unsafe = "The statement is unsafe because it uses a LIMIT clause. This is unsafe because the set of rows included cannot be predicted."
			}
		case *sqlparser.Delete:
			if n.Limit != nil && len(n.OrderBy) == 0 && a.unsafe == "" {
				a.unsafe = "The statement is unsafe because it uses a LIMIT clause. This is unsafe because the set of rows included cannot be predicted."
			}
		case *sqlparser.Select:
			if n.Limit != nil && len(n.OrderBy) == 0 && a.unsafe == "" {
				a.unsafe = "The statement is unsafe because it uses a LIMIT clause. This is unsafe because the set of rows included cannot be predicted."
			}
		}
		return true, nil
	}, st)
	return a
}

// sessionFormat reads binlog_format.
func sessionFormat(ctx *sql.Context) string {
	v, err := ctx.GetSessionVariable(ctx, "binlog_format")
	if err != nil {
		return formatRow
	}
	return strings.ToUpper(fmt.Sprint(v))
}

// StatementStarted implements storage.CommitLogger: it decides, while the statement runs,
// whether it is logged as a statement (returning its stmtInfo) or as rows (nil). In STATEMENT
// format an unsafe statement is still logged as a statement, with MySQL's warning 1592; in
// MIXED it is logged as rows. A statement that cannot be logged as text at all (a prepared
// statement with parameters) is logged as rows in either format.
func (l *Log) StatementStarted(ctx *sql.Context) any {
	format := sessionFormat(ctx)
	if format != formatStatement && format != formatMixed {
		return nil
	}
	q := strings.TrimSuffix(strings.TrimSpace(ctx.Query()), ";")
	a := analyze(q)
	if a.rowsOnly != "" {
		if format == formatStatement {
			ctx.Warn(errUnsafeStatement, "Statement logged in row format since %s (BINLOG_FORMAT = STATEMENT).", a.rowsOnly)
		}
		return nil
	}
	if a.unsafe != "" {
		if format == formatMixed {
			return nil
		}
		ctx.Warn(errUnsafeStatement, "Unsafe statement written to the binary log using statement format since BINLOG_FORMAT = STATEMENT. %s", a.unsafe)
	}
	info := &stmtInfo{query: q, db: ctx.GetCurrentDatabase(), at: ctx.QueryTime(), threadID: ctx.Session.ID(), usesLastID: a.lastID,
		charset: sessionCharset(ctx)}
	if a.lastID {
		info.lastInsertID = uint64(ctx.GetLastQueryInfo().LastInsertId.Load())
	}
	info.incr, info.offset = autoIncrementVars(ctx)
	if a.rand {
		if l.randSeeds == nil {
			if format == formatMixed {
				return nil
			}
			ctx.Warn(errUnsafeStatement, "Statement logged in row format since RAND() seeds are not available.")
			return nil
		}
		info.rand = true
		info.seed1, info.seed2 = l.randSeeds(ctx)
	}
	for _, name := range a.userVars {
		uv, ok := userVar(ctx, name)
		if !ok {
			if format == formatMixed {
				return nil
			}
			ctx.Warn(errUnsafeStatement, "Statement logged in row format since the value of @%s cannot be logged.", name)
			return nil
		}
		info.userVars = append(info.userVars, uv)
	}
	return info
}

func autoIncrementVars(ctx *sql.Context) (incr, offset uint16) {
	get := func(name string) uint16 {
		v, err := ctx.GetSessionVariable(ctx, name)
		if err != nil {
			return 1
		}
		n, _, err := types.Uint16.Convert(ctx, v)
		if err != nil {
			return 1
		}
		return n.(uint16)
	}
	return get("auto_increment_increment"), get("auto_increment_offset")
}

// userVar reads @name as a USER_VAR event value; ok is false for a type it cannot carry.
func userVar(ctx *sql.Context, name string) (binlog.UserVar, bool) {
	typ, v, err := ctx.GetUserVariable(ctx, name)
	if err != nil {
		return binlog.UserVar{}, false
	}
	if v == nil {
		return binlog.UserVar{Name: name, Null: true}, true
	}
	switch x := v.(type) {
	case int8, int16, int32, int64, int:
		n, _, _ := types.Int64.Convert(ctx, x)
		return binlog.NewUserVarInt(name, n.(int64), false), true
	case uint8, uint16, uint32, uint64, uint:
		n, _, _ := types.Uint64.Convert(ctx, x)
		return binlog.NewUserVarInt(name, int64(n.(uint64)), true), true
	case float32, float64:
		f, _, _ := types.Float64.Convert(ctx, x)
		return binlog.NewUserVarReal(name, f.(float64)), true
	case string:
		coll := uint32(sql.Collation_Default)
		if st, ok := typ.(sql.StringType); ok {
			coll = uint32(st.Collation())
		}
		return binlog.NewUserVarString(name, x, coll), true
	case []byte:
		return binlog.NewUserVarString(name, string(x), uint32(sql.Collation_binary)), true
	case *apd.Decimal, decimal.Decimal:
		d, _, err := apd.NewFromString(fmt.Sprint(x))
		if err != nil {
			return binlog.UserVar{}, false
		}
		b, err := rowenc.AppendUserVarDecimal(nil, d)
		if err != nil {
			return binlog.UserVar{}, false
		}
		return binlog.UserVar{Name: name, Type: binlog.UserVarDecimal, Collation: 63, Value: b}, true
	}
	return binlog.UserVar{}, false
}

// appendStatementEvents logs one statement as text: INTVAR events for LAST_INSERT_ID() and the
// AUTO_INCREMENT value it generated, USER_VAR events for the variables it reads, then the
// QUERY event with its time (seconds in the header, microseconds as a status variable).
func (l *Log) appendStatementEvents(e *entry, info *stmtInfo, s storage.StatementLog) error {
	h := binlog.Header{Timestamp: uint32(info.at.Unix()), ServerID: l.opts.ServerID}
	if info.usesLastID {
		e.events = append(e.events, l.format.IntVar(h, binlog.IntVarLastInsertID, info.lastInsertID))
	}
	if s.InsertID != 0 {
		e.events = append(e.events, l.format.IntVar(h, binlog.IntVarInsertID, s.InsertID))
	}
	if info.rand {
		e.events = append(e.events, l.format.Rand(h, info.seed1, info.seed2))
	}
	for _, uv := range info.userVars {
		ev, err := l.format.UserVar(h, uv)
		if err != nil {
			return err
		}
		e.events = append(e.events, ev)
	}
	q := binlog.Query{
		ThreadID: info.threadID, Database: info.db, SQL: info.query, SQLMode: binlog.DefaultSQLMode,
		Microseconds: uint32(info.at.Nanosecond() / 1000), HasMicroseconds: true, Charset: info.charset,
	}
	if info.incr > 1 || info.offset > 1 {
		q.AutoIncrementIncrement, q.AutoIncrementOffset = info.incr, info.offset
	}
	ev, err := l.format.Query(h, q)
	if err != nil {
		return err
	}
	e.events = append(e.events, ev)
	e.sbr = true
	return nil
}

// SetRandSeeds gives the log the function that returns the RAND() seeds the running statement
// started with (the server's session generator), for RAND events.
func (l *Log) SetRandSeeds(fn func(ctx *sql.Context) (seed1, seed2 uint64)) { l.randSeeds = fn }
