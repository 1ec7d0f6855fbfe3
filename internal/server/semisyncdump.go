package server

import (
	"bufio"
	"fmt"
	"net"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/semisync"
	"github.com/relaydb/relaydb/internal/wire"
)

// semiSyncDump is the wire side of a dump to a semi-sync replica: each event packet carries
// MySQL's two-byte semi-sync header (0xef, then 0x01 when the replica must acknowledge), and the
// replica's acknowledgements arrive on the same connection while events flow the other way.
//
// vitess's packet writer cannot set the ack flag and its reader checks sequence numbers that a
// replica's acks do not follow, so during such a dump the connection is driven here directly:
// vitess has nothing buffered in either direction once the dump command is read, and sends or
// reads nothing else until the dump ends, after which the connection is closed.
type semiSyncDump struct {
	conn net.Conn
	w    *bufio.Writer
	seq  byte // sequence id of the next packet
	rep  *semisync.Replica
	// wantsApplied, set for a replica that asked for semisync.FlagAppliedAckRequested, says
	// whether the source waits for applied acknowledgements now.
	wantsApplied func() bool
}

// semiSyncRequested reports whether the dump's replica asked for semi-sync
// (SET @rpl_semi_sync_replica = 1, or @rpl_semi_sync_slave as older replicas do).
func semiSyncRequested(sess sql.Session) bool {
	if sess == nil {
		return false
	}
	ctx := sql.NewEmptyContext()
	for _, name := range []string{"rpl_semi_sync_replica", "rpl_semi_sync_slave"} {
		if _, v, err := sess.GetUserVariable(ctx, name); err == nil && v != nil && fmt.Sprint(v) != "0" {
			return true
		}
	}
	return false
}

// appliedAckOnRequest reports whether the dump's replica asked to be told when applied
// acknowledgements are wanted (@relaydb_semi_sync_applied_ack_on_request = 1); otherwise a
// RelayDB replica sends one per transaction, and others none.
func appliedAckOnRequest(sess sql.Session) bool {
	if sess == nil {
		return false
	}
	_, v, err := sess.GetUserVariable(sql.NewEmptyContext(), semisync.AppliedAckOnRequestVariable)
	return err == nil && v != nil && fmt.Sprint(v) != "0"
}

func newSemiSyncDump(c *mysql.Conn, rep *semisync.Replica) *semiSyncDump {
	return &semiSyncDump{conn: c.Conn, w: bufio.NewWriterSize(c.Conn, 64<<10), seq: 1, rep: rep}
}

// send writes one event packet; ackAt asks the replica to acknowledge the binlog up to there.
func (d *semiSyncDump) send(ev binlog.Event, ackAt *binlog.Position) error {
	flag := byte(0)
	if ackAt != nil {
		flag = semisync.FlagAckRequested
		if d.wantsApplied != nil && d.wantsApplied() {
			flag |= semisync.FlagAppliedAckRequested
		}
		d.rep.Sent(*ackAt)
	}
	payload := make([]byte, 0, len(ev)+3)
	payload = append(payload, 0x00, semisync.MagicHeader, flag)
	payload = append(payload, ev...)
	seq, err := wire.WritePacket(d.w, d.seq, payload)
	d.seq = seq
	return err
}

func (d *semiSyncDump) flush() error { return d.w.Flush() }

// readAcks reads the replica's acknowledgements until the connection fails or closes. Anything
// that is not an ack packet ends the dump's reading side: a semi-sync replica sends nothing else.
func (d *semiSyncDump) readAcks() error {
	r := bufio.NewReader(d.conn)
	for {
		p, _, err := wire.ReadPacket(r, 64<<10)
		if err != nil {
			return fmt.Errorf("semi-sync ack: %w", err)
		}
		pos, applied, err := semisync.ParseAck(p)
		if err != nil {
			return err
		}
		d.rep.Ack(pos, applied)
	}
}
