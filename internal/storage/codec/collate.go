package codec

import (
	"fmt"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/dolthub/go-mysql-server/sql"
)

// String key modes. Which one a column uses is a pure function of its
// collation, so it is part of the on-disk key format.
const (
	// strModeBytes: the value's bytes, escaped. Used for the binary collation
	// (BINARY, VARBINARY, BLOB), where GMS compares byte by byte.
	strModeBytes uint8 = iota
	// strModeUTF8: the value's UTF-8 bytes, escaped. Used for collations whose
	// rune weight is strictly increasing in the code point (utf8mb4_bin,
	// utf8mb4_0900_bin), where UTF-8 byte order is weight order.
	strModeUTF8
	// strModeWeights: one token per rune holding the collation's weight for it.
	strModeWeights
)

// collInfo is everything the key encoder needs to know about a collation.
type collInfo struct {
	id          sql.CollationID
	mode        uint8
	padSpace    bool  // PAD SPACE: trailing runes weighing the same as ' ' are ignored
	spaceWeight int32 // weight of ' '
	sorter      sql.CollationSorter
	ascii       [utf8.RuneSelf]int32 // weights of the ASCII runes, to skip the sorter's map lookups
}

// identityCollations are the collations whose weight function is strictly
// increasing in the code point over every valid rune (checked by
// TestIdentityCollations), so a string's UTF-8 bytes already sort, and compare
// equal, exactly as its weights do.
var identityCollations = map[sql.CollationID]bool{
	sql.Collation_utf8mb4_0900_bin: true,
	sql.Collation_utf8mb4_bin:      true,
}

var collCache [1024]atomic.Pointer[collInfo]

// collationInfo returns the (cached) key-encoding description of collation c.
func collationInfo(c sql.CollationID) (*collInfo, error) {
	if int(c) < len(collCache) {
		if ci := collCache[c].Load(); ci != nil {
			return ci, nil
		}
	}
	ci, err := newCollInfo(c)
	if err != nil {
		return nil, err
	}
	if int(c) < len(collCache) {
		collCache[c].Store(ci)
	}
	return ci, nil
}

func newCollInfo(c sql.CollationID) (*collInfo, error) {
	ci := &collInfo{id: c}
	if c == sql.Collation_binary {
		ci.mode = strModeBytes
		return ci, nil
	}
	sorter := c.Sorter()
	if sorter == nil {
		return nil, fmt.Errorf("%w: collation %q (id %d) has no sort order in GMS", ErrUnsupportedType, c.Name(), uint16(c))
	}
	ci.sorter = sorter
	ci.padSpace = c.PadAttribute() == "PAD SPACE"
	ci.spaceWeight = sorter(' ')
	for r := rune(0); r < utf8.RuneSelf; r++ {
		ci.ascii[r] = sorter(r)
	}
	if identityCollations[c] {
		ci.mode = strModeUTF8
	} else {
		ci.mode = strModeWeights
	}
	return ci, nil
}

// weight returns the collation weight of r.
func (ci *collInfo) weight(r rune) int32 {
	if r >= 0 && r < utf8.RuneSelf {
		return ci.ascii[r]
	}
	return ci.sorter(r)
}

// sanitizeUTF8 returns s with every byte that is not part of a valid UTF-8
// sequence replaced by U+FFFD, one replacement per byte. This is how GMS
// itself reads such a string when comparing (utf8.DecodeRuneInString yields
// RuneError for each invalid byte), so the key of an invalid string equals the
// key of its sanitized form, exactly as they compare equal in GMS.
func sanitizeUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

// trimPad removes the trailing runes of s whose weight equals the weight of
// ' ', implementing PAD SPACE: the shorter string is compared as if padded
// with spaces, so such trailing runes never change the result of an equality.
func (ci *collInfo) trimPad(s string) string {
	if !ci.padSpace {
		return s
	}
	if ci.mode == strModeUTF8 {
		// The identity collations give only ' ' the weight of ' '.
		end := len(s)
		for end > 0 && s[end-1] == ' ' {
			end--
		}
		return s[:end]
	}
	end := len(s)
	for end > 0 {
		r, size := utf8.DecodeLastRuneInString(s[:end])
		if ci.weight(r) != ci.spaceWeight {
			break
		}
		end -= size
	}
	return s[:end]
}

