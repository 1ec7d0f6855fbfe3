package test

import (
	"testing"
)

// TestExecutableComments: a statement sent as text runs /*!NNNNN … */ only when NNNNN is at most
// the server's version (8.0.36) and never runs MariaDB's /*M! … */ (a plain comment to MySQL), so
// the first line of a mariadb-dump file, /*M!999999\- enable the sandbox mode */, no longer fails
// with 1064 when a client sends it (go-sql-driver here; the mariadb CLI strips it itself).
func TestExecutableComments(t *testing.T) {
	n := startNode(t, "")
	db := n.db("")
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, tc := range []struct{ q, want string }{
		{"/*M!999999\\- enable the sandbox mode */ SELECT 'sandbox line skipped'", "sandbox line skipped"},
		{"/*!99999 SELECT 'too new' */ SELECT 'version above 8.0.36 skipped'", "version above 8.0.36 skipped"},
		{"SELECT /*M!100100 'mariadb', */ 'mysql'", "mysql"},
		{"SELECT /*!40101 'version 4.1.1 runs' */", "version 4.1.1 runs"},
		{"SELECT /*! 'run' */", "run"},
		{"SELECT '/*M! kept in a string */'", "/*M! kept in a string */"},
	} {
		var got string
		if err := conn.QueryRowContext(t.Context(), tc.q).Scan(&got); err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.q, got, err, tc.want)
		}
	}
	// The session-variable lines every dump starts with run, versions below 8.0.36 included.
	for _, q := range []string{
		"/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */",
		"/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */",
		"/*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */",
	} {
		if _, err := conn.ExecContext(t.Context(), q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	var tz string
	if err := conn.QueryRowContext(t.Context(), "SELECT @OLD_TIME_ZONE").Scan(&tz); err != nil || tz == "" {
		t.Errorf("/*!40103 … */ did not run: @OLD_TIME_ZONE = %q, %v", tz, err)
	}
}
