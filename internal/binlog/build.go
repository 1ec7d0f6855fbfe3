package binlog

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/relaydb/relaydb/internal/gtid"
)

// FormatDescription builds the FORMAT_DESCRIPTION event that follows the magic bytes of every
// file. created is the file's creation time in seconds for the first file a server opens after
// starting, 0 for files opened by rotation (readers take a non-zero value to mean "server
// started: roll back any transaction left open"). Set FlagBinlogInUse in h.Flags while the file
// is being written.
func (f Format) FormatDescription(h Header, created uint32) Event {
	body := make([]byte, 0, formatDescriptionPostHd+1)
	body = binary.LittleEndian.AppendUint16(body, 4)
	var version [50]byte
	copy(version[:49], f.ServerVersion)
	body = append(body, version[:]...)
	body = binary.LittleEndian.AppendUint32(body, created)
	body = append(body, HeaderLen)
	body = append(body, f.PostHeader...)
	body = append(body, f.Checksum.alg())
	return f.build(TypeFormatDescription, h, 0, body)
}

// PreviousGTIDs builds the PREVIOUS_GTIDS event: the GTIDs executed before the file it opens.
func (f Format) PreviousGTIDs(h Header, set gtid.Set) Event {
	return f.build(TypePreviousGTIDs, h, 0, set.Encode())
}

// GTIDEvent is the content of a GTID (or ANONYMOUS_GTID) event in MySQL 8.0's layout.
type GTIDEvent struct {
	// Anonymous makes an ANONYMOUS_GTID event (gtid_mode=OFF); GTID is then ignored.
	Anonymous bool
	GTID      gtid.GTID
	// MayHaveSBR is set when the transaction may contain statement-based events; MySQL's
	// mysqlbinlog prints rbr_only=yes when it is clear.
	MayHaveSBR bool
	// LastCommitted and SequenceNumber are the logical clock a replica uses to apply
	// transactions in parallel: sequence numbers count transactions in this binlog file's
	// writer from 1, and a transaction may run in parallel with any whose SequenceNumber is
	// greater than its LastCommitted.
	LastCommitted, SequenceNumber int64
	// ImmediateCommit is this server's commit time in microseconds since the epoch;
	// OriginalCommit is the originating server's (0: same as ImmediateCommit).
	ImmediateCommit, OriginalCommit int64
	// TransactionLength is the size in bytes of the whole transaction, this event included.
	// Format.NewTxn computes it.
	TransactionLength uint64
	// ImmediateServerVersion is this server's version as a number (0: ServerVersionID);
	// OriginalServerVersion the originating server's (0: same as ImmediateServerVersion).
	ImmediateServerVersion, OriginalServerVersion uint32
}

const (
	gtidFlagMayHaveSBR     = 0x01
	logicalTimestampCode   = 2
	gtidPostHeaderLen      = 1 + 16 + 8 + 1 + 8 + 8
	commitTimestampMask    = 1<<55 - 1
	commitTimestampHasOrig = 1 << 55
	serverVersionHasOrig   = 1 << 31
)

// gtidBody encodes the post-header and body of a GTID event.
func gtidBody(g GTIDEvent) []byte {
	b := make([]byte, 0, gtidPostHeaderLen+7+7+9+4+4)
	var flags byte
	if g.MayHaveSBR {
		flags |= gtidFlagMayHaveSBR
	}
	b = append(b, flags)
	if g.Anonymous {
		b = append(b, make([]byte, 16+8)...)
	} else {
		b = append(b, g.GTID.Server[:]...)
		b = binary.LittleEndian.AppendUint64(b, uint64(g.GTID.Sequence))
	}
	b = append(b, logicalTimestampCode)
	b = binary.LittleEndian.AppendUint64(b, uint64(g.LastCommitted))
	b = binary.LittleEndian.AppendUint64(b, uint64(g.SequenceNumber))

	immediate := uint64(g.ImmediateCommit) & commitTimestampMask
	original := uint64(g.OriginalCommit) & commitTimestampMask
	if g.OriginalCommit == 0 {
		original = immediate
	}
	if original != immediate {
		b = appendUint56(b, immediate|commitTimestampHasOrig)
		b = appendUint56(b, original)
	} else {
		b = appendUint56(b, immediate)
	}
	b = appendPacked(b, g.TransactionLength)
	iv, ov := g.ImmediateServerVersion, g.OriginalServerVersion
	if iv == 0 {
		iv = ServerVersionID
	}
	if ov == 0 {
		ov = iv
	}
	if ov != iv {
		b = binary.LittleEndian.AppendUint32(b, iv|serverVersionHasOrig)
		b = binary.LittleEndian.AppendUint32(b, ov)
	} else {
		b = binary.LittleEndian.AppendUint32(b, iv)
	}
	return b
}

