package rowenc

import (
	"bytes"
	"fmt"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
)

// RowImage is binlog_row_image: which columns a row event carries.
type RowImage int

const (
	// ImageFull (MySQL's default) logs every column in both images.
	ImageFull RowImage = iota
	// ImageMinimal logs only the primary key in the before image (every
	// column when the table has none) and only the changed columns in the
	// after image of an update.
	ImageMinimal
)

// AllColumns is the column bitmap with every column present: the after
// image of a WRITE_ROWS event under either setting (MySQL's MINIMAL
// leaves out inserted columns the statement did not name; GMS hands the
// storage the complete row, so all columns are logged, which a replica
// applies to the same result), and both images under FULL.
//
// Like MySQL's bitmap_set_all, it sets the unused high bits of its last
// byte too, so that an event carrying it has MySQL's bytes.
func (t *Table) AllColumns() mysql.Bitmap {
	b := mysql.NewServerBitmap(len(t.Columns))
	for i := 0; i < (len(t.Columns)+7)/8*8; i++ {
		b.Set(i, true)
	}
	return b
}

// BeforeImageColumns is the column bitmap of the before image of an
// UPDATE_ROWS or DELETE_ROWS event (the event's "identify" columns): every
// column under FULL; under MINIMAL the primary key columns, or every
// column when the table has no primary key.
func (t *Table) BeforeImageColumns(img RowImage) mysql.Bitmap {
	if img != ImageMinimal || len(t.PrimaryKey) == 0 {
		return t.AllColumns()
	}
	b := mysql.NewServerBitmap(len(t.Columns))
	for _, o := range t.PrimaryKey {
		b.Set(o, true)
	}
	return b
}

// AfterImageColumns is the column bitmap of the after image of an
// UPDATE_ROWS event turning row before into row after: every column under
// FULL; under MINIMAL the columns whose binlog encoding changed (a NULL
// becoming a value or the reverse included). Columns are compared by
// their encoded bytes, not by GMS's Compare, because a change Compare
// calls equal ('a' to 'A' under a case-insensitive collation) must still
// reach the replica. A row event has one after-image bitmap for all its
// rows, so rows whose bitmaps differ go into separate events.
func (t *Table) AfterImageColumns(img RowImage, before, after sql.Row) (mysql.Bitmap, error) {
	if img != ImageMinimal {
		return t.AllColumns(), nil
	}
	if len(before) != len(t.Columns) || len(after) != len(t.Columns) {
		return mysql.Bitmap{}, fmt.Errorf("rowenc: rows of %d and %d values for %d columns", len(before), len(after), len(t.Columns))
	}
	b := mysql.NewServerBitmap(len(t.Columns))
	for i := range t.Columns {
		changed, err := t.Columns[i].changed(before[i], after[i])
		if err != nil {
			return mysql.Bitmap{}, fmt.Errorf("rowenc: %s.%s column %q: %w", t.Database, t.Name, t.Columns[i].Name, err)
		}
		b.Set(i, changed)
	}
	return b, nil
}

func (c *Column) changed(a, b any) (bool, error) {
	if a == nil || b == nil {
		return (a == nil) != (b == nil), nil
	}
	ea, err := c.AppendValue(nil, a)
	if err != nil {
		return false, err
	}
	eb, err := c.AppendValue(nil, b)
	if err != nil {
		return false, err
	}
	return !bytes.Equal(ea, eb), nil
}
