package binlog

import (
	"reflect"
	"testing"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/gtid"
)

var formats = []Checksum{ChecksumCRC32, ChecksumNone}

// vitessStrip returns ev as vitess sees it after StripChecksum, and the vitess format.
func vitessStrip(t *testing.T, f Format, ev Event) (mysql.BinlogEvent, mysql.BinlogFormat) {
	t.Helper()
	vf := f.Vitess()
	v := ev.Vitess()
	if !v.IsValid() {
		t.Fatalf("vitess: %s event not valid", ev.Type())
	}
	s, _, err := v.StripChecksum(vf)
	if err != nil {
		t.Fatal(err)
	}
	return s, vf
}

func TestFormatDescription(t *testing.T) {
	for _, c := range formats {
		f := NewFormat(c)
		ev := f.FormatDescription(Header{Timestamp: 1700000000, ServerID: 9, Flags: FlagBinlogInUse}, 1700000000)
		// MySQL 8.0.27+ writes a 122-byte FORMAT_DESCRIPTION, ending at offset 126.
		if len(ev) != 122 {
			t.Fatalf("%s: FORMAT_DESCRIPTION is %d bytes, want 122", c, len(ev))
		}
		if err := f.checkFrame(ev); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		// The in-use flag is outside the checksum.
		clear := append(Event(nil), ev...)
		clear[17] &^= byte(FlagBinlogInUse)
		if err := f.checkFrame(clear); err != nil {
			t.Fatalf("%s: clearing the in-use flag broke the checksum: %v", c, err)
		}
		vf, err := ev.Vitess().Format()
		if err != nil {
			t.Fatal(err)
		}
		if vf.FormatVersion != 4 || vf.ServerVersion != ServerVersion || vf.HeaderLength != 19 ||
			vf.ChecksumAlgorithm != c.alg() || len(vf.HeaderSizes) != 41 {
			t.Fatalf("%s: vitess reads %+v", c, vf)
		}
		if vf.HeaderSize(byte(TypeTableMap)) != 8 || vf.HeaderSize(byte(TypeWriteRows)) != 10 || vf.HeaderSize(byte(TypeGTID)) != 42 {
			t.Fatalf("%s: post-header lengths %v", c, vf.HeaderSizes)
		}
		fd, err := DecodeFormatDescription(ev)
		if err != nil {
			t.Fatal(err)
		}
		if fd.Created != 1700000000 || fd.ServerVersion != ServerVersion || fd.Format.Checksum != c ||
			!reflect.DeepEqual(fd.Format.PostHeader, f.PostHeader) {
			t.Fatalf("%s: decoded %+v", c, fd)
		}
	}
}

func TestPreviousGTIDs(t *testing.T) {
	set := gtid.MustParse(testUUID + ":1-5:9,e2d0e1b0-0000-4000-8000-000000000002:3")
	for _, c := range formats {
		f := NewFormat(c)
		ev := f.PreviousGTIDs(Header{ServerID: 1}, set)
		v, vf := vitessStrip(t, f, ev)
		if !v.IsPreviousGTIDs() {
			t.Fatal("vitess: not PREVIOUS_GTIDS")
		}
		pos, err := v.PreviousGTIDs(vf)
		if err != nil {
			t.Fatal(err)
		}
		if !pos.GTIDSet.Equal(set.ToVitess()) {
			t.Fatalf("%s: vitess reads %s", c, pos.GTIDSet)
		}
		got, err := DecodePreviousGTIDs(f, ev)
		if err != nil || !got.Equal(set) {
			t.Fatalf("%s: decoded %s, %v", c, got, err)
		}
	}
	// An empty set: 8 bytes of body, so the event ends at 126+31 = 157 as in MySQL 8.
	if n := len(NewFormat(ChecksumCRC32).PreviousGTIDs(Header{}, gtid.Set{})); n != 31 {
		t.Fatalf("empty PREVIOUS_GTIDS is %d bytes, want 31", n)
	}
}

