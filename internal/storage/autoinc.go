package storage

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
)

// AutoIncrementReserver grants a table a range of AUTO_INCREMENT values that no other node, now
// or after any failover, will ever be granted for that table. The cluster control plane
// implements it from its replicated state; a node installs it when it becomes primary.
//
// table is "db.table" in lower case; from is the smallest value the table would generate next;
// count is how many values the engine asks for. The result is an inclusive range [lo, hi],
// normally with lo >= from (lo may be far above from, e.g. past values a lost primary issued).
// The reserver is called with the table's counter locked, so it should bound its own wait (ctx
// is the statement's context and is cancelled by KILL QUERY).
type AutoIncrementReserver func(ctx context.Context, table string, from, count uint64) (lo, hi uint64, err error)

// autoIncReserveBlock is how many values of a table's series one reservation asks for. A
// reservation costs a round trip through the control plane's consensus; a statement that needs
// more than one block simply reserves again when the block runs out.
const autoIncReserveBlock = 1000

// reserverSlot is one installation of a reserver. Each installation has its own generation so
// that ranges held under an earlier one (another term as primary, another control plane) are
// never used under a later one.
type reserverSlot struct {
	fn  AutoIncrementReserver
	gen uint64
}

// autoIncReservation is the range a table holds from the reserver; the zero value holds none.
type autoIncReservation struct {
	table  string // the "db.table" it was granted for
	gen    uint64 // reserverSlot.gen it was granted under
	lo, hi uint64
}

// SetAutoIncrementReserver installs r for all tables (nil removes it). It may be called at any
// time, concurrently with inserts: statements generating values afterwards use r. Ranges held
// from an earlier reserver are forgotten, so the first generated value of each table after this
// call reserves a new range.
func (e *Engine) SetAutoIncrementReserver(r AutoIncrementReserver) {
	if r == nil {
		e.reserver.Store(nil)
		return
	}
	e.reserver.Store(&reserverSlot{fn: r, gen: e.reserverGen.Add(1)})
}

// reserverState is the engine's part of the reservation machinery (embedded in Engine).
type reserverState struct {
	reserver    atomic.Pointer[reserverSlot]
	reserverGen atomic.Uint64
}

// reserveLocked returns the value to generate given v, the value the table's counter would
// hand out next: v itself while it lies in the range the table holds, otherwise the first value
// of the series in a newly reserved range, which the table then holds. On error nothing has
// changed. The caller holds st.mu.
func (t *Table) reserveLocked(ctx *sql.Context, r *reserverSlot, v, inc, off uint64) (uint64, error) {
	st, name := t.def.state, t.def.reserveName
	h := st.held
	if h.gen == r.gen && h.table == name && h.lo <= v && v <= h.hi {
		return v, nil
	}
	count := uint64(autoIncReserveBlock)
	if inc > 1 {
		// Ask for a block of the table's own series: a range of count*inc values holds count of them.
		if inc > math.MaxUint64/count {
			count = math.MaxUint64
		} else {
			count *= inc
		}
	}
	lo, hi, err := r.fn(ctx, name, v, count)
	if err != nil {
		return 0, reserveError(name, err)
	}
	if hi < lo {
		return 0, reserveError(name, fmt.Errorf("reserver granted an empty range [%d, %d]", lo, hi))
	}
	// The whole granted range is this table's alone, so any part of it at or above v may be used.
	nv := nextInSeries(max(v, lo), inc, off)
	if nv < max(v, lo) || nv > hi {
		return 0, reserveError(name, fmt.Errorf("granted range [%d, %d] holds no value at or above %d with auto_increment_increment=%d, auto_increment_offset=%d",
			lo, hi, v, inc, off))
	}
	st.held = autoIncReservation{table: name, gen: r.gen, lo: lo, hi: hi}
	return nv, nil
}

// reserveError is what the client sees when no range could be reserved. It uses MySQL's
// ER_AUTOINC_READ_FAILED (1467, HY000), the error MySQL returns when the storage engine cannot
// produce the next AUTO_INCREMENT value: clients already read it as "the insert failed, no row
// was written", which is exactly the case, rather than the catch-all 1105.
func reserveError(table string, err error) error {
	return mysql.NewSQLError(1467, mysql.SSUnknownSQLState,
		"Failed to read auto-increment value from storage engine: cannot reserve AUTO_INCREMENT values for %s: %v", table, err)
}

// dropReservation forgets the range the table holds (it was dropped or renamed: values are
// reserved per table name).
func (st *tableState) dropReservation() {
	st.mu.Lock()
	st.held = autoIncReservation{}
	st.mu.Unlock()
}
