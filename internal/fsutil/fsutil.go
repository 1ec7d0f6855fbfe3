package fsutil

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFileAtomic replaces path with data through a randomly named temporary file in the same
// directory: write, fsync, rename over path, fsync the directory.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	return replace(f, path, data, perm)
}

// ReplaceFile is WriteFileAtomic with a chosen temporary file name (in path's directory), for
// formats whose leftovers have a known name, such as MySQL's binlog index.
func ReplaceFile(path, tmp string, data []byte, perm os.FileMode) error {
	if filepath.Dir(tmp) != filepath.Dir(path) {
		return fmt.Errorf("replace %s: temporary file %s must be in the same directory", path, tmp)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	return replace(f, path, data, perm)
}

func replace(f *os.File, path string, data []byte, perm os.FileMode) error {
	tmp := f.Name()
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir fsyncs a directory, making file creations, renames and removals in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
