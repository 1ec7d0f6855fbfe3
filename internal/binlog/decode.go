package binlog

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/relaydb/relaydb/internal/gtid"
)

// ErrShortEvent is wrapped by decoders when an event's body is shorter than its type requires.
var ErrShortEvent = errors.New("event body too short")

// cursor reads little-endian fields from a body, remembering the first overrun instead of
// panicking, so decoders stay total on arbitrary bytes.
type cursor struct {
	b   []byte
	bad bool
}

func (c *cursor) take(n int) []byte {
	if c.bad || n < 0 || n > len(c.b) {
		c.bad = true
		return nil
	}
	p := c.b[:n]
	c.b = c.b[n:]
	return p
}

func (c *cursor) u8() byte {
	if p := c.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (c *cursor) u16() uint16 {
	if p := c.take(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (c *cursor) u32() uint32 {
	if p := c.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (c *cursor) u56() uint64 {
	if p := c.take(7); p != nil {
		var b [8]byte
		copy(b[:], p)
		return binary.LittleEndian.Uint64(b[:])
	}
	return 0
}

func (c *cursor) u64() uint64 {
	if p := c.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (c *cursor) packed() uint64 {
	switch first := c.u8(); {
	case first < 251:
		return uint64(first)
	case first == 0xfc:
		return uint64(c.u16())
	case first == 0xfd:
		if p := c.take(3); p != nil {
			return uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16
		}
	case first == 0xfe:
		return c.u64()
	default:
		c.bad = true
	}
	return 0
}

func bodyOf(f Format, e Event, want EventType) ([]byte, error) {
	if len(e) < HeaderLen {
		return nil, fmt.Errorf("%w: %d-byte event", ErrShortEvent, len(e))
	}
	if t := e.Type(); t != want && !(want == TypeGTID && t == TypeAnonymousGTID) {
		return nil, fmt.Errorf("%s event is not %s", t, want)
	}
	return e.Body(f), nil
}

// DecodeGTID reads a GTID or ANONYMOUS_GTID event. Fields absent from older servers' events
// (logical clock before 5.7.6, timestamps and length before 8.0.2, versions before 8.0.14) are
// left zero.
func DecodeGTID(f Format, e Event) (GTIDEvent, error) {
	var g GTIDEvent
	body, err := bodyOf(f, e, TypeGTID)
	if err != nil {
		return g, err
	}
	g.Anonymous = e.Type() == TypeAnonymousGTID
	c := cursor{b: body}
	flags := c.u8()
	g.MayHaveSBR = flags&gtidFlagMayHaveSBR != 0
	copy(g.GTID.Server[:], c.take(16))
	g.GTID.Sequence = int64(c.u64())
	if c.bad {
		return g, fmt.Errorf("%w: GTID event body of %d bytes", ErrShortEvent, len(body))
	}
	if !g.Anonymous && (g.GTID.Sequence < 1 || g.GTID.Sequence > gtid.MaxGNO) {
		return g, fmt.Errorf("GTID event: transaction number %d out of range", g.GTID.Sequence)
	}
	if len(c.b) < 1+16 {
		return g, nil
	}
	if code := c.u8(); code != logicalTimestampCode {
		return g, fmt.Errorf("GTID event: logical timestamp type %d is not %d", code, logicalTimestampCode)
	}
	g.LastCommitted = int64(c.u64())
	g.SequenceNumber = int64(c.u64())
	if len(c.b) < 7 {
		return g, nil
	}
	imm := c.u56()
	g.ImmediateCommit = int64(imm & commitTimestampMask)
	g.OriginalCommit = g.ImmediateCommit
	if imm&commitTimestampHasOrig != 0 {
		g.OriginalCommit = int64(c.u56() & commitTimestampMask)
	}
	if len(c.b) >= 1 {
		g.TransactionLength = c.packed()
	}
	if len(c.b) >= 4 {
		v := c.u32()
		g.ImmediateServerVersion = v &^ serverVersionHasOrig
		g.OriginalServerVersion = g.ImmediateServerVersion
		if v&serverVersionHasOrig != 0 {
			g.OriginalServerVersion = c.u32()
		}
	}
	if c.bad {
		return g, fmt.Errorf("%w: GTID event body of %d bytes", ErrShortEvent, len(body))
	}
	return g, nil
}

// DecodeQuery reads a QUERY event, with every status variable MySQL 8.0 writes. As in MySQL, an
// unknown status variable code ends the scan of the block (later ones are skipped).
func DecodeQuery(f Format, e Event) (Query, error) {
	var q Query
	body, err := bodyOf(f, e, TypeQuery)
	if err != nil {
		return q, err
	}
	ph := f.postHeader(TypeQuery, queryPostHeaderLen)
	if ph < queryPostHeaderLen || len(body) < ph {
		return q, fmt.Errorf("%w: QUERY body of %d bytes, post-header %d", ErrShortEvent, len(body), ph)
	}
	c := cursor{b: body}
	q.ThreadID = c.u32()
	q.ExecTime = c.u32()
	dbLen := int(c.u8())
	q.ErrorCode = c.u16()
	varsLen := int(c.u16())
	c.take(ph - queryPostHeaderLen)
	vars := c.take(varsLen)
	db := c.take(dbLen)
	if nul := c.u8(); c.bad || nul != 0 {
		return q, fmt.Errorf("QUERY event: status variables (%d bytes) or database name (%d bytes) overrun the body, or the name is not NUL-terminated", varsLen, dbLen)
	}
	q.Database = string(db)
	q.SQL = string(c.b)
	if err := q.decodeStatusVars(vars); err != nil {
		return q, fmt.Errorf("QUERY event: %w", err)
	}
	return q, nil
}

func (q *Query) decodeStatusVars(vars []byte) error {
	c := cursor{b: vars}
	for len(c.b) > 0 && !c.bad {
		code := c.u8()
		switch code {
		case qFlags2:
			q.Flags2 = c.u32()
		case qSQLMode:
			q.SQLMode = c.u64()
		case qCatalog:
			c.take(int(c.u8()) + 1)
		case qAutoIncrement:
			q.AutoIncrementIncrement = c.u16()
			q.AutoIncrementOffset = c.u16()
		case qCharset:
			q.Charset = Charset{Client: c.u16(), Connection: c.u16(), Server: c.u16()}
		case qTimeZone:
			q.TimeZone = string(c.take(int(c.u8())))
		case qCatalogNZ:
			c.take(int(c.u8()))
		case qLCTimeNames:
			q.LCTimeNames = c.u16()
		case qCharsetDatabase:
			q.CharsetDatabase = c.u16()
		case qTableMapForUpdate:
			q.TableMapForUpdate = c.u64()
		case qMasterDataWritten:
			c.u32()
		case qInvoker:
			q.InvokerUser = string(c.take(int(c.u8())))
			q.InvokerHost = string(c.take(int(c.u8())))
		case qUpdatedDBNames:
			n := int(c.u8())
			q.UpdatedDBs = []string{}
			if n == overMaxDBsInEvent {
				break
			}
			for i := 0; i < n && !c.bad; i++ {
				end := -1
				for k, ch := range c.b {
					if ch == 0 {
						end = k
						break
					}
				}
				if end < 0 {
					return errors.New("updated database name not NUL-terminated")
				}
				q.UpdatedDBs = append(q.UpdatedDBs, string(c.take(end)))
				c.take(1)
			}
		case qMicroseconds:
			if p := c.take(3); p != nil {
				q.Microseconds = uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16
				q.HasMicroseconds = true
			}
		case qCommitTS:
			// Written by no released server; its size is unknown, so stop as MySQL does.
			return nil
		case qCommitTS2:
			c.u64()
		case qExplicitDefaultsForTS:
			v := c.u8() != 0
			q.ExplicitDefaultsForTimestamp = &v
		case qDDLLoggedWithXID:
			v := c.u64()
			q.DDLXID = &v
		case qDefaultCollationUTF8MB4:
			v := c.u16()
			q.DefaultCollationUTF8MB4 = &v
		case qSQLRequirePrimaryKey:
			v := c.u8() != 0
			q.SQLRequirePrimaryKey = &v
		case qDefaultTableEncryption:
			v := c.u8() != 0
			q.DefaultTableEncryption = &v
		case qMariaDBHRNow:
			// MariaDB's statement time fraction (MySQL's Q_MICROSECONDS).
			if p := c.take(3); p != nil {
				q.Microseconds = uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16
				q.HasMicroseconds = true
			}
		case qMariaDBXID:
			c.u64() // MariaDB's DDL transaction id, for its crash recovery
		default:
			return nil
		}
	}
	if c.bad {
		return errors.New("status variables truncated")
	}
	return nil
}

// DecodeXID returns the transaction id of an XID event.
func DecodeXID(f Format, e Event) (uint64, error) {
	body, err := bodyOf(f, e, TypeXID)
	if err != nil {
		return 0, err
	}
	if len(body) < 8 {
		return 0, fmt.Errorf("%w: XID body of %d bytes", ErrShortEvent, len(body))
	}
	return binary.LittleEndian.Uint64(body), nil
}

// DecodeRotate returns the position and file name a ROTATE event points to.
func DecodeRotate(f Format, e Event) (pos uint64, next string, err error) {
	body, err := bodyOf(f, e, TypeRotate)
	if err != nil {
		return 0, "", err
	}
	ph := f.postHeader(TypeRotate, 8)
	if ph != 8 && ph != 0 || len(body) <= ph {
		return 0, "", fmt.Errorf("%w: ROTATE body of %d bytes", ErrShortEvent, len(body))
	}
	pos = 4
	if ph == 8 {
		pos = binary.LittleEndian.Uint64(body)
	}
	return pos, string(body[ph:]), nil
}

// DecodePreviousGTIDs returns the GTID set of a PREVIOUS_GTIDS event.
func DecodePreviousGTIDs(f Format, e Event) (gtid.Set, error) {
	body, err := bodyOf(f, e, TypePreviousGTIDs)
	if err != nil {
		return gtid.Set{}, err
	}
	return gtid.Decode(body)
}

// DecodeIntVar returns the variable type and value of an INTVAR event.
func DecodeIntVar(f Format, e Event) (typ byte, value uint64, err error) {
	body, err := bodyOf(f, e, TypeIntVar)
	if err != nil {
		return 0, 0, err
	}
	if len(body) < 9 {
		return 0, 0, fmt.Errorf("%w: INTVAR body of %d bytes", ErrShortEvent, len(body))
	}
	if body[0] != IntVarInsertID && body[0] != IntVarLastInsertID {
		return 0, 0, fmt.Errorf("INTVAR event: unknown variable type %d", body[0])
	}
	return body[0], binary.LittleEndian.Uint64(body[1:]), nil
}

// DecodeRand returns the two seeds of a RAND event.
func DecodeRand(f Format, e Event) (seed1, seed2 uint64, err error) {
	body, err := bodyOf(f, e, TypeRand)
	if err != nil {
		return 0, 0, err
	}
	if len(body) < 16 {
		return 0, 0, fmt.Errorf("%w: RAND body of %d bytes", ErrShortEvent, len(body))
	}
	return binary.LittleEndian.Uint64(body), binary.LittleEndian.Uint64(body[8:]), nil
}

// DecodeUserVar reads a USER_VAR event.
func DecodeUserVar(f Format, e Event) (UserVar, error) {
	var v UserVar
	body, err := bodyOf(f, e, TypeUserVar)
	if err != nil {
		return v, err
	}
	c := cursor{b: body}
	nameLen := c.u32()
	if uint64(nameLen) > uint64(len(c.b)) {
		return v, fmt.Errorf("%w: USER_VAR name of %d bytes in a %d-byte body", ErrShortEvent, nameLen, len(body))
	}
	v.Name = string(c.take(int(nameLen)))
	v.Null = c.u8() != 0
	if c.bad {
		return v, fmt.Errorf("%w: USER_VAR body of %d bytes", ErrShortEvent, len(body))
	}
	if v.Null {
		return v, nil
	}
	v.Type = c.u8()
	v.Collation = c.u32()
	valLen := c.u32()
	if c.bad || uint64(valLen) > uint64(len(c.b)) {
		return v, fmt.Errorf("%w: USER_VAR value overruns a %d-byte body", ErrShortEvent, len(body))
	}
	v.Value = append([]byte(nil), c.take(int(valLen))...)
	if len(c.b) > 0 {
		v.Unsigned = c.u8()&1 != 0
	}
	return v, nil
}
