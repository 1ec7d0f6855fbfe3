package sqltext

import "strings"

// ServerVersionID is the version MySQL compares /*!NNNNN … */ with: RelayDB reports 8.0.36.
const ServerVersionID = 80036

// DropUnexecutedComments returns q with every executable comment MySQL would not execute
// replaced by a space: MariaDB's /*M! … */, and /*!NNNNN … */ whose version NNNNN is above
// ServerVersionID. The others are left for the parser, which runs their text.
func DropUnexecutedComments(q string) string {
	if !strings.Contains(q, "/*!") && !strings.Contains(q, "/*M!") {
		return q
	}
	var b strings.Builder
	last := 0 // q[last:i] is still to be copied
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(q, i)
		case c == '#' || c == '-' && strings.HasPrefix(q[i:], "-- ") || c == '-' && strings.HasPrefix(q[i:], "--\t"):
			if j := strings.IndexByte(q[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(q)
			}
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				i = len(q) // unterminated: the parser says so
				break
			}
			end += i + 4
			if unexecuted(q[i:end]) {
				if b.Len() == 0 {
					b.Grow(len(q))
				}
				b.WriteString(q[last:i])
				b.WriteByte(' ')
				last = end
			}
			i = end
		default:
			i++
		}
	}
	if last == 0 {
		return q
	}
	b.WriteString(q[last:])
	return b.String()
}

// unexecuted reports whether the comment c (from "/*" to "*/") is one MySQL does not run.
func unexecuted(c string) bool {
	switch {
	case strings.HasPrefix(c, "/*M!"):
		return true
	case strings.HasPrefix(c, "/*!"):
		digits := 0
		for digits < 6 && 3+digits < len(c) && c[3+digits] >= '0' && c[3+digits] <= '9' {
			digits++
		}
		if digits < 5 {
			return false // no version: always run
		}
		v := 0
		for _, d := range c[3 : 3+digits] {
			v = v*10 + int(d-'0')
		}
		return v > ServerVersionID
	}
	return false
}

// skipQuoted returns the index just past the quoted string or identifier starting at q[i].
// Backslash escapes count in '…' and "…" (the default sql_mode); a doubled quote is read as two
// strings one after the other, which ends at the same place.
func skipQuoted(q string, i int) int {
	quote := q[i]
	for j := i + 1; j < len(q); j++ {
		switch q[j] {
		case '\\':
			if quote != '`' {
				j++
			}
		case quote:
			return j + 1
		}
	}
	return len(q)
}
