package binlog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"

	"github.com/dolthub/vitess/go/mysql"
)

// ServerVersion is the version string RelayDB writes in FORMAT_DESCRIPTION events. MySQL tools
// read the leading number to decide which format to expect, so it must stay a MySQL 8.0 one.
const ServerVersion = "8.0.36-relaydb"

// ServerVersionID is ServerVersion as MySQL writes it in GTID events (major*10000+minor*100+patch).
const ServerVersionID = 80036

// EventType is the type code in byte 4 of every event header (MySQL 8.0 numbering).
type EventType uint8

// The event types MySQL 8.0.36 knows.
const (
	TypeUnknown             EventType = 0
	TypeStartV3             EventType = 1
	TypeQuery               EventType = 2
	TypeStop                EventType = 3
	TypeRotate              EventType = 4
	TypeIntVar              EventType = 5
	TypeAppendBlock         EventType = 9
	TypeDeleteFile          EventType = 11
	TypeRand                EventType = 13
	TypeUserVar             EventType = 14
	TypeFormatDescription   EventType = 15
	TypeXID                 EventType = 16
	TypeBeginLoadQuery      EventType = 17
	TypeExecuteLoadQuery    EventType = 18
	TypeTableMap            EventType = 19
	TypeWriteRowsV1         EventType = 23
	TypeUpdateRowsV1        EventType = 24
	TypeDeleteRowsV1        EventType = 25
	TypeIncident            EventType = 26
	TypeHeartbeat           EventType = 27
	TypeIgnorable           EventType = 28
	TypeRowsQuery           EventType = 29
	TypeWriteRows           EventType = 30
	TypeUpdateRows          EventType = 31
	TypeDeleteRows          EventType = 32
	TypeGTID                EventType = 33
	TypeAnonymousGTID       EventType = 34
	TypePreviousGTIDs       EventType = 35
	TypeTransactionContext  EventType = 36
	TypeViewChange          EventType = 37
	TypeXAPrepare           EventType = 38
	TypePartialUpdateRows   EventType = 39
	TypeTransactionPayload  EventType = 40
	TypeHeartbeatV2         EventType = 41
	numEventTypes                     = 41 // LOG_EVENT_TYPES of MySQL 8.0.27 and later
	formatDescriptionPostHd           = 2 + 50 + 4 + 1 + numEventTypes
)

// String returns the name MySQL's SHOW BINLOG EVENTS prints in its Event_type column.
func (t EventType) String() string {
	switch t {
	case TypeStartV3:
		return "Start_v3"
	case TypeQuery:
		return "Query"
	case TypeStop:
		return "Stop"
	case TypeRotate:
		return "Rotate"
	case TypeIntVar:
		return "Intvar"
	case TypeAppendBlock:
		return "Append_block"
	case TypeDeleteFile:
		return "Delete_file"
	case TypeRand:
		return "RAND"
	case TypeUserVar:
		return "User var"
	case TypeFormatDescription:
		return "Format_desc"
	case TypeXID:
		return "Xid"
	case TypeBeginLoadQuery:
		return "Begin_load_query"
	case TypeExecuteLoadQuery:
		return "Execute_load_query"
	case TypeTableMap:
		return "Table_map"
	case TypeWriteRowsV1:
		return "Write_rows_v1"
	case TypeUpdateRowsV1:
		return "Update_rows_v1"
	case TypeDeleteRowsV1:
		return "Delete_rows_v1"
	case TypeIncident:
		return "Incident"
	case TypeHeartbeat, TypeHeartbeatV2:
		return "Heartbeat"
	case TypeIgnorable:
		return "Ignorable"
	case TypeRowsQuery:
		return "Rows_query"
	case TypeWriteRows:
		return "Write_rows"
	case TypeUpdateRows:
		return "Update_rows"
	case TypeDeleteRows:
		return "Delete_rows"
	case TypeGTID:
		return "Gtid"
	case TypeAnonymousGTID:
		return "Anonymous_Gtid"
	case TypePreviousGTIDs:
		return "Previous_gtids"
	case TypeTransactionContext:
		return "Transaction_context"
	case TypeViewChange:
		return "View_change"
	case TypeXAPrepare:
		return "XA_prepare"
	case TypePartialUpdateRows:
		return "Update_rows_partial"
	case TypeTransactionPayload:
		return "Transaction_payload"
	}
	return "Unknown"
}

// Event header flags (the 2 bytes at offset 17).
const (
	// FlagBinlogInUse is set in the FORMAT_DESCRIPTION event of a file while it is being
	// written and cleared when the file is closed (rotation or clean shutdown). It is excluded
	// from that event's CRC32 so that clearing it needs no rewrite of the checksum.
	FlagBinlogInUse uint16 = 0x1
	// FlagThreadSpecific marks a query that depends on its thread (temporary tables).
	FlagThreadSpecific uint16 = 0x4
	// FlagSuppressUse tells readers not to print USE db before the query.
	FlagSuppressUse uint16 = 0x8
	// FlagArtificial marks events a server makes up for a replica (fake ROTATE).
	FlagArtificial uint16 = 0x20
	// FlagRelayLog marks events a replica wrote itself into its relay log.
	FlagRelayLog uint16 = 0x40
	// FlagIgnorable lets readers skip an event type they do not know.
	FlagIgnorable uint16 = 0x80
)

