package clone

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/relaydb/relaydb/internal/clonename"
)

// Manifest is what a donor's checkpoint holds: its files with their donor-side checksums and
// the GTID set and binlog position of the commit log state stored in the copied store.
type Manifest struct {
	ID           string `json:"id"`
	DonorUUID    string `json:"donor_uuid"`
	GTIDExecuted string `json:"gtid_executed"`
	BinlogFile   string `json:"binlog_file"`
	BinlogPos    uint64 `json:"binlog_position"`
	Files        []File `json:"files"`
}

// File is one file of a checkpoint. Name is a slash-separated path relative to the clone's
// root: "mysql.db" or "data/<pebble file>".
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Total is the size of every file.
func (m *Manifest) Total() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// stagedItems are the top-level entries of a clone root: what a clone installs in a datadir.
var stagedItems = []string{storeDirName, accountsFileName}

const (
	storeDirName     = "data"
	accountsFileName = "mysql.db"
)

// validName reports whether a manifest file name may be written under a clone root: the
// recipient trusts the donor's data, never its paths.
func validName(name string) bool {
	if !clonename.Path(name) {
		return false
	}
	if name == accountsFileName {
		return true
	}
	dir, base := path.Split(name)
	return dir == storeDirName+"/" && base != "" && base != "." && base != ".."
}

// DecodeManifest parses and checks a manifest sent by a donor.
func DecodeManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("clone manifest: %w", err)
	}
	if m.ID == "" || !clonename.ID(m.ID) {
		return nil, fmt.Errorf("clone manifest: bad id %q", m.ID)
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if !validName(f.Name) || seen[f.Name] {
			return nil, fmt.Errorf("clone manifest: bad or repeated file name %q", f.Name)
		}
		seen[f.Name] = true
		if f.Size < 0 {
			return nil, fmt.Errorf("clone manifest: %s: negative size", f.Name)
		}
		if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("clone manifest: %s: bad checksum %q", f.Name, f.SHA256)
		}
	}
	return &m, nil
}

// hashFile returns the SHA-256 of the file at p, in hex, and its size.
func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
