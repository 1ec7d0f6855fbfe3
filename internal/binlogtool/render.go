package binlogtool

import (
	"encoding/binary"
	"fmt"
	"github.com/relaydb/relaydb/internal/binlog/rowenc"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/binlog"
)

// header writes the two comment lines mysqlbinlog prints before every event: its offset, then
// its time, server id, end position, checksum, type and what the type has to say (info).
func header(b *strings.Builder, f binlog.Format, loc *time.Location, pe posEvent, info string) {
	ev := pe.ev
	ts := time.Unix(int64(ev.Timestamp()), 0).In(loc)
	fmt.Fprintf(b, "# at %d\n#%02d%02d%02d %2d:%02d:%02d server id %d  end_log_pos %d ",
		pe.off, ts.Year()%100, ts.Month(), ts.Day(), ts.Hour(), ts.Minute(), ts.Second(), ev.ServerID(), ev.LogPos())
	if f.Checksum == binlog.ChecksumCRC32 && len(ev) >= binlog.HeaderLen+binlog.ChecksumLen {
		fmt.Fprintf(b, "CRC32 0x%08x ", binary.LittleEndian.Uint32(ev[len(ev)-binlog.ChecksumLen:]))
	}
	b.WriteString("\t" + ev.Type().String())
	if info != "" {
		b.WriteString("\t" + sanitize(info))
	}
	b.WriteByte('\n')
}

// session is what the replay session has been told so far: its default database.
type session struct {
	db string
}

