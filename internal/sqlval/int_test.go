package sqlval

import (
	"math"
	"testing"
)

func TestInt(t *testing.T) {
	for _, c := range []struct {
		v   any
		x   uint64
		neg bool
		ok  bool
	}{
		{int8(-1), math.MaxUint64, true, true},
		{int64(math.MinInt64), 1 << 63, true, true},
		{uint64(math.MaxUint64), math.MaxUint64, false, true},
		{int32(7), 7, false, true},
		{uint16(9), 9, false, true},
		{"7", 0, false, false},
		{true, 0, false, false},
		{1.5, 0, false, false},
	} {
		x, neg, ok := Int(c.v)
		if x != c.x || neg != c.neg || ok != c.ok {
			t.Errorf("Int(%T %v) = %d, %v, %v; want %d, %v, %v", c.v, c.v, x, neg, ok, c.x, c.neg, c.ok)
		}
	}
}
