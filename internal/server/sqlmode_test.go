package server

import "testing"

func TestSQLModeNames(t *testing.T) {
	for in, want := range map[string]string{
		"1168113696":                      "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION",
		"[49 49 54 56 49 49 51 54 57 54]": "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION",
		"0":                               "",
		"268435456":                       "", // NO_AUTO_CREATE_USER, removed in MySQL 8: ignored
		"4294967296":                      "TIME_TRUNCATE_FRACTIONAL",
	} {
		if got, ok := sqlModeNames(in); !ok || got != want {
			t.Errorf("sqlModeNames(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []any{"16", "ANSI_QUOTES", "-1", int64(32), "[300]"} {
		if got, ok := sqlModeNames(in); ok {
			t.Errorf("sqlModeNames(%v) = %q, want no conversion", in, got)
		}
	}
}
