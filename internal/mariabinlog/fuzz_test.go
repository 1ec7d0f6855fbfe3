package mariabinlog

import (
	"encoding/binary"
	"testing"

	"github.com/relaydb/relaydb/internal/binlog"
)

// FuzzTranslate: any event a MariaDB primary (or something posing as one) sends is translated
// or refused with an error, never a panic; a translated GTID event carries the GTID the
// documented mapping gives (DomainUUID(domain):seq_no).
func FuzzTranslate(f *testing.F) {
	f.Add(byte(TypeGTID), mariaGTID(7, 3, 0, 0), true)
	f.Add(byte(TypeGTID), mariaGTID(9, 0, FlagStandalone, 42), false)
	f.Add(byte(TypeGTIDList), []byte{1, 0, 0, 0, 0, 0, 0, 0}, true)
	f.Add(byte(TypeStartEncryption), []byte{1, 2, 3}, true)
	f.Add(byte(TypeAnnotateRows), []byte("INSERT INTO t VALUES (1)"), false)
	f.Fuzz(func(t *testing.T, typ byte, body []byte, checksum bool) {
		if typ < byte(TypeAnnotateRows) {
			typ = byte(TypeAnnotateRows) + typ%32
		}
		ev := mariaEvent(binlog.EventType(typ), 1, 1000, 0, body)
		alg := binlog.ChecksumNone // the stream format: the trailer mariaEvent adds read as body, or as CRC32
		if checksum {
			alg = binlog.ChecksumCRC32
		}
		format := binlog.NewFormat(alg)
		var tr Translator
		out, _, err := tr.Translate(format, ev)
		if err != nil || binlog.EventType(typ) != TypeGTID || len(out) == 0 {
			return
		}
		b := ev.Body(format)
		want := GTID{Seq: binary.LittleEndian.Uint64(b[0:8]), Domain: binary.LittleEndian.Uint32(b[8:12])}.ToGTID()
		got, err := binlog.DecodeGTID(binlog.NewFormat(alg), out[0])
		if err != nil {
			t.Fatalf("translated GTID event does not decode: %v", err)
		}
		if got.GTID != want {
			t.Fatalf("translated GTID %v, want %v", got.GTID, want)
		}
	})
}
