package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/google/uuid"

	"github.com/relaydb/relaydb/internal/fsutil"
)

// Files in the datadir. Everything the node keeps lives under one directory so
// that one lock covers it.
const (
	lockFileName      = "relaydb.pid"
	autoCnfName       = "auto.cnf"
	mysqlDbFileName   = "mysql.db"
	persistedFileName = "relaydb-auto.cnf"
	tlsCertFileName   = "server-cert.pem"
	tlsKeyFileName    = "server-key.pem"
	storageDirName    = "data"
)

// dirLock is an exclusive flock on <datadir>/relaydb.pid, which also holds the
// owner's PID for humans and for the refusal message. The lock dies with the
// process, so a crash never leaves a stale lock behind.
type dirLock struct {
	f *os.File
}

// ErrDataDirLocked is returned (wrapped) when another process holds the datadir.
var ErrDataDirLocked = errors.New("datadir is locked by another relaydb process")

func lockDataDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := "unknown pid"
		if data, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(data))); perr == nil && pid > 0 {
				holder = "pid " + strconv.Itoa(pid)
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is held by %s", ErrDataDirLocked, path, holder)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// The file is never removed: removing it while locked would let a second
	// process lock a fresh file of the same name while a third still holds
	// the old one.
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("write lock file: %w", err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("write lock file: %w", err)
	}
	_ = f.Sync()
	return &dirLock{f: f}, nil
}

// release empties the PID file and drops the lock.
func (l *dirLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}

// loadOrCreateServerUUID reads server-uuid from <datadir>/auto.cnf, creating
// the file with a fresh random UUID if it does not exist. A file that exists
// but cannot be read is an error: silently replacing it would change the
// node's identity in every GTID it has written.
func loadOrCreateServerUUID(dir string) (id string, created bool, err error) {
	path := filepath.Join(dir, autoCnfName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		id = uuid.NewString()
		content := "[auto]\nserver-uuid=" + id + "\n"
		if err := fsutil.WriteFileAtomic(path, []byte(content), 0o644); err != nil {
			return "", false, fmt.Errorf("write %s: %w", path, err)
		}
		return id, true, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, value, ok := strings.Cut(line, "=")
		if !ok || strings.ReplaceAll(strings.TrimSpace(name), "_", "-") != "server-uuid" {
			continue
		}
		value = strings.TrimSpace(value)
		u, err := uuid.Parse(value)
		if err != nil {
			return "", false, fmt.Errorf("%s: invalid server-uuid %q: %w", path, value, err)
		}
		return u.String(), false, nil
	}
	return "", false, fmt.Errorf("%s: no server-uuid line", path)
}
