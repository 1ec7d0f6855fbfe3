package server

import (
	"errors"
	"testing"

	"github.com/dolthub/vitess/go/mysql"
)

func TestRewriteSetNames(t *testing.T) {
	for in, want := range map[string]string{
		"SET NAMES utf8mb4 COLLATE utf8mb4_general_ci":      "SET NAMES utf8mb4, collation_connection = 'utf8mb4_general_ci'",
		"set names 'utf8mb4' collate 'utf8mb4_unicode_ci';": "set names 'utf8mb4', collation_connection = 'utf8mb4_unicode_ci';",
		"SET NAMES utf8mb4": "SET NAMES utf8mb4, collation_connection = 'utf8mb4_0900_ai_ci'",
		"SET NAMES latin1":  "SET NAMES latin1, collation_connection = 'latin1_swedish_ci'",
		"SET NAMES utf8mb4 COLLATE utf8mb4_bin, autocommit = 1": "SET NAMES utf8mb4, collation_connection = 'utf8mb4_bin', autocommit = 1",
		"SET NAMES utf8mb4 COLLATE utf8mb4_bin; SELECT 1":       "SET NAMES utf8mb4, collation_connection = 'utf8mb4_bin'; SELECT 1",
		"SET NAMES DEFAULT":          "SET NAMES DEFAULT",
		"SET autocommit = 1":         "SET autocommit = 1",
		"SELECT 'SET NAMES utf8mb4'": "SELECT 'SET NAMES utf8mb4'",
		"        x":                  "        x", // long enough, but under three characters once trimmed
		"\t\n  \t  \n ;":             "\t\n  \t  \n ;",
	} {
		got, err := rewriteSetNames(in)
		if err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for in, code := range map[string]int{
		"SET NAMES utf8mb4 COLLATE nosuch_ci":         mysql.ERUnknownCollation,
		"SET NAMES utf8mb4 COLLATE latin1_swedish_ci": mysql.ERCollationCharsetMismatch,
	} {
		_, err := rewriteSetNames(in)
		var se *mysql.SQLError
		if !errors.As(err, &se) || se.Num != code {
			t.Errorf("%q: %v, want error %d", in, err, code)
		}
	}
}
