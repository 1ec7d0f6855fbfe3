package codec

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/dolthub/vitess/go/vt/proto/query"
)

var testCtx = context.Background()

// testType is a column type under test with a generator of random values and
// a list of edge values. Both produce raw values that are run through
// t.Convert, so the values used in tests are exactly what GMS would hold.
type testType struct {
	name     string
	typ      sql.Type
	gen      func(r *rand.Rand) any
	edges    []any
	keyable  bool // AppendKey supports it
	padSpace bool // string type under a PAD SPACE collation
}

func mustCollation(name string) sql.CollationID {
	c, err := sql.ParseCollation("", name, false)
	if err != nil {
		panic(err)
	}
	return c
}

// runeAlphabet mixes runes that stress collations: case pairs, accents,
// German sharp s, characters below and equal to space, NUL, multi-byte runes.
var runeAlphabet = []rune{
	'a', 'A', 'b', 'B', 'z', 'Z', 'e', 'é', 'É', 'è', 'ß', 's', 'S', ' ', ' ', '\t', '\n', 0, 1,
	'0', '9', '-', '_', '.', '€', 'ÿ', 'Å', 'å', 'ä', 'ö', 'Ø', 'ø',
}

var wideRunes = []rune{'日', '本', '😀', '\u00a0', '\u2000', 'Ω', 'ω', 'Я', 'я', '\uFFFD'}

func randString(r *rand.Rand, maxLen int, wide bool) string {
	n := r.IntN(maxLen + 1)
	var sb strings.Builder
	for i := 0; i < n; i++ {
		if wide && r.IntN(4) == 0 {
			sb.WriteRune(wideRunes[r.IntN(len(wideRunes))])
		} else {
			sb.WriteRune(runeAlphabet[r.IntN(len(runeAlphabet))])
		}
	}
	s := sb.String()
	if r.IntN(4) == 0 {
		s += strings.Repeat(" ", 1+r.IntN(3)) // trailing spaces matter for PAD SPACE
	}
	return s
}

func randBytes(r *rand.Rand, maxLen int) []byte {
	n := r.IntN(maxLen + 1)
	b := make([]byte, n)
	for i := range b {
		switch r.IntN(4) {
		case 0:
			b[i] = 0
		case 1:
			b[i] = 0xFF
		default:
			b[i] = byte(r.Uint32())
		}
	}
	return b
}

// randInt returns a random integer in [lo, hi] biased towards small values
// and the bounds.
func randInt(r *rand.Rand, lo, hi int64) int64 {
	switch r.IntN(6) {
	case 0:
		return lo
	case 1:
		return hi
	case 2:
		v := int64(r.IntN(600)) - 300
		return min(max(v, lo), hi)
	}
	span := uint64(hi) - uint64(lo)
	if span == math.MaxUint64 {
		return int64(r.Uint64())
	}
	v := lo + int64(r.Uint64N(span+1))
	if r.IntN(2) == 0 { // also cover every magnitude
		v >>= uint(r.IntN(63))
		v = min(max(v, lo), hi)
	}
	return v
}

func randUint(r *rand.Rand, hi uint64) uint64 {
	switch r.IntN(5) {
	case 0:
		return 0
	case 1:
		return hi
	case 2:
		return min(uint64(r.IntN(600)), hi)
	}
	v := r.Uint64()
	if hi != math.MaxUint64 {
		v = r.Uint64N(hi + 1)
	}
	return v >> uint(r.IntN(64))
}

func randDecimal(r *rand.Rand, prec, scale int) *apd.Decimal {
	digits := 1 + r.IntN(prec)
	var sb strings.Builder
	if r.IntN(2) == 0 {
		sb.WriteByte('-')
	}
	for i := 0; i < digits; i++ {
		if r.IntN(3) == 0 {
			sb.WriteByte('0')
		} else {
			sb.WriteByte(byte('0' + r.IntN(10)))
		}
	}
	c, ok := new(big.Int).SetString(sb.String(), 10)
	if !ok {
		panic(sb.String())
	}
	d := new(apd.Decimal)
	d.Coeff.SetMathBigInt(new(big.Int).Abs(c))
	d.Negative = c.Sign() < 0
	d.Exponent = -int32(r.IntN(scale + 1))
	return d
}

