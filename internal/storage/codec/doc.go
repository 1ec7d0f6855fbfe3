// Package codec turns GMS (go-mysql-server) values into bytes for the storage
// engine and back: order-preserving index keys (AppendKey, KeyLen,
// AppendUint64Key) and a compact row format (AppendRow, DecodeRow,
// DecodeRowProjected).
//
// # On-disk formats
//
// Both formats are written to Pebble and are therefore part of the on-disk
// format of a data directory. Changing how any value is encoded, which
// collation uses which string mode, or the weights a collation assigns
// (including by upgrading go-mysql-server, whose collation tables the string
// keys are built from) breaks every existing data directory: rows stop
// decoding, and worse, keys silently stop sorting or deduplicating the way
// the index expects. Such changes need a new format version and a migration.
// Every row starts with a format version byte (RowFormatVersion) so that a
// future format can be told apart from this one; keys have no version byte
// of their own, so a key format change needs a version recorded with the
// index (or the data directory).
//
// # Keys
//
// A column key is a marker byte, 0x00 for NULL (so NULL sorts first, as in
// MySQL; note GMS's own Type.Compare sorts NULL last) or 0x01 followed by
// a body that is self-delimiting and sorts, under bytes.Compare, like the
// values under the column type's Compare. Multi-column keys are plain
// concatenations and sort in tuple order. The bodies:
//
//   - Integers of every width and signedness, BIT, SET (bit field), ENUM
//     (element index, which is how GMS and MySQL order ENUMs), YEAR, TIME
//     (microseconds), DATETIME and TIMESTAMP (Unix microseconds), DATE (Unix
//     days): one length byte then up to 8 big-endian bytes; 0..238 take one
//     byte. All integer kinds share the one order, so a bound of a wider type
//     than the column encodes correctly.
//   - FLOAT, DOUBLE: the float64 bits, sign-flipped, 8 bytes; -0 = +0.
//   - DECIMAL: class byte (-Inf, <0, 0, >0, +Inf, NaN), then exponent and
//     base-100 digits with trailing zeros removed (so 1.0 = 1.00), complemented
//     for negative values. The value is first rounded to the column's scale,
//     because that is what GMS's DecimalType.Compare does.
//   - Character strings: encoded from the collation's rune weights (GMS's
//     CollationSorter), the same weights GMS's StringType.Compare uses, so
//     'a' = 'A' under a _ci collation. For the binary-ordered utf8mb4_bin and
//     utf8mb4_0900_bin the UTF-8 bytes themselves are used (escaped as
//     below); for every other collation one variable-length token per rune
//     (1 to 5 bytes, ASCII letters typically 1 or 2) and a 0x00 terminator.
//     Invalid UTF-8 bytes weigh as U+FFFD, as they do in GMS.
//   - BINARY, VARBINARY, BLOB, VECTOR, and geometries (their serialized EWKB,
//     which is what GMS compares): the bytes with 0x00 escaped as 0x00 0xFF,
//     terminated by 0x00 0x01. BINARY(n) values are zero-padded to n bytes,
//     as GMS does before comparing.
//   - JSON: not indexable (ErrNotIndexable), as in MySQL.
//
// PAD SPACE collations (all but the utf8mb4_*0900* ones and binary) ignore
// trailing runes whose weight equals that of ' ', as MySQL does: 'a' and
// 'A ' have the same key under utf8mb4_general_ci, so a unique index rejects
// the second. GMS's own StringType.Compare does not implement PAD SPACE (it
// orders 'a' before 'a '), so for PAD SPACE collations the key order is GMS's
// order of the values with those trailing runes removed; it agrees with
// GMS's Compare on every pair of values that do not end in such runes.
// NO PAD collations keep trailing spaces significant.
//
// Two more places where keys follow the stored values rather than every
// value Compare accepts: time values are keyed at microsecond precision (the
// finest MySQL and GMS store), and YEAR, ENUM and DECIMAL inputs that are
// not in canonical form are first converted exactly as Compare converts them.
//
// AppendUint64Key writes hidden row ids as 8 big-endian bytes, so an id at
// the end of an index key can be read back from the key's last 8 bytes.
//
// # Rows
//
//	row    = version(0x01) uvarint(ncols) nullbitmap(ceil(ncols/8)) value*
//
// Bit i of the bitmap (byte i/8, bit i%8) is set when column i is NULL; NULL
// columns have no value bytes. Values, in column order:
//
//   - signed integers, YEAR, TIME: zigzag varint; unsigned, ENUM, SET, BIT: uvarint
//   - FLOAT: 4 bytes, DOUBLE: 8 bytes, little-endian IEEE bits
//   - DECIMAL: header byte (form, sign, big coefficient), zigzag exponent,
//     coefficient (uvarint, or length-prefixed big-endian bytes); exact, so
//     the scale survives (1.50 stays 1.50)
//   - DATE, DATETIME, TIMESTAMP: zigzag Unix seconds, uvarint nanoseconds;
//     decoded in UTC, as GMS holds them
//   - strings, binary strings, VECTOR: uvarint length, bytes
//   - geometries: uvarint length, EWKB (types.GeometryValue.Serialize)
//   - JSON: uvarint length, a tagged binary tree of the document's Go values
//     that preserves their exact types (int64 stays int64, decimals keep
//     their scale); decoded as types.JSONDocument
//
// DecodeRow returns exactly the Go types GMS's Type.Convert produces: int8,
// int16, int32 (MEDIUMINT and INT), int64 and the unsigned counterparts,
// float32, float64, *apd.Decimal (cockroachdb/apd, which this GMS version
// uses, not shopspring), time.Time (UTC), types.Timespan, int16 (YEAR),
// uint16 (ENUM index), uint64 (SET, BIT), string, []byte, types.JSONDocument
// and the concrete geometry types. Strings and byte slices of one decoded row
// share a single allocation. A decoded row never refers to the bytes it was
// decoded from, so callers may decode straight from Pebble's buffers. A scan
// decodes through RowBlocks, which carves its rows and their string arenas
// from blocks of up to 32 rows and never hands the same memory out twice.
//
// Decoding never trusts its input: a truncated or corrupt row or key yields
// an error wrapping ErrCorrupt, never a panic.
package codec
