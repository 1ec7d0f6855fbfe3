package replica

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/fsutil"
	"github.com/relaydb/relaydb/internal/rplfilter"
)

// filtersFile keeps the replication filters of CHANGE REPLICATION FILTER across restarts
// (MySQL keeps them in memory only; here they persist like the other replica settings); a named
// channel's are in replica_filters-<channel>.json.
const filtersFile = "replica_filters.json"

func (r *Replica) filtersPath() string {
	if r.opts.Channel == "" {
		return filepath.Join(r.opts.Dir, filtersFile)
	}
	return filepath.Join(r.opts.Dir, "replica_filters-"+r.opts.Channel+".json")
}

// SQLRunning reports whether the applier runs.
func (r *Replica) SQLRunning() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sqlT.running()
}

// ErrSQLRunning is MySQL's ER_REPLICA_SQL_THREAD_MUST_STOP.
var ErrSQLRunning = mysql.NewSQLError(3017, "HY000", "This operation cannot be performed with a running replica sql thread; run STOP REPLICA SQL_THREAD first")

func loadFilters(path string) (rplfilter.Rules, error) {
	var r rplfilter.Rules
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return r, nil
}

func saveFilters(path string, r *rplfilter.Rules) error {
	if r.Empty() {
		err := os.Remove(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, b, 0o600)
}

// openFilters loads the persisted filters, then replaces each kind the server options give.
func (r *Replica) openFilters() error {
	rules, err := loadFilters(r.filtersPath())
	if err != nil {
		return err
	}
	if len(r.opts.Filters) > 0 {
		for _, kind := range rplfilter.Kinds {
			if v, ok := r.opts.Filters[kind]; ok {
				if err := rules.Set(kind, v); err != nil {
					return err
				}
			}
		}
		if err := saveFilters(r.filtersPath(), &rules); err != nil {
			return err
		}
	}
	r.filters = &rules
	return nil
}

// ChangeFilter is CHANGE REPLICATION FILTER: each kind named (see rplfilter.Kinds) gets its new
// list, an empty one clearing it; the others are kept. The applier must be stopped.
func (r *Replica) ChangeFilter(sets map[string][]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sqlT.running() {
		return ErrSQLRunning
	}
	rules := *r.filters
	for kind, v := range sets {
		if err := rules.Set(kind, v); err != nil {
			return mysql.NewSQLError(1210, "HY000", "Incorrect arguments to CHANGE REPLICATION FILTER: %v", err)
		}
	}
	if err := saveFilters(r.filtersPath(), &rules); err != nil {
		return err
	}
	r.filters = &rules
	return nil
}

// Filters returns the replication filters in force (not to be modified).
func (r *Replica) Filters() *rplfilter.Rules {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.filters
}