// txnEvent converts one event of a transaction. It returns the text for the header line and the
// body (SQL and comments); err means the event cannot be replayed, and the body may then hold
// comments that show what the event contained.
func (p *printer) txnEvent(f binlog.Format, ev binlog.Event, s *session, tables map[uint64]*table) (info, body string, err error) {
	var b strings.Builder
	switch t := ev.Type(); t {
	case binlog.TypeGTID, binlog.TypeAnonymousGTID:
		g, err := binlog.DecodeGTID(f, ev)
		if err != nil {
			return "", "", err
		}
		info = fmt.Sprintf("last_committed=%d\tsequence_number=%d", g.LastCommitted, g.SequenceNumber)
		if g.ImmediateCommit != 0 {
			info += fmt.Sprintf("\timmediate_commit_timestamp=%d", g.ImmediateCommit)
		}
		if g.TransactionLength != 0 {
			info += fmt.Sprintf("\ttransaction_length=%d", g.TransactionLength)
		}
		if g.Anonymous {
			return info, "", nil
		}
		if p.opts.SkipGTIDs {
			return info, "# GTID " + g.GTID.String() + " (not set: --skip-gtids)\n", nil
		}
		return info, "SET @@SESSION.GTID_NEXT='" + g.GTID.String() + "';\n", nil
	case binlog.TypeQuery:
		q, err := binlog.DecodeQuery(f, ev)
		if err != nil {
			return "", "", err
		}
		info = fmt.Sprintf("thread_id=%d\texec_time=%d\terror_code=%d", q.ThreadID, q.ExecTime, q.ErrorCode)
		if q.Database != "" && q.Database != s.db && ev.Flags()&binlog.FlagSuppressUse == 0 {
			b.WriteString("USE " + quoteIdent(q.Database) + ";\n")
			s.db = q.Database
		}
		switch strings.ToUpper(strings.TrimSpace(q.SQL)) {
		case "BEGIN", "COMMIT", "ROLLBACK":
		default:
			// A statement runs at the time it ran on the source (NOW(), defaults), as mysqlbinlog
			// arranges with SET TIMESTAMP.
			ts := strconv.FormatUint(uint64(ev.Timestamp()), 10)
			if q.HasMicroseconds {
				ts += fmt.Sprintf(".%06d", q.Microseconds)
			}
			b.WriteString("SET TIMESTAMP=" + ts + ";\n")
		}
		if err := statement(&b, q.SQL); err != nil {
			return info, b.String(), err
		}
		return info, b.String(), nil
	case binlog.TypeXID:
		xid, err := binlog.DecodeXID(f, ev)
		if err != nil {
			return "", "", err
		}
		return "Xid = " + strconv.FormatUint(xid, 10), "COMMIT;\n", nil
	case binlog.TypeTableMap:
		tb, err := newTable(f, ev)
		if err != nil {
			return "", "", err
		}
		tables[tb.id] = tb
		return fmt.Sprintf("%s mapped to number %d", tb.qualified(), tb.id), "", nil
	case binlog.TypeWriteRows, binlog.TypeUpdateRows, binlog.TypeDeleteRows,
		binlog.TypeWriteRowsV1, binlog.TypeUpdateRowsV1, binlog.TypeDeleteRowsV1:
		tb, rows, err := decodeRows(f, ev, tables)
		if err != nil {
			return "", "", err
		}
		info = fmt.Sprintf("table id %d", tb.id)
		if rows.Flags&1 != 0 {
			info += " flags: STMT_END_F"
		}
		kind := kindOf(t)
		if p.opts.Verbose || !tb.named {
			rowsVerbose(&b, kind, tb, rows)
		}
		err = rowsSQL(&b, kind, tb, rows)
		return info, b.String(), err
	case binlog.TypeIntVar:
		typ, v, err := binlog.DecodeIntVar(f, ev)
		if err != nil {
			return "", "", err
		}
		name := "INSERT_ID"
		if typ == binlog.IntVarLastInsertID {
			name = "LAST_INSERT_ID"
		}
		return fmt.Sprintf("%s=%d", name, v), fmt.Sprintf("SET %s=%d;\n", name, v), nil
	case binlog.TypeRand:
		s1, s2, err := binlog.DecodeRand(f, ev)
		if err != nil {
			return "", "", err
		}
		return fmt.Sprintf("rand_seed1=%d,rand_seed2=%d", s1, s2),
			fmt.Sprintf("SET @@RAND_SEED1=%d, @@RAND_SEED2=%d;\n", s1, s2), nil
	case binlog.TypeUserVar:
		v, err := binlog.DecodeUserVar(f, ev)
		if err != nil {
			return "", "", err
		}
		lit, err := userVarLiteral(v)
		if err != nil {
			return "@" + v.Name, "", err
		}
		return "@" + v.Name, "SET @" + quoteIdent(v.Name) + ":=" + lit + ";\n", nil
	case binlog.TypeRowsQuery:
		// The statement that made the rows (binlog_rows_query_log_events): for reading only.
		text := ""
		if body := ev.Body(f); len(body) > 1 {
			text = string(body[1:])
		}
		for _, line := range strings.Split(text, "\n") {
			b.WriteString("# " + sanitize(line) + "\n")
		}
		return "", b.String(), nil
	default:
		if t == binlog.TypeIgnorable || ev.Flags()&binlog.FlagIgnorable != 0 {
			return "ignorable", "", nil
		}
		return "", "", fmt.Errorf("%s events (type %d) cannot be replayed by this tool", t, t)
	}
}

// fileEvent describes an event between transactions; none of them has SQL.
func fileEvent(f binlog.Format, loc *time.Location, ev binlog.Event) (info, body string) {
	switch ev.Type() {
	case binlog.TypeFormatDescription:
		fd, err := binlog.DecodeFormatDescription(ev)
		if err != nil {
			return "", "# ERROR: " + sanitize(err.Error()) + "\n"
		}
		info = fmt.Sprintf("Start: binlog v %d, server v %s", fd.BinlogVersion, fd.ServerVersion)
		if fd.Created != 0 {
			c := time.Unix(int64(fd.Created), 0).In(loc)
			info += fmt.Sprintf(" created %02d%02d%02d %2d:%02d:%02d at startup", c.Year()%100, c.Month(), c.Day(), c.Hour(), c.Minute(), c.Second())
		}
		if ev.Flags()&binlog.FlagBinlogInUse != 0 {
			body = "# Warning: this binlog is either in use or was not closed properly.\n"
		}
		return info, body
	case binlog.TypePreviousGTIDs:
		set, err := binlog.DecodePreviousGTIDs(f, ev)
		if err != nil {
			return "", "# ERROR: " + sanitize(err.Error()) + "\n"
		}
		if set.IsEmpty() {
			return "", ""
		}
		return "", "# " + set.String() + "\n"
	case binlog.TypeRotate:
		pos, next, err := binlog.DecodeRotate(f, ev)
		if err != nil {
			return "", "# ERROR: " + sanitize(err.Error()) + "\n"
		}
		return fmt.Sprintf("Rotate to %s  pos: %d", next, pos), ""
	}
	return "", ""
}

