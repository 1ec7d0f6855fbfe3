package clone

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/relaydb/relaydb/internal/fsutil"
)

// Layout names the files of a datadir that hold data rather than identity or configuration:
// what installing a clone sets aside.
type Layout struct {
	// BinlogPrefix is --log-bin (default "binlog"); RelayLog is --relay-log (default
	// "relay-bin"). Only names inside the datadir are set aside.
	BinlogPrefix, RelayLog string
}

// swapFile records an install in progress: where the old data goes and how far it got.
const swapFile = "SWAP"

type swapState struct {
	OldDir string `json:"old_dir"` // directory name inside the datadir
	Phase  string `json:"phase"`   // "set-aside", then "install"
}

// Pending reports whether dir holds a complete clone waiting to be installed.
func Pending(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, StagingDirName, completeFile))
	return err == nil
}

// Install installs the complete clone staged in dir/.clone, if there is one: the datadir's data
// (store, accounts, binary and relay logs, replication positions) is moved into a dated
// directory dir/clone-old-<time> (never deleted), then the staged store and accounts are moved
// into place. The node's identity (auto.cnf), its persisted settings, TLS files and cluster
// state stay. The binary log starts afresh at the next open, with the clone's GTIDs as
// gtid_purged. Every step is a rename and the progress is journaled, so a crash in the middle
// is finished by the next call. The caller holds the datadir (no server uses it).
//
// It returns the set-aside directory ("" when there was nothing to set aside) and whether a
// clone was installed.
func Install(dir string, layout Layout, log *slog.Logger) (setAside string, installed bool, err error) {
	if log == nil {
		log = slog.Default()
	}
	staging := filepath.Join(dir, StagingDirName)
	if !Pending(dir) {
		return "", false, nil
	}
	raw, err := os.ReadFile(filepath.Join(staging, completeFile))
	if err != nil {
		return "", false, fmt.Errorf("clone install: %w", err)
	}
	m, err := DecodeManifest(raw)
	if err != nil {
		return "", false, fmt.Errorf("clone install: %w", err)
	}
	var st swapState
	if b, err := os.ReadFile(filepath.Join(staging, swapFile)); err == nil {
		if err := json.Unmarshal(b, &st); err != nil {
			return "", false, fmt.Errorf("clone install: %s: %w", swapFile, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("clone install: %w", err)
	}
	if st.Phase == "" {
		// Every staged file must still be there, whole, before anything is moved.
		for _, f := range m.Files {
			fi, err := os.Stat(stagedPath(staging, f.Name))
			if err != nil || fi.Size() != f.Size {
				return "", false, fmt.Errorf("clone install: staged file %s is missing or damaged; the datadir is unchanged, run the clone again", f.Name)
			}
		}
		st = swapState{OldDir: "clone-old-" + time.Now().UTC().Format("20060102-150405"), Phase: "set-aside"}
		if err := writeSwap(staging, st); err != nil {
			return "", false, err
		}
	}
	old := filepath.Join(dir, st.OldDir)
	if st.Phase == "set-aside" {
		items, err := dataItems(dir, layout)
		if err != nil {
			return "", false, fmt.Errorf("clone install: %w", err)
		}
		if len(items) > 0 {
			if err := os.MkdirAll(old, 0o700); err != nil {
				return "", false, fmt.Errorf("clone install: %w", err)
			}
		}
		for _, it := range items {
			if err := os.Rename(filepath.Join(dir, it), filepath.Join(old, it)); err != nil {
				return "", false, fmt.Errorf("clone install: set aside %s: %w", it, err)
			}
		}
		if len(items) > 0 {
			log.Warn("clone: the datadir's old data is set aside (not deleted)", "dir", old, "items", items)
			if err := fsutil.SyncDir(old); err != nil {
				return "", false, err
			}
		}
		if err := fsutil.SyncDir(dir); err != nil {
			return "", false, err
		}
		st.Phase = "install"
		if err := writeSwap(staging, st); err != nil {
			return "", false, err
		}
	}
	for _, it := range stagedItems {
		from, to := filepath.Join(staging, it), filepath.Join(dir, it)
		if _, err := os.Stat(from); errors.Is(err, os.ErrNotExist) {
			continue // moved before a crash
		}
		if err := os.Rename(from, to); err != nil {
			return "", false, fmt.Errorf("clone install: %s: %w", it, err)
		}
	}
	if err := fsutil.SyncDir(dir); err != nil {
		return "", false, err
	}
	if err := os.RemoveAll(staging); err != nil {
		return "", false, fmt.Errorf("clone install: remove %s: %w", staging, err)
	}
	if err := fsutil.SyncDir(dir); err != nil {
		return "", false, err
	}
	if _, err := os.Stat(old); err == nil {
		setAside = old
	}
	log.Info("clone installed", "datadir", dir, "gtid_executed", m.GTIDExecuted, "donor_uuid", m.DonorUUID, "old_data", setAside)
	return setAside, true, nil
}

func writeSwap(staging string, st swapState) error {
	b, _ := json.Marshal(st)
	if err := fsutil.WriteFileAtomic(filepath.Join(staging, swapFile), b, 0o600); err != nil {
		return fmt.Errorf("clone install: %w", err)
	}
	return nil
}

// dataItems lists the datadir entries installing a clone replaces: the store, the accounts,
// the binary log and relay log files and the replication channels' settings and positions
// (a clone's GTIDs make them wrong; CHANGE REPLICATION SOURCE sets them again).
func dataItems(dir string, layout Layout) ([]string, error) {
	binlog, relay := layout.BinlogPrefix, layout.RelayLog
	if binlog == "" {
		binlog = "binlog"
	}
	if relay == "" {
		relay = "relay-bin"
	}
	var pats []*regexp.Regexp
	for _, p := range []string{binlog, relay} {
		if filepath.IsAbs(p) || strings.ContainsRune(p, '/') {
			continue // outside the datadir: left alone
		}
		q := regexp.QuoteMeta(p)
		pats = append(pats, regexp.MustCompile(`^`+q+`(-[^/]+)?\.(\d{6,}|index)$`))
	}
	pats = append(pats, regexp.MustCompile(`^replica(-[^/]+)?\.json$`))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if name == storeDirName || name == accountsFileName {
			out = append(out, name)
			continue
		}
		for _, p := range pats {
			if p.MatchString(name) {
				out = append(out, name)
				break
			}
		}
	}
	return out, nil
}

// CheckTarget refuses a DATA DIRECTORY that holds anything but an earlier attempt's staging
// directory (MySQL's clone wants a directory that does not exist or is empty).
func CheckTarget(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return sqlErr(ErUnknown, "Clone cannot use %s: %v", dir, err)
	}
	for _, e := range entries {
		if e.Name() != StagingDirName {
			// ER_DB_CREATE_EXISTS is what MySQL reports for an existing data directory.
			return sqlErr(1007, "Can't create database '%s'; database exists", dir)
		}
	}
	return nil
}
