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

// mysqlFields returns fields with MySQL's decimals for FLOAT and DOUBLE, copying what it
// changes (the fast path keeps the fields it caches and hands the same ones to every execution).
func mysqlFields(fields []*querypb.Field) []*querypb.Field {
	var out []*querypb.Field
	for i, f := range fields {
		if (f.Type == sqltypes.Float32 || f.Type == sqltypes.Float64) && f.Decimals == 0 {
			if out == nil {
				out = append([]*querypb.Field(nil), fields...)
			}
			out[i] = &querypb.Field{Name: f.Name, Type: f.Type, Table: f.Table, OrgTable: f.OrgTable,
				Database: f.Database, OrgName: f.OrgName, ColumnLength: f.ColumnLength, Charset: f.Charset,
				Decimals: notFixedDecimals, Flags: f.Flags}
		}
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
