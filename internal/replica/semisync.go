package replica

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/semisync"
	"github.com/relaydb/relaydb/internal/wire"
)

// AckDurability is rpl_semi_sync_replica_ack_durability: how far a transaction must have reached
// in this replica's relay log before the receiver acknowledges it to a semi-sync source.
type AckDurability int32

const (
	// AckWrite acknowledges once the transaction is written to the relay log file (handed to the
	// OS, no fsync), as MySQL's replica does by default (sync_relay_log is not 1). A kill -9 of
	// this process keeps what the OS was given; only a crash of this machine together with the
	// loss of the source can lose an acknowledged commit.
	AckWrite AckDurability = iota
	// AckFsync acknowledges only after an fsync of the relay log covering the transaction. One
	// fsync covers everything received before it started, and one ack then covers all of it
	// (group fsync); the receiver goes on reading meanwhile.
	AckFsync
)

// ParseAckDurability reads WRITE or FSYNC (any case).
func ParseAckDurability(s string) (AckDurability, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "WRITE":
		return AckWrite, nil
	case "FSYNC":
		return AckFsync, nil
	}
	return 0, fmt.Errorf("unknown semi-sync ack durability %q (WRITE or FSYNC)", s)
}

func (d AckDurability) String() string {
	if d == AckFsync {
		return "FSYNC"
	}
	return "WRITE"
}

// SemiSyncStats are the receiver's semi-sync figures since the server started.
type SemiSyncStats struct {
	Acks       uint64 // received acknowledgements sent to a source
	AckFsyncs  uint64 // relay log fsyncs made so that an acknowledgement could be sent (FSYNC)
	AckWaitNs  uint64 // total time from reading an event that asked for an ack to sending the ack
	AppliedAck uint64 // applied acknowledgements sent (synchronous replication)
}

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
	askedAt  time.Time          // when the receiver read the event the acker is to acknowledge
	// onRequest: the source sets semisync.FlagAppliedAckRequested when it wants applied
	// acknowledgements, and wantApplied is what the last ack request said; without onRequest
	// (an older RelayDB source) the applier acknowledges every transaction it commits.
	onRequest, wantApplied atomic.Bool

	acks, ackFsyncs, ackWaitNs, appliedAcks atomic.Uint64
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
	applied := len(res.Rows) == 1 && strings.Contains(res.Rows[0][1].ToString(), "relaydb")
	set := "SET @rpl_semi_sync_replica = 1, @rpl_semi_sync_slave = 1"
	onRequest := false
	if applied {
		// A RelayDB source that says when it wants applied acknowledgements spares both sides
		// one per transaction; an older one fails this query and gets them all.
		if _, err := conn.ExecuteFetch("SELECT @@GLOBAL."+semisync.AppliedAckOnRequestVariable, 1, false); err == nil {
			onRequest = true
			set += ", @" + semisync.AppliedAckOnRequestVariable + " = 1"
		}
	}
	if _, err := conn.ExecuteFetch(set, 0, false); err != nil {
		return false, err
	}
	r.semi.mu.Lock()
	r.semi.conn, r.semi.applied = conn.Conn, applied
	r.semi.lastSent = [2]binlog.Position{}
	r.semi.want, r.semi.ackErr = binlog.Position{}, nil
	r.semi.onRequest.Store(onRequest)
	r.semi.wantApplied.Store(false)
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
	pkt, _ := wire.AppendPacket(nil, 0, payload)
	if _, err := r.semi.conn.Write(pkt); err != nil {
		return fmt.Errorf("semi-sync ack: %w", err)
	}
	r.semi.lastSent[kind] = pos
	if applied {
		r.semi.appliedAcks.Add(1)
	} else {
		r.semi.acks.Add(1)
	}
	return nil
}

// SemiSyncStats returns the receiver's semi-sync figures.
func (r *Replica) SemiSyncStats() SemiSyncStats {
	return SemiSyncStats{Acks: r.semi.acks.Load(), AckFsyncs: r.semi.ackFsyncs.Load(),
		AckWaitNs: r.semi.ackWaitNs.Load(), AppliedAck: r.semi.appliedAcks.Load()}
}

// ackDurability is the setting in effect now (read for every acknowledgement, so a SET GLOBAL
// applies from the next one on).
func (r *Replica) ackDurability() AckDurability {
	if r.opts.SemiSyncAckDurability == nil {
		return AckWrite
	}
	return r.opts.SemiSyncAckDurability()
}

// wantsAppliedAcks tells the applier whether to acknowledge what it commits: the session is
// semi-sync with a RelayDB source that wants them now (or cannot say so).
func (r *Replica) wantsAppliedAcks() bool {
	return r.semiActive.Load() && (!r.semi.onRequest.Load() || r.semi.wantApplied.Load())
}

// readEventPacket reads the next event of the dump, stripping the semi-sync header when the
// session is semi-sync; needAck reports the source's request for an acknowledgement, flags the
// header's flags.
func readEventPacket(ctx context.Context, read func(context.Context) ([]byte, error), semi bool) (ev []byte, needAck bool, flags byte, err error) {
	p, err := read(ctx)
	if err != nil {
		return nil, false, 0, err
	}
	if len(p) == 0 {
		return nil, false, 0, fmt.Errorf("empty packet in the binlog stream")
	}
	switch p[0] {
	case mysql.ErrPacket:
		return nil, false, 0, mysql.ParseErrorPacket(p)
	case mysql.EOFPacket:
		if len(p) < 9 {
			return nil, false, 0, mysql.NewSQLError(mysql.CRServerLost, mysql.SSUnknownSQLState, "the source ended the binlog dump")
		}
	}
	p = p[1:]
	if semi {
		if len(p) < 2 || p[0] != semisync.MagicHeader {
			return nil, false, 0, fmt.Errorf("semi-sync binlog stream: event packet without the semi-sync header")
		}
		flags = p[1]
		needAck = flags&semisync.FlagAckRequested != 0
		p = p[2:]
	}
	return p, needAck, flags, nil
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
