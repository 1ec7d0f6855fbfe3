// Package rowenc is the one place where GMS rows meet MySQL's row-based
// binary log format. It describes a table as MySQL 8 describes it in a
// TABLE_MAP event, encodes GMS rows into the row images of
// WRITE/UPDATE/DELETE_ROWS events, and decodes TABLE_MAP events, rows
// events and row images back into GMS values for the applier. It writes
// no files and keeps no state: event framing, positions, table ids and
// checksums of rows events belong to the binlog writer, which passes the
// images made here to vitess's mysql.NewWriteRowsEvent and friends (a
// mysql.Row carries only the images of its event type: vitess sizes the
// event from all of a Row's fields).
//
// # API
//
// Writer side:
//
//	tbl, err := rowenc.NewTable(db, name, schema)         // sql.PrimaryKeySchema
//	ev, err := tbl.TableMapEvent(format, meta, tableID, rowenc.MetadataFull)
//	cols := tbl.AllColumns()                              // or BeforeImageColumns / AfterImageColumns
//	nulls, data, err := tbl.EncodeImage(row, cols)        // for a vitess mysql.Row; AppendImage for raw bytes
//
// Applier side:
//
//	id, tm, opt, err := rowenc.ParseTableMapEvent(format, ev)
//	dec, err := rowenc.NewDecoder(tm, localSchema)
//	rows, err := dec.ParseRowsEvent(format, rowsEvent)    // or DecodeImage / DecodeValues per image
//
// # Describing a table
//
// NewTable derives, from a GMS schema, what Table_map_log_event carries
// for each column: the type byte (Field::binlog_type), the metadata
// (Field::do_save_field_metadata), nullability, and, in
// Table.OptionalMetadata, the optional metadata of binlog_row_metadata
// MINIMAL (signedness, column character sets, geometry types) or FULL
// (also column names, ENUM/SET character sets and values, the primary key
// and column visibility, as MySQL 8.0.23 and later write it).
//
//	GMS type                 type byte    metadata
//	TINYINT..BIGINT          1,2,9,3,8    -
//	FLOAT, DOUBLE            4, 5         4, 8
//	DECIMAL(p,s)             246          p, s
//	DATE                     10           -
//	DATETIME(n)              18           n
//	TIMESTAMP(n)             17           n
//	TIME                     19           6 (GMS's TIME is always TIME(6))
//	YEAR                     13           -
//	CHAR/BINARY(n)           254          254 ^ (bytes&0x300)>>4, bytes&0xff
//	ENUM                     254          247, 1|2
//	SET                      254          248, 1|2|3|4|8
//	VARCHAR/VARBINARY(n)     15           maximum bytes
//	TEXT/BLOB kinds          252          length prefix bytes 1..4
//	BIT(n)                   16           n%8, n/8
//	JSON                     245          4
//	GEOMETRY and subtypes    255          4
//
// VECTOR and any other type MySQL 8 cannot replicate is refused.
//
// # Row images
//
// A row image is a NULL bitmap over the columns present (unused high bits
// set, as MySQL's pack_row leaves them) followed by each present non-NULL
// value in MySQL's binary format: integers little-endian in their width,
// FLOAT/DOUBLE IEEE little-endian, DECIMAL in MySQL's packed binary
// decimal, DATE/DATETIME2/TIMESTAMP2/TIME2 with their fractions, YEAR as
// year-1900, BIT big-endian, ENUM and SET as little-endian indexes and
// bitmaps, CHAR without its padding and VARCHAR with a 1- or 2-byte length
// (by maximum byte length), BLOB/TEXT/JSON/GEOMETRY with a 1- to 4-byte
// length, JSON in MySQL's binary JSON (EncodeJSON, DecodeJSON), GEOMETRY as
// SRID plus WKB. Character strings are converted from GMS's UTF-8 to the
// column's character set. TIMESTAMP values are written as the Unix time of
// GMS's time.Time, which GMS holds in UTC without time zone conversion.
// binlog_row_image FULL and MINIMAL are provided; NOBLOB and MySQL's
// partial JSON updates (PARTIAL_UPDATE_ROWS_EVENT) are not.
//
// # Invariants
//
//   - The bytes are MySQL's. The tests hold them byte for byte to TABLE_MAP
//     events, DECIMAL, DATETIME2, TIME2 and JSON values MySQL 8 wrote, to a
//     binlog MariaDB 10.11 wrote for every non-JSON type, and decode every
//     type with vitess's binlog parser, which this project did not write.
//   - Decoding never trusts its input: truncated or corrupt bytes give an
//     error wrapping ErrCorrupt, never a panic, and allocation and work are
//     bounded by the input's size (fuzz targets hold this).
//   - Decoded values have the Go types GMS's Type.Convert produces for
//     the local column (int8..uint64, float32/64, *apd.Decimal, time.Time
//     in UTC, types.Timespan, int16 YEAR, uint16 ENUM, uint64 SET and BIT,
//     string, []byte, types.JSONDocument, geometry values) and compare
//     equal, under the column type's Compare, to the values encoded.
//   - Encoding either succeeds or leaves the destination as it was.
//   - A Table (once built and not modified) and a Decoder are safe for
//     concurrent use.
package rowenc
