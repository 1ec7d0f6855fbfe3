package sqltext

import (
	"strings"
	"testing"
)

func TestDropUnexecutedComments(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{`/*M!999999\- enable the sandbox mode */`, " "},
		{"/*M!999999\\- enable the sandbox mode */\nSELECT 1", " \nSELECT 1"},
		{"/*!40101 SET NAMES utf8mb4 */", "/*!40101 SET NAMES utf8mb4 */"},
		{"/*!80036 SET @a = 1 */", "/*!80036 SET @a = 1 */"},
		{"/*!80037 SET @a = 1 */", " "},
		{"/*!99999 SET @a = 1 */ SELECT 2", "  SELECT 2"},
		{"/*!100101 SET @a = 1 */", " "},
		{"/*! SET @a = 1 */", "/*! SET @a = 1 */"},
		{"/* plain */ SELECT 1", "/* plain */ SELECT 1"},
		{"SELECT '/*M! not a comment */'", "SELECT '/*M! not a comment */'"},
		{`SELECT "it's \" /*!99999 x */"`, `SELECT "it's \" /*!99999 x */"`},
		{"SELECT `a/*M!b*/`", "SELECT `a/*M!b*/`"},
		{"SELECT 1 -- /*M! x */\n/*M!100000 y */", "SELECT 1 -- /*M! x */\n "},
		{"SELECT 1 # /*M! x */\n", "SELECT 1 # /*M! x */\n"},
		{"SELECT 1 /*M! unterminated", "SELECT 1 /*M! unterminated"},
		{"SELECT 'unterminated /*M! x */", "SELECT 'unterminated /*M! x */"},
		{"SELECT 1;/*M!100100 SET x*/SELECT 2", "SELECT 1; SELECT 2"},
	} {
		if got := DropUnexecutedComments(tc.in); got != tc.want {
			t.Errorf("DropUnexecutedComments(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzDropUnexecutedComments: any text is accepted without a panic; the result is never longer,
// the rewrite is idempotent, and a text without "/*" comes back unchanged.
func FuzzDropUnexecutedComments(f *testing.F) {
	for _, s := range []string{"SELECT 1", "/*M!999999\\- x */", "/*!99999 a*/'/*M!'", "`/*!", "'\\'/*M!*/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := DropUnexecutedComments(s)
		if len(got) > len(s) {
			t.Fatalf("%q grew to %q", s, got)
		}
		if again := DropUnexecutedComments(got); again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, got, again)
		}
		if !strings.Contains(s, "/*") && got != s {
			t.Fatalf("%q changed to %q without a comment", s, got)
		}
	})
}