// GTID builds a GTID event (ANONYMOUS_GTID if g.Anonymous). Use NewTxn to get the
// transaction length right.
func (f Format) GTID(h Header, g GTIDEvent) Event {
	t := TypeGTID
	if g.Anonymous {
		t = TypeAnonymousGTID
	}
	return f.build(t, h, 0, gtidBody(g))
}

// Txn is one transaction's events in log order: a GTID event, then QUERY(BEGIN) … XID (or
// QUERY(COMMIT)), or a single self-committing QUERY such as DDL, optionally preceded by INTVAR,
// RAND and USER_VAR events.
type Txn []Event

// NewTxn builds the GTID event for g with its transaction_length covering itself and events, and
// returns the whole transaction. The events must have been built in f (their checksum trailers
// count in the length).
func (f Format) NewTxn(h Header, g GTIDEvent, events ...Event) Txn {
	var rest uint64
	for _, ev := range events {
		rest += uint64(len(ev))
	}
	// The GTID event's own size depends on how many bytes the length takes.
	g.TransactionLength = 0
	base := uint64(len(f.GTID(h, g))) - 1 // with a 1-byte length field
	length := rest + base + 1
	for {
		next := rest + base + uint64(packedLen(length))
		if next == length {
			break
		}
		length = next
	}
	g.TransactionLength = length
	txn := make(Txn, 0, len(events)+1)
	txn = append(txn, f.GTID(h, g))
	return append(txn, events...)
}

// Query status variable codes (Q_… in MySQL's log_event.h), in the order MySQL writes them.
const (
	qFlags2                   = 0
	qSQLMode                  = 1
	qCatalog                  = 2 // MySQL 5.0.0-5.0.3 only
	qAutoIncrement            = 3
	qCharset                  = 4
	qTimeZone                 = 5
	qCatalogNZ                = 6
	qLCTimeNames              = 7
	qCharsetDatabase          = 8
	qTableMapForUpdate        = 9
	qMasterDataWritten        = 10
	qInvoker                  = 11
	qUpdatedDBNames           = 12
	qMicroseconds             = 13
	qCommitTS                 = 14
	qCommitTS2                = 15
	qExplicitDefaultsForTS    = 16
	qDDLLoggedWithXID         = 17
	qDefaultCollationUTF8MB4  = 18
	qSQLRequirePrimaryKey     = 19
	qDefaultTableEncryption   = 20
	qMariaDBHRNow             = 128 // MariaDB: Q_HRNOW, the statement time's microseconds
	qMariaDBXID               = 129 // MariaDB: Q_XID
	maxDBsInEvent             = 16
	overMaxDBsInEvent         = 254
	defaultCollation          = 255 // utf8mb4_0900_ai_ci, MySQL 8's default
	queryPostHeaderLen        = 13
	maxStatusVarsLen          = math.MaxUint16
	maxDatabaseNameLenInEvent = 255
)

// Flags2 bits of a QUERY event (the session options MySQL logs with each statement).
const (
	Flags2AutoIsNull          uint32 = 1 << 14
	Flags2NotAutocommit       uint32 = 1 << 19
	Flags2NoForeignKeyChecks  uint32 = 1 << 26
	Flags2RelaxedUniqueChecks uint32 = 1 << 27
)

// DefaultSQLMode is MySQL 8's default sql_mode as the bit set QUERY events carry
// (ONLY_FULL_GROUP_BY, STRICT_TRANS_TABLES, NO_ZERO_IN_DATE, NO_ZERO_DATE,
// ERROR_FOR_DIVISION_BY_ZERO, NO_ENGINE_SUBSTITUTION).
const DefaultSQLMode uint64 = 1168113696

// Charset is the Q_CHARSET_CODE status variable: collation ids of the client character set,
// the connection and the server. Zero fields mean 255 (utf8mb4_0900_ai_ci).
type Charset struct {
	Client, Connection, Server uint16
}

