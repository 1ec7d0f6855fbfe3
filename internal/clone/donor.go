package clone

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/relaydb/relaydb/internal/commitlog"
)

// DonorOptions configure a Donor.
type DonorOptions struct {
	// Dir holds the donor's checkpoints (<datadir>/.clone-donor); it must be on the store's
	// filesystem so that checkpoint data files are hard links. Everything in it is the donor's
	// own temporary state: NewDonor empties it.
	Dir string
	// Checkpoint writes a consistent copy of the store to a directory that does not exist yet
	// and returns the commit log state that copy holds (storage.Engine.Checkpoint).
	Checkpoint func(dir string) ([]byte, error)
	// AccountsFile is the node's users and privileges (<datadir>/mysql.db).
	AccountsFile string
	// HoldAccounts runs fn while no account statement can change AccountsFile or commit its
	// GTID, so the copied accounts match the copied store (nil: no such guard).
	HoldAccounts func(fn func() error) error
	// ServerUUID is the donor's, for the manifest.
	ServerUUID string
	// Idle is how long a checkpoint nobody reads is kept (default 10 minutes).
	Idle time.Duration
	// MaxSessions bounds concurrent checkpoints (default 2).
	MaxSessions int
	Logger      *slog.Logger
	// CorruptSuffix is a test hook: the first chunk served of every file whose name ends with
	// it has one byte flipped, as a damaged transfer would have (empty: never).
	CorruptSuffix string
}

// Donor serves checkpoints of this node to recipients. Safe for concurrent use.
type Donor struct {
	opts DonorOptions
	log  *slog.Logger

	mu       sync.Mutex
	sessions map[string]*donorSession // by id; guarded by mu

	stop chan struct{} // closed by Close: ends the expiry loop
	once sync.Once
}

type donorSession struct {
	dir      string
	manifest *Manifest
	files    map[string]File
	lastUsed time.Time // guarded by Donor.mu
}

// NewDonor returns a donor, removing checkpoints an earlier run left behind.
func NewDonor(opts DonorOptions) (*Donor, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Idle == 0 {
		opts.Idle = 10 * time.Minute
	}
	if opts.MaxSessions == 0 {
		opts.MaxSessions = 2
	}
	if err := os.RemoveAll(opts.Dir); err != nil {
		return nil, fmt.Errorf("clone donor: remove old checkpoints in %s: %w", opts.Dir, err)
	}
	d := &Donor{opts: opts, log: opts.Logger, sessions: map[string]*donorSession{}, stop: make(chan struct{})}
	go d.expireLoop()
	return d, nil
}

// expireLoop releases checkpoints whose recipient went away (their hard links pin data files
// that compactions have replaced).
func (d *Donor) expireLoop() {
	tick := time.NewTicker(d.opts.Idle / 4)
	defer tick.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-tick.C:
			d.expire()
		}
	}
}

