package storage

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/sql"
)

// duplicateKey is what MySQL's error 1062 names that GMS's error does not: the key (PRIMARY or
// the unique index's name) and the entry, the key's values as MySQL prints them joined by '-'
// ("Duplicate entry '1-2' for key 'PRIMARY'"). GMSKey is the key as GMS's error text has it
// ("[1,2]"), for the client boundary to check that the note is about the error it has.
//
// The storage notes it on the session when it refuses a write with GMS's unique-key error,
// whose text (asserted by GMS's engine tests) it keeps; internal/server takes the note when it
// turns the error into MySQL's text for the client.
type duplicateKey struct {
	Key, Entry, GMSKey string
}

// TakeDuplicateKey returns and clears the last duplicate key noted on the session (see
// duplicateKey).
func (s *Session) TakeDuplicateKey() (key, entry, gmsKey string, ok bool) {
	if d := s.dupKey.Swap(nil); d != nil {
		return d.Key, d.Entry, d.GMSKey, true
	}
	return "", "", "", false
}

// uniqueKeyErr is GMS's duplicate-key error for row colliding on idx (nil: the primary key),
// noted on the session (ctx may be nil: index builds outside a statement).
func (d *tableDef) uniqueKeyErr(ctx *sql.Context, row sql.Row, idx *indexDef, existing sql.Row) error {
	ords, key := d.pkOrds, "PRIMARY"
	if idx != nil {
		ords, key = idx.cols, idx.meta.Name
	}
	gmsKey := formatKey(row, ords)
	if ctx != nil {
		if s, ok := ctx.Session.(*Session); ok {
			parts := make([]string, len(ords))
			for i, o := range ords {
				parts[i] = printValue(ctx, d.schema.Schema[o].Type, row[o])
			}
			entry := strings.Join(parts, "-")
			if r := []rune(entry); len(r) > maxEntry {
				entry = string(r[:maxEntry])
			}
			s.dupKey.Store(&duplicateKey{Key: key, Entry: entry, GMSKey: gmsKey})
		}
	}
	return sql.NewUniqueKeyErr(gmsKey, idx == nil, existing)
}

// maxEntry is how much of the entry MySQL's message quotes ('%-.192s').
const maxEntry = 192

// printValue is v as the text protocol sends it.
func printValue(ctx *sql.Context, t sql.Type, v interface{}) string {
	out, err := t.SQL(ctx, nil, v)
	if err != nil || out.IsNull() {
		return fmt.Sprint(v)
	}
	return out.ToString()
}

// dupKeyNote is the Session field type (an atomic: the client boundary reads it after the
// command, outside the session's mutex).
type dupKeyNote = atomic.Pointer[duplicateKey]
