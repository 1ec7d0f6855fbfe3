package storage

import (
	"bytes"
	"github.com/cockroachdb/pebble/v2"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/readonly"
)

// readMode is how a statement's scans read rows, as in InnoDB.
type readMode uint8

const (
	// readConsistent: the transaction's snapshot (a plain SELECT), no locks.
	readConsistent readMode = iota
	// readShared and readExclusive are current reads: each row is locked (shared or exclusive)
	// and then read at its newest committed version, so a statement that waited for a lock acts
	// on the row as the lock holder left it, and its predicate is evaluated on that version.
	readShared
	readExclusive
)

// statementReadMode decides how the running statement reads: UPDATE and DELETE, and SELECT …
// FOR UPDATE, lock exclusively; FOR SHARE / LOCK IN SHARE MODE, the source rows of INSERT …
// SELECT and REPLACE … SELECT (except in READ COMMITTED), and SERIALIZABLE reads inside a
// transaction lock shared; everything else reads the snapshot. GMS does not hand the parsed
// statement to the storage layer, so the decision is made from the statement's text (cached per
// statement); a false positive (the words inside a string literal) only takes locks.
func statementReadMode(ctx *sql.Context, t *txn) readMode {
	if ctx == nil {
		return readConsistent
	}
	q := ctx.Query()
	if q == t.modeQuery && q != "" {
		return t.modeStmt
	}
	m := classifyStatement(q, t.iso)
	if m == readConsistent && t.iso == Serializable && firstWord(q) == "select" && inTransaction(ctx) {
		m = readShared
	}
	t.modeQuery, t.modeStmt = q, m
	t.modeNoWait, t.modeSkipLocked = false, false
	if m != readConsistent && firstWord(q) == "select" {
		t.modeNoWait = containsFold(q, "nowait")
		t.modeSkipLocked = containsFold(q, "skip locked")
	}
	return m
}

// inTransaction reports whether the session is inside a transaction that outlives the
// statement (BEGIN, or autocommit off).
func inTransaction(ctx *sql.Context) bool {
	if ctx.GetIgnoreAutoCommit() {
		return true
	}
	v, err := ctx.GetSessionVariable(ctx, "autocommit")
	return err == nil && !readonly.IsOn(v)
}

func classifyStatement(q string, iso Isolation) readMode {
	switch firstWord(q) {
	case "update", "delete":
		return readExclusive
	case "insert", "replace":
		if iso == ReadCommitted || iso == ReadUncommitted {
			return readConsistent
		}
		return readShared
	case "select", "with", "table":
		switch {
		case containsFold(q, "for update"):
			return readExclusive
		case containsFold(q, "for share"), containsFold(q, "lock in share mode"):
			return readShared
		}
	}
	return readConsistent
}