// appendStringKey appends the key body (everything after the non-NULL marker)
// of a string under collation ci.
func (ci *collInfo) appendStringKey(dst []byte, s string) []byte {
	switch ci.mode {
	case strModeBytes:
		return appendEscaped(dst, s)
	case strModeUTF8:
		return appendEscaped(dst, ci.trimPad(sanitizeUTF8(s)))
	}
	s = ci.trimPad(sanitizeUTF8(s))
	for i := 0; i < len(s); {
		c := s[i]
		var w int32
		if c < utf8.RuneSelf {
			w = ci.ascii[c]
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			w = ci.sorter(r)
			i += size
		}
		dst = appendWeight(dst, w)
	}
	return append(dst, weightTerminator)
}

// stringKeyBodyLen returns the length of a string key body at the start of b.
func (ci *collInfo) stringKeyBodyLen(b []byte) (int, error) {
	if ci.mode != strModeWeights {
		return escapedLen(b)
	}
	for i := 0; i < len(b); {
		n := weightTokenLen(b[i])
		if n == 0 {
			if b[i] == weightTerminator {
				return i + 1, nil
			}
			return 0, corruptf("bad weight token 0x%02x", b[i])
		}
		i += n
	}
	return 0, corruptf("unterminated string key")
}

// Weight tokens. A token's first byte gives its length; tokens sort by weight,
// and every token sorts after the terminator, so a string sorts after its
// prefixes.
//
//	0x00                terminator
//	0x01 b1..b4         negative weight (never produced by GMS's collations), big-endian int32
//	0x02..0x7F          weight 0..0x7D
//	0x80..0xBF + 1 byte weight 0x7E + (14-bit payload)
//	0xC0..0xDF + 2      weight 0x407E + (21-bit payload)
//	0xE0..0xEF + 3      weight 0x20407E + (28-bit payload)
//	0xF0 b1..b4         any other non-negative weight, big-endian
const (
	weightTerminator = 0x00
	w1Max            = 0x7E          // exclusive bound of 1-byte weights
	w2Max            = w1Max + 1<<14 // exclusive bound of 2-byte weights
	w3Max            = w2Max + 1<<21 // exclusive bound of 3-byte weights
	w4Max            = w3Max + 1<<28 // exclusive bound of 4-byte weights
)

func appendWeight(dst []byte, w int32) []byte {
	if w < 0 {
		u := uint32(w)
		return append(dst, 0x01, byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
	}
	u := uint32(w)
	switch {
	case u < w1Max:
		return append(dst, byte(0x02+u))
	case u < w2Max:
		x := u - w1Max
		return append(dst, 0x80|byte(x>>8), byte(x))
	case u < w3Max:
		x := u - w2Max
		return append(dst, 0xC0|byte(x>>16), byte(x>>8), byte(x))
	case u < w4Max:
		x := u - w3Max
		return append(dst, 0xE0|byte(x>>24), byte(x>>16), byte(x>>8), byte(x))
	}
	return append(dst, 0xF0, byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
}

// weightTokenLen returns the length of the token starting with b0, or 0 for
// the terminator and for bytes that cannot start a token.
func weightTokenLen(b0 byte) int {
	switch {
	case b0 == weightTerminator:
		return 0
	case b0 == 0x01:
		return 5
	case b0 < 0x80:
		return 1
	case b0 < 0xC0:
		return 2
	case b0 < 0xE0:
		return 3
	case b0 < 0xF0:
		return 4
	case b0 == 0xF0:
		return 5
	}
	return 0
}

// Escaped byte strings: every 0x00 byte becomes 0x00 0xFF and the string ends
// with 0x00 0x01, so the encoding is self-delimiting and a string sorts
// before every string it is a proper prefix of.
const (
	escByte       = 0x00
	escEscaped    = 0xFF
	escTerminator = 0x01
)

func appendEscaped(dst []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, 0)
		if i < 0 {
			dst = append(dst, s...)
			break
		}
		dst = append(dst, s[:i+1]...)
		dst = append(dst, escEscaped)
		s = s[i+1:]
	}
	return append(dst, escByte, escTerminator)
}

// escapedLen returns the length of the escaped string at the start of b,
// terminator included.
func escapedLen(b []byte) (int, error) {
	for i := 0; i < len(b); i++ {
		if b[i] != escByte {
			continue
		}
		if i+1 >= len(b) {
			break
		}
		switch b[i+1] {
		case escTerminator:
			return i + 2, nil
		case escEscaped:
			i++
		default:
			return 0, corruptf("bad escape 0x00 0x%02x", b[i+1])
		}
	}
	return 0, corruptf("unterminated byte string key")
}
