package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/apply"
	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/commitlog"
	"github.com/relaydb/relaydb/internal/config"
	"github.com/relaydb/relaydb/internal/readonly"
	"github.com/relaydb/relaydb/internal/rewind"
	"github.com/relaydb/relaydb/internal/semisync"
	"github.com/relaydb/relaydb/internal/server"
	"github.com/relaydb/relaydb/internal/storage"
)

// pebbleStorageOpener returns the opener of the durable storage engine, with the engine's own
// options from the command line, and its binary log unless --skip-log-bin.
func pebbleStorageOpener(opts config.Options) server.OpenStorageFunc {
	return func(o server.StorageOptions) (server.Storage, error) {
		idle := opts.TxnIdleTimeout
		if idle == 0 {
			idle = -1 // disabled
		}
		e, err := storage.Open(storage.Options{
			Dir:            o.Dir,
			CacheSize:      o.CacheSize,
			Logger:         o.Logger,
			WriteGuard:     readonly.Check,
			TxnIdleTimeout: idle,
		})
		if err != nil {
			return nil, err
		}
		ps := &pebbleStorage{e: e, globals: o.Globals}
		if opts.SkipLogBin {
			return ps, nil
		}
		if err := ps.openBinlog(opts, o); err != nil {
			e.Close()
			return nil, err
		}
		return ps, nil
	}
}

// openBinlog recovers the binary log against the store and makes it the store's commit log.
func (p *pebbleStorage) openBinlog(opts config.Options, o server.StorageOptions) error {
	state, err := p.e.LogState()
	if err != nil {
		return err
	}
	checksum, err := binlog.ParseChecksum(strings.ToUpper(opts.BinlogChecksum))
	if err != nil {
		return err
	}
	// A rewind that a crash interrupted between its undo and its binlog cut is finished first:
	// otherwise recovery would replay the undone transactions.
	if done, err := rewind.FinishCut(o.DataDir, o.DataDir, opts.LogBin); err != nil {
		return err
	} else if done {
		o.Logger.Warn("finished the binlog cut of a rewind interrupted by a crash")
	}
	l, rec, err := commitlog.Open(commitlog.Options{
		Dir:        o.DataDir,
		Prefix:     opts.LogBin,
		ServerID:   o.ServerID,
		ServerUUID: o.ServerUUID,
		Checksum:   checksum,
		MaxSize:    int64(opts.MaxBinlogSize),
		SyncBinlog: opts.SyncBinlog,
		ExpireLogs: time.Duration(opts.BinlogExpireLogsSeconds) * time.Second,
		DoDB:       opts.BinlogDoDB,
		IgnoreDB:   opts.BinlogIgnoreDB,
		Force:      opts.BinlogForceRecovery,
		Logger:     o.Logger,
		Semi:       semisync.NewSource(o.Logger),
	}, state)
	if err != nil {
		return fmt.Errorf("binary log: %w", err)
	}
	reserved, err := rewind.Reserved(o.DataDir)
	if err != nil {
		l.Close()
		return fmt.Errorf("lost-and-found: %w", err)
	}
	l.Reserve(reserved)
	p.e.AttachLog(l)
	p.log, p.pending = l, rec.Pending
	return nil
}

// pebbleStorage adapts *storage.Engine (and its binary log) to server.Storage.
type pebbleStorage struct {
	e       *storage.Engine
	globals *server.PersistedGlobals
	log     *commitlog.Log // nil with --skip-log-bin
	pending []binlog.Transaction
}

func (p *pebbleStorage) Provider() sql.DatabaseProvider { return p.e.Provider() }

func (p *pebbleStorage) NewSession(base *sql.BaseSession) sql.Session {
	if p.globals == nil {
		return p.e.NewSession(base, nil)
	}
	return p.e.NewSession(base, p.globals)
}

// SyncLogState has the store record the binary log's current state (after RESET MASTER).
func (p *pebbleStorage) SyncLogState() error { return p.e.SyncLogState() }

// Checkpoint copies the store for a clone donor (storage.Engine.Checkpoint).
func (p *pebbleStorage) Checkpoint(dir string) ([]byte, error) { return p.e.Checkpoint(dir) }

// Binlog is the node's binary log (nil when it is off).
func (p *pebbleStorage) Binlog() *commitlog.Log { return p.log }