func TestGTIDEvent(t *testing.T) {
	for _, c := range formats {
		f := NewFormat(c)
		for _, g := range []GTIDEvent{
			{GTID: gtid.GTID{Server: testSID, Sequence: 42}, LastCommitted: 40, SequenceNumber: 41, ImmediateCommit: 1700000000123456, TransactionLength: 200},
			{GTID: gtid.GTID{Server: testSID, Sequence: 1}, MayHaveSBR: true, SequenceNumber: 1, ImmediateCommit: 1700000000123456, OriginalCommit: 1690000000000001, TransactionLength: 70000, ImmediateServerVersion: 80036, OriginalServerVersion: 80034},
			{Anonymous: true, SequenceNumber: 3, ImmediateCommit: 5, TransactionLength: 1 << 40},
		} {
			ev := f.GTID(Header{ServerID: 1}, g)
			v, vf := vitessStrip(t, f, ev)
			if g.Anonymous {
				if ev.Type() != TypeAnonymousGTID {
					t.Fatal("anonymous GTID has the wrong type")
				}
			} else {
				if !v.IsGTID() {
					t.Fatal("vitess: not a GTID event")
				}
				vg, _, err := v.GTID(vf)
				if err != nil || vg != (mysql.Mysql56GTID{Server: testSID, Sequence: g.GTID.Sequence}) {
					t.Fatalf("vitess reads %v, %v", vg, err)
				}
			}
			got, err := DecodeGTID(f, ev)
			if err != nil {
				t.Fatal(err)
			}
			want := g
			if want.OriginalCommit == 0 {
				want.OriginalCommit = want.ImmediateCommit
			}
			if want.ImmediateServerVersion == 0 {
				want.ImmediateServerVersion = ServerVersionID
			}
			if want.OriginalServerVersion == 0 {
				want.OriginalServerVersion = want.ImmediateServerVersion
			}
			if got != want {
				t.Fatalf("%s: decoded\n%+v, want\n%+v", c, got, want)
			}
		}
	}
	// MySQL 8's usual GTID event (no original timestamp or version, 3-byte length) is 79 bytes.
	f := NewFormat(ChecksumCRC32)
	if n := len(f.GTID(Header{}, GTIDEvent{GTID: gtid.GTID{Server: testSID, Sequence: 1}, TransactionLength: 300})); n != 79 {
		t.Fatalf("GTID event is %d bytes, want 79", n)
	}
}

func TestTransactionLength(t *testing.T) {
	for _, c := range formats {
		f := NewFormat(c)
		// Sizes around the 1-, 3- and 4-byte encodings of the length.
		for _, n := range []int{0, 150, 170, 180, 190, 200, 65400, 65450, 65500, 65536, 70000} {
			q, err := f.Query(Header{}, Query{SQL: "INSERT INTO t VALUES ('" + string(make([]byte, n)) + "')"})
			if err != nil {
				t.Fatal(err)
			}
			txn := f.NewTxn(Header{}, GTIDEvent{GTID: gtid.GTID{Server: testSID, Sequence: 1}}, q)
			total := 0
			for _, ev := range txn {
				total += len(ev)
			}
			g, err := DecodeGTID(f, txn[0])
			if err != nil {
				t.Fatal(err)
			}
			if g.TransactionLength != uint64(total) {
				t.Fatalf("%s n=%d: transaction_length %d, events total %d", c, n, g.TransactionLength, total)
			}
		}
	}
}

func TestQueryEvent(t *testing.T) {
	yes, xid, coll := true, uint64(77), uint16(255)
	q := Query{
		ThreadID: 12, ExecTime: 3, ErrorCode: 0, Database: "shop", SQL: "CREATE TABLE t (a INT)",
		Flags2: Flags2NoForeignKeyChecks, SQLMode: DefaultSQLMode,
		Charset:                Charset{Client: 33, Connection: 33, Server: 8},
		AutoIncrementIncrement: 2, AutoIncrementOffset: 1,
		TimeZone: "+02:00", LCTimeNames: 5, CharsetDatabase: 45, TableMapForUpdate: 3,
		InvokerUser: "root", InvokerHost: "localhost",
		UpdatedDBs:                   []string{"shop", "other"},
		Microseconds:                 123456,
		HasMicroseconds:              true,
		ExplicitDefaultsForTimestamp: &yes, DDLXID: &xid, DefaultCollationUTF8MB4: &coll,
		SQLRequirePrimaryKey: &yes, DefaultTableEncryption: &yes,
	}
	for _, c := range formats {
		f := NewFormat(c)
		ev, err := f.Query(Header{ServerID: 1}, q)
		if err != nil {
			t.Fatal(err)
		}
		v, vf := vitessStrip(t, f, ev)
		if !v.IsQuery() {
			t.Fatal("vitess: not a query")
		}
		vq, err := v.Query(vf)
		if err != nil {
			t.Fatal(err)
		}
		if vq.Database != "shop" || vq.SQL != q.SQL || vq.SqlMode != DefaultSQLMode || vq.Options != Flags2NoForeignKeyChecks ||
			vq.Charset == nil || vq.Charset.Client != 33 || vq.Charset.Server != 8 {
			t.Fatalf("%s: vitess reads %v", c, vq)
		}
		got, err := DecodeQuery(f, ev)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, q) {
			t.Fatalf("%s: decoded\n%+v, want\n%+v", c, got, q)
		}
	}
	f := NewFormat(ChecksumCRC32)
	if _, err := f.Query(Header{}, Query{Database: string(make([]byte, 256))}); err == nil {
		t.Fatal("a 256-byte database name was accepted")
	}
	if _, err := f.Query(Header{}, Query{Database: "a\x00b"}); err == nil {
		t.Fatal("a database name with NUL was accepted")
	}
	// More than 16 updated databases are logged as "too many", as MySQL does.
	many := make([]string, 17)
	for i := range many {
		many[i] = "d"
	}
	ev, err := f.Query(Header{}, Query{SQL: "DROP DATABASE d", UpdatedDBs: many})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := DecodeQuery(f, ev); got.UpdatedDBs == nil || len(got.UpdatedDBs) != 0 {
		t.Fatalf("over-max updated DBs decoded as %v", got.UpdatedDBs)
	}
}