// Query is a QUERY event: a statement (BEGIN, COMMIT, DDL, or DML in statement format) with the
// session state needed to replay it. Optional status variables are written only when set.
type Query struct {
	ThreadID  uint32
	ExecTime  uint32
	ErrorCode uint16
	// Database is the default database (at most 255 bytes); empty for none.
	Database string
	SQL      string

	Flags2  uint32
	SQLMode uint64
	Charset Charset
	// AutoIncrementIncrement and AutoIncrementOffset are written when either is above 1.
	AutoIncrementIncrement, AutoIncrementOffset uint16
	TimeZone                                    string // written when not empty
	LCTimeNames                                 uint16 // written when not 0 (en_US)
	CharsetDatabase                             uint16 // written when not 0
	TableMapForUpdate                           uint64 // written when not 0
	InvokerUser, InvokerHost                    string // written when InvokerUser is set
	// UpdatedDBs lists the databases the statement changes (written when not nil; more than 16
	// are written as "too many", as MySQL does).
	UpdatedDBs []string
	// Microseconds is the fractional part of the statement time, written when HasMicroseconds.
	Microseconds    uint32
	HasMicroseconds bool
	// The remaining variables are written when non-nil.
	ExplicitDefaultsForTimestamp *bool
	DDLXID                       *uint64
	DefaultCollationUTF8MB4      *uint16
	SQLRequirePrimaryKey         *bool
	DefaultTableEncryption       *bool
}

