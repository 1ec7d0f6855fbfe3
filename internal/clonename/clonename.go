package clonename

import (
	"path"
	"strings"
)

// ID reports a donor session (checkpoint) ID: 1 to 64 lower-case hex digits.
func ID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Path reports a clean relative path of letters, digits and ._-/, at most 255 bytes, that does
// not climb out of its directory.
func Path(name string) bool {
	if name == "" || len(name) > 255 || path.IsAbs(name) || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-/", c)) {
			return false
		}
	}
	return true
}