func randTime(r *rand.Rand, minYear, maxYear int, withMicros bool) time.Time {
	lo := time.Date(minYear, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(maxYear, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
	sec := lo + r.Int64N(hi-lo+1)
	var ns int64
	if withMicros {
		ns = int64(r.IntN(1_000_000)) * 1000
	}
	return time.Unix(sec, ns).UTC()
}

func randJSON(r *rand.Rand, depth int) any {
	k := r.IntN(12)
	if depth > 3 && k >= 9 {
		k = r.IntN(9)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return randString(r, 8, true)
	case 3:
		return r.NormFloat64() * 1e6
	case 4:
		return float64(r.IntN(1000))
	case 5:
		return int64(r.Uint64())
	case 6:
		return r.Uint64()
	case 7:
		return randDecimal(r, 20, 5)
	case 8:
		// Go types GMS's JSON functions put in documents (JSON_OBJECT keeps SQL values as they are).
		return []any{int8(-3), int32(70000), uint16(9), float32(1.5), int(-7), uint32(1 << 31)}
	case 9, 10:
		n := r.IntN(4)
		a := make([]any, n)
		for i := range a {
			a[i] = randJSON(r, depth+1)
		}
		return a
	default:
		n := r.IntN(4)
		m := make(map[string]any, n)
		for i := 0; i < n; i++ {
			m[randString(r, 5, true)] = randJSON(r, depth+1)
		}
		return m
	}
}

func randPoint(r *rand.Rand, srid uint32) types.Point {
	f := func() float64 {
		switch r.IntN(4) {
		case 0:
			return 0
		case 1:
			return -float64(r.IntN(100))
		}
		return r.NormFloat64() * 1000
	}
	return types.Point{SRID: srid, X: f(), Y: f()}
}

func randLine(r *rand.Rand, n int) types.LineString {
	pts := make([]types.Point, n)
	for i := range pts {
		pts[i] = randPoint(r, 0)
	}
	return types.LineString{Points: pts}
}

func randPoly(r *rand.Rand) types.Polygon {
	p := randPoint(r, 0)
	ring := types.LineString{Points: []types.Point{p, randPoint(r, 0), randPoint(r, 0), p}}
	return types.Polygon{Lines: []types.LineString{ring}}
}

func randGeometry(r *rand.Rand) types.GeometryValue {
	switch r.IntN(7) {
	case 0:
		return randPoint(r, 0)
	case 1:
		return randLine(r, 2+r.IntN(4))
	case 2:
		return randPoly(r)
	case 3:
		return types.MultiPoint{Points: []types.Point{randPoint(r, 0), randPoint(r, 0)}}
	case 4:
		return types.MultiLineString{Lines: []types.LineString{randLine(r, 2), randLine(r, 3)}}
	case 5:
		return types.MultiPolygon{Polygons: []types.Polygon{randPoly(r), randPoly(r)}}
	}
	return types.GeomColl{Geoms: []types.GeometryValue{randPoint(r, 0), randLine(r, 2),
		types.GeomColl{Geoms: []types.GeometryValue{randPoly(r)}}}}
}

func packFloats(fs ...float32) []byte {
	b := make([]byte, 4*len(fs))
	for i, f := range fs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func stringTestType(base query.Type, length int64, coll string, wide bool) testType {
	c := mustCollation(coll)
	t := types.MustCreateString(base, length, c)
	maxLen := int(min(length, 24))
	return testType{
		name: fmt.Sprintf("%s(%d) %s", base, length, coll),
		typ:  t,
		gen: func(r *rand.Rand) any {
			return randString(r, maxLen, wide)
		},
		edges:    []any{"", " ", "a", "A", "a ", "A ", "b", "B", "\x00", "a\x00", "a\t", "aa", "\t", strings.Repeat("z", maxLen)},
		keyable:  true,
		padSpace: c.PadAttribute() == "PAD SPACE",
	}
}

// allTestTypes lists one or more instances of every column type GMS supports.
func allTestTypes() []testType {
	intType := func(t sql.Type, lo, hi int64) testType {
		return testType{name: t.String(), typ: t, keyable: true,
			gen:   func(r *rand.Rand) any { return randInt(r, lo, hi) },
			edges: []any{lo, hi, int64(0), int64(-1), int64(1), int64(238), int64(239), int64(255), int64(256), int64(-256), int64(-257)}}
	}
	uintType := func(t sql.Type, hi uint64) testType {
		return testType{name: t.String(), typ: t, keyable: true,
			gen:   func(r *rand.Rand) any { return randUint(r, hi) },
			edges: []any{uint64(0), hi, uint64(1), uint64(238), uint64(239), uint64(255), uint64(256)}}
	}
	decType := func(prec, scale int) testType {
		t := types.MustCreateColumnDecimalType(uint8(prec), uint8(scale))
		return testType{name: t.String(), typ: t, keyable: true,
			gen: func(r *rand.Rand) any { return randDecimal(r, prec, scale) },
			edges: []any{"0", "-0", "1", "-1", "1.5", "-1.5", "0.5", "-0.5", "10", "100", "99", "0.01", "-0.01",
				strings.Repeat("9", prec-scale), "-" + strings.Repeat("9", prec-scale)}}
	}
	enumType := types.MustCreateEnumType([]string{"small", "medium", "large", "x-large", "a", "B"}, sql.Collation_utf8mb4_0900_ai_ci)
	setType := types.MustCreateSetType([]string{"a", "b", "c", "d", "e"}, sql.Collation_Default)
	vec, err := types.CreateVectorType(3)
	if err != nil {
		panic(err)
	}

	tts := []testType{
		intType(types.Int8, math.MinInt8, math.MaxInt8),
		intType(types.Int16, math.MinInt16, math.MaxInt16),
		intType(types.Int24, -1<<23, 1<<23-1),
		intType(types.Int32, math.MinInt32, math.MaxInt32),
		intType(types.Int64, math.MinInt64, math.MaxInt64),
		intType(types.Boolean, math.MinInt8, math.MaxInt8),
		uintType(types.Uint8, math.MaxUint8),
		uintType(types.Uint16, math.MaxUint16),
		uintType(types.Uint24, 1<<24-1),
		uintType(types.Uint32, math.MaxUint32),
		uintType(types.Uint64, math.MaxUint64),
		{name: "float", typ: types.Float32, keyable: true,
			gen: func(r *rand.Rand) any { return float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(20)-10))) },
			edges: []any{float32(0), float32(math.Copysign(0, -1)), float32(-1), float32(1), float32(math.MaxFloat32), float32(-math.MaxFloat32),
				float32(math.SmallestNonzeroFloat32), float32(math.Inf(1)), float32(math.Inf(-1))}},
		{name: "double", typ: types.Float64, keyable: true,
			gen: func(r *rand.Rand) any { return r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20)) },
			edges: []any{0.0, math.Copysign(0, -1), -1.0, 1.0, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64,
				-math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), 0.1, 1e300}},
		decType(10, 2),
		decType(5, 0),
		decType(65, 30),
		decType(65, 0),
		{name: "date", typ: types.Date, keyable: true,
			gen:   func(r *rand.Rand) any { return randTime(r, 1000, 9999, false) },
			edges: []any{types.ZeroTime, time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), time.Unix(0, 0).UTC(), time.Unix(-86400, 0).UTC()}},
		{name: "datetime", typ: types.Datetime, keyable: true,
			gen:   func(r *rand.Rand) any { return randTime(r, 1000, 9999, false) },
			edges: []any{types.ZeroTime, time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), time.Unix(-1, 0).UTC()}},
		{name: "datetime(6)", typ: types.DatetimeMaxPrecision, keyable: true,
			gen: func(r *rand.Rand) any { return randTime(r, 1000, 9999, true) },
			edges: []any{types.ZeroTime, time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Unix(-1, 999999000).UTC(),
				time.Unix(0, 1000).UTC(), time.Unix(0, 0).UTC()}},
		{name: "timestamp(6)", typ: types.TimestampMaxPrecision, keyable: true,
			gen:   func(r *rand.Rand) any { return randTime(r, 1971, 2037, true) },
			edges: []any{time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC), time.Date(2038, 1, 19, 3, 14, 7, 999999000, time.UTC)}},
		{name: "time", typ: types.Time, keyable: true,
			gen: func(r *rand.Rand) any {
				return types.Time.MicrosecondsToTimespan(randInt(r, -3020399000000, 3020399000000))
			},
			edges: []any{types.Timespan(0), types.Timespan(-1), types.Timespan(1), types.Timespan(-3020399000000), types.Timespan(3020399000000), "-00:00:01.5", "-838:59:59"}},
		{name: "year", typ: types.Year, keyable: true,
			gen: func(r *rand.Rand) any {
				if r.IntN(10) == 0 {
					return int16(0)
				}
				return int16(1901 + r.IntN(255))
			},
			edges: []any{int16(0), int16(1901), int16(2155), int16(2000), int16(1999)}},
		stringTestType(sqltypes.Char, 20, "utf8mb4_0900_bin", true),
		stringTestType(sqltypes.VarChar, 255, "utf8mb4_0900_ai_ci", true),
		stringTestType(sqltypes.VarChar, 255, "utf8mb4_0900_as_cs", true),
		stringTestType(sqltypes.VarChar, 100, "utf8mb4_general_ci", true),
		stringTestType(sqltypes.VarChar, 100, "utf8mb4_unicode_ci", true),
		stringTestType(sqltypes.VarChar, 100, "utf8mb4_bin", true),
		stringTestType(sqltypes.Char, 30, "latin1_swedish_ci", false),
		stringTestType(sqltypes.VarChar, 30, "latin1_bin", false),
		stringTestType(sqltypes.VarChar, 30, "utf8mb3_general_ci", false),
		stringTestType(sqltypes.VarChar, 30, "ascii_general_ci", false),
		stringTestType(sqltypes.Text, 65535, "utf8mb4_0900_ai_ci", true),
		{name: "longtext", typ: types.LongText, keyable: true,
			gen:   func(r *rand.Rand) any { return randString(r, 40, true) },
			edges: []any{"", strings.Repeat("x", 200_000)}},
		{name: "binary(8)", typ: types.MustCreateBinary(sqltypes.Binary, 8), keyable: true,
			gen:   func(r *rand.Rand) any { return randBytes(r, 8) },
			edges: []any{[]byte{}, []byte{0}, []byte{0xFF}, []byte("abc"), []byte{0, 0, 0, 0, 0, 0, 0, 1}, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}}},
		{name: "varbinary(64)", typ: types.MustCreateBinary(sqltypes.VarBinary, 64), keyable: true,
			gen:   func(r *rand.Rand) any { return randBytes(r, 16) },
			edges: []any{[]byte{}, []byte{0}, []byte{0, 0}, []byte{0, 1}, []byte{0, 0xFF}, []byte{1}, []byte{0xFF}, []byte("a "), []byte("a")}},
		{name: "blob", typ: types.Blob, keyable: true,
			gen:   func(r *rand.Rand) any { return randBytes(r, 32) },
			edges: []any{[]byte{}, make([]byte, 60_000)}},
		{name: "longblob", typ: types.LongBlob, keyable: true,
			gen:   func(r *rand.Rand) any { return randBytes(r, 32) },
			edges: []any{bytesOfLen(300_000)}},
		{name: "enum", typ: enumType, keyable: true,
			gen:   func(r *rand.Rand) any { return uint16(1 + r.IntN(6)) },
			edges: []any{"small", "x-large", "A", "b", uint16(1), uint16(6)}},
		{name: "set", typ: setType, keyable: true,
			gen:   func(r *rand.Rand) any { return r.Uint64N(32) },
			edges: []any{uint64(0), uint64(31), "a,c", "e"}},
		{name: "bit(1)", typ: types.MustCreateBitType(1), keyable: true,
			gen:   func(r *rand.Rand) any { return r.Uint64N(2) },
			edges: []any{uint64(0), uint64(1)}},
		{name: "bit(64)", typ: types.MustCreateBitType(64), keyable: true,
			gen:   func(r *rand.Rand) any { return randUint(r, math.MaxUint64) },
			edges: []any{uint64(0), uint64(math.MaxUint64)}},
		{name: "json", typ: types.JSON,
			gen: func(r *rand.Rand) any { return types.JSONDocument{Val: randJSON(r, 0)} },
			edges: []any{`{"a": 1, "b": [true, false, null, "x", 1.5]}`, `null`, `[]`, `{}`, `"str"`, `12345678901234567890`,
				types.JSONDocument{Val: map[string]any{"big": int64(1<<62 + 1), "u": uint64(math.MaxUint64), "d": apd.New(150, -2)}}}},
		{name: "geometry", typ: types.GeometryType{}, keyable: true,
			gen: func(r *rand.Rand) any { return randGeometry(r) },
			edges: []any{types.Point{X: 1, Y: 2}, types.Point{SRID: 4326, X: -1, Y: 0},
				types.GeomColl{SRID: 4326, Geoms: []types.GeometryValue{types.Point{SRID: 4326}}}}},
		{name: "point", typ: types.PointType{}, keyable: true,
			gen:   func(r *rand.Rand) any { return randPoint(r, 0) },
			edges: []any{types.Point{}, types.Point{X: math.Inf(1)}}},
		{name: "vector(3)", typ: vec, keyable: true,
			gen:   func(r *rand.Rand) any { return packFloats(float32(r.NormFloat64()), float32(r.NormFloat64()), 0) },
			edges: []any{packFloats(0, 0, 0), packFloats(-1, 1, 0)}},
	}
	return tts
}

func bytesOfLen(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// canonical converts a raw generated value to what GMS holds for t.
func canonical(t sql.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	out, _, err := t.Convert(testCtx, v)
	return out, err
}

// sample returns n canonical values of tt: its edges and then random values.
// Values GMS refuses (e.g. too long) are skipped.
func sample(tt testType, r *rand.Rand, n int) []any {
	var out []any
	for _, e := range tt.edges {
		v, err := canonical(tt.typ, e)
		if err != nil || v == nil {
			continue
		}
		out = append(out, v)
	}
	for len(out) < n {
		v, err := canonical(tt.typ, tt.gen(r))
		if err != nil || v == nil {
			continue
		}
		out = append(out, v)
	}
	return out
}
