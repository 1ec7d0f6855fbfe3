package mariadb

import (
	"database/sql"
	"testing"
)

func TestStart(t *testing.T) {
	s := Start(t)
	db, err := sql.Open("mysql", s.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRow("SELECT VERSION()").Scan(&v); err != nil {
		t.Fatal(err)
	}
	t.Logf("MariaDB %s on port %d", v, s.Port)
}
