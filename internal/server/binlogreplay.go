package server

import (
	"sync"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/binlogreplication"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/apply"
	"github.com/relaydb/relaydb/internal/binlog"
)

// binlogStatements runs BINLOG '<base64>', the statement mysqlbinlog prints for the events it
// cannot show as SQL (FORMAT_DESCRIPTION, TABLE_MAP, rows events), so its output can be piped
// back into a server. GMS parses the statement and decodes the base64; each event comes here
// and goes through the replication applier's event code, in the session's own transaction
// (mysqlbinlog prints BEGIN and COMMIT around them). A session's FORMAT_DESCRIPTION and its
// mapped tables live from one BINLOG statement to the next, until the connection closes. GMS
// checks the privileges MySQL asks for (SUPER, BINLOG_ADMIN or REPLICATION_APPLIER) before
// the statement runs.
type binlogStatements struct {
	engine *sqle.Engine

	mu       sync.Mutex
	sessions map[uint32]*binlogStatementSession
}

type binlogStatementSession struct {
	format  *binlog.Format // from the last FORMAT_DESCRIPTION
	applier *apply.Applier
}

var _ binlogreplication.BinlogConsumer = (*binlogStatements)(nil)

func newBinlogStatements(engine *sqle.Engine) *binlogStatements {
	return &binlogStatements{engine: engine, sessions: map[uint32]*binlogStatementSession{}}
}

// HasFormatDescription implements binlogreplication.BinlogConsumer. GMS asks it without saying
// which session, so it always says yes; ProcessEvent checks the session's own.
func (b *binlogStatements) HasFormatDescription() bool { return true }

// ProcessEvent implements binlogreplication.BinlogConsumer.
func (b *binlogStatements) ProcessEvent(ctx *sql.Context, event mysql.BinlogEvent) error {
	ev := binlog.Event(event.Bytes())
	b.mu.Lock()
	s := b.sessions[ctx.Session.ID()]
	if s == nil {
		s = &binlogStatementSession{applier: apply.New(b.engine)}
		b.sessions[ctx.Session.ID()] = s
	}
	b.mu.Unlock()
	if ev.Type() == binlog.TypeFormatDescription {
		fd, err := binlog.DecodeFormatDescription(ev)
		if err != nil {
			return err
		}
		s.format = &fd.Format
		return nil
	}
	if s.format == nil {
		return sql.ErrNoFormatDescriptionEventBeforeBinlogStatement.New(ev.Type().String())
	}
	return s.applier.ApplyEvent(ctx, *s.format, ev)
}

// forget drops a closed connection's state.
func (b *binlogStatements) forget(id uint32) {
	b.mu.Lock()
	delete(b.sessions, id)
	b.mu.Unlock()
}
