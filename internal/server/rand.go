package server

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression/function"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// RAND() without a seed follows MySQL's generator: each session has two seeds, advanced by each
// call, so that a statement logged in statement format replays the same numbers once the
// replica sets the seeds the statement started with (the binlog's RAND event, or
// SET @@rand_seed1 = …, @@rand_seed2 = … in mysqlbinlog output). RAND(N) stays go-mysql-server's
// (deterministic for a given N).

const randMax = 0x3FFFFFFF // MySQL's rand_struct max_value

// randState is a session's generator and the seeds its running statement started with.
type randState struct {
	mu           sync.Mutex
	seed1, seed2 uint64
	stmtPid      uint64 // the statement (context pid) whose first call saved stmt seeds
	stmt1, stmt2 uint64
	stmtSaved    bool
}

var randStates sync.Map // session id → *randState

func sessionRand(ctx *sql.Context) *randState {
	id := ctx.Session.ID()
	if v, ok := randStates.Load(id); ok {
		return v.(*randState)
	}
	var b [16]byte
	_, _ = crand.Read(b[:])
	st := &randState{seed1: binary.LittleEndian.Uint64(b[:8]) % randMax, seed2: binary.LittleEndian.Uint64(b[8:]) % randMax}
	v, _ := randStates.LoadOrStore(id, st)
	return v.(*randState)
}

// forgetRand drops a closed session's generator.
func forgetRand(sessionID uint32) { randStates.Delete(sessionID) }

// next advances the generator as MySQL's my_rnd does.
func (r *randState) next(pid uint64) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stmtSaved || r.stmtPid != pid {
		r.stmtPid, r.stmt1, r.stmt2, r.stmtSaved = pid, r.seed1, r.seed2, true
	}
	r.seed1 = (r.seed1*3 + r.seed2) % randMax
	r.seed2 = (r.seed1 + r.seed2 + 33) % randMax
	return float64(r.seed1) / float64(randMax)
}

// statementSeeds returns the seeds the running statement (pid) started with: those saved by its
// first RAND() call, or the current ones if it has not called RAND() yet.
func statementSeeds(ctx *sql.Context) (uint64, uint64) {
	r := sessionRand(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stmtSaved && r.stmtPid == ctx.Pid() {
		return r.stmt1, r.stmt2
	}
	return r.seed1, r.seed2
}

func (r *randState) set(seed1, seed2 *uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seed1 != nil {
		r.seed1 = *seed1 % randMax
	}
	if seed2 != nil {
		r.seed2 = *seed2 % randMax
	}
	r.stmtSaved = false
}

// sessionRandExpr is RAND() without an argument.
type sessionRandExpr struct{}

var (
	_ sql.FunctionExpression         = sessionRandExpr{}
	_ sql.NonDeterministicExpression = sessionRandExpr{}
)

func (sessionRandExpr) FunctionName() string         { return "rand" }
func (sessionRandExpr) Description() string          { return "returns a random number in the range 0 <= x < 1" }
func (sessionRandExpr) Resolved() bool               { return true }
func (sessionRandExpr) String() string               { return "rand()" }
func (sessionRandExpr) Type(*sql.Context) sql.Type   { return types.Float64 }
func (sessionRandExpr) IsNullable(*sql.Context) bool { return false }
func (sessionRandExpr) Children() []sql.Expression   { return nil }
func (sessionRandExpr) IsNonDeterministic() bool     { return true }
func (r sessionRandExpr) WithChildren(_ *sql.Context, c ...sql.Expression) (sql.Expression, error) {
	if len(c) != 0 {
		return nil, sql.ErrInvalidChildrenNumber.New(r, len(c), 0)
	}
	return r, nil
}
func (sessionRandExpr) Eval(ctx *sql.Context, _ sql.Row) (interface{}, error) {
	if ctx == nil || ctx.Session == nil {
		return nil, fmt.Errorf("RAND() outside a session")
	}
	return sessionRand(ctx).next(ctx.Pid()), nil
}

// randFunction replaces go-mysql-server's RAND: no argument gives the session generator.
var randFunction = sql.FunctionN{Name: "rand", Fn: func(ctx *sql.Context, args ...sql.Expression) (sql.Expression, error) {
	if len(args) == 0 {
		return sessionRandExpr{}, nil
	}
	return function.NewRand(ctx, args...)
}}

// randSeedVariables are @@rand_seed1 and @@rand_seed2: setting them sets the session generator.
func randSeedVariables() []sql.SystemVariable {
	session := sql.GetMysqlScope(sql.SystemVariableScope_Session)
	mk := func(name string, first bool) sql.SystemVariable {
		return &sql.MysqlSystemVariable{
			Name: name, Scope: session, Dynamic: true, Type: types.NewSystemUintType(name, 0, 1<<32-1), Default: uint64(0),
			NotifyChanged: func(ctx *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
				if ctx == nil || ctx.Session == nil {
					return nil
				}
				x, ok := toInt64(v.Val)
				if !ok {
					return nil
				}
				u := uint64(x)
				if first {
					sessionRand(ctx).set(&u, nil)
				} else {
					sessionRand(ctx).set(nil, &u)
				}
				return nil
			},
		}
	}
	return []sql.SystemVariable{mk("rand_seed1", true), mk("rand_seed2", false)}
}
