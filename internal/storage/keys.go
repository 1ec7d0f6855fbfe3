package storage

import (
	"encoding/binary"
)

// Key layout in Pebble. Catalog entries and table data live in disjoint prefixes:
//
//	0x01 'd' <db name, lower case>                        → JSON dbMeta
//	0x01 't' <table id, 8 bytes>                          → JSON tableMeta
//	0x01 'o' <db, lower> 0x00 <kind> 0x00 <name, lower>   → JSON of a view, trigger, procedure or event
//	0x01 'n'                                              → next table id (8 bytes)
//	0x01 'b'                                              → the commit log's state (binlog position, gtid_executed)
//	0x02 <table id, 8 bytes> <index id, 2 bytes> <key>     → table data
//
// Index id 0 is the primary index: key is the encoded primary key (or hidden row id), value is
// the encoded row. Secondary index n: key is the encoded index columns followed by the encoded
// primary key, value is empty. Table ids are never reused, so dropping or rewriting a table is
// a catalog change plus a range deletion of its old id.
const (
	prefixMeta byte = 0x01
	prefixData byte = 0x02

	metaDB      byte = 'd'
	metaTable   byte = 't'
	metaObject  byte = 'o'
	metaNextTID byte = 'n'
	metaLog     byte = 'b'

	primaryIndexID uint16 = 0
)

func dbMetaKey(lowerName string) []byte {
	return append([]byte{prefixMeta, metaDB}, lowerName...)
}

func tableMetaKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixMeta, metaTable}, id)
}

func objectKeyPrefix(lowerDB string) []byte {
	k := append([]byte{prefixMeta, metaObject}, lowerDB...)
	return append(k, 0)
}

func objectKey(lowerDB, kind, lowerName string) []byte {
	k := objectKeyPrefix(lowerDB)
	k = append(k, kind...)
	k = append(k, 0)
	return append(k, lowerName...)
}

func nextTableIDKey() []byte { return []byte{prefixMeta, metaNextTID} }

// indexPrefix returns the prefix of every key of one index of one table.
func indexPrefix(dst []byte, tableID uint64, indexID uint16) []byte {
	dst = append(dst, prefixData)
	dst = binary.BigEndian.AppendUint64(dst, tableID)
	return binary.BigEndian.AppendUint16(dst, indexID)
}

// tableSpan returns the key range holding all data of a table.
func tableSpan(tableID uint64) (lower, upper []byte) {
	lower = binary.BigEndian.AppendUint64([]byte{prefixData}, tableID)
	upper = binary.BigEndian.AppendUint64([]byte{prefixData}, tableID+1)
	return lower, upper
}

// prefixEnd returns the smallest key greater than every key starting with p, or nil if none.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

func logStateKey() []byte { return []byte{prefixMeta, metaLog} }
