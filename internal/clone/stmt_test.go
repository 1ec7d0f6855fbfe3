package clone

import (
	"errors"
	"path"
	"strings"
	"testing"
)

func TestParseCloneInstance(t *testing.T) {
	cases := []struct {
		q    string
		want Statement
	}{
		{"CLONE INSTANCE FROM 'cloner'@'10.0.0.2':3306 IDENTIFIED BY 'pw'",
			Statement{Kind: "INSTANCE", Source: Source{User: "cloner", Host: "10.0.0.2", Port: 3306, Password: "pw"}}},
		{"clone instance from cloner@127.0.0.1:33060 identified by 'p''w\\'x' data directory = '/var/lib/new';",
			Statement{Kind: "INSTANCE", Source: Source{User: "cloner", Host: "127.0.0.1", Port: 33060, Password: "p'w'x"}, DataDir: "/var/lib/new"}},
		{"CLONE INSTANCE FROM `u`@`db-1.example`:1 IDENTIFIED BY \"x\" DATA DIRECTORY '/d' REQUIRE NO SSL",
			Statement{Kind: "INSTANCE", Source: Source{User: "u", Host: "db-1.example", Port: 1, Password: "x"}, DataDir: "/d"}},
		{"CLONE DONOR BEGIN", Statement{Kind: "BEGIN"}},
		{"CLONE DONOR READ '0a1b' 'data/000012.sst' 4194304 1048576",
			Statement{Kind: "READ", ID: "0a1b", File: "data/000012.sst", Offset: 4194304, Length: 1048576}},
		{"CLONE DONOR END 'ff00'", Statement{Kind: "END", ID: "ff00"}},
	}
	for _, c := range cases {
		got, err := Parse(c.q)
		if err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		got.RequireSSL = nil
		if *got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.q, *got, c.want)
		}
	}
	st, err := Parse("CLONE INSTANCE FROM a@b:1 IDENTIFIED BY '' REQUIRE SSL")
	if err != nil || st.RequireSSL == nil || !*st.RequireSSL {
		t.Errorf("REQUIRE SSL: %+v, %v", st, err)
	}
}

func TestParseRejects(t *testing.T) {
	for _, q := range []string{
		"CLONE",
		"CLONE INSTANCE FROM a@b IDENTIFIED BY 'x'",        // no port
		"CLONE INSTANCE FROM a@b:0 IDENTIFIED BY 'x'",      // port 0
		"CLONE INSTANCE FROM a@b:70000 IDENTIFIED BY 'x'",  // port too large
		"CLONE INSTANCE FROM a@b:1 IDENTIFIED BY x",        // unquoted password
		"CLONE INSTANCE FROM a@b:1 IDENTIFIED BY 'x' DATA", // incomplete
		"CLONE INSTANCE FROM a@b:1 IDENTIFIED BY 'x' junk", // trailing words
		"CLONE INSTANCE FROM a@b:1 IDENTIFIED BY 'x",       // unterminated
		"CLONE DONOR READ 'zz' 'data/1.sst' 0 1",           // id not hex
		"CLONE DONOR READ '01' '../etc/passwd' 0 1",        // path escapes
		"CLONE DONOR READ '01' 'data/a''b' 0 1",            // quote in a name
		"CLONE DONOR READ '01' 'data/1.sst' -1 1",          // negative offset
		"CLONE LOCAL DATA DIRECTORY '/x'",                  // not supported
		"CLONE INSTANCE FROM a@b:1 IDENTIFIED BY 'x' DATA DIRECTORY '/a' DATA DIRECTORY '/b'",
	} {
		_, err := Parse(q)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: got %v, want a syntax error", q, err)
		} else if !strings.Contains(se.Error(), "You have an error in your SQL syntax") {
			t.Errorf("%s: %v", q, se)
		}
	}
}

func TestIsCloneStatement(t *testing.T) {
	for q, want := range map[string]bool{"  clone instance": true, "CLONE\tDONOR": true, "CLONED": false, "CLONE": false, "SELECT 1": false} {
		if got := IsCloneStatement(q); got != want {
			t.Errorf("IsCloneStatement(%q) = %v", q, got)
		}
	}
}

// FuzzParse: any input gives a statement or an error, never a panic, and a READ never names a
// file outside a clone root.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"CLONE INSTANCE FROM 'cloner'@'10.0.0.2':3306 IDENTIFIED BY 'pw' DATA DIRECTORY = '/x'",
		"CLONE DONOR READ '0a' 'data/000001.sst' 0 4194304",
		"CLONE DONOR END 'ab'",
		"CLONE INSTANCE FROM `u`@\"h\":1 IDENTIFIED BY 'a\\'b' REQUIRE NO SSL;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		st, err := Parse(q)
		if err != nil {
			return
		}
		if st.Kind == "READ" && (!validName(st.File) || st.File != accountsFileName && (path.Dir(st.File) != storeDirName || path.Base(st.File) == "..")) {
			t.Fatalf("READ of %q accepted", st.File)
		}
		if st.Kind == "INSTANCE" && (st.Source.Port <= 0 || st.Source.Port > 65535) {
			t.Fatalf("port %d accepted", st.Source.Port)
		}
	})
}
