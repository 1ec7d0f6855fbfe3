package codec

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
)

func schemaOf(tts ...testType) sql.Schema {
	sch := make(sql.Schema, len(tts))
	for i, tt := range tts {
		sch[i] = &sql.Column{Name: fmt.Sprintf("c%d_%s", i, tt.name), Type: tt.typ, Nullable: true}
	}
	return sch
}

// checkSameValue asserts that got is what GMS would hold for want: the same Go
// type as t.Convert produces, equal under t.Compare, and (where the type's
// values support it) deeply equal.
func checkSameValue(t *testing.T, typ sql.Type, want, got any) {
	t.Helper()
	if want == nil || got == nil {
		if want != got {
			t.Fatalf("%s: want %v, got %v", typ, want, got)
		}
		return
	}
	conv, _, err := typ.Convert(testCtx, want)
	if err != nil {
		t.Fatalf("%s: Convert(%v): %v", typ, want, err)
	}
	if reflect.TypeOf(got) != reflect.TypeOf(conv) {
		t.Fatalf("%s: decoded Go type %T, GMS Convert gives %T", typ, got, conv)
	}
	if vt := typ.ValueType(); vt.Kind() != reflect.Interface && reflect.TypeOf(got) != vt {
		t.Fatalf("%s: decoded Go type %T, ValueType is %v", typ, got, vt)
	}
	c, err := typ.Compare(testCtx, want, got)
	if err != nil {
		t.Fatalf("%s: Compare(%v, %v): %v", typ, want, got, err)
	}
	if c != 0 {
		t.Fatalf("%s: round trip changed %#v to %#v (Compare=%d)", typ, want, got, c)
	}
	switch w := want.(type) {
	case *apd.Decimal:
		g := got.(*apd.Decimal)
		if w.Text('f') != g.Text('f') || w.Exponent != g.Exponent || w.Negative != g.Negative || w.Form != g.Form {
			t.Fatalf("%s: decimal %s (exp %d) decoded as %s (exp %d)", typ, w.Text('f'), w.Exponent, g.Text('f'), g.Exponent)
		}
	default:
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("%s: round trip changed %#v (%T) to %#v (%T)", typ, want, want, got, got)
		}
	}
}

func TestRowRoundTripEachType(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tt := range allTestTypes() {
		t.Run(tt.name, func(t *testing.T) {
			sch := schemaOf(tt)
			vals := append(sample(tt, r, 300), nil)
			var buf []byte
			var row sql.Row
			for _, v := range vals {
				var err error
				buf, err = AppendRow(buf[:0], sch, sql.Row{v})
				if err != nil {
					t.Fatalf("AppendRow(%#v): %v", v, err)
				}
				row, err = DecodeRow(sch, buf, row)
				if err != nil {
					t.Fatalf("DecodeRow(%#v): %v", v, err)
				}
				checkSameValue(t, tt.typ, v, row[0])
			}
		})
	}
}

