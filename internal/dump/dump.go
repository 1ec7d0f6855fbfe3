package dump

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/relaydb/relaydb/internal/sqlrows"
)

// Options say what to dump and how.
type Options struct {
	// Databases to dump; empty means every database except the system schemas.
	Databases []string
	// SourceData: 0 writes no replication coordinates, 1 a CHANGE REPLICATION SOURCE TO with the
	// binlog file and position, 2 the same as a comment (mysqldump's --source-data).
	SourceData int
	// GTIDPurged: "AUTO" (the default: when the source has executed GTIDs), "ON" or "OFF" —
	// whether the dump turns sql_log_bin off for the load and ends with SET GLOBAL gtid_purged.
	GTIDPurged string
	// MaxStatementBytes bounds one multi-row INSERT (default 1 MiB, under max_allowed_packet).
	MaxStatementBytes int
	// Now is the clock for the header (tests); nil means time.Now.
	Now func() time.Time
}

// Position is where in the source's history the dump stands.
type Position struct {
	File     string
	Pos      uint64
	Executed string // gtid_executed
}

// Stats counts what a dump wrote.
type Stats struct {
	Databases, Tables, Views, Triggers int
	Rows                               int64
}

var systemSchemas = map[string]bool{"mysql": true, "information_schema": true, "performance_schema": true, "sys": true}

