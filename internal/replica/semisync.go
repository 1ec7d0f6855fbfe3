package replica

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/semisync"
)

// semiLink is the receiver's semi-sync session with its source: the connection the ack packets
// go back on (written outside vitess, which is only reading there), and whether the source is a
// RelayDB server that also takes applied acknowledgements (synchronous replication).
type semiLink struct {
	mu       sync.Mutex
	conn     net.Conn // nil when the session is not semi-sync
	applied  bool
	lastSent [2]binlog.Position // by ack kind (received, applied): acks only move forward
	want     binlog.Position    // the latest position the receiver asked the acker to ack
	ackErr   error              // the acker's failure, if it failed
	kick     chan struct{}      // wakes the acker (buffer 1: requests coalesce)
}

// sourceFileMark records that the relay log from relay onwards holds transactions of the
// source's binlog file source: the applier needs the source file of what it applied for its
// acknowledgements, and the relay log does not carry the source's ROTATE events.
type sourceFileMark struct {
	relay  binlog.Position
	source string
}

// startSemiSync asks the source for a semi-sync dump when rpl_semi_sync_replica_enabled is on and
// the source knows semi-sync (it has the rpl_semi_sync variables); it reports whether it did.
func (r *Replica) startSemiSync(conn *mysql.Conn) (bool, error) {
	if r.opts.SemiSync == nil || !r.opts.SemiSync() {
		return false, nil
	}
	res, err := conn.ExecuteFetch("SELECT @@GLOBAL.rpl_semi_sync_master_enabled, @@GLOBAL.version", 1, false)
	if err != nil {
		r.opts.Logger.Warn("replication receiver: the source does not support semi-sync; replicating asynchronously", "err", err)
		return false, nil
	}
	if _, err := conn.ExecuteFetch("SET @rpl_semi_sync_replica = 1, @rpl_semi_sync_slave = 1", 0, false); err != nil {
		return false, err
	}
	applied := len(res.Rows) == 1 && strings.Contains(res.Rows[0][1].ToString(), "relaydb")
	r.semi.mu.Lock()
	r.semi.conn, r.semi.applied = conn.Conn, applied
	r.semi.lastSent = [2]binlog.Position{}
	r.semi.want, r.semi.ackErr = binlog.Position{}, nil
	if r.semi.kick == nil {
		r.semi.kick = make(chan struct{}, 1)
	}
	r.semi.mu.Unlock()
	r.semiActive.Store(true)
	return true, nil
}

// endSemiSync forgets the semi-sync session (the connection ended).
func (r *Replica) endSemiSync() {
	r.semiActive.Store(false)
	r.semi.mu.Lock()
	r.semi.conn = nil
	r.semi.mu.Unlock()
}

// sendAck tells the source that everything up to pos is durably in the relay log or, applied,
// committed here. Errors end the session's reading side through the closed connection.
func (r *Replica) sendAck(pos binlog.Position, applied bool) error {
	kind := 0
	if applied {
		kind = 1
	}
	r.semi.mu.Lock()
	defer r.semi.mu.Unlock()
	if r.semi.conn == nil || (applied && !r.semi.applied) || semisync.Compare(pos, r.semi.lastSent[kind]) <= 0 {
		return nil
	}
	payload := semisync.AppendAck(nil, pos, applied)
	// MySQL's replica sends each ack as a new exchange: sequence id 0.
	pkt := append([]byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), 0}, payload...)
	if _, err := r.semi.conn.Write(pkt); err != nil {
		return fmt.Errorf("semi-sync ack: %w", err)
	}
	r.semi.lastSent[kind] = pos
	return nil
}

// readEventPacket reads the next event of the dump, stripping the semi-sync header when the
// session is semi-sync; needAck reports the source's request for an acknowledgement.
func readEventPacket(ctx context.Context, conn *mysql.Conn, semi bool) (ev []byte, needAck bool, err error) {
	p, err := conn.ReadPacket(ctx)
	if err != nil {
		return nil, false, err
	}
	if len(p) == 0 {
		return nil, false, fmt.Errorf("empty packet in the binlog stream")
	}
	switch p[0] {
	case mysql.ErrPacket:
		return nil, false, mysql.ParseErrorPacket(p)
	case mysql.EOFPacket:
		if len(p) < 9 {
			return nil, false, mysql.NewSQLError(mysql.CRServerLost, mysql.SSUnknownSQLState, "the source ended the binlog dump")
		}
	}
	p = p[1:]
	if semi {
		if len(p) < 2 || p[0] != semisync.MagicHeader {
			return nil, false, fmt.Errorf("semi-sync binlog stream: event packet without the semi-sync header")
		}
		needAck = p[1]&semisync.FlagAckRequested != 0
		p = p[2:]
	}
	return p, needAck, nil
}

// markSourceFile notes, before a transaction is appended at relay, the source file it comes from.
func (r *Replica) markSourceFile(relay binlog.Position, source string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.sourceFiles); n > 0 && r.sourceFiles[n-1].source == source {
		return
	}
	r.sourceFiles = append(r.sourceFiles, sourceFileMark{relay: relay, source: source})
}

// sourceFileAt returns the source file of the transaction starting at relay, and forgets the
// marks before it (the applier goes forward).
func (r *Replica) sourceFileAt(relay binlog.Position) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := len(r.sourceFiles) - 1
	for i > 0 && semisync.Compare(r.sourceFiles[i].relay, relay) > 0 {
		i--
	}
	if i < 0 {
		return r.st.sourceFile
	}
	r.sourceFiles = r.sourceFiles[i:]
	return r.sourceFiles[0].source
}
