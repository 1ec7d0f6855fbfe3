package rewind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/relaydb/relaydb/internal/apply"
	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/commitlog"
	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/readonly"
)

// ErrNeedsClone is wrapped by Run's errors when the errant transactions cannot be undone from
// the binlog; the node must be rebuilt from a healthy member (a physical clone).
var ErrNeedsClone = errors.New("rewind impossible, the node needs a clone")

// Config is what a rewind works with.
type Config struct {
	// DataDir holds lost+found and the cut intent.
	DataDir string
	// BinlogDir and Prefix locate the binlog files (--log-bin).
	BinlogDir, Prefix string
	Log               *commitlog.Log
	Engine            *sqle.Engine
	// NewSession returns a storage session with the given id, for the undo.
	NewSession func(id uint32) sql.Session
	Logger     *slog.Logger
	// Failpoint, if set, is called with the name of each step as it is reached
	// ("lost-and-found-written", "undone", "cut-intent-written"); tests kill the process there.
	Failpoint func(step string)
}

// Result describes a finished rewind.
type Result struct {
	// Dir is the lost-and-found directory of this rewind.
	Dir string
	// Undone are the GTIDs undone; Transactions how many.
	Undone       gtid.Set
	Transactions int
	Cut          binlog.Position
}

// rewindSessionID identifies the session that undoes the errant transactions.
const rewindSessionID = 1<<32 - 3

// Run undoes errant (GTIDs this node executed that the cluster's primary lacks) as the package
// comment describes; primary names the primary, for the record. The caller has made the node
// read-only and stopped its replication.
func Run(ctx context.Context, cfg Config, errant gtid.Set, primary string) (*Result, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Failpoint == nil {
		cfg.Failpoint = func(string) {}
	}
	p, err := plan(cfg, errant)
	if err != nil {
		return nil, err
	}
	sess := cfg.NewSession(rewindSessionID)
	defer sess.(interface{ SessionEnd() }).SessionEnd()
	sctx := sql.NewContext(readonly.MarkApplier(ctx), sql.WithSession(sess))
	if ls, ok := sess.(sql.LifecycleAwareSession); ok {
		if err := ls.CommandBegin(); err != nil {
			return nil, err
		}
		defer ls.CommandEnd()
	}
	a := apply.New(cfg.Engine)
	f := cfg.Log.Writer().Format()
	rec := record{ID: p.id, Primary: primary, Started: time.Now().UTC(), Errant: errant.String(), Cut: p.cut.String(),
		Resolution: ResolutionUndone}
	for i := range p.txns {
		t := &p.txns[i]
		rows, err := a.Describe(sctx, f, t)
		if err != nil {
			return nil, fmt.Errorf("rewind: read %s: %w", t.GTID, err)
		}
		rec.Transactions = append(rec.Transactions, describe(f, t, rows))
	}
	dir, err := writeLostAndFound(cfg, p, &rec)
	if err != nil {
		return nil, err
	}
	cfg.Failpoint("lost-and-found-written")

	if err := undo(sctx, cfg, a, f, p); err != nil {
		return nil, err
	}
	cfg.Log.Reserve(errant)
	cfg.Logger.Warn("rewind: errant transactions undone", "gtids", errant.String(), "transactions", len(p.txns),
		"lost_and_found", dir)
	cfg.Failpoint("undone")

	if err := writeCutIntent(cfg.DataDir, cutIntent{Cut: p.cut, LostAndFound: dir}); err != nil {
		return nil, err
	}
	cfg.Failpoint("cut-intent-written")
	if _, err := cfg.Log.DropTail(p.cut); err != nil {
		return nil, fmt.Errorf("rewind: cut the binlog: %w", err)
	}
	if err := os.Remove(cutIntentPath(cfg.DataDir)); err != nil {
		return nil, fmt.Errorf("rewind: %w", err)
	}
	if err := markDone(dir); err != nil {
		return nil, err
	}
	return &Result{Dir: dir, Undone: errant.Clone(), Transactions: len(p.txns), Cut: p.cut}, nil
}

