package rewind

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/relaydb/relaydb/internal/apply"
	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/binlogtool"
	"github.com/relaydb/relaydb/internal/fsutil"
	"github.com/relaydb/relaydb/internal/gtid"
)

// LostAndFoundDir is the directory, under the datadir, that holds one directory per rewind.
const LostAndFoundDir = "lost+found"

const (
	recordFile = "rewind.json"
	sqlFile    = "transactions.sql"
	doneFile   = "DONE"
	binlogSub  = "binlog"
)

// record is rewind.json: what a rewind undid, for operators and tools.
type record struct {
	ID      string    `json:"id"`
	Primary string    `json:"primary"`
	Started time.Time `json:"started"`
	// Errant is the GTID set undone; Cut where the binlog was cut (file:offset).
	Errant string `json:"errant"`
	Cut    string `json:"cut,omitempty"`
	// Resolution says what became of the transactions: undone by a rewind, or discarded with
	// the node's old data when a clone of the primary replaced it (Record).
	Resolution   string      `json:"resolution"`
	Transactions []TxnRecord `json:"transactions"`
}

// The resolutions a record can have.
const (
	ResolutionUndone = "undone by a rewind"
	ResolutionCloned = "discarded: the node's data was replaced by a clone of the primary (the old data is set aside in clone-old-*)"
)

// TxnRecord is one undone transaction, as rewind.json lists it (oldest first).
type TxnRecord struct {
	GTID string `json:"gtid"`
	// Committed is when the transaction was logged (its events' timestamp, whole seconds).
	Committed time.Time `json:"committed"`
	ServerID  uint32    `json:"server_id"`
	Changes   []Change  `json:"changes,omitempty"`
	// Statements are the transaction's statements logged as text (DDL, statement format).
	Statements []string `json:"statements,omitempty"`
}

// Change is one row change with its images (column name → value; a value that is not valid
// UTF-8 text is given as 0x-prefixed hex).
type Change struct {
	Table  string         `json:"table"`
	Kind   string         `json:"kind"`
	Before map[string]any `json:"before,omitempty"`
	After  map[string]any `json:"after,omitempty"`
}

func describe(f binlog.Format, t *binlog.Transaction, rows []apply.RowImage) TxnRecord {
	tr := TxnRecord{GTID: t.GTID.String()}
	if len(t.Events) > 0 {
		tr.Committed = time.Unix(int64(t.Events[0].Timestamp()), 0).UTC()
		tr.ServerID = t.Events[0].ServerID()
	}
	for _, ev := range t.Events {
		if ev.Type() != binlog.TypeQuery {
			continue
		}
		if q, err := binlog.DecodeQuery(f, ev); err == nil {
			switch strings.ToUpper(strings.TrimSpace(q.SQL)) {
			case "BEGIN", "COMMIT":
			default:
				tr.Statements = append(tr.Statements, q.SQL)
			}
		}
	}
	for _, r := range rows {
		tr.Changes = append(tr.Changes, Change{Table: r.Table, Kind: r.Kind, Before: jsonImage(r.Before), After: jsonImage(r.After)})
	}
	return tr
}