// Run dumps through one connection of db to w and returns the position the dump corresponds to.
func Run(ctx context.Context, db *sql.DB, opts Options, out io.Writer) (Position, Stats, error) {
	if opts.MaxStatementBytes <= 0 {
		opts.MaxStatementBytes = 1 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return Position{}, Stats{}, err
	}
	defer conn.Close()
	d := &dumper{ctx: ctx, c: conn, opts: opts, w: bufio.NewWriterSize(out, 256<<10)}
	pos, err := d.begin()
	if err != nil {
		return pos, d.stats, err
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	if err := d.dumpAll(pos); err != nil {
		return pos, d.stats, err
	}
	return pos, d.stats, d.w.Flush()
}

type dumper struct {
	ctx   context.Context
	c     *sql.Conn
	opts  Options
	w     *bufio.Writer
	stats Stats
}

// begin takes the consistent snapshot and reads its position under the global read lock, and
// releases the lock.
func (d *dumper) begin() (Position, error) {
	var pos Position
	if _, err := d.c.ExecContext(d.ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		return pos, fmt.Errorf("FLUSH TABLES WITH READ LOCK: %w", err)
	}
	unlocked := false
	defer func() {
		if !unlocked {
			d.c.ExecContext(context.Background(), "UNLOCK TABLES")
		}
	}()
	for _, q := range []string{
		"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
		"START TRANSACTION WITH CONSISTENT SNAPSHOT",
	} {
		if _, err := d.c.ExecContext(d.ctx, q); err != nil {
			return pos, fmt.Errorf("%s: %w", q, err)
		}
	}
	rows, err := d.c.QueryContext(d.ctx, "SHOW MASTER STATUS")
	if err != nil {
		return pos, fmt.Errorf("SHOW MASTER STATUS: %w", err)
	}
	cols, err := readAll(rows)
	if err != nil {
		return pos, fmt.Errorf("SHOW MASTER STATUS: %w", err)
	}
	if len(cols) == 1 {
		r := cols[0]
		pos.File = r["File"]
		fmt.Sscan(r["Position"], &pos.Pos)
		pos.Executed = strings.ReplaceAll(r["Executed_Gtid_Set"], "\n", "")
	}
	if _, err := d.c.ExecContext(d.ctx, "UNLOCK TABLES"); err != nil {
		return pos, fmt.Errorf("UNLOCK TABLES: %w", err)
	}
	unlocked = true
	return pos, nil
}

func (d *dumper) setGTIDPurged(pos Position) (bool, error) {
	switch strings.ToUpper(d.opts.GTIDPurged) {
	case "", "AUTO":
		return pos.Executed != "", nil
	case "ON":
		if pos.File == "" {
			return false, errors.New("--set-gtid-purged=ON: the source has no binary log")
		}
		return true, nil
	case "OFF":
		return false, nil
	}
	return false, fmt.Errorf("--set-gtid-purged must be AUTO, ON or OFF, not %q", d.opts.GTIDPurged)
}

func (d *dumper) dumpAll(pos Position) error {
	gtids, err := d.setGTIDPurged(pos)
	if err != nil {
		return err
	}
	if d.opts.SourceData != 0 && pos.File == "" {
		return errors.New("--source-data: the source has no binary log (SHOW MASTER STATUS is empty)")
	}
	dbs := d.opts.Databases
	if len(dbs) == 0 {
		if dbs, err = d.column("SHOW DATABASES"); err != nil {
			return err
		}
	}
	fmt.Fprintf(d.w, "-- RelayDB dump, %s\n", d.opts.Now().UTC().Format(time.RFC3339))
	if pos.File != "" {
		fmt.Fprintf(d.w, "-- Consistent with the source's binary log at %s:%d, gtid_executed '%s'\n", pos.File, pos.Pos, pos.Executed)
	}
	d.w.WriteString("\nSET NAMES utf8mb4;\nSET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO';\n" +
		"SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0;\nSET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0;\n")
	if gtids {
		d.w.WriteString("-- The rows below are the source's transactions up to gtid_executed: not logged again here.\nSET @@SESSION.SQL_LOG_BIN=0;\n")
	}
	for _, db := range dbs {
		if systemSchemas[strings.ToLower(db)] {
			continue
		}
		if err := d.dumpDatabase(db); err != nil {
			return err
		}
	}
	d.w.WriteString("\nSET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS;\nSET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS;\nSET SQL_MODE=@OLD_SQL_MODE;\n")
	if gtids {
		fmt.Fprintf(d.w, "SET @@GLOBAL.GTID_PURGED='%s';\n", pos.Executed)
	}
	switch d.opts.SourceData {
	case 1:
		fmt.Fprintf(d.w, "CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='%s', SOURCE_LOG_POS=%d;\n", pos.File, pos.Pos)
	case 2:
		fmt.Fprintf(d.w, "-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='%s', SOURCE_LOG_POS=%d;\n", pos.File, pos.Pos)
	}
	fmt.Fprintf(d.w, "-- Dump completed: %d databases, %d tables (%d rows), %d views, %d triggers\n",
		d.stats.Databases, d.stats.Tables, d.stats.Rows, d.stats.Views, d.stats.Triggers)
	return nil
}

func (d *dumper) dumpDatabase(db string) error {
	create, err := d.showCreate("SHOW CREATE DATABASE "+quoteIdent(db), 1)
	if err != nil {
		return err
	}
	d.stats.Databases++
	create = strings.Replace(create, "CREATE DATABASE ", "CREATE DATABASE IF NOT EXISTS ", 1)
	create = strings.Replace(create, "IF NOT EXISTS /*!32312 IF NOT EXISTS*/ ", "IF NOT EXISTS ", 1)
	fmt.Fprintf(d.w, "\n--\n-- Database %s\n--\n\n%s;\nUSE %s;\n", quoteIdent(db), create, quoteIdent(db))

	rows, err := d.c.QueryContext(d.ctx, "SHOW FULL TABLES FROM "+quoteIdent(db))
	if err != nil {
		return fmt.Errorf("list tables of %s: %w", db, err)
	}
	all, err := sqlrows.All(rows)
	if err != nil {
		return fmt.Errorf("list tables of %s: %w", db, err)
	}
	var views []string
	var tables []string
	for _, r := range all {
		if len(r) < 2 {
			continue
		}
		if strings.EqualFold(r[1], "VIEW") {
			views = append(views, r[0])
		} else {
			tables = append(tables, r[0])
		}
	}
	for _, t := range tables {
		if err := d.dumpTable(db, t); err != nil {
			return err
		}
	}
	for _, v := range views {
		create, err := d.showCreate("SHOW CREATE VIEW "+quoteIdent(db)+"."+quoteIdent(v), 1)
		if err != nil {
			return err
		}
		d.stats.Views++
		fmt.Fprintf(d.w, "\nDROP VIEW IF EXISTS %s;\n%s;\n", quoteIdent(v), create)
	}
	return d.dumpTriggers(db)
}

func (d *dumper) dumpTable(db, table string) error {
	name := quoteIdent(db) + "." + quoteIdent(table)
	create, err := d.showCreate("SHOW CREATE TABLE "+name, 1)
	if err != nil {
		return err
	}
	d.stats.Tables++
	fmt.Fprintf(d.w, "\n--\n-- Table %s\n--\n\nDROP TABLE IF EXISTS %s;\n%s;\n", quoteIdent(table), quoteIdent(table), create)

	cols, err := d.storedColumns(db, table, create)
	if err != nil {
		return err
	}
	if len(cols) == 0 {
		return nil
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	list := strings.Join(quoted, ",")
	rows, err := d.c.QueryContext(d.ctx, "SELECT "+list+" FROM "+name)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return err
	}
	kinds := make([]valueKind, len(types))
	for i, t := range types {
		kinds[i] = kindOf(t.DatabaseTypeName())
	}
	prefix := "INSERT INTO " + quoteIdent(table) + " (" + list + ") VALUES "
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var stmt []byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if len(stmt) == 0 {
			stmt = append(stmt, prefix...)
		} else {
			stmt = append(stmt, ',')
		}
		stmt = append(stmt, '(')
		for i, v := range vals {
			if i > 0 {
				stmt = append(stmt, ',')
			}
			stmt = appendValue(stmt, v, kinds[i])
		}
		stmt = append(stmt, ')')
		d.stats.Rows++
		if len(stmt) >= d.opts.MaxStatementBytes {
			d.w.Write(stmt)
			d.w.WriteString(";\n")
			stmt = stmt[:0]
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if len(stmt) > 0 {
		d.w.Write(stmt)
		d.w.WriteString(";\n")
	}
	return nil
}

// storedColumns lists the columns a dump must carry: all but generated ones, which the loading
// server computes again. They are recognised in the CREATE TABLE text, because
// information_schema's EXTRA does not mark them here.
func (d *dumper) storedColumns(db, table, create string) ([]string, error) {
	rows, err := d.c.QueryContext(d.ctx, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", db, table)
	if err != nil {
		return nil, fmt.Errorf("columns of %s.%s: %w", db, table, err)
	}
	all, err := sqlrows.All(rows)
	if err != nil {
		return nil, fmt.Errorf("columns of %s.%s: %w", db, table, err)
	}
	generated := generatedColumns(create)
	var cols []string
	for _, r := range all {
		if !generated[strings.ToLower(r[0])] {
			cols = append(cols, r[0])
		}
	}
	return cols, nil
}

// generatedColumns finds the column definitions of a CREATE TABLE that are GENERATED ALWAYS AS.
func generatedColumns(create string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(create, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "`") || !strings.Contains(strings.ToUpper(line), " GENERATED ALWAYS AS ") {
			continue
		}
		// The name runs to the first backquote not doubled.
		var name strings.Builder
		for i := 1; i < len(line); i++ {
			if line[i] == '`' {
				if i+1 < len(line) && line[i+1] == '`' {
					name.WriteByte('`')
					i++
					continue
				}
				break
			}
			name.WriteByte(line[i])
		}
		out[strings.ToLower(name.String())] = true
	}
	return out
}

func (d *dumper) dumpTriggers(db string) error {
	rows, err := d.c.QueryContext(d.ctx, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER", db)
	if err != nil {
		return fmt.Errorf("list triggers of %s: %w", db, err)
	}
	all, err := sqlrows.All(rows)
	if err != nil {
		return fmt.Errorf("list triggers of %s: %w", db, err)
	}
	for _, r := range all {
		create, err := d.showCreate("SHOW CREATE TRIGGER "+quoteIdent(db)+"."+quoteIdent(r[0]), 2)
		if err != nil {
			return err
		}
		d.stats.Triggers++
		fmt.Fprintf(d.w, "\nDROP TRIGGER IF EXISTS %s;\nDELIMITER ;;\n%s;;\nDELIMITER ;\n", quoteIdent(r[0]), create)
	}
	return nil
}

// showCreate runs a SHOW CREATE statement and returns its column col (0-based).
func (d *dumper) showCreate(q string, col int) (string, error) {
	rows, err := d.c.QueryContext(d.ctx, q)
	if err != nil {
		return "", fmt.Errorf("%s: %w", q, err)
	}
	all, err := sqlrows.All(rows)
	if err != nil {
		return "", fmt.Errorf("%s: %w", q, err)
	}
	if len(all) != 1 || len(all[0]) <= col {
		return "", fmt.Errorf("%s: unexpected result", q)
	}
	return all[0][col], nil
}

func (d *dumper) column(q string) ([]string, error) {
	rows, err := d.c.QueryContext(d.ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	all, err := sqlrows.All(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	out := make([]string, 0, len(all))
	for _, r := range all {
		out = append(out, r[0])
	}
	return out, nil
}

// readAll reads every row as a map from column name to value.
func readAll(rows *sql.Rows) ([]map[string]string, error) {
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, err
	}
	all, err := sqlrows.All(rows)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]string, len(all))
	for i, r := range all {
		m := make(map[string]string, len(cols))
		for j, c := range cols {
			m[c] = r[j]
		}
		out[i] = m
	}
	return out, nil
}