func orDefault(v uint16) uint16 {
	if v == 0 {
		return defaultCollation
	}
	return v
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// statusVars encodes the status variable block of q, in MySQL's order.
func (q *Query) statusVars() ([]byte, error) {
	b := make([]byte, 0, 64)
	b = append(b, qFlags2)
	b = binary.LittleEndian.AppendUint32(b, q.Flags2)
	b = append(b, qSQLMode)
	b = binary.LittleEndian.AppendUint64(b, q.SQLMode)
	b = append(b, qCatalogNZ, 3, 's', 't', 'd')
	if q.AutoIncrementIncrement > 1 || q.AutoIncrementOffset > 1 {
		b = append(b, qAutoIncrement)
		b = binary.LittleEndian.AppendUint16(b, max(q.AutoIncrementIncrement, 1))
		b = binary.LittleEndian.AppendUint16(b, max(q.AutoIncrementOffset, 1))
	}
	b = append(b, qCharset)
	b = binary.LittleEndian.AppendUint16(b, orDefault(q.Charset.Client))
	b = binary.LittleEndian.AppendUint16(b, orDefault(q.Charset.Connection))
	b = binary.LittleEndian.AppendUint16(b, orDefault(q.Charset.Server))
	if q.TimeZone != "" {
		if len(q.TimeZone) > 255 {
			return nil, fmt.Errorf("time zone name of %d bytes is longer than 255", len(q.TimeZone))
		}
		b = append(b, qTimeZone, byte(len(q.TimeZone)))
		b = append(b, q.TimeZone...)
	}
	if q.LCTimeNames != 0 {
		b = append(b, qLCTimeNames)
		b = binary.LittleEndian.AppendUint16(b, q.LCTimeNames)
	}
	if q.CharsetDatabase != 0 {
		b = append(b, qCharsetDatabase)
		b = binary.LittleEndian.AppendUint16(b, q.CharsetDatabase)
	}
	if q.TableMapForUpdate != 0 {
		b = append(b, qTableMapForUpdate)
		b = binary.LittleEndian.AppendUint64(b, q.TableMapForUpdate)
	}
	if q.InvokerUser != "" {
		if len(q.InvokerUser) > 255 || len(q.InvokerHost) > 255 {
			return nil, fmt.Errorf("invoker %q@%q is longer than 255 bytes", q.InvokerUser, q.InvokerHost)
		}
		b = append(b, qInvoker, byte(len(q.InvokerUser)))
		b = append(b, q.InvokerUser...)
		b = append(b, byte(len(q.InvokerHost)))
		b = append(b, q.InvokerHost...)
	}
	if q.UpdatedDBs != nil {
		b = append(b, qUpdatedDBNames)
		if len(q.UpdatedDBs) > maxDBsInEvent {
			b = append(b, overMaxDBsInEvent)
		} else {
			b = append(b, byte(len(q.UpdatedDBs)))
			for _, db := range q.UpdatedDBs {
				for i := 0; i < len(db); i++ {
					if db[i] == 0 {
						return nil, fmt.Errorf("database name %q contains a NUL byte", db)
					}
				}
				b = append(b, db...)
				b = append(b, 0)
			}
		}
	}
	if q.HasMicroseconds {
		if q.Microseconds > 999999 {
			return nil, fmt.Errorf("microseconds %d out of range", q.Microseconds)
		}
		b = append(b, qMicroseconds, byte(q.Microseconds), byte(q.Microseconds>>8), byte(q.Microseconds>>16))
	}
	if q.ExplicitDefaultsForTimestamp != nil {
		b = append(b, qExplicitDefaultsForTS, boolByte(*q.ExplicitDefaultsForTimestamp))
	}
	if q.DDLXID != nil {
		b = append(b, qDDLLoggedWithXID)
		b = binary.LittleEndian.AppendUint64(b, *q.DDLXID)
	}
	if q.DefaultCollationUTF8MB4 != nil {
		b = append(b, qDefaultCollationUTF8MB4)
		b = binary.LittleEndian.AppendUint16(b, *q.DefaultCollationUTF8MB4)
	}
	if q.SQLRequirePrimaryKey != nil {
		b = append(b, qSQLRequirePrimaryKey, boolByte(*q.SQLRequirePrimaryKey))
	}
	if q.DefaultTableEncryption != nil {
		b = append(b, qDefaultTableEncryption, boolByte(*q.DefaultTableEncryption))
	}
	if len(b) > maxStatusVarsLen {
		return nil, fmt.Errorf("status variables of %d bytes", len(b))
	}
	return b, nil
}

// Query builds a QUERY event. It refuses a database name over 255 bytes or containing a NUL, and
// over-long status variables.
func (f Format) Query(h Header, q Query) (Event, error) {
	if len(q.Database) > maxDatabaseNameLenInEvent {
		return nil, fmt.Errorf("binlog: database name of %d bytes is longer than %d", len(q.Database), maxDatabaseNameLenInEvent)
	}
	for i := 0; i < len(q.Database); i++ {
		if q.Database[i] == 0 {
			return nil, fmt.Errorf("binlog: database name %q contains a NUL byte", q.Database)
		}
	}
	vars, err := q.statusVars()
	if err != nil {
		return nil, fmt.Errorf("binlog: query status: %w", err)
	}
	ph := make([]byte, 0, queryPostHeaderLen)
	ph = binary.LittleEndian.AppendUint32(ph, q.ThreadID)
	ph = binary.LittleEndian.AppendUint32(ph, q.ExecTime)
	ph = append(ph, byte(len(q.Database)))
	ph = binary.LittleEndian.AppendUint16(ph, q.ErrorCode)
	ph = binary.LittleEndian.AppendUint16(ph, uint16(len(vars)))
	return f.build(TypeQuery, h, 0, ph, vars, []byte(q.Database), []byte{0}, []byte(q.SQL)), nil
}

// Begin builds the QUERY(BEGIN) that opens a transaction, with MySQL 8's default session state
// (sql_mode, utf8mb4 collations) unless the caller passes a fuller Query to Format.Query.
func (f Format) Begin(h Header, threadID uint32) Event {
	ev, _ := f.Query(h, Query{ThreadID: threadID, SQL: "BEGIN", SQLMode: DefaultSQLMode})
	return ev
}

// XID builds the XID event that commits a transaction; xid is the storage engine's transaction id.
func (f Format) XID(h Header, xid uint64) Event {
	return f.build(TypeXID, h, 0, binary.LittleEndian.AppendUint64(nil, xid))
}

// Rotate builds a ROTATE event pointing at position pos (normally 4) of file next.
func (f Format) Rotate(h Header, pos uint64, next string) Event {
	return f.build(TypeRotate, h, 0, binary.LittleEndian.AppendUint64(nil, pos), []byte(next))
}

// Stop builds the STOP event written at the end of a file on clean shutdown.
func (f Format) Stop(h Header) Event {
	return f.build(TypeStop, h, 0)
}

// INTVAR variable types.
const (
	IntVarLastInsertID byte = 1
	IntVarInsertID     byte = 2
)

// IntVar builds an INTVAR event (LAST_INSERT_ID or INSERT_ID for the next statement).
func (f Format) IntVar(h Header, typ byte, value uint64) Event {
	return f.build(TypeIntVar, h, 0, []byte{typ}, binary.LittleEndian.AppendUint64(nil, value))
}

// Rand builds a RAND event: the two seeds of RAND() for the next statement.
func (f Format) Rand(h Header, seed1, seed2 uint64) Event {
	b := binary.LittleEndian.AppendUint64(nil, seed1)
	return f.build(TypeRand, h, 0, binary.LittleEndian.AppendUint64(b, seed2))
}

// User variable value types (MySQL's Item_result).
const (
	UserVarString  byte = 0
	UserVarReal    byte = 1
	UserVarInt     byte = 2
	UserVarDecimal byte = 4
)

// UserVar is a USER_VAR event: the value of @Name used by the next statement.
type UserVar struct {
	Name string
	Null bool
	// Type is one of UserVarString, UserVarReal, UserVarInt, UserVarDecimal.
	Type byte
	// Collation is the value's collation id (for strings; MySQL writes one for every type).
	Collation uint32
	// Value is the encoded value: 8 bytes little-endian for Int and Real, the bytes for
	// String, and precision, scale and MySQL's binary decimal for Decimal.
	Value    []byte
	Unsigned bool
}

// NewUserVarInt returns an integer user variable.
func NewUserVarInt(name string, v int64, unsigned bool) UserVar {
	return UserVar{Name: name, Type: UserVarInt, Collation: 63, Value: binary.LittleEndian.AppendUint64(nil, uint64(v)), Unsigned: unsigned}
}

// NewUserVarReal returns a floating-point user variable.
func NewUserVarReal(name string, v float64) UserVar {
	return UserVar{Name: name, Type: UserVarReal, Collation: 63, Value: binary.LittleEndian.AppendUint64(nil, math.Float64bits(v))}
}

// NewUserVarString returns a string user variable in the given collation.
func NewUserVarString(name, v string, collation uint32) UserVar {
	return UserVar{Name: name, Type: UserVarString, Collation: collation, Value: []byte(v)}
}

// UserVar builds a USER_VAR event.
func (f Format) UserVar(h Header, v UserVar) (Event, error) {
	if len(v.Name) > math.MaxInt32 || len(v.Value) > math.MaxInt32 {
		return nil, fmt.Errorf("binlog: user variable too long")
	}
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(v.Name)))
	b = append(b, v.Name...)
	if v.Null {
		b = append(b, 1)
		return f.build(TypeUserVar, h, 0, b), nil
	}
	switch v.Type {
	case UserVarInt, UserVarReal:
		if len(v.Value) != 8 {
			return nil, fmt.Errorf("binlog: user variable @%s: %d-byte numeric value", v.Name, len(v.Value))
		}
	case UserVarString:
	case UserVarDecimal:
		if len(v.Value) < 3 {
			return nil, fmt.Errorf("binlog: user variable @%s: decimal value of %d bytes", v.Name, len(v.Value))
		}
	default:
		return nil, fmt.Errorf("binlog: user variable @%s: unknown type %d", v.Name, v.Type)
	}
	b = append(b, 0, v.Type)
	b = binary.LittleEndian.AppendUint32(b, v.Collation)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v.Value)))
	b = append(b, v.Value...)
	b = append(b, boolByte(v.Unsigned))
	return f.build(TypeUserVar, h, 0, b), nil
}

// Heartbeat builds the HEARTBEAT event a source sends an idle replica: the current file name,
// and in log_pos the position the source has reached in it. It is never written to a file.
func (f Format) Heartbeat(serverID uint32, file string, pos uint32) Event {
	return f.build(TypeHeartbeat, Header{ServerID: serverID}, pos, []byte(file))
}

// appendUint56 appends the low 7 bytes of v, little-endian.
func appendUint56(b []byte, v uint64) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48))
}

// appendPacked appends v as a MySQL packed (length-encoded) integer.
func appendPacked(b []byte, v uint64) []byte {
	switch {
	case v < 251:
		return append(b, byte(v))
	case v < 1<<16:
		return append(b, 0xfc, byte(v), byte(v>>8))
	case v < 1<<24:
		return append(b, 0xfd, byte(v), byte(v>>8), byte(v>>16))
	}
	return binary.LittleEndian.AppendUint64(append(b, 0xfe), v)
}

func packedLen(v uint64) int {
	switch {
	case v < 251:
		return 1
	case v < 1<<16:
		return 3
	case v < 1<<24:
		return 4
	}
	return 9
}
