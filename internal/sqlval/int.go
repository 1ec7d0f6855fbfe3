package sqlval

// Int reports whether v is a Go integer (any width, signed or not) and returns it as a two's
// complement bit pattern plus a sign: the value is int64(x) when neg is true, x otherwise.
func Int(v any) (x uint64, neg bool, ok bool) {
	switch n := v.(type) {
	case int:
		return uint64(n), n < 0, true
	case int8:
		return uint64(n), n < 0, true
	case int16:
		return uint64(n), n < 0, true
	case int32:
		return uint64(n), n < 0, true
	case int64:
		return uint64(n), n < 0, true
	case uint:
		return uint64(n), false, true
	case uint8:
		return uint64(n), false, true
	case uint16:
		return uint64(n), false, true
	case uint32:
		return uint64(n), false, true
	case uint64:
		return n, false, true
	}
	return 0, false, false
}
