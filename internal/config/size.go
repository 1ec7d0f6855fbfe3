package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Size is a byte count that parses from forms such as "1048576", "64M",
// "64MiB", "1.5GiB" or "100MB".
//
// Suffixes are case-insensitive. K, M, G, T (MySQL's option-file style) and
// KiB, MiB, GiB, TiB are powers of 1024; KB, MB, GB, TB are powers of 1000.
type Size int64

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	// Longest suffixes first so "MiB" is not read as "B".
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseSize parses s as described on Size.
func ParseSize(s string) (Size, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	mult := 1.0
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			mult = u.mult
			break
		}
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("invalid size %q: negative", s)
		}
		if float64(n)*mult > math.MaxInt64 {
			return 0, fmt.Errorf("invalid size %q: too large", s)
		}
		return Size(n * int64(mult)), nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("invalid size %q (examples: 1048576, 64M, 256MiB, 1GiB)", s)
	}
	if f < 0 {
		return 0, fmt.Errorf("invalid size %q: negative", s)
	}
	v := f * mult
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return Size(v), nil
}

// Set implements flag.Value.
func (z *Size) Set(s string) error {
	v, err := ParseSize(s)
	if err != nil {
		return err
	}
	*z = v
	return nil
}

// String prints the size in the largest binary unit that divides it.
func (z *Size) String() string {
	if z == nil {
		return "0"
	}
	return z.Format()
}

// Format is String on a value.
func (z Size) Format() string {
	n := int64(z)
	for _, u := range []struct {
		name string
		div  int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.div == 0 {
			return strconv.FormatInt(n/u.div, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}