// undo applies the inverse of every planned transaction, newest first, in one store
// transaction whose commit records that the store no longer holds them.
func undo(ctx *sql.Context, cfg Config, a *apply.Applier, f binlog.Format, p *planned) (err error) {
	exec := func(q string) error {
		_, iter, _, err := cfg.Engine.Query(ctx, q)
		if err != nil {
			return err
		}
		_, err = sql.RowIterToRows(ctx, iter)
		return err
	}
	if err := exec("START TRANSACTION"); err != nil {
		return fmt.Errorf("rewind: %w", err)
	}
	defer func() {
		if err != nil {
			_ = exec("ROLLBACK")
		}
	}()
	for i := len(p.txns) - 1; i >= 0; i-- {
		t := &p.txns[i]
		if err := a.Undo(ctx, f, t); err != nil {
			if errors.Is(err, apply.ErrNotUndoable) {
				return fmt.Errorf("rewind: undo %s: %w (%w)", t.GTID, err, ErrNeedsClone)
			}
			return fmt.Errorf("rewind: undo %s: %w (the store does not hold what the binlog says it wrote: %w)", t.GTID, err, ErrNeedsClone)
		}
	}
	cfg.Log.BeginRewind(rewindSessionID, p.cut, p.undone)
	defer cfg.Log.EndRewind(rewindSessionID)
	if err := exec("COMMIT"); err != nil {
		return fmt.Errorf("rewind: commit the undo: %w", err)
	}
	return nil
}

// planned is what a rewind will undo.
type planned struct {
	id     string
	cut    binlog.Position // where the first errant transaction starts
	files  []string        // binlog files from cut.File to the last, oldest first
	txns   []binlog.Transaction
	undone gtid.Set
}