func TestRowRoundTripAllTypesTogether(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tts := allTestTypes()
	sch := schemaOf(tts...)
	samples := make([][]any, len(tts))
	for i, tt := range tts {
		samples[i] = sample(tt, r, 50)
	}
	var buf []byte
	var row sql.Row
	for iter := 0; iter < 300; iter++ {
		in := randomRow(r, samples)
		var err error
		buf, err = AppendRow(buf[:0], sch, in)
		if err != nil {
			t.Fatal(err)
		}
		row, err = DecodeRow(sch, buf, row)
		if err != nil {
			t.Fatal(err)
		}
		if len(row) != len(in) {
			t.Fatalf("decoded %d columns, want %d", len(row), len(in))
		}
		for i := range tts {
			checkSameValue(t, tts[i].typ, in[i], row[i])
		}

		// Projection: a random subset, in random order, with repeats.
		cols := make([]int, r.IntN(8))
		for j := range cols {
			cols[j] = r.IntN(len(tts))
		}
		proj, err := DecodeRowProjected(sch, buf, cols, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(proj) != len(cols) {
			t.Fatalf("projected %d columns, want %d", len(proj), len(cols))
		}
		for j, c := range cols {
			checkSameValue(t, tts[c].typ, in[c], proj[j])
		}

		// The same subset at the columns' own positions, the rest nil.
		wide, err := DecodeRowColumns(sch, buf, cols, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(wide) != len(tts) {
			t.Fatalf("DecodeRowColumns gave %d columns, want %d", len(wide), len(tts))
		}
		wanted := map[int]bool{}
		for _, c := range cols {
			wanted[c] = true
		}
		for i := range tts {
			if wanted[i] {
				checkSameValue(t, tts[i].typ, in[i], wide[i])
			} else if wide[i] != nil {
				t.Fatalf("column %d not asked for but decoded as %v", i, wide[i])
			}
		}
	}
}

func TestDecodedValuesAreIndependent(t *testing.T) {
	sch := sql.Schema{
		{Name: "a", Type: types.MustCreateString(sqltypes.VarChar, 10, sql.Collation_Default)},
		{Name: "b", Type: types.Blob},
		{Name: "c", Type: types.Blob},
	}
	buf, err := AppendRow(nil, sch, sql.Row{"hello", []byte("xy"), []byte("zw")})
	if err != nil {
		t.Fatal(err)
	}
	row, err := DecodeRow(sch, buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 0 // the caller's buffer is reused (as a Pebble iterator's is)
	}
	b := row[1].([]byte)
	_ = append(b, '!') // must not clobber column c, which shares the arena
	if row[0] != "hello" || string(row[1].([]byte)) != "xy" || string(row[2].([]byte)) != "zw" {
		t.Fatalf("decoded values changed: %#v", row)
	}
}

func TestDecodeRowReusesDst(t *testing.T) {
	sch := sql.Schema{{Name: "a", Type: types.Int64}, {Name: "b", Type: types.Int64}}
	buf, err := AppendRow(nil, sch, sql.Row{int64(1), int64(2)})
	if err != nil {
		t.Fatal(err)
	}
	dst := make(sql.Row, 0, 4)
	row, err := DecodeRow(sch, buf, dst)
	if err != nil {
		t.Fatal(err)
	}
	if &row[0] != &dst[:1][0] {
		t.Fatal("DecodeRow did not reuse dst")
	}
	if got := testing.AllocsPerRun(100, func() {
		if _, err := DecodeRowProjected(sch, buf, []int{1}, dst); err != nil {
			t.Fatal(err)
		}
	}); got > 0 {
		t.Fatalf("projected decode of a small int allocates %v times", got)
	}
}

func TestAppendRowConvertsAndRejects(t *testing.T) {
	sch := sql.Schema{
		{Name: "i", Type: types.Int32},
		{Name: "u", Type: types.Uint8},
		{Name: "f", Type: types.Float32},
		{Name: "d", Type: types.MustCreateColumnDecimalType(10, 2)},
		{Name: "e", Type: types.MustCreateEnumType([]string{"x", "y"}, sql.Collation_Default)},
		{Name: "j", Type: types.JSON},
	}
	buf, err := AppendRow(nil, sch, sql.Row{int64(7), int(200), 1.5, "3.14159", "y", `{"a":[1,2]}`})
	if err != nil {
		t.Fatal(err)
	}
	row, err := DecodeRow(sch, buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if row[0] != int32(7) || row[1] != uint8(200) || row[2] != float32(1.5) || row[4] != uint16(2) {
		t.Fatalf("unexpected %#v", row)
	}
	if d := row[3].(*apd.Decimal); d.Text('f') != "3.14" {
		t.Fatalf("decimal %s", d.Text('f'))
	}
	if _, ok := row[5].(types.JSONDocument); !ok {
		t.Fatalf("json decoded as %T", row[5])
	}
	for i, bad := range []sql.Row{
		{int64(1 << 40), nil, nil, nil, nil, nil},
		{nil, int(-1), nil, nil, nil, nil},
		{nil, int(256), nil, nil, nil, nil},
		{nil, nil, nil, nil, "z", nil},
		{nil, nil, nil, nil, nil, `{not json`},
	} {
		if _, err := AppendRow(nil, sch, bad); err == nil {
			t.Errorf("case %d: AppendRow(%v) succeeded", i, bad)
		}
	}
	if _, err := AppendRow(nil, sch, sql.Row{nil}); err == nil {
		t.Error("short row accepted")
	}
}

func TestJSONKeepsGoTypes(t *testing.T) {
	tm := time.Date(2024, 2, 29, 12, 0, 0, 123456000, time.UTC)
	doc := types.JSONDocument{Val: map[string]any{
		"i64": int64(1<<62 + 1), "u64": uint64(1<<64 - 1), "f": 1.25, "f32": float32(2.5), "s": "x",
		"d": apd.New(-12345, -3), "n": nil, "b": true, "a": []any{int8(-1), uint16(3), []byte{0, 1}},
		"t": tm, "ts": types.Timespan(-1500000),
		"nested": types.JSONDocument{Val: []any{"inner"}},
		"strmap": map[string]string{"k": "v"},
	}}
	sch := sql.Schema{{Name: "j", Type: types.JSON}}
	buf, err := AppendRow(nil, sch, sql.Row{doc})
	if err != nil {
		t.Fatal(err)
	}
	row, err := DecodeRow(sch, buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := row[0].(types.JSONDocument).Val.(map[string]any)
	if got["i64"] != int64(1<<62+1) || got["u64"] != uint64(1<<64-1) || got["f32"] != float32(2.5) {
		t.Fatalf("types lost: %#v", got)
	}
	if d := got["d"].(*apd.Decimal); d.Text('f') != "-12.345" {
		t.Fatalf("decimal %s", d.Text('f'))
	}
	if got["t"] != tm || got["ts"] != types.Timespan(-1500000) || !reflect.DeepEqual(got["a"], []any{int8(-1), uint16(3), []byte{0, 1}}) {
		t.Fatalf("types lost: %#v", got)
	}
	// Nested wrappers are stored unwrapped, other Go types as GMS marshals them.
	if !reflect.DeepEqual(got["nested"], []any{"inner"}) {
		t.Fatalf("nested wrapper decoded as %#v", got["nested"])
	}
	if !reflect.DeepEqual(got["strmap"], map[string]any{"k": "v"}) {
		t.Fatalf("map[string]string decoded as %#v", got["strmap"])
	}
	// Without the types GMS cannot print, the document prints the same.
	for _, k := range []string{"nested", "strmap", "t", "ts"} {
		delete(doc.Val.(map[string]any), k)
		delete(got, k)
	}
	if s1, s2 := doc.String(), row[0].(types.JSONDocument).String(); s1 != s2 {
		t.Fatalf("prints differently: %s vs %s", s1, s2)
	}
}

func TestCorruptRows(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	tts := allTestTypes()
	sch := schemaOf(tts...)
	in := make(sql.Row, len(tts))
	for i, tt := range tts {
		s := sample(tt, r, len(tt.edges)+1) // a random (so small) value
		in[i] = s[len(s)-1]
	}
	buf, err := AppendRow(nil, sch, in)
	if err != nil {
		t.Fatal(err)
	}
	// Every truncation must fail cleanly.
	for n := 0; n < len(buf); n++ {
		if _, err := DecodeRow(sch, buf[:n], nil); err == nil {
			t.Fatalf("truncated row (%d of %d bytes) decoded without error", n, len(buf))
		}
	}
	if _, err := DecodeRow(sch, append(append([]byte{}, buf...), 0), nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing byte: %v", err)
	}
	bad := append([]byte{}, buf...)
	bad[0] = 0x7F
	if _, err := DecodeRow(sch, bad, nil); !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("bad version: %v", err)
	}
	if _, err := DecodeRow(sch[:3], buf, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("schema mismatch: %v", err)
	}
	// Random corruption must never panic.
	for i := 0; i < 20000; i++ {
		c := append([]byte{}, buf...)
		for j := 0; j < 1+r.IntN(4); j++ {
			c[r.IntN(len(c))] = byte(r.Uint32())
		}
		_, _ = DecodeRow(sch, c, nil)
		_, _ = DecodeRowProjected(sch, c, []int{r.IntN(len(sch)), r.IntN(len(sch))}, nil)
	}
}

func TestGeometryDecoding(t *testing.T) {
	sch := sql.Schema{{Name: "g", Type: types.GeometryType{}}}
	r := rand.New(rand.NewPCG(13, 14))
	vals := []types.GeometryValue{
		types.GeomColl{Geoms: []types.GeometryValue{}},
		// GMS's own parser rejects this (a LINESTRING with no points), ours keeps it.
		types.GeomColl{Geoms: []types.GeometryValue{types.LineString{Points: []types.Point{}}}},
		types.MultiPoint{SRID: 4326, Points: []types.Point{{SRID: 4326, X: 1, Y: 2}}},
	}
	for i := 0; i < 200; i++ {
		vals = append(vals, randGeometry(r))
	}
	for _, v := range vals {
		buf, err := AppendRow(nil, sch, sql.Row{v})
		if err != nil {
			t.Fatal(err)
		}
		row, err := DecodeRow(sch, buf, nil)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		got := row[0].(types.GeometryValue)
		if !bytes.Equal(got.Serialize(), v.Serialize()) {
			t.Fatalf("%#v decoded as %#v", v, got)
		}
		// Where GMS can parse the bytes itself, it gets the same value.
		if want, _, err := (types.GeometryType{}).Convert(testCtx, v.Serialize()); err == nil && !reflect.DeepEqual(want, got) {
			t.Fatalf("GMS parses %#v, we parse %#v", want, got)
		}
	}
}

func TestJSONSizes(t *testing.T) {
	// Documents whose encoding needs 1, 2 and 3 bytes of length prefix.
	sch := sql.Schema{{Name: "j", Type: types.JSON}, {Name: "after", Type: types.Int64}}
	for _, n := range []int{0, 100, 127, 128, 300, 16000, 16400, 100_000} {
		doc := types.JSONDocument{Val: map[string]any{"s": strings.Repeat("x", n), "n": float64(n)}}
		buf, err := AppendRow(nil, sch, sql.Row{doc, int64(-5)})
		if err != nil {
			t.Fatal(err)
		}
		row, err := DecodeRow(sch, buf, nil)
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		if !reflect.DeepEqual(row[0], doc) || row[1] != int64(-5) {
			t.Fatalf("size %d: round trip changed the row", n)
		}
	}
}

// randomRow picks each column's value from its samples, or NULL one time in five.
func randomRow(r *rand.Rand, samples [][]any) sql.Row {
	in := make(sql.Row, len(samples))
	for i := range samples {
		if r.IntN(5) != 0 {
			in[i] = samples[i][r.IntN(len(samples[i]))]
		}
	}
	return in
}