func TestSmallEvents(t *testing.T) {
	for _, c := range formats {
		f := NewFormat(c)
		h := Header{Timestamp: 5, ServerID: 2}

		v, vf := vitessStrip(t, f, f.XID(h, 99))
		if !v.IsXID() {
			t.Fatal("vitess: not XID")
		}
		if x, err := DecodeXID(f, f.XID(h, 99)); err != nil || x != 99 {
			t.Fatalf("XID %d, %v", x, err)
		}

		rot := f.Rotate(h, 4, "binlog.000002")
		if v, _ = vitessStrip(t, f, rot); !v.IsRotate() {
			t.Fatal("vitess: not ROTATE")
		}
		if pos, next, err := DecodeRotate(f, rot); err != nil || pos != 4 || next != "binlog.000002" {
			t.Fatalf("ROTATE %d %q %v", pos, next, err)
		}

		iv := f.IntVar(h, IntVarInsertID, 1234)
		v, vf = vitessStrip(t, f, iv)
		if typ, val, err := v.IntVar(vf); err != nil || typ != IntVarInsertID || val != 1234 {
			t.Fatalf("vitess INTVAR %d %d %v", typ, val, err)
		}
		if typ, val, err := DecodeIntVar(f, iv); err != nil || typ != IntVarInsertID || val != 1234 {
			t.Fatalf("INTVAR %d %d %v", typ, val, err)
		}

		rd := f.Rand(h, 11, 22)
		v, vf = vitessStrip(t, f, rd)
		if s1, s2, err := v.Rand(vf); err != nil || s1 != 11 || s2 != 22 {
			t.Fatalf("vitess RAND %d %d %v", s1, s2, err)
		}
		if s1, s2, err := DecodeRand(f, rd); err != nil || s1 != 11 || s2 != 22 {
			t.Fatalf("RAND %d %d %v", s1, s2, err)
		}

		for _, uv := range []UserVar{
			NewUserVarInt("n", -5, false),
			NewUserVarInt("u", 7, true),
			NewUserVarReal("r", 2.5),
			NewUserVarString("s", "héllo", 255),
			{Name: "d", Type: UserVarDecimal, Collation: 63, Value: []byte{5, 2, 0x81, 0x0d, 0xfb}},
			{Name: "nothing", Null: true},
		} {
			ev, err := f.UserVar(h, uv)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeUserVar(f, ev)
			if err != nil || !reflect.DeepEqual(got, uv) {
				t.Fatalf("USER_VAR %+v decoded as %+v, %v", uv, got, err)
			}
		}
		if _, err := f.UserVar(h, UserVar{Name: "x", Type: UserVarInt, Value: []byte{1}}); err == nil {
			t.Fatal("a 1-byte integer user variable was accepted")
		}

		hb := f.Heartbeat(2, "binlog.000007", 1234)
		if hb.Type() != TypeHeartbeat || hb.LogPos() != 1234 || hb.Timestamp() != 0 || string(hb.Body(f)) != "binlog.000007" {
			t.Fatalf("heartbeat %x", hb)
		}
		if err := f.checkFrame(hb); err != nil {
			t.Fatal(err)
		}

		st := f.Stop(h)
		if st.Type() != TypeStop || len(st) != HeaderLen+f.trailer(TypeStop) {
			t.Fatalf("stop %x", st)
		}
	}
}

func TestChecksumDetectsDamage(t *testing.T) {
	f := NewFormat(ChecksumCRC32)
	ev := f.XID(Header{ServerID: 1}, 5)
	for i := range ev {
		bad := append(Event(nil), ev...)
		bad[i] ^= 0x10
		if f.checkFrame(bad) == nil {
			t.Fatalf("flipping a bit of byte %d went unnoticed", i)
		}
	}
}

func TestCheckTxn(t *testing.T) {
	f := NewFormat(ChecksumCRC32)
	good := rowTxn(t, f, 1, 10)
	if _, err := checkTxn(f, good); err != nil {
		t.Fatal(err)
	}
	if _, err := checkTxn(f, ddlTxn(t, f, 2, "CREATE TABLE t (a INT)")); err != nil {
		t.Fatal(err)
	}
	h := Header{ServerID: 1}
	commit, _ := f.Query(h, Query{SQL: "COMMIT"})
	bad := map[string]Txn{
		"no GTID":        good[1:],
		"no XID":         good[:len(good)-1],
		"two XIDs":       append(append(Txn{}, good...), f.XID(h, 1)),
		"stray rotate":   append(append(Txn{}, good[:2]...), f.Rotate(h, 4, "x"), good[len(good)-1]),
		"rows, no BEGIN": append(Txn{good[0]}, good[2:]...),
		"bad checksum": func() Txn {
			c := append(Txn{}, good...)
			c[1] = append(Event(nil), c[1]...)
			c[1][25] ^= 1
			return c
		}(),
	}
	for name, txn := range bad {
		if _, err := checkTxn(f, txn); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// BEGIN … COMMIT (statement format) is complete too.
	if _, err := checkTxn(f, Txn{good[0], good[1], commit}); err != nil {
		t.Fatal(err)
	}
}
