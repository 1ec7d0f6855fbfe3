// Package clone is RelayDB's physical clone (MySQL's CLONE INSTANCE): a new or damaged node
// gets a healthy donor's store as files instead of replaying its history, then replicates from
// it by auto-position.
//
// # What a clone holds
//
// The donor (Donor) takes a Pebble checkpoint of its store (storage.Engine.Checkpoint: hard
// links plus a copy of the WAL and MANIFEST, one consistent point) and a copy of its accounts
// (mysql.db), both while account statements are held off, so the accounts match the store.
// The store's commit log state record is written atomically with every commit group, so the
// checkpoint's own record says exactly which GTIDs it holds: that set is the clone's
// gtid_executed. Nothing else is copied: not the donor's identity (auto.cnf: the recipient keeps
// or creates its own server_uuid), not its persisted settings, TLS files, binary or relay logs,
// replication channels or cluster state.
//
// # Transport
//
// Over the MySQL protocol, so the donor's accounts, privileges and TLS apply: the recipient
// logs in to the donor's SQL port and sends CLONE DONOR BEGIN (the manifest: files, sizes,
// SHA-256 computed by the donor, GTIDs), CLONE DONOR READ (one chunk as a result row) and
// CLONE DONOR END. The donor requires BACKUP_ADMIN or CLONE_ADMIN (GMS can grant only the
// latter, which in MySQL includes the former) or SUPER; the recipient's statement CLONE_ADMIN. The recipient paces its requests (clone_max_data_bandwidth), so the donor does
// no more work than the recipient asks for.
//
// # Invariants
//
//   - A file is accepted only after it is fsynced and its SHA-256, read back from the
//     recipient's disk, equals the donor's; a mismatch removes the file and fails the clone.
//   - The staging directory (<dir>/.clone) is marked COMPLETE only when every file of one
//     manifest is there and verified. Nothing outside it changes before then, so a failed or
//     interrupted clone leaves the node's data as it was.
//   - An interrupted clone is started again by running it again: files already staged whose
//     checksum matches the new checkpoint are kept (Pebble data files are immutable), the rest
//     are fetched.
//   - Install, run with the datadir held and no server on it, moves the old data into a dated
//     clone-old-* directory (never deleted) and the staged data into place; each step is a
//     rename, journaled, so a crash in the middle is finished at the next start.
//   - A cloned datadir has no binary log: commitlog.Open starts one whose PREVIOUS_GTIDS (so
//     gtid_purged) is the clone's gtid_executed, and replication by auto-position continues
//     from there.
package clone