// Begin checkpoints the store and the accounts and returns the manifest, with each file's
// SHA-256 computed from the donor's copy.
func (d *Donor) Begin(ctx context.Context) (*Manifest, error) {
	d.expire()
	d.mu.Lock()
	if len(d.sessions) >= d.opts.MaxSessions {
		d.mu.Unlock()
		return nil, fmt.Errorf("too many clones in progress from this donor (%d)", d.opts.MaxSessions)
	}
	d.mu.Unlock()
	var raw [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	id := hex.EncodeToString(raw[:])
	dir := filepath.Join(d.opts.Dir, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create checkpoint directory: %w", err)
	}
	m, err := d.checkpoint(ctx, id, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s := &donorSession{dir: dir, manifest: m, files: map[string]File{}, lastUsed: time.Now()}
	for _, f := range m.Files {
		s.files[f.Name] = f
	}
	d.mu.Lock()
	d.sessions[id] = s
	d.mu.Unlock()
	d.log.Info("clone donor: checkpoint ready", "id", id, "files", len(m.Files), "bytes", m.Total(), "gtid_executed", m.GTIDExecuted)
	return m, nil
}

func (d *Donor) checkpoint(ctx context.Context, id, dir string) (*Manifest, error) {
	var state []byte
	take := func() error {
		var err error
		if state, err = d.opts.Checkpoint(filepath.Join(dir, storeDirName)); err != nil {
			return err
		}
		return copyFile(d.opts.AccountsFile, filepath.Join(dir, accountsFileName))
	}
	var err error
	if d.opts.HoldAccounts != nil {
		err = d.opts.HoldAccounts(take)
	} else {
		err = take()
	}
	if err != nil {
		return nil, err
	}
	pos, executed, err := commitlog.DecodeState(state)
	if err != nil {
		return nil, err
	}
	m := &Manifest{ID: id, DonorUUID: d.opts.ServerUUID, GTIDExecuted: executed.String(), BinlogFile: pos.File, BinlogPos: pos.Offset}
	var names []string
	err = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list checkpoint: %w", err)
	}
	// Immutable data files first: an interrupted clone keeps them, and the files that change
	// (WAL, MANIFEST) come last, in the shortest window.
	sort.Slice(names, func(i, j int) bool {
		si, sj := strings.HasSuffix(names[i], ".sst"), strings.HasSuffix(names[j], ".sst")
		if si != sj {
			return si
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !validName(name) {
			return nil, fmt.Errorf("checkpoint holds an unexpected file %q", name)
		}
		sum, size, err := hashFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return nil, fmt.Errorf("checksum %s: %w", name, err)
		}
		m.Files = append(m.Files, File{Name: name, Size: size, SHA256: sum})
	}
	return m, nil
}

// ErrUnknownClone is returned for a checkpoint id the donor does not hold (expired, ended, or
// the donor restarted): the recipient starts a new clone, keeping the files it has verified.
var ErrUnknownClone = errors.New("no such clone checkpoint on the donor (ended, expired or the donor restarted)")

func (d *Donor) session(id string) (*donorSession, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.sessions[id]
	if !ok {
		return nil, ErrUnknownClone
	}
	s.lastUsed = time.Now()
	return s, nil
}

// Read returns up to n bytes of a checkpoint file from offset off (fewer only at its end).
func (d *Donor) Read(id, name string, off, n int64) ([]byte, error) {
	s, err := d.session(id)
	if err != nil {
		return nil, err
	}
	f, ok := s.files[name]
	if !ok {
		return nil, fmt.Errorf("clone %s has no file %q", id, name)
	}
	if off < 0 || off > f.Size || n <= 0 {
		return nil, fmt.Errorf("clone %s: %s: bad range %d+%d (size %d)", id, name, off, n, f.Size)
	}
	if n > maxChunk {
		n = maxChunk
	}
	if off+n > f.Size {
		n = f.Size - off
	}
	fh, err := os.Open(filepath.Join(s.dir, filepath.FromSlash(name)))
	if err != nil {
		return nil, fmt.Errorf("clone %s: %w", id, err)
	}
	defer fh.Close()
	buf := make([]byte, n)
	if _, err := io.ReadFull(io.NewSectionReader(fh, off, n), buf); err != nil {
		return nil, fmt.Errorf("clone %s: read %s at %d: %w", id, name, off, err)
	}
	if d.opts.CorruptSuffix != "" && off == 0 && n > 0 && strings.HasSuffix(name, d.opts.CorruptSuffix) {
		buf[len(buf)/2] ^= 0xff
		d.log.Warn("clone donor: test hook damaged a chunk", "file", name)
	}
	return buf, nil
}

// End removes a checkpoint.
func (d *Donor) End(id string) error {
	d.mu.Lock()
	s, ok := d.sessions[id]
	delete(d.sessions, id)
	d.mu.Unlock()
	if !ok {
		return nil
	}
	d.log.Info("clone donor: checkpoint released", "id", id)
	return os.RemoveAll(s.dir)
}

// expire removes checkpoints nobody has read for Idle (a recipient that went away).
func (d *Donor) expire() {
	d.mu.Lock()
	var old []string
	for id, s := range d.sessions {
		if time.Since(s.lastUsed) > d.opts.Idle {
			old = append(old, id)
		}
	}
	d.mu.Unlock()
	for _, id := range old {
		d.log.Warn("clone donor: releasing an idle checkpoint", "id", id)
		_ = d.End(id)
	}
}

// Close removes every checkpoint.
func (d *Donor) Close() error {
	d.once.Do(func() { close(d.stop) })
	d.mu.Lock()
	d.sessions = map[string]*donorSession{}
	d.mu.Unlock()
	return os.RemoveAll(d.opts.Dir)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	return out.Close()
}
