package clone

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	gomysql "github.com/go-sql-driver/mysql"

	"github.com/relaydb/relaydb/internal/fsutil"
)

// MySQL's error numbers for clone failures.
const (
	// ErCloneDonor is ER_CLONE_DONOR: the donor failed or could not be reached.
	ErCloneDonor = 3862
	// ErUnknown is ER_UNKNOWN_ERROR, for failures MySQL has no number of its own for.
	ErUnknown = 1105
)

// Source is the donor a clone reads from.
type Source struct {
	User, Password string
	Host           string
	Port           int
	// TLS is go-sql-driver's tls parameter: "preferred" (default), "true", "skip-verify", "false".
	TLS string
}

// Addr is host:port.
func (s Source) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// String names the source as clone_status.SOURCE does.
func (s Source) String() string { return s.User + "@" + s.Addr() }

// Options configure a clone on the recipient.
type Options struct {
	Source Source
	// Dir is the datadir the clone is for: files are staged in Dir/.clone and installed by
	// Install. It must not be served by another process while files are installed.
	Dir string
	// MaxBandwidth returns clone_max_data_bandwidth in bytes per second (0: unlimited); it is
	// asked before each chunk, so a change applies to a running clone. Nil: unlimited.
	MaxBandwidth func() int64
	Tracker      *Tracker
	Logger       *slog.Logger
	// RefuseUUID, if set, is this server's own server_uuid: cloning from itself is refused.
	RefuseUUID string
	// DamageStaged is a test hook called with each file's staged path after the file is
	// written and before it is verified (nil: never).
	DamageStaged func(name, path string)
}

// StagingDirName is where a clone is staged inside the datadir it is for.
const StagingDirName = ".clone"

// completeFile marks a staging directory holding a complete, verified clone.
const completeFile = "COMPLETE"

// manifestFile is the manifest of the checkpoint the staged files come from.
const manifestFile = "manifest.json"

// Fetch copies a donor's checkpoint into opts.Dir/.clone, verifies every file against the
// donor's checksums and marks the staging directory complete. Files an earlier, interrupted
// attempt staged are kept when their checksum still matches the new checkpoint's. The datadir
// itself is not touched (see Install). Errors are *mysql.SQLError with MySQL's codes.
func Fetch(ctx context.Context, opts Options) (m *Manifest, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Tracker == nil {
		opts.Tracker = NewTracker("")
	}
	log := opts.Logger
	staging := filepath.Join(opts.Dir, StagingDirName)

	db, err := openDonor(opts.Source)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, donorErr(opts.Source, err)
	}
	defer conn.Close()

	tr := opts.Tracker
	tr.BeginStage(StageCheckpoint, 0)
	var raw []byte
	if err := conn.QueryRowContext(ctx, "CLONE DONOR BEGIN").Scan(&raw); err != nil {
		return nil, donorErr(opts.Source, err)
	}
	m, err = DecodeManifest(raw)
	if err != nil {
		return nil, sqlErr(ErCloneDonor, "Clone Donor Error: %v.", err)
	}
	id := m.ID
	defer func() {
		// Free the donor's checkpoint; a dead connection leaves it to the donor's idle expiry.
		ectx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, eerr := conn.ExecContext(ectx, "CLONE DONOR END '"+id+"'"); eerr != nil && err == nil {
			log.Warn("clone: could not release the donor's checkpoint", "err", eerr)
		}
	}()
	if opts.RefuseUUID != "" && strings.EqualFold(m.DonorUUID, opts.RefuseUUID) {
		return nil, sqlErr(ErCloneDonor, "Clone Donor Error: the donor %s is this server (server_uuid %s).", opts.Source.Addr(), m.DonorUUID)
	}
	if err := os.MkdirAll(filepath.Join(staging, storeDirName), 0o750); err != nil {
		return nil, sqlErr(ErUnknown, "Clone cannot create %s: %v", staging, err)
	}
	// A complete marker from an earlier clone that was never installed is stale now.
	if err := os.Remove(filepath.Join(staging, completeFile)); err != nil && !os.IsNotExist(err) {
		return nil, sqlErr(ErUnknown, "Clone: %v", err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(staging, manifestFile), raw, 0o600); err != nil {
		return nil, sqlErr(ErUnknown, "Clone: %v", err)
	}
	if err := removeUnlisted(staging, m); err != nil {
		return nil, sqlErr(ErUnknown, "Clone: %v", err)
	}

	// Files already staged with the same content are kept (sstables are immutable, so an
	// interrupted clone resumes even from a new checkpoint).
	var todo []File
	var resumed, total int64
	for _, f := range m.Files {
		total += f.Size
		p := stagedPath(staging, f.Name)
		if st, err := os.Stat(p); err == nil && st.Size() == f.Size {
			if sum, _, err := hashFile(p); err == nil && sum == f.SHA256 {
				resumed += f.Size
				continue
			}
		}
		todo = append(todo, f)
	}
	tr.SetSource(m, resumed)
	tr.BeginStage(StageFileCopy, total)
	tr.Add(StageFileCopy, resumed, false)
	if resumed > 0 {
		log.Info("clone: resuming; files already staged and verified are kept", "bytes", resumed, "files", len(m.Files)-len(todo))
	}
	var lim limiter
	for _, f := range todo {
		if err := fetchFile(ctx, conn, m.ID, f, stagedPath(staging, f.Name), &lim, opts); err != nil {
			return nil, err
		}
	}
	tr.BeginStage(StageFileSync, total)
	for _, dir := range []string{filepath.Join(staging, storeDirName), staging} {
		if err := fsutil.SyncDir(dir); err != nil {
			return nil, sqlErr(ErUnknown, "Clone: %v", err)
		}
	}
	tr.Add(StageFileSync, total, false)
	if err := fsutil.WriteFileAtomic(filepath.Join(staging, completeFile), raw, 0o600); err != nil {
		return nil, sqlErr(ErUnknown, "Clone: %v", err)
	}
	tr.EndStage(StageFileSync)
	log.Info("clone: staged and verified", "dir", staging, "bytes", total, "resumed", resumed, "gtid_executed", m.GTIDExecuted)
	return m, nil
}

