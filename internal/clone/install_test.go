package clone

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// stagedDatadir builds a node's datadir with data, logs and identity, and a complete clone
// staged in it.
func stagedDatadir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for rel, c := range map[string]string{
		"auto.cnf": "[auto]\nserver-uuid=mine\n", "relaydb-auto.cnf": "x", "server-cert.pem": "c",
		"data/000001.sst": "old", "mysql.db": "old accounts", "binlog.000001": "b", "binlog.index": "i",
		"relay-bin.000003": "r", "relay-bin.index": "i", "relay-bin-ch1.000001": "r", "replica.json": "{}",
		"replica-ch1.json": "{}", "cluster/raft.db": "raft",
		".clone/data/000007.sst": "new data", ".clone/mysql.db": "new accounts",
	} {
		write(rel, c)
	}
	m := Manifest{ID: "ab", GTIDExecuted: "x:1-3", Files: []File{
		{Name: "data/000007.sst", Size: 8, SHA256: strings.Repeat("0", 64)},
		{Name: "mysql.db", Size: 12, SHA256: strings.Repeat("0", 64)},
	}}
	b, _ := json.Marshal(m)
	write(".clone/"+completeFile, string(b))
	return dir
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func checkInstalled(t *testing.T, dir, old string) {
	t.Helper()
	if b, _ := os.ReadFile(filepath.Join(dir, "data/000007.sst")); string(b) != "new data" {
		t.Errorf("store not installed: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "mysql.db")); string(b) != "new accounts" {
		t.Errorf("accounts not installed: %q", b)
	}
	for _, keep := range []string{"auto.cnf", "relaydb-auto.cnf", "server-cert.pem", "cluster/raft.db"} {
		if _, err := os.Stat(filepath.Join(dir, keep)); err != nil {
			t.Errorf("%s was not kept: %v", keep, err)
		}
	}
	want := []string{"binlog.000001", "binlog.index", "data/000001.sst", "mysql.db", "relay-bin-ch1.000001",
		"relay-bin.000003", "relay-bin.index", "replica-ch1.json", "replica.json"}
	if got := listDir(t, old); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("set aside: %v\nwant %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, StagingDirName)); !os.IsNotExist(err) {
		t.Errorf("staging directory left behind: %v", err)
	}
	if Pending(dir) {
		t.Error("still pending after install")
	}
}

func TestInstallSetsAsideOldData(t *testing.T) {
	dir := stagedDatadir(t)
	old, ok, err := Install(dir, Layout{}, nil)
	if err != nil || !ok || old == "" {
		t.Fatalf("Install: %q %v %v", old, ok, err)
	}
	checkInstalled(t, dir, old)
	// Nothing pending: a second call does nothing.
	if _, ok, err := Install(dir, Layout{}, nil); ok || err != nil {
		t.Fatalf("second Install: %v %v", ok, err)
	}
}

// A crash during the set-aside phase, and one during the install phase, are finished by the
// next Install.
func TestInstallFinishesAfterCrash(t *testing.T) {
	for _, phase := range []string{"set-aside", "install"} {
		t.Run(phase, func(t *testing.T) {
			dir := stagedDatadir(t)
			st := swapState{OldDir: "clone-old-test", Phase: phase}
			old := filepath.Join(dir, st.OldDir)
			if err := os.MkdirAll(old, 0o700); err != nil {
				t.Fatal(err)
			}
			if phase == "set-aside" {
				// Crashed after moving one item.
				if err := os.Rename(filepath.Join(dir, "mysql.db"), filepath.Join(old, "mysql.db")); err != nil {
					t.Fatal(err)
				}
			} else {
				items, _ := dataItems(dir, Layout{})
				for _, it := range items {
					if err := os.Rename(filepath.Join(dir, it), filepath.Join(old, it)); err != nil {
						t.Fatal(err)
					}
				}
				// Crashed after installing the store, before the accounts.
				if err := os.Rename(filepath.Join(dir, ".clone/data"), filepath.Join(dir, "data")); err != nil {
					t.Fatal(err)
				}
			}
			if err := writeSwap(filepath.Join(dir, StagingDirName), st); err != nil {
				t.Fatal(err)
			}
			got, ok, err := Install(dir, Layout{}, nil)
			if err != nil || !ok || got != old {
				t.Fatalf("Install: %q %v %v", got, ok, err)
			}
			checkInstalled(t, dir, old)
		})
	}
}

// A staged clone whose files are not all there is not installed, and nothing moves.
func TestInstallRefusesIncompleteStaging(t *testing.T) {
	dir := stagedDatadir(t)
	if err := os.Remove(filepath.Join(dir, ".clone/data/000007.sst")); err != nil {
		t.Fatal(err)
	}
	before := listDir(t, dir)
	if _, _, err := Install(dir, Layout{}, nil); err == nil || !strings.Contains(err.Error(), "missing or damaged") {
		t.Fatalf("Install: %v", err)
	}
	if after := listDir(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("files changed:\n%v\n%v", before, after)
	}
}

func TestDecodeManifestRejectsPaths(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, name := range []string{"../x", "data/../../x", "/etc/passwd", "data/a'b", "other/x", "data/", "data", "data/sub/x", ""} {
		b, _ := json.Marshal(Manifest{ID: "01", Files: []File{{Name: name, Size: 1, SHA256: sum}}})
		if _, err := DecodeManifest(b); err == nil {
			t.Errorf("manifest with file %q accepted", name)
		}
	}
	b, _ := json.Marshal(Manifest{ID: "01", Files: []File{{Name: "data/000001.sst", Size: 1, SHA256: "xyz"}}})
	if _, err := DecodeManifest(b); err == nil {
		t.Error("bad checksum accepted")
	}
	b, _ = json.Marshal(Manifest{ID: "01", Files: []File{{Name: "data/000001.sst", Size: 1, SHA256: sum}, {Name: "mysql.db", Size: 2, SHA256: sum}}})
	if _, err := DecodeManifest(b); err != nil {
		t.Errorf("good manifest: %v", err)
	}
}