// firstWord returns the statement's first keyword in lower case, skipping blanks, comments and
// opening parentheses; it allocates only for the few keywords it knows.
func firstWord(q string) string {
	i := 0
	for i < len(q) {
		switch c := q[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(':
			i++
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			end := indexFrom(q, "*/", i+2)
			if end < 0 {
				return ""
			}
			i = end + 2
		case c == '#' || (c == '-' && i+2 < len(q) && q[i+1] == '-' && (q[i+2] == ' ' || q[i+2] == '\t')):
			end := indexFrom(q, "\n", i)
			if end < 0 {
				return ""
			}
			i = end + 1
		default:
			for _, w := range []string{"select", "update", "delete", "insert", "replace", "with", "table"} {
				if hasPrefixFold(q[i:], w) && (len(q) == i+len(w) || !isWordByte(q[i+len(w)])) {
					return w
				}
			}
			return ""
		}
	}
	return ""
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c >= 0x80
}

func indexFrom(s, sub string, from int) int {
	for i := from; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// containsFold reports whether s contains the lower-case ASCII words w, ignoring ASCII case.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if hasPrefixFold(s[i:], w) {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with the lower-case ASCII word w, ignoring ASCII case.
func hasPrefixFold(s, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for j := 0; j < len(w); j++ {
		c := s[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[j] {
			return false
		}
	}
	return true
}

// seesAllWrites reports whether the scan sees every write of its transaction so far, the running
// statement's included (foreign key checks), rather than the statement's view of them.
func (r *rowIter) seesAllWrites() bool { return r.view == viewLive || r.view == viewLatest }

func (r *rowIter) lockMode() lockMode {
	if r.mode == readShared {
		return lockShared
	}
	return lockExclusive
}

// gapLocking reports whether the scan takes gap locks: locking reads in REPEATABLE READ and
// SERIALIZABLE (READ COMMITTED takes none, as in InnoDB).
func (r *rowIter) gapLocking() bool {
	return r.tx.iso == RepeatableRead || r.tx.iso == Serializable
}

// lockRow locks the row stored under primary key pk in the scan's mode, then reads its newest
// version. A row locked freshly by a READ COMMITTED UPDATE or DELETE is remembered, so that it
// is released at the statement's end if the statement does not change it.
func (r *rowIter) lockRow(ctx *sql.Context, pk []byte) (v []byte, found, waited bool, err error) {
	tx := r.tx
	e := r.t.e
	key := string(pk)
	held := false
	if !r.gapLocking() && r.mode == readExclusive {
		held = tx.holdsRow(key)
	}
	switch {
	case tx.modeSkipLocked:
		if !e.locks.tryAcquire(tx, key, r.lockMode()) {
			return nil, false, false, nil // SKIP LOCKED: as if the row were not there
		}
	default:
		timeout := lockWaitTimeout(ctx, e.opts.LockWaitTimeout)
		if tx.modeNoWait {
			timeout = 0 // NOWAIT: fail at once (MariaDB's 1205)
		}
		waited, err = e.locks.acquire(tx, key, r.lockMode(), timeout)
		if err != nil {
			return nil, false, waited, err
		}
	}
	if !r.gapLocking() && r.mode == readExclusive && !held && firstWord(ctx.Query()) != "select" {
		tx.stmtFresh = append(tx.stmtFresh, key)
	}
	v, found, err = tx.getLatest(pk, r.seesAllWrites())
	return v, found, waited, err
}

// holdsRow reports whether t already holds a lock on key.
func (t *txn) holdsRow(key string) bool {
	lt := t.e.locks
	lt.mu.Lock()
	defer lt.mu.Unlock()
	l := lt.rows[key]
	return l != nil && (l.x == t || len(l.s) > 0 && l.holds(t, lockShared))
}

// nextLocked is Next for a current read: it walks the spans over the newest committed data,
// locks each row it returns (re-reading it once locked), and in REPEATABLE READ and SERIALIZABLE
// locks the gaps of every span it scans, up to the next row after it (InnoDB's next-key locks),
// so that no other transaction can insert a row the statement would have seen.
func (r *rowIter) nextLocked(ctx *sql.Context) (sql.Row, error) {
	for {
		if r.it == nil {
			sp, row, err := r.startSpan(ctx)
			if err != nil || row != nil {
				return row, err
			}
			if sp == nil {
				continue // a point span, done
			}
			if err := r.beginLockedSpan(ctx, *sp); err != nil {
				return nil, err
			}
			if err := r.reopen(sp.lo); err != nil {
				return nil, err
			}
		} else if !r.primed && !r.it.Next() {
			if err := r.endLockedSpan(ctx); err != nil {
				return nil, err
			}
			continue
		}
		r.primed = false
		if r.it.Key() == nil {
			if err := r.endLockedSpan(ctx); err != nil {
				return nil, err
			}
			continue
		}
		key := bytes.Clone(r.it.Key())
		if resume, err := r.lockGapTo(ctx, key); err != nil {
			return nil, err
		} else if resume != nil {
			// A row was committed into the gap just locked: scan from it.
			if err := r.reopen(resume); err != nil {
				return nil, err
			}
			continue
		}
		row, err := r.lockedAt(ctx, key)
		if err != nil || row != nil {
			return row, err
		}
	}
}

// reopen positions a fresh iterator over the newest data at the first key >= from in the
// current span; it is primed (its current key not yet returned).
func (r *rowIter) reopen(from []byte) error {
	if err := r.closeIter(); err != nil {
		return err
	}
	it, err := r.tx.iterOver(r.span.lo, r.span.hi, r.view, true)
	if err != nil {
		return err
	}
	r.it = it
	it.lower = from
	it.First()
	it.lower = r.span.lo
	r.primed = true
	return nil
}

// beginLockedSpan records the span and, when gap locking, where its first gap starts: at the
// row before the span. Gaps are then locked as the scan advances (lockGapTo), so a scan that
// stops early (LIMIT) locks only what it read, as InnoDB's next-key locks do.
func (r *rowIter) beginLockedSpan(ctx *sql.Context, sp keySpan) error {
	r.span = sp
	r.nextAfter = nil
	r.spanFound = false
	r.gapFrom = nil
	if sp.uniqueEqual {
		// A unique match locks only its row; endLockedSpan locks the gap if there is none.
		return nil
	}
	// READ COMMITTED locks no gaps but still follows them: an uncommitted insert into the
	// range is waited for, as InnoDB's scan waits on the uncommitted record.
	prev, err := r.neighbour(sp.lo[:indexPrefixLen], sp.lo, false)
	if err != nil {
		return err
	}
	r.gapFrom = prev
	return nil
}

// lockGapTo locks the gap between the last key the scan passed and key, the next one it reached,
// then checks that no key was committed into that gap before the lock was in place. It reports
// the first such key, where the scan must resume (nil: none).
func (r *rowIter) lockGapTo(ctx *sql.Context, key []byte) ([]byte, error) {
	if r.gapFrom == nil {
		return nil, nil
	}
	if r.gapLocking() {
		r.t.e.locks.lockGap(r.tx, r.gapFrom, key)
	}
	from := append(bytes.Clone(r.gapFrom), 0)
	if bytes.Compare(from, r.span.lo) < 0 {
		from = r.span.lo // keys before the span are not the scan's to read
	}
	waited, err := r.t.e.locks.waitPendingInserts(r.tx, r.gapFrom, key, lockWaitTimeout(ctx, r.t.e.opts.LockWaitTimeout))
	if err != nil {
		return nil, err
	}
	if waited {
		return from, nil // an insert into the gap ended meanwhile: read the gap again
	}
	first, err := r.neighbour(key[:indexPrefixLen], from, true)
	if err != nil {
		return nil, err
	}
	if first != nil && bytes.Compare(first, key) < 0 {
		return first, nil
	}
	r.gapFrom = key
	return nil, nil
}

// lockSpanEnd locks the last gap of a span, up to the row after it, and (for a range, not an
// equality lookup) marks that row to be locked too: the scan read it to find the range's end.
func (r *rowIter) lockSpanEnd(ctx *sql.Context, sp keySpan) (rescanFrom []byte, err error) {
	base := sp.lo[:indexPrefixLen]
	from := r.gapFrom
	if from == nil {
		if from, err = r.neighbour(base, sp.lo, false); err != nil {
			return nil, err
		}
	}
	hi := sp.hi
	if hi == nil {
		hi = prefixEnd(base)
	}
	next, err := r.neighbour(base, hi, true)
	if err != nil {
		return nil, err
	}
	upper := next
	if upper == nil {
		upper = prefixEnd(base)
	}
	if r.gapLocking() {
		r.t.e.locks.lockGap(r.tx, from, upper)
	}
	waited, err := r.t.e.locks.waitPendingInserts(r.tx, from, upper, lockWaitTimeout(ctx, r.t.e.opts.LockWaitTimeout))
	if err != nil {
		return nil, err
	}
	if waited && !sp.uniqueEqual {
		// An insert into the gap ended meanwhile: read the rest of the span again.
		rescanFrom = append(bytes.Clone(from), 0)
		if bytes.Compare(rescanFrom, sp.lo) < 0 {
			rescanFrom = sp.lo
		}
		return rescanFrom, nil
	}
	if next != nil && !sp.equal && r.gapLocking() {
		r.nextAfter = next
	}
	r.gapFrom = nil
	return nil, nil
}

// neighbour returns the newest committed key of the index (base) just before key (after=false,
// or the index's own prefix if none) or the first one at or after it (after=true, nil if none).
func (r *rowIter) neighbour(base, key []byte, after bool) ([]byte, error) {
	p, err := r.t.e.db.NewIter(&pebble.IterOptions{LowerBound: base, UpperBound: prefixEnd(base)})
	if err != nil {
		return nil, err
	}
	defer p.Close()
	if !after {
		if !p.SeekLT(key) {
			return bytes.Clone(base), p.Close()
		}
		k := bytes.Clone(p.Key())
		return k, p.Close()
	}
	// Committed keys only (the statement's own new rows are not the scan's to meet), less the
	// ones the transaction deleted (the scan does not meet those either).
	for ok := p.SeekGE(key); ok; ok = p.NextPrefix() {
		if r.tx.writes != nil {
			if e, found := r.tx.writes.Get(bufEntry{key: p.Key()}); found && e.del {
				continue
			}
		}
		k := bytes.Clone(p.Key())
		return k, p.Close()
	}
	return nil, p.Close()
}

// lockedAt locks the row behind index key (of the span being scanned) and returns its newest
// version, or nil if it no longer belongs to the scan (deleted, moved out of the index position,
// or filtered out). After a lock wait the iterator is reopened past key, so rows committed by
// the transaction waited for are seen.
func (r *rowIter) lockedAt(ctx *sql.Context, key []byte) (sql.Row, error) {
	d := r.t.def
	pk := key
	if r.idx != nil {
		suffix, err := d.indexSuffix(r.idx, key)
		if err != nil {
			return nil, err
		}
		pk = append(indexPrefix(nil, d.id(), primaryIndexID), suffix...)
	}
	v, found, waited, err := r.lockRow(ctx, pk)
	if err != nil {
		return nil, err
	}
	if waited {
		if err := r.reopen(append(bytes.Clone(key), 0)); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, nil
	}
	row, err := r.decode(v)
	if err != nil {
		return nil, err
	}
	if r.idx != nil {
		if r.cols != nil {
			if row, err = r.decodeFull(v); err != nil {
				return nil, err
			}
		}
		k, _, err := d.indexEntryPrefix(nil, r.idx, row)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(append(k, pkSuffix(pk)...), key) {
			return nil, nil // the row left this index position while we waited
		}
		if r.cols != nil {
			if row, err = r.decode(v); err != nil {
				return nil, err
			}
		}
	}
	if row, err = r.filtered(ctx, row); row != nil {
		r.spanFound = true
	}
	return row, err
}

// lockedPoint is a current read of one primary key. A row that exists is locked and re-read. A
// missing key takes no row lock (InnoDB locks records, not absent keys): in REPEATABLE READ it
// locks the gap the key would be inserted into, so two transactions may both lock the same
// missing key, and whichever inserts first waits for the other. A key another transaction is
// inserting (locked, not yet committed) is waited for and then read again.
func (r *rowIter) lockedPoint(ctx *sql.Context, pk []byte) (sql.Row, error) {
	for attempt := 0; ; attempt++ {
		v, found, err := r.tx.getLatest(pk, r.seesAllWrites())
		if err != nil {
			return nil, err
		}
		if !found {
			locked, err := r.lockMissing(pk)
			if err != nil || !locked {
				return nil, err
			}
			// Someone holds the key (an uncommitted insert): wait for it, then look again.
			_, _, _, err = r.lockRow(ctx, pk)
			if err != nil {
				return nil, err
			}
			if v, found, err = r.tx.getLatest(pk, r.seesAllWrites()); err != nil {
				return nil, err
			}
			if !found {
				// The inserter rolled back: as InnoDB, keep only the gap.
				r.t.e.locks.releaseRow(r.tx, string(pk))
				if attempt < 3 {
					continue
				}
				return nil, nil
			}
		} else {
			v, found, _, err = r.lockRow(ctx, pk)
			if err != nil || !found {
				return nil, err
			}
		}
		row, err := r.decode(v)
		if err != nil {
			return nil, err
		}
		return r.filtered(ctx, row)
	}
}

// lockMissing handles a current read of a key with no committed row: if another transaction
// holds the key it reports locked (the caller waits); otherwise, in REPEATABLE READ, it locks
// the gap around the key. Checking the key and taking the gap happen under the lock table's
// mutex, so an insert of the key either holds its lock before (and is waited for) or meets the
// gap after.
func (r *rowIter) lockMissing(pk []byte) (locked bool, err error) {
	var prev, next []byte
	base := pk[:indexPrefixLen]
	if r.gapLocking() {
		if prev, err = r.neighbour(base, pk, false); err != nil {
			return false, err
		}
		if next, err = r.neighbour(base, pk, true); err != nil {
			return false, err
		}
		if next == nil {
			next = prefixEnd(base)
		}
	}
	lt := r.t.e.locks
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if l := lt.rows[string(pk)]; l != nil && len(l.blockers(r.tx, r.lockMode())) > 0 {
		return true, nil
	}
	if r.gapLocking() {
		lt.lockGapLocked(r.tx, prev, next)
	}
	return false, nil
}

// endLockedSpan closes the span's iterator and finishes its locks: the row just after a range
// scan (InnoDB's next-key lock on it), or the gap of a unique lookup that found nothing.
func (r *rowIter) endLockedSpan(ctx *sql.Context) error {
	if err := r.closeIter(); err != nil {
		return err
	}
	if r.gapFrom != nil || r.gapLocking() && r.span.uniqueEqual && !r.spanFound {
		rescan, err := r.lockSpanEnd(ctx, r.span)
		if err != nil {
			return err
		}
		if rescan != nil {
			return r.reopen(rescan) // nextLocked goes on from the reopened position
		}
	}
	if r.nextAfter == nil {
		return nil
	}
	key := r.nextAfter
	r.nextAfter = nil
	pk := key
	if r.idx != nil {
		suffix, err := r.t.def.indexSuffix(r.idx, key)
		if err != nil {
			return err
		}
		pk = append(indexPrefix(nil, r.t.def.id(), primaryIndexID), suffix...)
	}
	_, err := r.t.e.locks.acquire(r.tx, string(pk), r.lockMode(), lockWaitTimeout(ctx, r.t.e.opts.LockWaitTimeout))
	return err
}

// filtered applies the lookup's row filter.
func (r *rowIter) filtered(ctx *sql.Context, row sql.Row) (sql.Row, error) {
	if r.filter != nil {
		ok, err := sql.EvaluateCondition(ctx, r.filter, row)
		if err != nil {
			return nil, err
		}
		if !sql.IsTrue(ok) {
			return nil, nil
		}
	}
	return row, nil
}
