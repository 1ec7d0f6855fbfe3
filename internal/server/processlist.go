package server

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/information_schema"
	"github.com/dolthub/go-mysql-server/sql/plan"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/replica"
)

// SHOW PROCESSLIST and information_schema.PROCESSLIST as MySQL fills them. GMS's rows differ:
// Host is the account's host pattern ('%') instead of the client's ip:port, State is the text
// of the running plan's progress tree (or "running"), and a replica's dump connection shows
// "Sleep". The node's processList wrapper fixes Host and Command, and adds the replication
// threads; processRows makes the State and Info columns (GMS builds them from fields MySQL's
// columns do not map to), for SHOW PROCESSLIST (readOnlyGuard builds it) and for
// information_schema.PROCESSLIST (whose reader installProcessListTable replaces).

// MySQL's states for a binlog dump thread.
const (
	dumpStateSending = "Sending binlog event to replica"
	dumpStateWaiting = "Source has sent all binlog to replica; waiting for more updates"
)

// MySQL's Command for a dump thread.
const (
	commandBinlogDump     sql.ProcessCommand = "Binlog Dump"
	commandBinlogDumpGTID sql.ProcessCommand = "Binlog Dump GTID"
	systemUser                               = "system user"
)

// connRegistry knows of each client connection what GMS's process list lacks: the client's
// address, and whether it is serving a binlog dump, in which state.
type connRegistry struct {
	mu    sync.Mutex
	conns map[uint32]*connEntry // guarded by mu
}

type connEntry struct {
	host        string // ip:port
	dumpCommand atomic.Pointer[sql.ProcessCommand]
	dumpState   atomic.Pointer[string]
}

func newConnRegistry() *connRegistry { return &connRegistry{conns: map[uint32]*connEntry{}} }

func (r *connRegistry) add(id uint32, host string) {
	r.mu.Lock()
	r.conns[id] = &connEntry{host: host}
	r.mu.Unlock()
}

func (r *connRegistry) remove(id uint32) {
	r.mu.Lock()
	delete(r.conns, id)
	r.mu.Unlock()
}

func (r *connRegistry) get(id uint32) *connEntry {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns[id]
}

// trackDump marks connection id as a dump thread until the returned func runs, and wraps the
// dump's send and flush so its State follows it: sending while events go out, waiting once the
// dump is about to wait for more (flush is called exactly then).
func (r *connRegistry) trackDump(id uint32, gtidDump bool, send func(binlog.Event, *binlog.Position) error, flush func() error) (func(binlog.Event, *binlog.Position) error, func() error, func()) {
	e := r.get(id)
	if e == nil {
		return send, flush, func() {}
	}
	cmd := commandBinlogDump
	if gtidDump {
		cmd = commandBinlogDumpGTID
	}
	sending, waiting := dumpStateSending, dumpStateWaiting
	e.dumpState.Store(&sending)
	e.dumpCommand.Store(&cmd)
	trackedSend := func(ev binlog.Event, ackAt *binlog.Position) error {
		if e.dumpState.Load() != &sending {
			e.dumpState.Store(&sending)
		}
		return send(ev, ackAt)
	}
	trackedFlush := func() error {
		e.dumpState.Store(&waiting)
		return flush()
	}
	return trackedSend, trackedFlush, func() { e.dumpCommand.Store(nil); e.dumpState.Store(nil) }
}

// processList is the node's sql.ProcessList: GMS's, with Host and Command as MySQL shows them,
// plus the replication threads (receiver and applier: user "system user", command "Connect").
type processList struct {
	sql.ProcessList
	conns    *connRegistry
	replicas *replica.Channels // nil without a binary log
}

// procState carries a process's State column through sql.Process, which has no field for it:
// processRows reads it back.
type procState struct {
	sql.Process
	state string
	info  any // string or nil (NULL)
}

func (p *processList) Processes() []sql.Process {
	procs := p.ProcessList.Processes()
	for i := range procs {
		if e := p.conns.get(procs[i].Connection); e != nil {
			procs[i].Host = e.host
			if cmd := e.dumpCommand.Load(); cmd != nil {
				procs[i].Command = *cmd
				procs[i].Progress = nil
			}
		}
	}
	if p.replicas != nil {
		for _, t := range p.replicas.Threads() {
			procs = append(procs, sql.Process{
				Connection: t.ID, User: systemUser, Command: sql.ProcessCommandConnect,
				StartedAt: t.Started, Query: t.State,
			})
		}
	}
	return procs
}

// rows returns the process list with MySQL's State and Info.
func (p *processList) rows() []procState {
	procs := p.Processes()
	out := make([]procState, len(procs))
	for i, proc := range procs {
		ps := procState{Process: proc}
		switch {
		case proc.User == systemUser && proc.Command == sql.ProcessCommandConnect:
			ps.state = proc.Query // a replication thread's state (processList puts it there)
		case proc.Command == commandBinlogDump || proc.Command == commandBinlogDumpGTID:
			if e := p.conns.get(proc.Connection); e != nil {
				if s := e.dumpState.Load(); s != nil {
					ps.state = *s
				}
			}
		case proc.Command == sql.ProcessCommandQuery:
			ps.state, ps.info = "executing", proc.Query
		}
		out[i] = ps
	}
	return out
}

// showRows are SHOW PROCESSLIST's rows.
func (p *processList) showRows() []sql.Row {
	var rows []sql.Row
	for _, ps := range p.rows() {
		rows = append(rows, sql.NewRow(int64(ps.Connection), ps.User, ps.Host, nullIfEmpty(ps.Database),
			string(ps.Command), int64(ps.Seconds()), ps.state, ps.info))
	}
	return rows
}

// infoSchemaRows are information_schema.PROCESSLIST's rows.
func (p *processList) infoSchemaRows() []sql.Row {
	var rows []sql.Row
	for _, ps := range p.rows() {
		rows = append(rows, sql.Row{uint64(ps.Connection), ps.User, ps.Host, nullIfEmpty(ps.Database),
			string(ps.Command), int32(ps.Seconds()), ps.state, ps.info})
	}
	return rows
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// buildShowProcessList answers SHOW PROCESSLIST for readOnlyGuard; ok is false for other nodes.
func (p *processList) buildShowProcessList(node sql.Node) (sql.RowIter, bool) {
	if _, ok := node.(*plan.ShowProcessList); !ok || p == nil {
		return nil, false
	}
	return sql.RowsToRowIter(p.showRows()...), true
}

// installProcessListTable makes information_schema.PROCESSLIST read p.
func installProcessListTable(infoSchema sql.Database, p *processList) {
	if infoSchema == nil {
		return
	}
	t, ok, err := infoSchema.GetTableInsensitive(sql.NewEmptyContext(), strings.ToLower(information_schema.ProcessListTableName))
	if err != nil || !ok {
		return
	}
	if ist, ok := t.(*information_schema.InformationSchemaTable); ok {
		ist.Reader = func(*sql.Context, sql.Catalog) (sql.RowIter, error) {
			return sql.RowsToRowIter(p.infoSchemaRows()...), nil
		}
	}
}
