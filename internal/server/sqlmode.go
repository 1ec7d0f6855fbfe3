package server

import (
	"context"
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
)

// MySQL accepts sql_mode as the bit set its binary log records (SET @@session.sql_mode=
// 1168113696 is the first thing mysqlbinlog prints for a statement), with the bits of
// system_variables.h. GMS converts such a number with a table that lacks NO_ZERO_DATE, and
// when that fails passes on the literal's bytes formatted with %v ("[49 49 54 ...]"), so
// MySQL's default mode cannot be set; sqlModeType turns the number, in either form, into
// names before GMS's set type sees it.

// sqlModeBits are MySQL 8's sql_mode bits, in its order.
var sqlModeBits = []struct {
	bit  uint64
	name string
}{
	{1 << 0, "REAL_AS_FLOAT"}, {1 << 1, "PIPES_AS_CONCAT"}, {1 << 2, "ANSI_QUOTES"}, {1 << 3, "IGNORE_SPACE"},
	{1 << 5, "ONLY_FULL_GROUP_BY"}, {1 << 6, "NO_UNSIGNED_SUBTRACTION"}, {1 << 7, "NO_DIR_IN_CREATE"},
	{1 << 18, "ANSI"}, {1 << 19, "NO_AUTO_VALUE_ON_ZERO"}, {1 << 20, "NO_BACKSLASH_ESCAPES"},
	{1 << 21, "STRICT_TRANS_TABLES"}, {1 << 22, "STRICT_ALL_TABLES"}, {1 << 23, "NO_ZERO_IN_DATE"},
	{1 << 24, "NO_ZERO_DATE"}, {1 << 25, "ALLOW_INVALID_DATES"}, {1 << 26, "ERROR_FOR_DIVISION_BY_ZERO"},
	{1 << 27, "TRADITIONAL"}, {1 << 29, "HIGH_NOT_PRECEDENCE"}, {1 << 30, "NO_ENGINE_SUBSTITUTION"},
	{1 << 31, "PAD_CHAR_TO_FULL_LENGTH"}, {1 << 32, "TIME_TRUNCATE_FRACTIONAL"},
}

// sqlModeIgnored are bits of modes MySQL 8 removed; it ignores them when a binlog carries them.
const sqlModeIgnored = 0xff00 | 1<<16 | 1<<17 | 1<<28

// sqlModeNames returns the names of the modes in a bit set written as text; ok is false if v
// is not such text, or has a bit MySQL does not define. Integers are left alone: GMS passes its
// own set values (its bit order, not MySQL's) through the type as integers.
func sqlModeNames(v any) (string, bool) {
	var text string
	switch x := v.(type) {
	case string:
		text = x
	case []byte:
		text = string(x)
	default:
		return "", false
	}
	text = strings.TrimSpace(text)
	if strings.HasPrefix(text, "[") && strings.HasSuffix(text, "]") {
		var digits []byte
		for _, f := range strings.Fields(text[1 : len(text)-1]) {
			b, err := strconv.ParseUint(f, 10, 8)
			if err != nil {
				return "", false
			}
			digits = append(digits, byte(b))
		}
		text = string(digits)
	}
	bits, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return "", false
	}
	bits &^= sqlModeIgnored
	var names []string
	for _, m := range sqlModeBits {
		if bits&m.bit != 0 {
			names = append(names, m.name)
			bits &^= m.bit
		}
	}
	if bits != 0 {
		return "", false
	}
	return strings.Join(names, ","), true
}

// sqlModeType is sql_mode's type with MySQL's numeric form accepted.
type sqlModeType struct {
	sql.SystemVariableType
}

// The set methods pass through to GMS's set type. Sessions store a set variable as its bits and
// turn them back into names only for a type that is a sql.SetType; without these, sql_mode read
// back as a number, which GMS's LoadSqlMode ignores (every mode off, whatever was set).
func (t sqlModeType) set() sql.SetType                 { return t.SystemVariableType.(sql.SetType) }
func (t sqlModeType) CharacterSet() sql.CharacterSetID { return t.set().CharacterSet() }
func (t sqlModeType) Collation() sql.CollationID       { return t.set().Collation() }
func (t sqlModeType) NumberOfElements() uint16         { return t.set().NumberOfElements() }
func (t sqlModeType) BitsToString(bits uint64) (string, error) {
	return t.set().BitsToString(bits)
}
func (t sqlModeType) Values() []string { return t.set().Values() }

func (t sqlModeType) Convert(ctx context.Context, v any) (any, sql.ConvertInRange, error) {
	if names, ok := sqlModeNames(v); ok {
		v = names
	}
	return t.SystemVariableType.Convert(ctx, v)
}

// installSQLModeType gives the registry's sql_mode the numeric form.
func installSQLModeType() {
	sv, _, ok := sql.SystemVariables.GetGlobal("sql_mode")
	if !ok {
		return
	}
	def, ok := sv.(*sql.MysqlSystemVariable)
	if !ok {
		return
	}
	typ, ok := def.Type.(sql.SystemVariableType)
	if !ok {
		return
	}
	if _, isSet := typ.(sql.SetType); !isSet {
		return
	}
	if _, done := typ.(sqlModeType); done {
		return
	}
	cp := *def
	cp.Type = sqlModeType{typ}
	sql.SystemVariables.AddSystemVariables([]sql.SystemVariable{&cp})
}
