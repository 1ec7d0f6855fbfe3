package server

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
)

// Transaction characteristics (isolation level, access mode) as MySQL sets them:
//
//	SET GLOBAL TRANSACTION …, SET GLOBAL transaction_isolation = …   new sessions
//	SET SESSION TRANSACTION …, SET [SESSION] transaction_isolation = …  this session's next transactions
//	SET TRANSACTION …, SET @@transaction_isolation = …                 the next transaction only
//
// GMS runs the first two kinds. It takes the third for the second (and lets it change a running
// transaction); nodeHandler.nextTransaction answers it instead: error 1568 inside a transaction,
// otherwise the level goes to NextIsolationVariable, which the storage's StartTransaction
// prefers to the session's level, and after the next command it is cleared again
// (forgetNextTransaction). The old names tx_isolation and tx_read_only (MariaDB's, and MySQL 5.7's)
// stay equal to transaction_isolation and transaction_read_only, in both scopes.

// NextIsolationVariable names the one-shot isolation level for the storage; it must equal
// storage.NextIsolationVariable (cmd/relaydb checks), which internal/server cannot import.
const NextIsolationVariable = "relaydb_next_transaction_isolation"

// isolationLevels are transaction_isolation's values, in its enum order (SET … = 1 is
// READ-COMMITTED).
var isolationLevels = []string{"READ-UNCOMMITTED", "READ-COMMITTED", "REPEATABLE-READ", "SERIALIZABLE"}

// Error 1568 (ER_CANT_CHANGE_TX_CHARACTERISTICS), MySQL's text.
func errTxCharacteristics() error {
	return mysql.NewSQLError(1568, "25001", "Transaction characteristics can't be changed while a transaction is in progress")
}

// errWrongValue is error 1231 (ER_WRONG_VALUE_FOR_VAR), MySQL's text.
func errWrongValue(name, value string) error {
	return mysql.NewSQLError(mysql.ERWrongValueForVar, mysql.SSClientError, "Variable '%s' can't be set to the value of '%s'", name, value)
}

var (
	// reSetTransaction is SET TRANSACTION without GLOBAL, SESSION or LOCAL.
	reSetTransaction = regexp.MustCompile(`(?is)^\s*SET\s+(?:/\*.*?\*/\s*)?TRANSACTION\s+(.+?)\s*;?\s*$`)
	// reSetNextVariable is SET @@name = value for one of the characteristics, without a scope
	// (@@SESSION.name and SESSION name are the session's level; GMS runs those).
	reSetNextVariable = regexp.MustCompile(`(?is)^\s*SET\s+@@(transaction_isolation|tx_isolation|transaction_read_only|tx_read_only)\s*:?=\s*('[^']*'|"[^"]*"|[A-Za-z0-9_-]+)\s*;?\s*$`)
	// reIsolationChar is one ISOLATION LEVEL characteristic.
	reIsolationChar = regexp.MustCompile(`(?is)^ISOLATION\s+LEVEL\s+(READ\s+UNCOMMITTED|READ\s+COMMITTED|REPEATABLE\s+READ|SERIALIZABLE)$`)
	reAccessChar    = regexp.MustCompile(`(?is)^READ\s+(ONLY|WRITE)$`)
)

// nextTransaction answers the SET forms that apply to the session's next transaction only.
// handled is false for every other statement (and for forms it cannot read, which GMS then
// runs with session scope, or refuses).
func (h *nodeHandler) nextTransaction(ctx context.Context, c *mysql.Conn, query string) (res *sqltypes.Result, handled bool, err error) {
	q := strings.TrimLeft(query, " \t\r\n")
	if len(q) < 4 || !strings.EqualFold(q[:4], "SET ") && !strings.EqualFold(q[:4], "SET\t") && !strings.EqualFold(q[:4], "SET\n") {
		return nil, false, nil
	}
	level, ok := "", false
	if m := reSetTransaction.FindStringSubmatch(q); m != nil {
		level, ok = transactionChars(m[1])
	} else if m := reSetNextVariable.FindStringSubmatch(q); m != nil {
		level, ok, err = nextVariableValue(strings.ToLower(m[1]), m[2])
		if err != nil {
			return nil, true, err
		}
	}
	if !ok {
		return nil, false, nil
	}
	sess := h.sessions.get(c.ConnectionID)
	if sess == nil {
		return nil, false, nil // no session yet: GMS creates it
	}
	if sess.GetTransaction() != nil {
		return nil, true, errTxCharacteristics()
	}
	if level != "" {
		sctx := sql.NewContext(ctx, sql.WithSession(sess))
		if err := sess.SetSessionVariable(sctx, NextIsolationVariable, level); err != nil {
			return nil, true, err
		}
	}
	// READ ONLY / READ WRITE for the next transaction only are accepted without effect: the
	// storage takes the access mode from START TRANSACTION READ ONLY alone.
	sess.ClearWarnings() // a statement that succeeds leaves no warnings behind, as in MySQL
	return &sqltypes.Result{}, true, nil
}

// transactionChars reads SET TRANSACTION's list of characteristics and returns the isolation
// level it names ("" for none); false if a characteristic is not one of MySQL's.
func transactionChars(list string) (level string, ok bool) {
	for _, ch := range strings.Split(list, ",") {
		ch = strings.TrimSpace(ch)
		if m := reIsolationChar.FindStringSubmatch(ch); m != nil {
			level = strings.ToUpper(strings.Join(strings.Fields(m[1]), "-"))
			continue
		}
		if !reAccessChar.MatchString(ch) {
			return "", false
		}
	}
	return level, true
}