// statement writes a QUERY event's text as one statement. Text holding ';' (a stored program
// body, or a string literal) is wrapped in DELIMITER, as mysqlbinlog does, so that the client
// sends it whole.
func statement(b *strings.Builder, text string) error {
	text = strings.TrimRight(text, " \t\r\n;")
	if strings.TrimSpace(text) == "" {
		return fmt.Errorf("QUERY event with an empty statement")
	}
	if !strings.Contains(text, ";") {
		b.WriteString(text + ";\n")
		return nil
	}
	if strings.Contains(text, "/*!*/") {
		return fmt.Errorf("statement contains both ';' and the delimiter /*!*/, so no client delimiter can frame it")
	}
	b.WriteString("DELIMITER /*!*/;\n" + text + "\n/*!*/;\nDELIMITER ;\n")
	return nil
}

// userVarLiteral is the value of a USER_VAR event as SQL.
func userVarLiteral(v binlog.UserVar) (string, error) {
	if v.Null {
		return "NULL", nil
	}
	switch v.Type {
	case binlog.UserVarInt:
		if len(v.Value) != 8 {
			return "", fmt.Errorf("user variable @%s: %d-byte integer", v.Name, len(v.Value))
		}
		x := binary.LittleEndian.Uint64(v.Value)
		if v.Unsigned {
			return strconv.FormatUint(x, 10), nil
		}
		return strconv.FormatInt(int64(x), 10), nil
	case binlog.UserVarReal:
		if len(v.Value) != 8 {
			return "", fmt.Errorf("user variable @%s: %d-byte double", v.Name, len(v.Value))
		}
		return floatLiteral(math.Float64frombits(binary.LittleEndian.Uint64(v.Value)))
	case binlog.UserVarDecimal:
		d, err := rowenc.DecodeUserVarDecimal(v.Value)
		if err != nil {
			return "", fmt.Errorf("user variable @%s: %w", v.Name, err)
		}
		return d.Text('f'), nil
	case binlog.UserVarString:
		id := sql.CollationID(v.Collation)
		if v.Collation == uint32(sql.Collation_binary) {
			return hexLiteral(v.Value), nil
		}
		if v.Collation > math.MaxUint16 || !usableCollation(id) {
			return "", fmt.Errorf("user variable @%s: unknown collation %d", v.Name, v.Collation)
		}
		cs := id.CharacterSet().Name()
		if (cs == "utf8mb4" || cs == "utf8mb3") && !strings.HasPrefix(textLiteral(string(v.Value)), "CONVERT(") {
			// An introducer keeps the collation on every server (go-mysql-server rejects a
			// COLLATE after CONVERT(0x… USING utf8mb4)).
			return fmt.Sprintf("_%s%s COLLATE %s", cs, textLiteral(string(v.Value)), id.Name()), nil
		}
		return fmt.Sprintf("CONVERT(%s USING %s) COLLATE %s", hexLiteral(v.Value), cs, id.Name()), nil
	}
	return "", fmt.Errorf("user variable @%s: values of type %d are not supported", v.Name, v.Type)
}

// sanitize keeps text on its comment line: a line break in a name or message would otherwise
// turn the rest of it into SQL.
func sanitize(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}

// commentOut turns every line of text into a comment.
func commentOut(text string) string {
	lines := strings.SplitAfter(text, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l == "" {
			continue
		}
		if !strings.HasPrefix(l, "#") {
			b.WriteString("# ")
		}
		b.WriteString(l)
	}
	return b.String()
}
