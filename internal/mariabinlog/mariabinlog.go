package mariabinlog

import (
	"encoding/binary"
	"fmt"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/gtid"
)

// MariaDB's own event types (MariaDB's log_event.h; MySQL's end below 50).
const (
	TypeAnnotateRows      binlog.EventType = 160
	TypeBinlogCheckpoint  binlog.EventType = 161
	TypeGTID              binlog.EventType = 162
	TypeGTIDList          binlog.EventType = 163
	TypeStartEncryption   binlog.EventType = 164
	TypeQueryCompressed   binlog.EventType = 165
	TypeLastCompressedRow binlog.EventType = 171 // 166-171: compressed rows events
)

// Flags of a MariaDB GTID event (flags2).
const (
	FlagStandalone    = 1 // no BEGIN … COMMIT: one self-committing statement (DDL)
	FlagGroupCommitID = 2 // a commit_id follows: the group commit the transaction was in
	FlagTransactional = 4
	FlagAllowParallel = 8
	FlagWaited        = 16
	FlagDDL           = 32
	FlagPreparedXA    = 64
	FlagCompletedXA   = 128
)

// flagIgnorable is LOG_EVENT_IGNORABLE_F: a replica that does not know the event may skip it.
const flagIgnorable = 0x80

// SlaveCapability is what the replica tells the primary it understands
// (SET @mariadb_slave_capability): MARIA_SLAVE_CAPABILITY_GTID, i.e. GTID events sent as they
// are rather than rewritten into QUERY(BEGIN), and no ANNOTATE_ROWS unless asked.
const SlaveCapability = 4

// GTID is a decoded MariaDB GTID event.
type GTID struct {
	Domain, ServerID uint32
	Seq              uint64
	Flags            byte
	CommitID         uint64 // valid with FlagGroupCommitID
}

func (g GTID) String() string { return fmt.Sprintf("%d-%d-%d", g.Domain, g.ServerID, g.Seq) }

// DecodeGTID reads a MariaDB GTID event (f: the stream's format, for the checksum trailer).
func DecodeGTID(f binlog.Format, e binlog.Event) (GTID, error) {
	var g GTID
	if len(e) < binlog.HeaderLen || e.Type() != TypeGTID {
		return g, fmt.Errorf("not a MariaDB GTID event")
	}
	b := e.Body(f)
	if len(b) < 13 {
		return g, fmt.Errorf("MariaDB GTID event body of %d bytes is too short", len(b))
	}
	g.Seq = binary.LittleEndian.Uint64(b[0:8])
	g.Domain = binary.LittleEndian.Uint32(b[8:12])
	g.Flags = b[12]
	g.ServerID = e.ServerID()
	if g.Flags&FlagGroupCommitID != 0 {
		if len(b) < 21 {
			return g, fmt.Errorf("MariaDB GTID event %s: commit_id missing", g)
		}
		g.CommitID = binary.LittleEndian.Uint64(b[13:21])
	}
	return g, nil
}

// uuidPrefix is the fixed part of a MariaDB domain's UUID: "mariad", version 8, variant 8.
var uuidPrefix = [10]byte{0x6d, 0x61, 0x72, 0x69, 0x61, 0x64, 0x80, 0x00, 0x80, 0x00}

// DomainUUID is the server UUID the transactions of MariaDB GTID domain d get (see the package
// comment).
func DomainUUID(d uint32) gtid.SID {
	var s gtid.SID
	copy(s[:], uuidPrefix[:])
	binary.BigEndian.PutUint32(s[12:], d)
	return s
}

// DomainOf returns the MariaDB domain whose UUID s is (ok false for any other UUID).
func DomainOf(s gtid.SID) (uint32, bool) {
	if [10]byte(s[:10]) != uuidPrefix || s[10] != 0 || s[11] != 0 {
		return 0, false
	}
	return binary.BigEndian.Uint32(s[12:]), true
}

// ToGTID is the RelayDB GTID of a MariaDB transaction.
func (g GTID) ToGTID() gtid.GTID {
	return gtid.GTID{Server: DomainUUID(g.Domain), Sequence: int64(g.Seq)}
}