func jsonImage(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = jsonValue(v)
	}
	return out
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case nil, bool, string, int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint, float32, float64:
		return x
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return "0x" + hex.EncodeToString(x)
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.999999")
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// writeLostAndFound writes the rewind's directory under a temporary name and renames it into
// place; a directory of the same rewind left by an earlier attempt is kept and returned.
func writeLostAndFound(cfg Config, p *planned, rec *record) (string, error) {
	root := filepath.Join(cfg.DataDir, LostAndFoundDir)
	if err := os.MkdirAll(root, 0o750); err != nil {
		return "", fmt.Errorf("rewind: %w", err)
	}
	if old, _ := filepath.Glob(filepath.Join(root, "*-"+p.id)); len(old) > 0 {
		return old[0], nil
	}
	final := filepath.Join(root, rec.Started.Format("20060102T150405")+"-"+p.id)
	tmp := final + ".partial"
	if err := os.RemoveAll(tmp); err != nil {
		return "", fmt.Errorf("rewind: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(tmp, binlogSub), 0o750); err != nil {
		return "", fmt.Errorf("rewind: %w", err)
	}
	var copies []string
	for _, name := range p.files {
		dst := filepath.Join(tmp, binlogSub, name)
		if err := copyFile(filepath.Join(cfg.BinlogDir, name), dst); err != nil {
			return "", fmt.Errorf("rewind: save %s: %w", name, err)
		}
		copies = append(copies, dst)
	}
	var sqlText bytes.Buffer
	fmt.Fprintf(&sqlText, "# Transactions this node had and the primary %s did not, found on %s; %s.\n"+
		"# Replay them (after review) with: mariadb < %s\n", rec.Primary, rec.Started.Format(time.RFC3339), rec.Resolution, sqlFile)
	res, err := binlogtool.Print(&sqlText, copies, binlogtool.Options{Verbose: true, IncludeGTIDs: &p.undone, Location: time.UTC})
	if err != nil {
		return "", fmt.Errorf("rewind: render the undone transactions as SQL: %w", err)
	}
	for _, u := range res.Unreplayable {
		fmt.Fprintf(&sqlText, "# not replayable: %s\n", u)
	}
	// The printer names the files it read; name them where they will be after the rename.
	text := bytes.ReplaceAll(sqlText.Bytes(), []byte(tmp+string(filepath.Separator)), []byte(final+string(filepath.Separator)))
	if err := writeSynced(filepath.Join(tmp, sqlFile), text); err != nil {
		return "", err
	}
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", fmt.Errorf("rewind: %w", err)
	}
	if err := writeSynced(filepath.Join(tmp, recordFile), append(js, '\n')); err != nil {
		return "", err
	}
	if err := fsutil.SyncDir(filepath.Join(tmp, binlogSub)); err != nil {
		return "", err
	}
	if err := fsutil.SyncDir(tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("rewind: %w", err)
	}
	if err := fsutil.SyncDir(root); err != nil {
		return "", err
	}
	return final, nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("rewind: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("rewind: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("rewind: sync %s: %w", path, err)
	}
	return f.Close()
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// markDone records that the rewind finished (the binlog is cut).
func markDone(dir string) error {
	return writeSynced(filepath.Join(dir, doneFile), []byte(time.Now().UTC().Format(time.RFC3339Nano)+"\n"))
}

// Entry is one rewind in a node's lost-and-found.
type Entry struct {
	Dir     string
	ID      string
	Primary string
	Started time.Time
	Undone  gtid.Set
	// Done is false for a rewind interrupted before its binlog cut: it is tried again (its
	// transactions are back in the store after the restart's recovery).
	Done         bool
	Resolution   string
	Transactions []TxnRecord
}

// List reads a datadir's lost-and-found, oldest rewind first.
func List(dataDir string) ([]Entry, error) {
	root := filepath.Join(dataDir, LostAndFoundDir)
	des, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, de := range des {
		if !de.IsDir() || strings.HasSuffix(de.Name(), ".partial") {
			continue
		}
		dir := filepath.Join(root, de.Name())
		data, err := os.ReadFile(filepath.Join(dir, recordFile))
		if err != nil {
			return nil, fmt.Errorf("lost-and-found %s: %w", dir, err)
		}
		var rec record
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber() // row values keep every digit
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("lost-and-found %s: %w", dir, err)
		}
		set, err := gtid.Parse(rec.Errant)
		if err != nil {
			return nil, fmt.Errorf("lost-and-found %s: %w", dir, err)
		}
		_, statErr := os.Stat(filepath.Join(dir, doneFile))
		out = append(out, Entry{Dir: dir, ID: rec.ID, Primary: rec.Primary, Started: rec.Started, Undone: set,
			Done: statErr == nil, Resolution: rec.Resolution, Transactions: rec.Transactions})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	return out, nil
}

// Reserved returns the GTIDs of every finished rewind in a datadir's lost-and-found: this server
// must never issue them again (commitlog.Log.Reserve).
func Reserved(dataDir string) (gtid.Set, error) {
	entries, err := List(dataDir)
	if err != nil {
		return gtid.Set{}, err
	}
	var set gtid.Set
	for _, e := range entries {
		if e.Done {
			set.AddSet(e.Undone)
		}
	}
	return set, nil
}

// cutIntent is DATADIR/rewind-cut.json: the undo is durable, the binlog still to be cut.
type cutIntent struct {
	Cut          binlog.Position `json:"cut"`
	LostAndFound string          `json:"lost_and_found"`
}

func cutIntentPath(dataDir string) string { return filepath.Join(dataDir, "rewind-cut.json") }

func writeCutIntent(dataDir string, ci cutIntent) error {
	data, err := json.Marshal(ci)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(cutIntentPath(dataDir), data, 0o640); err != nil {
		return fmt.Errorf("rewind: write the cut intent: %w", err)
	}
	return nil
}

// FinishCut completes a rewind that a crash interrupted after its undo was durable: it cuts the
// binlog where the intent says and marks the lost-and-found entry done. Call it at startup,
// before the binlog is recovered and opened; it does nothing when there is no intent.
func FinishCut(dataDir, binlogDir, prefix string) (bool, error) {
	data, err := os.ReadFile(cutIntentPath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rewind: %w", err)
	}
	var ci cutIntent
	if err := json.Unmarshal(data, &ci); err != nil {
		return false, fmt.Errorf("rewind: the cut intent %s is damaged: %w", cutIntentPath(dataDir), err)
	}
	if _, err := binlog.TruncateTail(binlogDir, prefix, ci.Cut); err != nil {
		return false, fmt.Errorf("rewind: finish the binlog cut: %w", err)
	}
	if ci.LostAndFound != "" {
		if err := markDone(ci.LostAndFound); err != nil {
			return false, err
		}
	}
	if err := os.Remove(cutIntentPath(dataDir)); err != nil {
		return false, fmt.Errorf("rewind: %w", err)
	}
	return true, fsutil.SyncDir(dataDir)
}
