package binlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/relaydb/relaydb/internal/fsutil"
)

// DefaultPrefix is the file name prefix when none is configured (MySQL 8's default log_bin
// basename).
const DefaultPrefix = "binlog"

// FileName returns the name of file number n: prefix.000001 and so on (more digits past 999999).
func FileName(prefix string, n int) string {
	return fmt.Sprintf("%s.%06d", prefix, n)
}

// fileNumber parses the number of a file named by FileName; ok is false for any other name.
func fileNumber(prefix, name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix+".")
	if !ok || len(rest) < 6 {
		return 0, false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || FileName(prefix, n) != name {
		return 0, false
	}
	return n, true
}

func indexPath(dir, prefix string) string { return filepath.Join(dir, prefix+".index") }

// readIndex returns the file names listed in the index, oldest first. exists is false when
// there is no index file.
func readIndex(dir, prefix string) (names []string, exists bool, err error) {
	data, err := os.ReadFile(indexPath(dir, prefix))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read binlog index: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	last := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		// MySQL writes paths as given to --log-bin ("./binlog.000001"); only the base name
		// matters here, the files live in dir.
		name := filepath.Base(line)
		n, ok := fileNumber(prefix, name)
		if !ok {
			return nil, true, fmt.Errorf("binlog index %s: %q is not a %s.NNNNNN file", indexPath(dir, prefix), line, prefix)
		}
		if n <= last {
			return nil, true, fmt.Errorf("binlog index %s: %q out of order", indexPath(dir, prefix), line)
		}
		last = n
		names = append(names, name)
	}
	if err := sc.Err(); err != nil {
		return nil, true, fmt.Errorf("read binlog index: %w", err)
	}
	return names, true, nil
}

// writeIndex replaces the index durably: it writes a temporary file, fsyncs it, renames it over
// the index and fsyncs the directory, so a crash leaves either the old or the new index whole.
func writeIndex(dir, prefix string, names []string) error {
	var b bytes.Buffer
	for _, n := range names {
		b.WriteString("./")
		b.WriteString(n)
		b.WriteByte('\n')
	}
	tmp := filepath.Join(dir, prefix+".index_crash_safe")
	if err := fsutil.ReplaceFile(indexPath(dir, prefix), tmp, b.Bytes(), 0o640); err != nil {
		return fmt.Errorf("write binlog index: %w", err)
	}
	return nil
}
