package codec

import (
	"errors"
	"fmt"
)

var (
	// ErrCorrupt is returned (wrapped) when an encoded row or key is malformed:
	// truncated, with trailing bytes, or with a value that is out of range for
	// its column type.
	ErrCorrupt = errors.New("codec: corrupt encoding")
	// ErrUnsupportedType is returned (wrapped) for column types the codec
	// cannot encode at all.
	ErrUnsupportedType = errors.New("codec: unsupported type")
	// ErrNotIndexable is returned (wrapped) by AppendKey for types that MySQL
	// cannot index directly (JSON).
	ErrNotIndexable = errors.New("codec: type cannot be used in an index key")
	// ErrUnknownFormat is returned (wrapped) by DecodeRow for a row whose
	// format version byte this build does not know.
	ErrUnknownFormat = errors.New("codec: unknown row format version")
)

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}