// fetchFile streams one file into p, makes it durable and checks its SHA-256, read back from
// disk, against the donor's.
func fetchFile(ctx context.Context, conn *sql.Conn, id string, f File, p string, lim *limiter, opts Options) error {
	tr := opts.Tracker
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return sqlErr(ErUnknown, "Clone cannot write %s: %v", p, err)
	}
	defer out.Close()
	var off int64
	for off < f.Size {
		rate := int64(0)
		if opts.MaxBandwidth != nil {
			rate = opts.MaxBandwidth()
		}
		n := chunkFor(rate)
		if n > f.Size-off {
			n = f.Size - off
		}
		if err := lim.wait(ctx, n, rate); err != nil {
			return sqlErr(ErUnknown, "Clone interrupted: %v", err)
		}
		var chunk []byte
		q := fmt.Sprintf("CLONE DONOR READ '%s' '%s' %d %d", id, f.Name, off, n)
		if err := conn.QueryRowContext(ctx, q).Scan(&chunk); err != nil {
			return donorErr(opts.Source, err)
		}
		if int64(len(chunk)) != n {
			return sqlErr(ErCloneDonor, "Clone Donor Error: %s: asked for %d bytes at %d, got %d.", f.Name, n, off, len(chunk))
		}
		if _, err := out.Write(chunk); err != nil {
			return sqlErr(ErUnknown, "Clone cannot write %s: %v", p, err)
		}
		off += n
		tr.Add(StageFileCopy, n, true)
	}
	if err := out.Sync(); err != nil {
		return sqlErr(ErUnknown, "Clone cannot sync %s: %v", p, err)
	}
	if err := out.Close(); err != nil {
		return sqlErr(ErUnknown, "Clone cannot write %s: %v", p, err)
	}
	if opts.DamageStaged != nil {
		opts.DamageStaged(f.Name, p)
	}
	sum, size, err := hashFile(p)
	if err != nil {
		return sqlErr(ErUnknown, "Clone cannot verify %s: %v", p, err)
	}
	if sum != f.SHA256 || size != f.Size {
		// Never keep a file that failed: a retry must fetch it again.
		_ = os.Remove(p)
		return sqlErr(ErUnknown, "Clone verification failed: %s has SHA-256 %s (%d bytes) on the recipient, the donor's is %s (%d bytes); the node's data is unchanged, run the clone again",
			f.Name, sum, size, f.SHA256, f.Size)
	}
	return nil
}

// removeUnlisted deletes staged files the manifest does not list (left by an older checkpoint).
func removeUnlisted(staging string, m *Manifest) error {
	want := map[string]bool{}
	for _, f := range m.Files {
		want[f.Name] = true
	}
	entries, err := os.ReadDir(filepath.Join(staging, storeDirName))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !want[storeDirName+"/"+e.Name()] {
			if err := os.RemoveAll(filepath.Join(staging, storeDirName, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func stagedPath(staging, name string) string {
	return filepath.Join(staging, filepath.FromSlash(name))
}

// openDonor returns a pool for the donor (no connection is made yet).
func openDonor(s Source) (*sql.DB, error) {
	cfg := gomysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = s.User, s.Password, "tcp", s.Addr()
	cfg.TLSConfig = s.TLS
	if cfg.TLSConfig == "" {
		cfg.TLSConfig = "preferred"
	}
	cfg.Timeout = 10 * time.Second
	cfg.ReadTimeout = 10 * time.Minute // the checkpoint's checksums can take a while
	cfg.MaxAllowedPacket = 64 << 20
	conn, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, sqlErr(ErCloneDonor, "Clone Donor Error: %v.", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	return db, nil
}

// donorErr turns what the donor connection returned into the error the client sees: the
// donor's own MySQL error passes through (1045 for a wrong password, 1227 for a missing
// privilege), anything else is ER_CLONE_DONOR naming the donor.
func donorErr(s Source, err error) error {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		state := string(me.SQLState[:])
		if strings.Trim(state, "\x00") == "" {
			state = "HY000"
		}
		return mysql.NewSQLError(int(me.Number), state, "%s", me.Message)
	}
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return se
	}
	return sqlErr(ErCloneDonor, "Clone Donor Error: %s: %v.", s.Addr(), err)
}

func sqlErr(code int, format string, args ...any) error {
	return mysql.NewSQLError(code, "HY000", format, args...)
}
