// Package fsutil holds the file operations whose crash behaviour the rest of RelayDB relies on.
//
// Invariants: after WriteFileAtomic or ReplaceFile returns nil, the new content is durable and a
// crash at any earlier moment leaves either the old file or the new one whole, never a mix; after
// SyncDir returns nil, file creations, renames and removals in that directory are durable.
package fsutil
