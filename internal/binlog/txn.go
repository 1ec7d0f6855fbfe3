package binlog

import (
	"fmt"
	"strings"

	"github.com/relaydb/relaydb/internal/gtid"
)

// txnState follows transaction boundaries through a stream of events. A transaction is:
//
//	GTID [INTVAR|RAND|USER_VAR]* QUERY(not BEGIN)            a self-committing statement (DDL)
//	GTID QUERY(BEGIN) … (XID | QUERY(COMMIT|ROLLBACK) | XA_PREPARE)
//
// and, in files without GTIDs, the same without the leading GTID event. Between transactions
// only file-level events may appear (FORMAT_DESCRIPTION, PREVIOUS_GTIDS, ROTATE, STOP,
// INCIDENT, HEARTBEAT, IGNORABLE).
type txnState struct {
	f     Format
	phase int
	// Set when a transaction is open: its GTID event (if any) and how many events it has.
	gtid      GTIDEvent
	hasGTID   bool
	nEvents   int
	startType EventType
}

const (
	phaseIdle   = iota // between transactions
	phasePrefix        // after GTID (or INTVAR/RAND/USER_VAR): waiting for BEGIN or a statement
	phaseBody          // after BEGIN: waiting for XID or COMMIT
)

// boundary says what an event did to the transaction structure.
type boundary int

const (
	outside  boundary = iota // a file-level event between transactions
	inside                   // opened or continued a transaction
	complete                 // closed a transaction
)

func (s *txnState) open() bool { return s.phase != phaseIdle }

// feed classifies ev. An error means the event cannot appear where it is.
func (s *txnState) feed(ev Event) (boundary, error) {
	t := ev.Type()
	switch s.phase {
	case phaseIdle:
		switch t {
		case TypeFormatDescription, TypePreviousGTIDs, TypeRotate, TypeStop, TypeIncident,
			TypeHeartbeat, TypeHeartbeatV2, TypeIgnorable:
			return outside, nil
		case TypeGTID, TypeAnonymousGTID:
			g, err := DecodeGTID(s.f, ev)
			if err != nil {
				return inside, err
			}
			*s = txnState{f: s.f, phase: phasePrefix, gtid: g, hasGTID: true, nEvents: 1, startType: t}
			return inside, nil
		case TypeIntVar, TypeRand, TypeUserVar:
			*s = txnState{f: s.f, phase: phasePrefix, nEvents: 1, startType: t}
			return inside, nil
		case TypeQuery:
			*s = txnState{f: s.f, phase: phasePrefix, startType: t}
			return s.feed(ev)
		}
		return inside, fmt.Errorf("%s event outside a transaction", t)
	case phasePrefix:
		s.nEvents++
		switch t {
		case TypeIntVar, TypeRand, TypeUserVar:
			return inside, nil
		case TypeQuery:
			q, err := DecodeQuery(s.f, ev)
			if err != nil {
				return inside, err
			}
			if isStatement(q.SQL, "BEGIN") || isStatement(q.SQL, "XA START") {
				s.phase = phaseBody
				return inside, nil
			}
			s.phase = phaseIdle
			return complete, nil
		}
		return inside, fmt.Errorf("%s event where BEGIN or a statement was expected", t)
	default: // phaseBody
		s.nEvents++
		switch t {
		case TypeXID, TypeXAPrepare:
			s.phase = phaseIdle
			return complete, nil
		case TypeQuery:
			q, err := DecodeQuery(s.f, ev)
			if err != nil {
				return inside, err
			}
			if isStatement(q.SQL, "COMMIT") || isStatement(q.SQL, "ROLLBACK") {
				s.phase = phaseIdle
				return complete, nil
			}
			return inside, nil
		case TypeFormatDescription, TypePreviousGTIDs, TypeRotate, TypeStop, TypeGTID, TypeAnonymousGTID:
			return inside, fmt.Errorf("%s event inside a transaction that was not committed", t)
		}
		return inside, nil
	}
}

// isStatement reports whether sql is the keyword kw, ignoring case, surrounding space and
// anything after a space (XA START 'x').
func isStatement(sql, kw string) bool {
	sql = strings.TrimSpace(sql)
	if len(sql) < len(kw) || !strings.EqualFold(sql[:len(kw)], kw) {
		return false
	}
	return len(sql) == len(kw) || sql[len(kw)] == ' ' || sql[len(kw)] == '\t' || sql[len(kw)] == '\n'
}

// describe names the open transaction for reports: its GTID, or "anonymous transaction".
func (s *txnState) describe() string {
	if s.hasGTID && !s.gtid.Anonymous {
		return "transaction " + s.gtid.GTID.String()
	}
	return "anonymous transaction"
}

// Transaction is one complete transaction read back from a binlog.
type Transaction struct {
	// GTID is the transaction's GTID; Anonymous is set when it has none.
	GTID      gtid.GTID
	Anonymous bool
	// LastCommitted and SequenceNumber are its logical clock (see GTIDEvent).
	LastCommitted, SequenceNumber int64
	File                          string
	// Start and End are the file offsets of its first byte and just past its last.
	Start, End uint64
	Events     []Event
}

// checkTxn verifies that events form exactly one complete transaction starting with a GTID
// event, and returns that event's content.
func checkTxn(f Format, events Txn) (GTIDEvent, error) {
	if len(events) == 0 {
		return GTIDEvent{}, fmt.Errorf("empty transaction")
	}
	if len(events[0]) < HeaderLen || (events[0].Type() != TypeGTID && events[0].Type() != TypeAnonymousGTID) {
		return GTIDEvent{}, fmt.Errorf("transaction does not start with a GTID event")
	}
	s := txnState{f: f}
	for i, ev := range events {
		if err := f.checkFrame(ev); err != nil {
			return GTIDEvent{}, fmt.Errorf("event %d: %w", i, err)
		}
		b, err := s.feed(ev)
		if err != nil {
			return GTIDEvent{}, fmt.Errorf("event %d: %w", i, err)
		}
		if b == complete && i != len(events)-1 {
			return GTIDEvent{}, fmt.Errorf("transaction ends at event %d of %d", i, len(events))
		}
		if b == outside {
			return GTIDEvent{}, fmt.Errorf("event %d: %s event inside a transaction", i, ev.Type())
		}
	}
	if s.open() {
		return GTIDEvent{}, fmt.Errorf("%s does not end with XID or COMMIT", s.describe())
	}
	return s.gtid, nil
}