// HeaderLen is the size of the v4 common event header: timestamp (4), type (1), server_id (4),
// event_size (4), log_pos (4, the file offset just past the event) and flags (2).
const HeaderLen = 19

// ChecksumLen is the size of the CRC32 trailer.
const ChecksumLen = 4

// Magic opens every binlog file.
var Magic = [4]byte{0xfe, 'b', 'i', 'n'}

// Checksum is the binlog_checksum setting. The zero value is CRC32, MySQL 8's default.
type Checksum uint8

// The two settings MySQL 8 supports.
const (
	ChecksumCRC32 Checksum = iota
	ChecksumNone
)

// String returns the setting's name as in SHOW VARIABLES.
func (c Checksum) String() string {
	if c == ChecksumNone {
		return "NONE"
	}
	return "CRC32"
}

// ParseChecksum reads a binlog_checksum value (case-insensitive).
func ParseChecksum(s string) (Checksum, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "CRC32":
		return ChecksumCRC32, nil
	case "NONE":
		return ChecksumNone, nil
	}
	return 0, fmt.Errorf("binlog_checksum: %q is not CRC32 or NONE", s)
}

// alg is the algorithm byte MySQL stores in the FORMAT_DESCRIPTION event.
func (c Checksum) alg() byte {
	if c == ChecksumNone {
		return mysql.BinlogChecksumAlgOff
	}
	return mysql.BinlogChecksumAlgCRC32
}

// mysql80PostHeader is the post-header length of each event type (index type-1) that MySQL 8.0.27
// and later write in their FORMAT_DESCRIPTION events. Readers use it to find where an event's body
// starts, so it must match what the events we write actually contain.
var mysql80PostHeader = [numEventTypes]byte{
	0,       // 1 START_EVENT_V3 (not written since 8.0)
	13,      // 2 QUERY
	0,       // 3 STOP
	8,       // 4 ROTATE
	0,       // 5 INTVAR
	0, 0, 0, // 6-8 obsolete load events
	4,                       // 9 APPEND_BLOCK
	0,                       // 10 obsolete
	4,                       // 11 DELETE_FILE
	0,                       // 12 obsolete
	0,                       // 13 RAND
	0,                       // 14 USER_VAR
	formatDescriptionPostHd, // 15 FORMAT_DESCRIPTION (98)
	0,                       // 16 XID
	4,                       // 17 BEGIN_LOAD_QUERY
	26,                      // 18 EXECUTE_LOAD_QUERY
	8,                       // 19 TABLE_MAP
	0, 0, 0,                 // 20-22 pre-GA rows events
	8, 8, 8, // 23-25 rows events v1
	2,          // 26 INCIDENT
	0,          // 27 HEARTBEAT
	0,          // 28 IGNORABLE
	0,          // 29 ROWS_QUERY
	10, 10, 10, // 30-32 rows events v2
	42, // 33 GTID
	42, // 34 ANONYMOUS_GTID
	0,  // 35 PREVIOUS_GTIDS
	18, // 36 TRANSACTION_CONTEXT
	52, // 37 VIEW_CHANGE
	0,  // 38 XA_PREPARE
	10, // 39 PARTIAL_UPDATE_ROWS
	40, // 40 TRANSACTION_PAYLOAD (MySQL writes the type code here)
	0,  // 41 HEARTBEAT_V2
}

// Format is what a reader needs to know about a binlog file, as stated by its
// FORMAT_DESCRIPTION event: the checksum and each event type's post-header length.
type Format struct {
	Checksum      Checksum
	ServerVersion string
	// PostHeader[t-1] is the post-header length of event type t.
	PostHeader []byte
}

// NewFormat returns the format RelayDB writes: MySQL 8.0.36's, with the given checksum.
func NewFormat(c Checksum) Format {
	return Format{Checksum: c, ServerVersion: ServerVersion, PostHeader: mysql80PostHeader[:]}
}

// trailer is the size of the checksum at the end of events of type t.
func (f Format) trailer(t EventType) int {
	if t == TypeFormatDescription || f.Checksum == ChecksumCRC32 {
		// A FORMAT_DESCRIPTION event always carries a CRC32, whatever binlog_checksum says.
		return ChecksumLen
	}
	return 0
}

// postHeader returns the post-header length of type t, or def if the format does not list t.
func (f Format) postHeader(t EventType, def int) int {
	if t >= 1 && int(t) <= len(f.PostHeader) {
		return int(f.PostHeader[t-1])
	}
	return def
}