// LogAccountStatement logs an account statement that has changed the node's users and
// privileges (server.accountLogger).
func (p *pebbleStorage) LogAccountStatement(ctx *sql.Context, stmt string) error {
	if p.log == nil {
		return nil
	}
	entry, err := p.log.AccountEntry(ctx, stmt)
	if err != nil || entry == nil {
		return err
	}
	return p.e.CommitLogEntry(ctx, entry)
}

// recoverySessionID identifies the session that replays the binlog at startup.
const recoverySessionID = 1<<32 - 2

// ReplayPending applies the binlog transactions the store lacks (a crash came between the binlog
// fsync and the store write), in binlog order, before any client connects.
func (p *pebbleStorage) ReplayPending(engine *sqle.Engine) error {
	if len(p.pending) == 0 {
		return nil
	}
	sess := p.e.NewSession(sql.NewBaseSessionWithClientServer("recovery", sql.Client{User: "root", Address: "localhost"}, recoverySessionID), nil)
	defer sess.SessionEnd()
	ctx := sql.NewContext(readonly.MarkApplier(context.Background()), sql.WithSession(sess))
	a := apply.New(engine)
	for i := range p.pending {
		t := &p.pending[i]
		if err := p.replayOne(ctx, a, t); err != nil {
			return fmt.Errorf("replay %s (%s:%d): %w", t.GTID, t.File, t.Start, err)
		}
	}
	p.pending = nil
	// One synced write makes every replayed transaction durable before the node acts on its
	// store (serves, rewinds): their own writes were not synced. A second crash would replay
	// them again (correct, see commitlog.TxnEntry on replays), but a rewind or a reader must
	// not see a store go back behind what it already acted on.
	return p.e.SyncLogState()
}

func (p *pebbleStorage) replayOne(ctx *sql.Context, a *apply.Applier, t *binlog.Transaction) error {
	p.log.BeginReplay(recoverySessionID, t)
	defer p.log.EndReplay(recoverySessionID)
	if commitlog.IsAccountTransaction(p.log.Writer().Format(), t) {
		// Users and privileges are in mysql.db, written before the statement was logged; the
		// store only needs to record that the transaction is there.
		entry, err := p.log.AccountEntry(ctx, "")
		if err != nil {
			return err
		}
		return p.e.CommitLogEntry(ctx, entry)
	}
	// The pending transactions were written with this run's checksum setting unless the operator
	// changed --binlog-checksum across a crash; the event checks then fail and say so.
	return a.Apply(ctx, p.log.Writer().Format(), t)
}

func (p *pebbleStorage) Close() error {
	err := p.e.Close()
	if p.log != nil {
		if lerr := p.log.Close(); err == nil {
			err = lerr
		}
	}
	return err
}

// The global read lock (FLUSH TABLES WITH READ LOCK) is the engine's commit gate.
func (p *pebbleStorage) LockCommits(ctx context.Context, session uint32) error {
	return p.e.LockCommits(ctx, session)
}
func (p *pebbleStorage) UnlockCommits(session uint32) bool   { return p.e.UnlockCommits(session) }
func (p *pebbleStorage) HoldsCommitLock(session uint32) bool { return p.e.HoldsCommitLock(session) }

// SetCommitFence lets a cluster member's lease fence commits (server.setupCluster).
func (p *pebbleStorage) SetCommitFence(check func() error) { p.e.SetCommitFence(check) }

// HoldCommits and DrainCommits let a primary handing over in a planned switchover hold its new
// commits, unlogged, and wait for the logged ones (server.ClusterMember.HoldCommits).
func (p *pebbleStorage) HoldCommits(max time.Duration, expired error) func(error) {
	return p.e.HoldCommits(max, expired)
}
func (p *pebbleStorage) DrainCommits(done <-chan struct{}) bool { return p.e.DrainCommits(done) }

// CommitStalled reports a commit path that made no progress for d (the lease is then not renewed).
func (p *pebbleStorage) CommitStalled(d time.Duration) bool { return p.e.CommitStalled(d) }

// SetAutoIncrementReserver makes generated AUTO_INCREMENT values come from ranges the cluster
// reserved (nil: off), so that no value is issued twice across a failover.
func (p *pebbleStorage) SetAutoIncrementReserver(r func(ctx context.Context, table string, from, count uint64) (uint64, uint64, error)) {
	if r == nil {
		p.e.SetAutoIncrementReserver(nil)
		return
	}
	p.e.SetAutoIncrementReserver(storage.AutoIncrementReserver(r))
}
