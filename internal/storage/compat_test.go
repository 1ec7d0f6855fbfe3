package storage

import (
	"strings"
	"testing"
)

// TestForeignKeyIndexReplaced: the index made for a foreign key that had none gives way, as in
// MySQL, to an index added later whose leading columns are the key's; other indexes leave it.
func TestForeignKeyIndexReplaced(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE p (id INT PRIMARY KEY, k INT, UNIQUE KEY (id, k))")
	s.mustExec("CREATE TABLE c (id INT PRIMARY KEY, pid INT, note VARCHAR(10), CONSTRAINT fk FOREIGN KEY (pid) REFERENCES p (id))")
	indexes := func() string {
		var names []string
		for _, r := range s.mustExec("SHOW INDEX FROM c") {
			names = append(names, r[2].(string)+"."+r[4].(string))
		}
		return strings.Join(names, " ")
	}
	if got := indexes(); got != "PRIMARY.id fk.pid" {
		t.Fatalf("indexes after CREATE TABLE: %s", got)
	}
	s.mustExec("ALTER TABLE c ADD INDEX ix_note (note, pid)") // does not lead with pid
	if got := indexes(); got != "PRIMARY.id fk.pid ix_note.note ix_note.pid" {
		t.Fatalf("an index not serving the key replaced its index: %s", got)
	}
	h.reopen() // the mark survives a restart
	s = h.session()
	s.db = "d"
	s.mustExec("ALTER TABLE c ADD INDEX ix_pid (pid, note)")
	if got := indexes(); got != "PRIMARY.id ix_note.note ix_note.pid ix_pid.pid ix_pid.note" {
		t.Fatalf("indexes after adding one that serves the key: %s", got)
	}
	if _, err := s.query("ALTER TABLE c DROP INDEX ix_pid"); err == nil {
		t.Fatal("dropped the only index the foreign key can use")
	}
	// An index the user made for the key is never dropped for another.
	s.mustExec("CREATE TABLE c2 (id INT PRIMARY KEY, pid INT, KEY mine (pid), CONSTRAINT fk2 FOREIGN KEY (pid) REFERENCES p (id))")
	s.mustExec("ALTER TABLE c2 ADD INDEX ix2 (pid, id)")
	var got []string
	for _, r := range s.mustExec("SHOW INDEX FROM c2") {
		got = append(got, r[2].(string))
	}
	if strings.Join(got, " ") != "PRIMARY ix2 ix2 mine" {
		t.Fatalf("indexes of c2: %v", got)
	}
}

// TestDuplicateKeyNoted: a refused duplicate leaves the key and entry MySQL's error names on
// the session, once, while the error stays GMS's.
func TestDuplicateKeyNoted(t *testing.T) {
	h := newHarness(t)
	s := h.session()
	s.mustExec("CREATE DATABASE d")
	s.db = "d"
	s.mustExec("CREATE TABLE t (a INT, b VARCHAR(10), u VARCHAR(10), PRIMARY KEY (a, b), UNIQUE KEY uk (u))")
	s.mustExec("INSERT INTO t VALUES (1, 'x', 'one')")
	for _, c := range []struct{ q, key, entry, gms string }{
		{"INSERT INTO t VALUES (1, 'x', 'two')", "PRIMARY", "1-x", "[1,x]"},
		{"INSERT INTO t VALUES (2, 'y', 'one')", "uk", "one", "[one]"},
		{"UPDATE t SET u = 'one' WHERE a = 1 AND b = 'y'", "", "", ""}, // no row: no note
	} {
		_, err := s.query(c.q)
		key, entry, gmsKey, ok := s.s.TakeDuplicateKey()
		if c.key == "" {
			if err != nil || ok {
				t.Errorf("%s: error %v, note %v", c.q, err, ok)
			}
			continue
		}
		if errCode(err) != 1062 || !strings.Contains(err.Error(), "duplicate") {
			t.Errorf("%s: %v, want GMS's duplicate key error", c.q, err)
		}
		if !ok || key != c.key || entry != c.entry || gmsKey != c.gms {
			t.Errorf("%s: noted %q %q %q (%v), want %q %q %q", c.q, key, entry, gmsKey, ok, c.key, c.entry, c.gms)
		}
		if _, _, _, again := s.s.TakeDuplicateKey(); again {
			t.Errorf("%s: the note was taken twice", c.q)
		}
	}
}
