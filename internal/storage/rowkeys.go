package storage

import (
	"bytes"
	"fmt"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/storage/codec"
)

// Row and index key construction for one table definition.
//
// A table with a primary key stores each row under its encoded key columns. A table without one
// (hidden primary key) stores each row under the escaped bytes of its whole encoded row followed
// by a hidden row id: identical rows stay distinct, and a row handed back by GMS for UPDATE or
// DELETE is found again by prefix without any column of its own.

// pkKey appends the primary-index key of row to dst (including the index prefix).
func (d *tableDef) pkKey(dst []byte, row sql.Row) ([]byte, error) {
	dst = indexPrefix(dst, d.id(), primaryIndexID)
	if d.hasHiddenPK() {
		return nil, fmt.Errorf("pkKey on a table without primary key")
	}
	var err error
	for _, o := range d.pkOrds {
		if dst, err = codec.AppendKey(dst, d.schema.Schema[o].Type, row[o]); err != nil {
			return nil, fmt.Errorf("encode primary key column %s: %w", d.schema.Schema[o].Name, err)
		}
	}
	return dst, nil
}

// hiddenRowPrefix appends the key prefix shared by every stored copy of row in a keyless table.
func (d *tableDef) hiddenRowPrefix(dst []byte, row sql.Row) ([]byte, error) {
	dst = indexPrefix(dst, d.id(), primaryIndexID)
	enc, err := codec.AppendRow(nil, d.schema.Schema, row)
	if err != nil {
		return nil, err
	}
	return appendEscaped(dst, enc), nil
}

// indexEntryPrefix appends the key prefix of row's entry in idx: the index prefix and the encoded
// index columns (without the primary key suffix). hasNull reports whether any index column is
// NULL, in which case a unique index does not constrain the row.
func (d *tableDef) indexEntryPrefix(dst []byte, idx *indexDef, row sql.Row) (_ []byte, hasNull bool, err error) {
	dst = indexPrefix(dst, d.id(), idx.meta.ID)
	for i, o := range idx.cols {
		v := row[o]
		if v == nil {
			hasNull = true
		}
		if i < len(idx.meta.PrefixLens) && idx.meta.PrefixLens[i] > 0 && v != nil {
			v = truncatePrefix(v, int(idx.meta.PrefixLens[i]))
		}
		if dst, err = codec.AppendKey(dst, d.schema.Schema[o].Type, v); err != nil {
			return nil, false, fmt.Errorf("encode index %s column %s: %w", idx.meta.Name, d.schema.Schema[o].Name, err)
		}
	}
	return dst, hasNull, nil
}

// pkSuffix returns the part of a primary-index key after the index prefix.
func pkSuffix(pk []byte) []byte { return pk[11:] }

const indexPrefixLen = 11 // 1 + 8 + 2

// truncatePrefix shortens a string or byte value to n characters (bytes for binary), as a
// prefix index stores it.
func truncatePrefix(v any, n int) any {
	switch s := v.(type) {
	case string:
		r := []rune(s)
		if len(r) > n {
			return string(r[:n])
		}
	case []byte:
		if len(s) > n {
			return s[:n]
		}
	}
	return v
}

// appendEscaped appends b as a self-delimiting byte string that sorts like b:
// 0x00 is written 0x00 0xFF and the end is marked 0x00 0x01.
func appendEscaped(dst, b []byte) []byte {
	for {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			break
		}
		dst = append(dst, b[:i]...)
		dst = append(dst, 0x00, 0xFF)
		b = b[i+1:]
	}
	dst = append(dst, b...)
	return append(dst, 0x00, 0x01)
}
