package commitlog

import (
	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/gtid"
)

// DecodeState returns what a state record (as stored with the data, see storage.Engine.LogState)
// says: the binlog position and gtid_executed the store held when it was written. A physical
// clone reads it from a checkpoint to know which transactions the copy contains.
func DecodeState(b []byte) (binlog.Position, gtid.Set, error) {
	st, err := decodeState(b)
	return st.pos, st.executed, err
}