// nextVariableValue checks the value of SET @@name = value (name one of the characteristics)
// and returns the isolation level it sets ("" for the access mode). DEFAULT is left to GMS.
func nextVariableValue(name, raw string) (level string, ok bool, err error) {
	v := raw
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') {
		v = v[1 : len(v)-1]
	} else if strings.EqualFold(v, "DEFAULT") {
		return "", false, nil
	}
	if strings.HasSuffix(name, "read_only") {
		switch strings.ToUpper(v) {
		case "0", "1", "ON", "OFF", "TRUE", "FALSE":
			return "", true, nil
		}
		return "", false, errWrongValue(name, v)
	}
	if n, err := strconv.Atoi(v); err == nil && v == raw {
		if n >= 0 && n < len(isolationLevels) {
			return isolationLevels[n], true, nil
		}
		return "", false, errWrongValue(name, v)
	}
	for _, l := range isolationLevels {
		if strings.EqualFold(v, l) {
			return l, true, nil
		}
	}
	return "", false, errWrongValue(name, v)
}

// forgetNextTransaction clears the one-shot isolation level once a command has run: the
// transaction that command ran in, or opened (BEGIN), had it. A command that touches no table
// (SELECT 1) uses it up too, where MySQL keeps it for the first statement that does.
func forgetNextTransaction(ctx context.Context, s sql.Session) {
	if s == nil {
		return
	}
	// Runs after every command: the read needs no context (the session's stored value), and a
	// context is made only in the rare case there is something to clear.
	if v, err := s.GetSessionVariable(nil, NextIsolationVariable); err == nil && v != "" && v != nil {
		_ = s.SetSessionVariable(sql.NewContext(ctx, sql.WithSession(s)), NextIsolationVariable, "")
	}
}

// transactionVariables are the system variables of this file: the one-shot level, the
// characteristics with their old names kept equal in the session (coupledRegistry keeps the
// global values equal), and innodb_lock_wait_timeout, which GMS pins to 1 and global scope.
func transactionVariables() []sql.SystemVariable {
	vars := []sql.SystemVariable{
		&sql.MysqlSystemVariable{
			Name:    NextIsolationVariable,
			Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Session),
			Dynamic: true,
			Type:    types.NewSystemStringType(NextIsolationVariable),
			Default: "",
		},
		&sql.MysqlSystemVariable{
			Name:    "innodb_lock_wait_timeout",
			Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Both),
			Dynamic: true,
			Type:    clampedIntType{types.NewSystemIntType("innodb_lock_wait_timeout", 1, 1073741824, false), "innodb_lock_wait_timeout", 1, 1073741824},
			Default: int64(50),
		},
	}
	guard := &aliasGuard{busy: map[uint32]bool{}}
	for name, other := range transactionAliases {
		sv, _, ok := sql.SystemVariables.GetGlobal(name)
		if !ok {
			continue
		}
		def, ok := sv.(*sql.MysqlSystemVariable)
		if !ok {
			continue
		}
		cp := *def
		cp.NotifyChanged = guard.follow(other)
		vars = append(vars, &cp)
	}
	return vars
}

// transactionAliases pairs each characteristic with its other name.
var transactionAliases = map[string]string{
	"transaction_isolation": "tx_isolation", "tx_isolation": "transaction_isolation",
	"transaction_read_only": "tx_read_only", "tx_read_only": "transaction_read_only",
}

// aliasGuard keeps two session variables equal: setting one sets the other, whose own
// notification must not set the first again (GMS stores a value only after its notification
// returns, so comparing values cannot stop the echo).
type aliasGuard struct {
	mu   sync.Mutex
	busy map[uint32]bool // session ID → a pair is being set in that session
}

func (g *aliasGuard) follow(other string) func(*sql.Context, sql.SystemVariableScope, sql.SystemVarValue) error {
	return func(ctx *sql.Context, scope sql.SystemVariableScope, v sql.SystemVarValue) error {
		if ms, ok := scope.(*sql.MysqlScope); !ok || ms.Type != sql.SystemVariableScope_Session || ctx == nil || ctx.Session == nil {
			return nil // global values: coupledRegistry
		}
		id := ctx.Session.ID()
		g.mu.Lock()
		if g.busy[id] {
			g.mu.Unlock()
			return nil
		}
		g.busy[id] = true
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			delete(g.busy, id)
			g.mu.Unlock()
		}()
		return ctx.Session.SetSessionVariable(ctx, other, v.Val)
	}
}

// clampedIntType is an integer system variable that, as in MySQL, takes a value out of its
// range as the nearest bound, with warning 1292, instead of refusing it.
type clampedIntType struct {
	sql.SystemVariableType
	name   string
	lo, hi int64
}

func (t clampedIntType) Convert(ctx context.Context, v any) (any, sql.ConvertInRange, error) {
	var n int64
	switch x := v.(type) {
	case int8, int16, int32, int64, int:
		n = reflect.ValueOf(x).Int()
	case uint8, uint16, uint32, uint64, uint:
		u := reflect.ValueOf(x).Uint()
		n = int64(min(u, uint64(t.hi)+1))
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			// MySQL's error for a string that is no number (error 1232, ER_WRONG_TYPE_FOR_VAR).
			return nil, sql.InRange, mysql.NewSQLError(mysql.ERWrongTypeForVar, mysql.SSClientError, "Incorrect argument type to variable '%s'", t.name)
		}
		n = i
	default:
		return t.SystemVariableType.Convert(ctx, v)
	}
	if n >= t.lo && n <= t.hi {
		return t.SystemVariableType.Convert(ctx, n)
	}
	clamped := min(max(n, t.lo), t.hi)
	if sctx, ok := ctx.(*sql.Context); ok && sctx.Session != nil {
		sctx.Warn(1292, "%s", fmt.Sprintf("Truncated incorrect %s value: '%d'", t.name, n))
	}
	return t.SystemVariableType.Convert(ctx, clamped)
}
