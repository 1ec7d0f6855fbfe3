package adminsql

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dolthub/vitess/go/mysql"
)

func TestCloneAccepted(t *testing.T) {
	yes, no := true, false
	for _, c := range []struct {
		q    string
		want Statement
	}{
		{"CLONE INSTANCE FROM 'cloner'@'10.0.0.2':3306 IDENTIFIED BY 'pw'", &CloneInstance{User: "cloner", Host: "10.0.0.2", Port: 3306, Password: "pw"}},
		{"clone instance from cloner@127.0.0.1:33060 identified by 'p''w\\'x' data directory = '/var/lib/new';",
			&CloneInstance{User: "cloner", Host: "127.0.0.1", Port: 33060, Password: "p'w'x", DataDir: "/var/lib/new"}},
		{"CLONE INSTANCE FROM `u`@`db-1.example`:1 IDENTIFIED BY \"x\" DATA DIRECTORY '/d' REQUIRE NO SSL",
			&CloneInstance{User: "u", Host: "db-1.example", Port: 1, Password: "x", DataDir: "/d", RequireSSL: &no}},
		{"CLONE INSTANCE FROM u@db-1.example:1 IDENTIFIED BY '' REQUIRE SSL", &CloneInstance{User: "u", Host: "db-1.example", Port: 1, RequireSSL: &yes}},
		{"CLONE DONOR BEGIN", &CloneDonorBegin{}},
		{"CLONE DONOR READ '0a1b' 'data/000012.sst' 4194304 1048576", &CloneDonorRead{ID: "0a1b", File: "data/000012.sst", Offset: 4194304, Length: 1048576}},
		{"CLONE DONOR END 'ff00'", &CloneDonorEnd{ID: "ff00"}},
	} {
		got, err := Parse(c.q)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %#v, %v\nwant %#v", c.q, got, err, c.want)
			continue
		}
		if again, err := Parse(got.String()); err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("%q printed as %q: %#v, %v", c.q, got.String(), again, err)
		}
	}
}

func TestCloneRejected(t *testing.T) {
	for q, near := range map[string]string{
		"CLONE INSTANCE FROM a@b IDENTIFIED BY 'x'":                                           "IDENTIFIED BY 'x'",       // no port
		"CLONE INSTANCE FROM a@b:0 IDENTIFIED BY 'x'":                                         "0 IDENTIFIED BY 'x'",     // port 0
		"CLONE INSTANCE FROM a@b:70000 IDENTIFIED BY 'x'":                                     "70000 IDENTIFIED BY 'x'", // port too large
		"CLONE INSTANCE FROM a@b:1 IDENTIFIED BY x":                                           "x",                       // unquoted password
		"CLONE INSTANCE FROM a@b:1 IDENTIFIED BY 'x' DATA":                                    "",                        // incomplete
		"CLONE INSTANCE FROM a@b:1 IDENTIFIED BY 'x' junk":                                    "junk",                    // trailing words
		"CLONE INSTANCE FROM a@b:1 IDENTIFIED BY 'x":                                          "'x",                      // unterminated
		"CLONE DONOR READ 'zz' 'data/1.sst' 0 1":                                              "'zz' 'data/1.sst' 0 1",   // id not hex
		"CLONE DONOR READ '01' '../etc/passwd' 0 1":                                           "'../etc/passwd' 0 1",     // path escapes
		"CLONE DONOR READ '01' 'data/a''b' 0 1":                                               "'data/a''b' 0 1",         // quote in a name
		"CLONE DONOR READ '01' 'data/1.sst' -1 1":                                             "-1 1",                    // negative offset
		"CLONE DONOR READ '01' 'data/1.sst' 0":                                                "",
		"CLONE DONOR END ''":                                                                  "''",
		"CLONE INSTANCE FROM a@b:1 IDENTIFIED BY 'x' DATA DIRECTORY '/a' DATA DIRECTORY '/b'": "DATA DIRECTORY '/b'",
		"CLONE INSTANCE FROM a@b:1 IDENTIFIED BY 'x' DATA DIRECTORY ''":                       "''",
	} {
		_, err := Parse(q)
		var se *mysql.SQLError
		if !errors.As(err, &se) || se.Num != ERParseError {
			t.Errorf("%q: %v, want a syntax error", q, err)
			continue
		}
		if want := "near '" + near + "' at line 1"; !strings.HasSuffix(se.Message, want) {
			t.Errorf("%q: %q, want it to end with %q", q, se.Message, want)
		}
	}
	// Not RelayDB's: left to GMS.
	for _, q := range []string{"CLONE", "CLONED", "CLONE LOCAL DATA DIRECTORY '/x'"} {
		if st, err := Parse(q); st != nil || err != nil {
			t.Errorf("%q: claimed as %#v, %v", q, st, err)
		}
	}
}
