package binlogtool

import (
	"fmt"
	"strings"

	"github.com/relaydb/relaydb/internal/binlog"
)

// posEvent is an event with its start offset in its file.
type posEvent struct {
	ev  binlog.Event
	off int64
}

// txn is one transaction as the file holds it:
//
//	GTID [INTVAR|RAND|USER_VAR]* QUERY(not BEGIN)         a self-committing statement (DDL)
//	GTID QUERY(BEGIN) … (XID | QUERY(COMMIT|ROLLBACK) | XA_PREPARE)
//
// or the same without the GTID event in files written without GTIDs.
type txn struct {
	events  []posEvent
	gtid    binlog.GTIDEvent
	hasGTID bool // a GTID (not anonymous) event opened it
}

func (t *txn) start() int64 { return t.events[0].off }

// timestamp is the time of the transaction's first event, which the datetime filters compare.
func (t *txn) timestamp() uint32 { return t.events[0].ev.Timestamp() }

// grouper cuts a file's event stream into transactions and file-level events, as the binlog
// package's reader does, but keeps every event's offset and can start in the middle of a
// transaction (after --start-position).
type grouper struct {
	f      binlog.Format
	cur    *txn
	inBody bool // after BEGIN: waiting for the end
	// skipping is set after a seek: events before the next transaction start are dropped.
	skipping bool
}

type fed int

const (
	fedFileLevel fed = iota // an event between transactions
	fedInside               // opened or continued a transaction
	fedComplete             // ended a transaction: take it with done()
	fedSkipped              // dropped: the rest of a transaction that began before the start position
)

func isFileLevel(t binlog.EventType) bool {
	switch t {
	case binlog.TypeFormatDescription, binlog.TypePreviousGTIDs, binlog.TypeRotate, binlog.TypeStop,
		binlog.TypeIncident, binlog.TypeHeartbeat, binlog.TypeHeartbeatV2, binlog.TypeIgnorable:
		return true
	}
	return false
}

// feed classifies the next event. An error means it cannot appear where it does.
func (g *grouper) feed(ev binlog.Event, off int64) (fed, error) {
	t := ev.Type()
	if g.cur == nil {
		if isFileLevel(t) {
			return fedFileLevel, nil
		}
		begins := t == binlog.TypeGTID || t == binlog.TypeAnonymousGTID
		if g.skipping && !begins && !(t == binlog.TypeQuery && g.queryIs(ev, "BEGIN")) {
			return fedSkipped, nil
		}
		g.skipping = false
		g.cur, g.inBody = &txn{}, false
		switch t {
		case binlog.TypeGTID, binlog.TypeAnonymousGTID:
			gt, err := binlog.DecodeGTID(g.f, ev)
			if err != nil {
				return fedInside, err
			}
			g.cur.gtid, g.cur.hasGTID = gt, !gt.Anonymous
			g.cur.events = append(g.cur.events, posEvent{ev, off})
			return fedInside, nil
		case binlog.TypeIntVar, binlog.TypeRand, binlog.TypeUserVar, binlog.TypeQuery:
			return g.prefix(ev, off)
		}
		g.cur = nil
		return fedInside, fmt.Errorf("%s event outside a transaction", t)
	}
	if !g.inBody {
		return g.prefix(ev, off)
	}
	g.cur.events = append(g.cur.events, posEvent{ev, off})
	switch t {
	case binlog.TypeXID, binlog.TypeXAPrepare:
		return fedComplete, nil
	case binlog.TypeQuery:
		if g.queryIs(ev, "COMMIT") || g.queryIs(ev, "ROLLBACK") {
			return fedComplete, nil
		}
	case binlog.TypeFormatDescription, binlog.TypePreviousGTIDs, binlog.TypeRotate, binlog.TypeStop,
		binlog.TypeGTID, binlog.TypeAnonymousGTID:
		return fedInside, fmt.Errorf("%s event inside a transaction that was not committed", t)
	}
	return fedInside, nil
}

// prefix handles an event after the GTID event and before BEGIN.
func (g *grouper) prefix(ev binlog.Event, off int64) (fed, error) {
	g.cur.events = append(g.cur.events, posEvent{ev, off})
	switch ev.Type() {
	case binlog.TypeIntVar, binlog.TypeRand, binlog.TypeUserVar:
		return fedInside, nil
	case binlog.TypeQuery:
		q, err := binlog.DecodeQuery(g.f, ev)
		if err != nil {
			return fedInside, err
		}
		if statementIs(q.SQL, "BEGIN") || statementIs(q.SQL, "XA START") {
			g.inBody = true
			return fedInside, nil
		}
		return fedComplete, nil
	}
	return fedInside, fmt.Errorf("%s event where BEGIN or a statement was expected", ev.Type())
}

// done returns the transaction that fedComplete ended.
func (g *grouper) done() *txn {
	t := g.cur
	g.cur = nil
	return t
}

// open returns the transaction still open, if any.
func (g *grouper) open() *txn { return g.cur }

func (g *grouper) queryIs(ev binlog.Event, kw string) bool {
	q, err := binlog.DecodeQuery(g.f, ev)
	return err == nil && statementIs(q.SQL, kw)
}

// statementIs reports whether sql is the keyword kw (any case, surrounding space, and anything
// after a space, as in XA START 'x').
func statementIs(sql, kw string) bool {
	sql = strings.TrimSpace(sql)
	if len(sql) < len(kw) || !strings.EqualFold(sql[:len(kw)], kw) {
		return false
	}
	return len(sql) == len(kw) || strings.ContainsRune(" \t\n\r", rune(sql[len(kw)]))
}
