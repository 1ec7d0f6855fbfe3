package storage

import (
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
)

// GMS parses SELECT … FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE but executes it as a plain
// read. The engine gives such reads their MySQL meaning: every row the statement returns is
// locked until the transaction ends, and a row changed since the transaction's snapshot fails the
// read with 1213 (the transaction would otherwise act on a stale row). Shared locks are taken
// as exclusive ones: safe, at some cost in concurrency.

// isLockingRead reports whether the statement text asks for locking reads. The check is textual
// (the parsed statement is not available to the storage layer); a false positive, e.g. the words
// inside a string literal, only takes locks a plain read would not.
func isLockingRead(ctx *sql.Context) bool {
	if ctx == nil {
		return false
	}
	q := ctx.Query()
	if len(q) < len("select for share") {
		return false
	}
	// This runs for every table scan, so no allocation: ASCII case-folding by hand.
	if !containsFold(q, "for update") && !containsFold(q, "for share") && !containsFold(q, "lock in share mode") {
		return false
	}
	trimmed := strings.TrimLeft(q, " \t\r\n(")
	return hasPrefixFold(trimmed, "select") || hasPrefixFold(trimmed, "with")
}

// containsFold reports whether s contains the lower-case ASCII word w, ignoring ASCII case.
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

// lockReadRow locks the primary key of a row returned by a locking read.
func (r *rowIter) lockReadRow(ctx *sql.Context, row sql.Row) error {
	d := r.t.def
	var pk []byte
	var err error
	if d.hasHiddenPK() {
		if r.idx == nil {
			pk = append([]byte(nil), r.it.Key()...)
		} else {
			suffix, err := d.indexSuffix(r.idx, r.it.Key())
			if err != nil {
				return err
			}
			pk = append(indexPrefix(nil, d.id(), primaryIndexID), suffix...)
		}
	} else if pk, err = d.pkKey(nil, row); err != nil {
		return err
	}
	return r.t.e.locks.acquire(r.tx, string(pk), lockWaitTimeout(ctx, r.t.e.opts.LockWaitTimeout))
}
