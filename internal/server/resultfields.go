package server

import (
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

// notFixedDecimals is the decimals MySQL announces for a FLOAT or DOUBLE result whose digits
// after the point are not fixed (NOT_FIXED_DEC): any DOUBLE expression, and FLOAT and DOUBLE
// columns declared without (M,D). GMS announces 0, which clients read as "no decimals"
// (database/sql's DecimalSize gives scale 0; some drivers round to it).
const notFixedDecimals = 31

// binaryCharset is the collation id of binary strings (63), which MySQL gives BIT results; GMS
// gives them the connection's (database/sql then scans a bit string as text).
const binaryCharset = 63

// mysqlFields returns fields with MySQL's decimals for FLOAT and DOUBLE and MySQL's character
// set and flags for BIT, copying what it changes (the fast path keeps the fields it caches and
// hands the same ones to every execution).
func mysqlFields(fields []*querypb.Field) []*querypb.Field {
	var out []*querypb.Field
	for i, f := range fields {
		decimals, charset, flags := f.Decimals, f.Charset, f.Flags
		switch f.Type {
		case sqltypes.Float32, sqltypes.Float64:
			if decimals == 0 {
				decimals = notFixedDecimals
			}
		case sqltypes.Bit:
			charset, flags = binaryCharset, flags|uint32(querypb.MySqlFlag_UNSIGNED_FLAG)
		}
		if decimals == f.Decimals && charset == f.Charset && flags == f.Flags {
			continue
		}
		if out == nil {
			out = append([]*querypb.Field(nil), fields...)
		}
		out[i] = &querypb.Field{Name: f.Name, Type: f.Type, Table: f.Table, OrgTable: f.OrgTable,
			Database: f.Database, OrgName: f.OrgName, ColumnLength: f.ColumnLength, Charset: charset,
			Decimals: decimals, Flags: flags}
	}
	if out == nil {
		return fields
	}
	return out
}

// withMySQLFields wraps a result callback so results carry mysqlFields.
func withMySQLFields(callback mysql.ResultSpoolFn) mysql.ResultSpoolFn {
	return func(res *sqltypes.Result, more bool) error {
		if res != nil && len(res.Fields) > 0 {
			if f := mysqlFields(res.Fields); &f[0] != &res.Fields[0] {
				r := *res // the result may be the fast path's: changed in a copy
				r.Fields = f
				res = &r
			}
		}
		return callback(res, more)
	}
}
