package codec

import (
	"context"
	"fmt"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/relaydb/relaydb/internal/sqlval"
)

// convCtx is the context handed to GMS's Convert functions. They only use it
// to unwrap wrapped values and to look up the SQL mode; the zero-config
// background context gives the permissive behavior, which is what we want
// for values that GMS has already validated.
var convCtx = context.Background()

// convert runs v through t.Convert, the way GMS coerces a value into a
// column's type, and rejects values that GMS would clamp.
func convert(t sql.Type, v any) (any, error) {
	if w, ok := v.(sql.AnyWrapper); ok {
		u, err := w.UnwrapAny(convCtx)
		if err != nil {
			return nil, err
		}
		v = u
	}
	out, inRange, err := t.Convert(convCtx, v)
	if err != nil {
		return nil, err
	}
	if inRange != sql.InRange {
		return nil, fmt.Errorf("codec: value %v (%T) is out of range for %s", v, v, t)
	}
	return out, nil
}

// asInt64 returns v, which must be a value of a signed integer kind (or
// convertible to one), checked against the kind's range.
func asInt64(t sql.Type, k kind, v any) (int64, error) {
	x, neg, ok := sqlval.Int(v)
	if !ok {
		c, err := convert(t, v)
		if err != nil {
			return 0, err
		}
		if x, neg, ok = sqlval.Int(c); !ok {
			return 0, fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
		}
	}
	lo, hi := intRange(k)
	if neg {
		if int64(x) < lo {
			return 0, fmt.Errorf("codec: value %d is out of range for %s", int64(x), t)
		}
		return int64(x), nil
	}
	if x > uint64(hi) {
		return 0, fmt.Errorf("codec: value %d is out of range for %s", x, t)
	}
	return int64(x), nil
}

// asUint64 is asInt64 for unsigned kinds.
func asUint64(t sql.Type, k kind, v any) (uint64, error) {
	x, neg, ok := sqlval.Int(v)
	if !ok {
		c, err := convert(t, v)
		if err != nil {
			return 0, err
		}
		if x, neg, ok = sqlval.Int(c); !ok {
			return 0, fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
		}
	}
	if neg || x > uintMax(k) {
		if neg {
			return 0, fmt.Errorf("codec: value %d is out of range for %s", int64(x), t)
		}
		return 0, fmt.Errorf("codec: value %d is out of range for %s", x, t)
	}
	return x, nil
}

// asTime returns v as a time.Time.
func asTime(t sql.Type, v any) (time.Time, error) {
	if tm, ok := v.(time.Time); ok {
		return tm, nil
	}
	c, err := convert(t, v)
	if err != nil {
		return time.Time{}, err
	}
	tm, ok := c.(time.Time)
	if !ok {
		return time.Time{}, fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
	}
	return tm, nil
}

// asFloat64 returns v as a float64 (the precision GMS compares floats in).
func asFloat64(t sql.Type, v any) (float64, error) {
	switch f := v.(type) {
	case float64:
		return f, nil
	case float32:
		return float64(f), nil
	}
	if x, neg, ok := sqlval.Int(v); ok {
		if neg {
			return float64(int64(x)), nil
		}
		return float64(x), nil
	}
	c, err := convert(t, v)
	if err != nil {
		return 0, err
	}
	switch f := c.(type) {
	case float64:
		return f, nil
	case float32:
		return float64(f), nil
	}
	return 0, fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
}

// asStringBytes returns the bytes of a string or binary value. GMS uses
// string for character types and []byte for binary ones; both are accepted
// for either.
func asStringBytes(t sql.Type, v any) (string, error) {
	switch s := v.(type) {
	case string:
		return s, nil
	case []byte:
		return unsafeString(s), nil
	}
	c, err := convert(t, v)
	if err != nil {
		return "", err
	}
	switch s := c.(type) {
	case string:
		return s, nil
	case []byte:
		return unsafeString(s), nil
	}
	return "", fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
}

// asGeometry returns v as a GMS geometry value.
func asGeometry(t sql.Type, v any) (types.GeometryValue, error) {
	if g, ok := v.(types.GeometryValue); ok {
		return g, nil
	}
	c, err := convert(t, v)
	if err != nil {
		return nil, err
	}
	g, ok := c.(types.GeometryValue)
	if !ok {
		return nil, fmt.Errorf("codec: %s converted %v to unexpected %T", t, v, c)
	}
	return g, nil
}
