package semisync

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/relaydb/relaydb/internal/binlog"
)

// MySQL's semi-sync wire format. On a semi-sync dump every event packet is
// 0x00, MagicHeader, flags, event; flags has FlagAckRequested when the replica must reply, once
// the event is in its relay log, with an ack packet: AckMagic, the 8-byte little-endian binlog
// position, the binlog file name.
const (
	MagicHeader      = 0xef
	FlagAckRequested = 0x01
	AckMagic         = 0xef
	// AppliedAckMagic starts RelayDB's own ack packet, same layout, saying the replica has
	// applied (committed) everything up to the position: what synchronous replication
	// (AFTER_APPLY, replication_durability = SYNC) waits for. A RelayDB replica sends it only
	// to a RelayDB source.
	AppliedAckMagic = 0xee
	// FlagAppliedAckRequested is RelayDB's: set with FlagAckRequested, it asks the replica to
	// also send applied acknowledgements (AppliedAckMagic) as it commits, because commits on the
	// source wait for them (AFTER_APPLY, replication_durability = SYNC). Without it the replica
	// sends none: a packet and a wake-up per transaction on both sides, for nobody. It is set
	// only for replicas that said they understand it (AppliedAckOnRequestVariable): other
	// replicas (go-mysql, for one) compare the flags byte with 0x01 and would not acknowledge.
	FlagAppliedAckRequested = 0x02
	// AppliedAckOnRequestVariable names both sides of that agreement: the read-only global
	// variable (ON) by which a source says it sets FlagAppliedAckRequested when it waits for
	// applied acknowledgements, and the user variable (@…, 1) by which a replica asks it to. A
	// replica whose source lacks the variable sends an applied acknowledgement per transaction
	// (what sources before it expect).
	AppliedAckOnRequestVariable = "relaydb_semi_sync_applied_ack_on_request"
)

// AppendAck appends an ack packet's payload for pos.
func AppendAck(b []byte, pos binlog.Position, applied bool) []byte {
	magic := byte(AckMagic)
	if applied {
		magic = AppliedAckMagic
	}
	b = append(b, magic)
	b = binary.LittleEndian.AppendUint64(b, pos.Offset)
	return append(b, pos.File...)
}

// ParseAck reads an ack packet's payload.
func ParseAck(p []byte) (pos binlog.Position, applied bool, err error) {
	if len(p) < 10 {
		return pos, false, errors.New("semi-sync ack packet too short")
	}
	switch p[0] {
	case AckMagic:
	case AppliedAckMagic:
		applied = true
	default:
		return pos, false, fmt.Errorf("not a semi-sync ack packet (first byte 0x%02x)", p[0])
	}
	pos.Offset = binary.LittleEndian.Uint64(p[1:9])
	pos.File = string(p[9:])
	return pos, applied, nil
}