// Vitess returns the format for vitess's event builders (NewTableMapEvent, NewWriteRowsEvent, …)
// and parsers, so that events they build can be appended to a binlog written in f.
func (f Format) Vitess() mysql.BinlogFormat {
	return mysql.BinlogFormat{
		FormatVersion:     4,
		ServerVersion:     f.ServerVersion,
		HeaderLength:      HeaderLen,
		ChecksumAlgorithm: f.Checksum.alg(),
		HeaderSizes:       append([]byte(nil), f.PostHeader...),
	}
}

// eventCRC computes the CRC32 (IEEE) of an event without its 4-byte trailer. In a
// FORMAT_DESCRIPTION event the FlagBinlogInUse bit is taken as clear, as MySQL does.
func eventCRC(ev []byte) uint32 {
	body := ev[:len(ev)-ChecksumLen]
	if EventType(ev[4]) == TypeFormatDescription && ev[17]&byte(FlagBinlogInUse) != 0 {
		c := crc32.Update(0, crc32.IEEETable, body[:17])
		c = crc32.Update(c, crc32.IEEETable, []byte{ev[17] &^ byte(FlagBinlogInUse)})
		return crc32.Update(c, crc32.IEEETable, body[18:])
	}
	return crc32.ChecksumIEEE(body)
}

// versionProduct turns "8.0.36-relaydb" into 80036 (0 if it does not start with a version).
func versionProduct(v string) int {
	var parts [3]int
	rest := v
	for i := range parts {
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' && j < 4 {
			j++
		}
		if j == 0 {
			return 0
		}
		parts[i], _ = strconv.Atoi(rest[:j])
		rest = rest[j:]
		if i < 2 {
			if len(rest) == 0 || rest[0] != '.' {
				return 0
			}
			rest = rest[1:]
		}
	}
	return parts[0]*10000 + parts[1]*100 + parts[2]
}

// checksumVersion is the first MySQL version whose FORMAT_DESCRIPTION carries a checksum
// algorithm byte (5.6.1).
const checksumVersion = 50601

// FormatDescription is the decoded body of a FORMAT_DESCRIPTION event.
type FormatDescription struct {
	BinlogVersion uint16
	ServerVersion string
	// Created is the creation time (seconds) of the first file a server opens after starting; 0
	// in files opened by rotation.
	Created uint32
	Format  Format
}

// DecodeFormatDescription reads a FORMAT_DESCRIPTION event (without checking its checksum; the
// Reader does that). Only binlog v4 with 19-byte headers is accepted.
func DecodeFormatDescription(ev Event) (FormatDescription, error) {
	var fd FormatDescription
	if len(ev) < HeaderLen || ev.Type() != TypeFormatDescription {
		return fd, fmt.Errorf("not a FORMAT_DESCRIPTION event")
	}
	body := ev[HeaderLen:]
	if len(body) < 2+50+4+1 {
		return fd, fmt.Errorf("FORMAT_DESCRIPTION body of %d bytes is too short", len(body))
	}
	fd.BinlogVersion = binary.LittleEndian.Uint16(body)
	if fd.BinlogVersion != 4 {
		return fd, fmt.Errorf("binlog version %d is not 4", fd.BinlogVersion)
	}
	sv := body[2:52]
	if i := strings.IndexByte(string(sv), 0); i >= 0 {
		sv = sv[:i]
	}
	fd.ServerVersion = string(sv)
	fd.Created = binary.LittleEndian.Uint32(body[52:56])
	if body[56] != HeaderLen {
		return fd, fmt.Errorf("common header length %d is not %d", body[56], HeaderLen)
	}
	rest := body[57:]
	f := Format{ServerVersion: fd.ServerVersion, Checksum: ChecksumNone}
	if versionProduct(fd.ServerVersion) >= checksumVersion {
		// post-header lengths, then the algorithm byte, then the event's own 4-byte CRC.
		if len(rest) < 1+ChecksumLen {
			return fd, fmt.Errorf("FORMAT_DESCRIPTION has no checksum algorithm")
		}
		switch alg := rest[len(rest)-ChecksumLen-1]; alg {
		case mysql.BinlogChecksumAlgCRC32:
			f.Checksum = ChecksumCRC32
		case mysql.BinlogChecksumAlgOff:
			f.Checksum = ChecksumNone
		default:
			return fd, fmt.Errorf("unsupported checksum algorithm %d", alg)
		}
		rest = rest[:len(rest)-ChecksumLen-1]
	} else {
		return fd, fmt.Errorf("server version %q predates binlog checksums (5.6.1); not supported", fd.ServerVersion)
	}
	if len(rest) < int(TypeXID) {
		return fd, fmt.Errorf("FORMAT_DESCRIPTION lists only %d event types", len(rest))
	}
	f.PostHeader = append([]byte(nil), rest...)
	fd.Format = f
	return fd, nil
}