// IsMariaDBEvent reports whether t is one of MariaDB's own event types.
func IsMariaDBEvent(t binlog.EventType) bool { return t >= TypeAnnotateRows }

// Translator turns a MariaDB binlog stream into MySQL-format events, keeping the logical clock
// between calls. One Translator serves one dump connection.
type Translator struct {
	sn, groupLC  int64
	lastCommitID uint64
	inGroup      bool
}

// Translate translates one MariaDB event (type IsMariaDBEvent) read in stream format f. It
// returns the events that stand for it (none for bookkeeping events) and, for a GTID event,
// whether the transaction is a single self-committing statement (standalone) rather than
// BEGIN … COMMIT. Events MariaDB and MySQL share are not passed here.
func (t *Translator) Translate(f binlog.Format, e binlog.Event) (out []binlog.Event, standalone bool, err error) {
	switch typ := e.Type(); {
	case typ == TypeAnnotateRows, typ == TypeBinlogCheckpoint, typ == TypeGTIDList:
		return nil, false, nil
	case typ == TypeGTID:
		g, err := DecodeGTID(f, e)
		if err != nil {
			return nil, false, err
		}
		if g.Flags&(FlagPreparedXA|FlagCompletedXA) != 0 {
			return nil, false, unsupported("XA transactions (MariaDB GTID %s)", g)
		}
		if g.Seq < 1 || g.Seq > gtid.MaxGNO {
			return nil, false, fmt.Errorf("MariaDB GTID %s: seq_no out of range", g)
		}
		return t.gtid(f, e, g), g.Flags&FlagStandalone != 0, nil
	case typ == TypeStartEncryption:
		return nil, false, unsupported("encrypted MariaDB binary logs (START_ENCRYPTION event at %d; encrypt_binlog=ON on the primary)", e.LogPos())
	case typ >= TypeQueryCompressed && typ <= TypeLastCompressedRow:
		return nil, false, unsupported("compressed MariaDB binlog events (type %d at %d; log_bin_compress=ON on the primary)", typ, e.LogPos())
	case e.Flags()&flagIgnorable != 0:
		return nil, false, nil
	default:
		return nil, false, unsupported("MariaDB binlog event type %d (at %d)", typ, e.LogPos())
	}
}

// gtid builds the MySQL GTID event for g and, unless the transaction is standalone, the
// QUERY(BEGIN) that MariaDB's GTID event stands for.
func (t *Translator) gtid(f binlog.Format, e binlog.Event, g GTID) []binlog.Event {
	// The logical clock: a transaction may run alongside those of its own group commit
	// (same commit_id) and waits for everything before the group.
	t.sn++
	if g.Flags&FlagGroupCommitID == 0 || !t.inGroup || g.CommitID != t.lastCommitID {
		t.groupLC = t.sn - 1
	}
	t.inGroup, t.lastCommitID = g.Flags&FlagGroupCommitID != 0, g.CommitID
	out := binlog.NewFormat(f.Checksum)
	h := binlog.Header{Timestamp: e.Timestamp(), ServerID: e.ServerID()}
	ge := out.GTID(h, binlog.GTIDEvent{
		GTID: g.ToGTID(), LastCommitted: t.groupLC, SequenceNumber: t.sn,
		ImmediateCommit: int64(e.Timestamp()) * 1e6, // MariaDB gives seconds only
	})
	evs := []binlog.Event{out.WithLogPos(ge, e.LogPos())}
	if g.Flags&FlagStandalone == 0 {
		begin := out.Begin(h, 0)
		evs = append(evs, out.WithLogPos(begin, e.LogPos()))
	}
	return evs
}

// ErrNotSupported is MySQL's ER_NOT_SUPPORTED_YET (1235): the replica cannot go on.
const ErrNotSupported = mysql.ERNotSupportedYet

func unsupported(format string, args ...any) error {
	return mysql.NewSQLError(ErrNotSupported, "42000", "This version of RelayDB doesn't yet support '%s'", fmt.Sprintf(format, args...))
}