// plan finds the errant transactions in the binlog and checks that they can be undone.
func plan(cfg Config, errant gtid.Set) (*planned, error) {
	if errant.IsEmpty() {
		return nil, errors.New("rewind: nothing to undo")
	}
	infos, err := cfg.Log.Writer().Files()
	if err != nil {
		return nil, fmt.Errorf("rewind: %w", err)
	}
	names := make([]string, len(infos))
	for i, fi := range infos {
		names[i] = fi.Name
	}
	// The newest file whose PREVIOUS_GTIDS holds none of the errant transactions is where they
	// can start.
	start := -1
	for i := len(names) - 1; i >= 0; i-- {
		prev, err := binlog.ReadPreviousGTIDs(filepath.Join(cfg.BinlogDir, names[i]))
		if err != nil {
			return nil, fmt.Errorf("rewind: %w", err)
		}
		if gtid.Intersect(prev, errant).IsEmpty() {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("rewind: the binlog files holding %s have been purged: %w", errant, ErrNeedsClone)
	}
	p := &planned{}
	var found gtid.Set
	for _, name := range names[start:] {
		err := eachTransaction(filepath.Join(cfg.BinlogDir, name), func(t binlog.Transaction) error {
			in := !t.Anonymous && errant.Contains(t.GTID)
			switch {
			case in:
				if len(p.txns) == 0 {
					p.cut = binlog.Position{File: name, Offset: t.Start}
				}
				t.File = name
				p.txns = append(p.txns, t)
				return found.Add(t.GTID)
			case len(p.txns) > 0:
				return fmt.Errorf("rewind: %s, which the primary has, follows errant transactions in the binlog (%s:%d): %w",
					txnName(t), name, t.Start, ErrNeedsClone)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(p.txns) > 0 {
		p.files = names[slices.Index(names, p.cut.File):]
	}
	if missing := gtid.Subtract(errant, found); !missing.IsEmpty() {
		return nil, fmt.Errorf("rewind: %s are not in this node's binlog (purged, or only in a relay log): %w", missing, ErrNeedsClone)
	}
	f := cfg.Log.Writer().Format()
	for i := range p.txns {
		if err := apply.CheckUndoable(f, &p.txns[i]); err != nil {
			return nil, fmt.Errorf("rewind: %s %w: %w", p.txns[i].GTID, err, ErrNeedsClone)
		}
	}
	p.undone = found
	p.id = planID(p)
	return p, nil
}

func txnName(t binlog.Transaction) string {
	if t.Anonymous {
		return "an anonymous transaction"
	}
	return t.GTID.String()
}

// eachTransaction reads every complete transaction of a binlog file (the active one included:
// the node is read-only, so nothing is being appended).
func eachTransaction(path string, fn func(binlog.Transaction) error) error {
	r, err := binlog.OpenFile(path)
	if err != nil {
		return fmt.Errorf("rewind: %w", err)
	}
	defer r.Close()
	for {
		t, err := r.NextTransaction()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("rewind: read %s: %w", filepath.Base(path), err)
		}
		if err := fn(t); err != nil {
			return err
		}
	}
}

// planID names a rewind by what it undoes, so that a rewind tried again after a crash finds
// its own lost-and-found directory.
func planID(p *planned) string {
	first, last := p.txns[0].GTID, p.txns[len(p.txns)-1].GTID
	return fmt.Sprintf("%s-%d-%d", strings.SplitN(first.Server.String(), "-", 2)[0], first.Sequence, last.Sequence)
}

// FailpointFromEnv is the failpoint tests install through RELAYDB_FAILPOINT=rewind:STEP: the
// process kills itself with SIGKILL when the rewind reaches STEP, as kill -9 would.
func FailpointFromEnv() func(step string) {
	v := os.Getenv("RELAYDB_FAILPOINT")
	if !strings.HasPrefix(v, "rewind:") {
		return nil
	}
	want := strings.TrimPrefix(v, "rewind:")
	return func(step string) {
		if step == want {
			slog.Default().Warn("failpoint reached: killing this process", "failpoint", v)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
}

// Record writes a lost-and-found entry for errant transactions that are about to be discarded
// with the node's data, when a clone of the primary replaces it because a rewind cannot undo
// them: the operator finds them there as for a rewind (their statements and, where the tables
// still exist, row images). It reads only the binlog files that hold them; transactions no
// longer in any file are listed by GTID only. The entry is marked done at once, so that this
// server never issues those GTIDs again.
func Record(ctx context.Context, cfg Config, errant gtid.Set, primary string) (string, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	infos, err := cfg.Log.Writer().Files()
	if err != nil {
		return "", fmt.Errorf("lost-and-found: %w", err)
	}
	p := &planned{undone: errant.Clone()}
	for _, fi := range infos {
		err := eachTransaction(filepath.Join(cfg.BinlogDir, fi.Name), func(t binlog.Transaction) error {
			if !t.Anonymous && errant.Contains(t.GTID) {
				if len(p.files) == 0 {
					p.files = append(p.files, fi.Name)
				}
				t.File = fi.Name
				p.txns = append(p.txns, t)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		if len(p.files) > 0 && p.files[len(p.files)-1] != fi.Name {
			p.files = append(p.files, fi.Name)
		}
	}
	p.id = "clone-" + strings.ReplaceAll(strings.SplitN(errant.String(), "-", 2)[0], ":", "")
	if len(p.txns) > 0 {
		p.id = "clone-" + planID(p)
	}
	rec := record{ID: p.id, Primary: primary, Started: time.Now().UTC(), Errant: errant.String(), Resolution: ResolutionCloned}
	sess := cfg.NewSession(rewindSessionID)
	defer sess.(interface{ SessionEnd() }).SessionEnd()
	sctx := sql.NewContext(readonly.MarkApplier(ctx), sql.WithSession(sess))
	a := apply.New(cfg.Engine)
	f := cfg.Log.Writer().Format()
	for i := range p.txns {
		t := &p.txns[i]
		rows, err := a.Describe(sctx, f, t)
		if err != nil {
			rows = nil // a table the errant DDL created or changed: the statements and SQL tell it
		}
		rec.Transactions = append(rec.Transactions, describe(f, t, rows))
	}
	dir, err := writeLostAndFound(cfg, p, &rec)
	if err != nil {
		return "", err
	}
	return dir, markDone(dir)
}
