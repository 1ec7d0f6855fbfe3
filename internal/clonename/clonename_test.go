package clonename

import (
	"strings"
	"testing"
)

func TestID(t *testing.T) {
	for id, want := range map[string]bool{
		"0a9f":                  true,
		strings.Repeat("a", 64): true,
		"":                      false,
		strings.Repeat("a", 65): false,
		"0A9F":                  false, // upper case
		"0a9g":                  false,
		"0a 9":                  false,
	} {
		if got := ID(id); got != want {
			t.Errorf("ID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestPath(t *testing.T) {
	for name, want := range map[string]bool{
		"mysql.db":               true,
		"data/000012.sst":        true,
		"data/MANIFEST-000001":   true,
		strings.Repeat("a", 255): true,
		"":                       false,
		strings.Repeat("a", 256): false,
		"/etc/passwd":            false,
		"..":                     false,
		"../x":                   false,
		"data/../../x":           false, // not clean
		"data//x":                false,
		"./x":                    false,
		"data/x y":               false,
		"data/ü":                 false,
		"data\\x":                false,
	} {
		if got := Path(name); got != want {
			t.Errorf("Path(%q) = %v, want %v", name, got, want)
		}
	}
}
