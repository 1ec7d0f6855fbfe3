// Package rowenc is the one place where GMS rows meet MySQL's row-based
// binary log format: it describes a table as MySQL 8 describes it in a
// TABLE_MAP event, encodes GMS rows into the row images of
// WRITE/UPDATE/DELETE_ROWS v2 events, and decodes row images back into GMS
// rows for the applier. It writes no files and frames no events except
// TABLE_MAP; the binlog writer owns event framing, positions and
// checksums of everything else (vitess's mysql.NewWriteRowsEvent and
// friends take the images this package produces).
//
// # Describing a table
//
// NewTable derives, from a GMS schema, what Table_map_log_event carries
// for each column: the type byte (Field::binlog_type), the metadata
// (Field::do_save_field_metadata), nullability, and the optional metadata
// of binlog_row_metadata MINIMAL or FULL (Table.OptionalMetadata).
// Table.TableMapEvent builds the whole event; ParseTableMapEvent reads one
// back, optional metadata included.
//
//	GMS type                 type byte    metadata
//	TINYINT..BIGINT          1,2,9,3,8    -
//	FLOAT, DOUBLE            4, 5         4, 8
//	DECIMAL(p,s)             246          p, s (big-endian pair)
//	DATE                     10           -
//	DATETIME(n)              18           n
//	TIMESTAMP(n)             17           n
//	TIME                     19           6 (GMS's TIME is always TIME(6))
//	YEAR                     13           -
//	CHAR/BINARY(n)           254          254 ^ (bytes&0x300)>>4, bytes&0xff
//	ENUM                     254          247, 1|2
//	SET                      254          248, 1|2|3|4|8
//	VARCHAR/VARBINARY(n)     15           max bytes (little-endian)
//	TEXT/BLOB kinds          252          length prefix bytes 1..4
//	BIT(n)                   16           n/8<<8 | n%8 (as vitess reads it)
//	JSON                     245          4
//	GEOMETRY and subtypes    255          4
//
// VECTOR (MySQL 9) and anything else MySQL 8 cannot replicate is refused.
//
// # Row images
//
// A row image is a NULL bitmap over the columns present (the columns
// bitmap is the event's, chosen with AllColumns, BeforeImageColumns and
// AfterImageColumns for binlog_row_image FULL or MINIMAL) followed by each
// present non-NULL value in MySQL's binary format: integers little-endian
// in their width, FLOAT/DOUBLE IEEE little-endian, DECIMAL in MySQL's
// packed binary decimal, DATE/DATETIME2/TIMESTAMP2/TIME2 with their
// fractions, YEAR as year-1900, BIT big-endian, ENUM and SET as
// little-endian indexes/bitmaps, CHAR (without its padding) and VARCHAR
// with a 1- or 2-byte length by maximum byte length, BLOB/TEXT/JSON/
// GEOMETRY with their 1- to 4-byte length, JSON in MySQL's binary JSON
// (EncodeJSON, DecodeJSON), GEOMETRY as SRID plus WKB. Character strings
// are converted from GMS's UTF-8 to the column's character set.
//
// # Invariants
//
//   - The bytes are MySQL's: a MySQL replica or mysqlbinlog reads them as
//     it reads MySQL's own, and vitess's binlog parser decodes them (the
//     tests hold every type to that).
//   - Decoding never trusts its input: truncated or corrupt bytes give an
//     error wrapping ErrCorrupt, never a panic, and allocation is bounded
//     by the input's size.
//   - Decoded values have the Go types GMS's Type.Convert produces for
//     the local column (int8..uint64, float32/64, *apd.Decimal, time.Time
//     in UTC, types.Timespan, int16 YEAR, uint16 ENUM, uint64 SET and BIT,
//     string, []byte, types.JSONDocument, geometry values) and compare
//     equal, under the column type's Compare, to the values encoded.
//   - Encoding either succeeds or leaves the destination as it was.
//   - A Table and a Decoder are immutable once built and safe for
//     concurrent use.
package rowenc
