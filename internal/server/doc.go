// Package server assembles one RelayDB node: a go-mysql-server engine over a
// Storage backend, listening on the MySQL protocol, with the node's identity,
// users, system variables and write restrictions.
//
// Construction: Open(Config) takes the datadir lock, loads or creates the
// node's files, opens the storage through Config.OpenStorage, builds the
// engine and binds the listener; Serve logs the single "ready for
// connections" line and accepts clients; Close stops accepting, closes client
// connections, waits (bounded) for their handlers, closes the engine and the
// storage and releases the lock.
//
// The datadir (one lock covers all of it):
//
//	relaydb.pid       flock held while a node runs; contains its PID
//	auto.cnf          [auto] server-uuid=..., created once, never rewritten
//	mysql.db          users, grants and roles (GMS's flatbuffer), rewritten
//	                  atomically before any account statement is acknowledged
//	relaydb-auto.cnf  SET PERSIST values (JSON), rewritten atomically
//	server-cert.pem,
//	server-key.pem    self-signed TLS identity, generated on first start unless
//	                  --ssl-cert/--ssl-key name one elsewhere (--skip-ssl: no TLS)
//	files/            secure_file_priv: the only place LOAD DATA may read
//	data/             the storage backend's own directory
//	binlog.NNNNNN,
//	binlog.index      the binary log, when the backend keeps one (binlogSource)
//	clone-status.json the latest clone's status (performance_schema.clone_status / clone_progress)
//	.clone/           a clone being staged (CLONE INSTANCE, relaydb clone); installed at the next
//	                  start once marked COMPLETE (internal/clone)
//	clone-old-*/      data a clone replaced, set aside, never deleted by RelayDB
//	.clone-donor/     checkpoints this node serves as a clone donor; emptied at start
//
// Invariants:
//
//   - At most one process serves a datadir; a second Open fails with
//     ErrDataDirLocked naming the holder's PID.
//
//   - Files are replaced by write-temp, fsync, rename, fsync-dir, so a crash
//     leaves the old or the new content, never a mix.
//
//   - System variables are GMS's process-wide registry: Open resets and
//     fills it, so a process runs one Node at a time. Persisted values win
//     over options, as in MySQL; server_uuid is read-only.
//
//   - Every analyzed statement passes readonly.CheckNode before it is built
//     into an iterator (see readOnlyGuard), so read_only/super_read_only
//     refuse writes before anything is changed.
//
//   - A VIRTUAL generated column reads clamped to its type's range, as in MySQL and MariaDB,
//     never as error 1264 (clampVirtualColumns, applied to every table node as it is built).
//
//   - max_allowed_packet is enforced on the byte stream before vitess
//     buffers a packet (limitListener); an oversized packet gets error 1153
//     and its connection is closed, other connections are untouched.
//
//   - With a binary log, an account statement is logged (one QUERY event, own GTID, password in its
//     stored form, regardless of binlog-do/ignore-db) after mysql.db is written and before the client
//     is answered (privileges.go); RENAME USER, which GMS lacks, is built by readOnlyGuard (accounts.go).
//
//   - Parse errors reach clients as error 1064 with MySQL's message.
//
//   - A staged, complete clone is installed (clone.Install) right after the datadir lock is
//     taken, before auto.cnf or any data is read; the node's identity is never cloned
//     (clonestmt.go).
//
//   - TLS is terminated by limitConn, never by vitess (which gets no TLS configuration), so
//     RelayDB sees every connection's clear-text packets: vitess's handshake gets CLIENT_SSL
//     added, the client's SSL request is answered by the TLS handshake and kept from vitess,
//     and sequence ids are shifted by one until authentication ends. The account's REQUIRE
//     clause is checked against limitConn's TLS session (auth.go: connTLS).
//
//   - COM_BINLOG_DUMP, which vitess does not dispatch, reaches ComBinlogDumpGTID because
//     limitListener rewrites it on the byte stream into the equivalent COM_BINLOG_DUMP_GTID
//     (dumpcmd.go); BINLOG_DUMP_NON_BLOCK, which vitess refuses, travels beside the packet.
//     Only command packets (sequence id 0) are looked at, and only a command taken out of the
//     stream (at most 64 KiB) is held whole. A non-blocking dump ends with an EOF packet and
//     then the connection, as in MySQL.
//
//   - COM_STATISTICS and COM_CHANGE_USER, which vitess answers "not implemented", are taken
//     out of the stream the same way and answered on the connection's goroutine while vitess
//     waits for the next command (conncmd.go). Packet framing and these commands' encodings
//     live in internal/wire; nothing here decodes a packet header by hand.
//
//   - SHOW PROCESSLIST and information_schema.PROCESSLIST show MySQL's Host (ip:port),
//     Command (Binlog Dump, Binlog Dump GTID) and State (processlist.go).
//
//   - The administrative statements GMS cannot parse (binary log, replica, filter, cluster and
//     clone statements) are parsed by internal/adminsql into typed statements, and answered by
//     binlogAdmin before GMS sees the text, with MySQL's columns, privileges and error codes
//     (binlogstmt.go, replicastmt.go, clusterstmt.go, clonestmt.go). A statement adminsql does
//     not claim goes to GMS unchanged; one it claims never does, malformed or not.
//
//   - BINLOG '<base64>' (what mysqlbinlog prints for FORMAT_DESCRIPTION, TABLE_MAP and rows
//     events) runs through the replication applier's event code in the session's own
//     transaction (binlogreplay.go); a session's format and mapped tables last until its
//     connection closes. sql_mode also takes MySQL's numeric form, with MySQL's bits
//     (sqlmode.go), so mysqlbinlog's output replays.
//
//   - Logged transactions the store lacks after a crash are replayed (pendingReplayer) after
//     the engine and its functions exist and before privileges load or clients connect.
//
//   - RAND() is MySQL's per-session generator (rand.go), so statement-format logging can record
//     and replay its seeds; @@timestamp, @@insert_id and @@last_insert_id act as in MySQL.
//
//   - FLUSH TABLES WITH READ LOCK is the storage's commit gate (readlock.go): held per
//     connection, released by UNLOCK TABLES or the connection closing; the holder's own writes
//     are refused with 1223 before they run. START TRANSACTION WITH CONSISTENT SNAPSHOT takes
//     its snapshot before the statement returns.
//
//   - A dump to a replica that set @rpl_semi_sync_replica is driven outside vitess
//     (semisyncdump.go): events carry the semi-sync header, the replica's acks are read on the
//     same connection into the semisync tracker, and the connection is closed when the dump
//     ends, since vitess's buffers no longer match it.
//
//   - The semi-sync variables live in the semisync.Source; the two names of each (source/
//     master, replica/slave) are kept equal by coupledRegistry (sysvars.go).
//
//   - Replication channels (replica.Channels): statements with FOR CHANNEL act on that channel;
//     without it CHANGE REPLICATION SOURCE acts on the default channel and START, STOP, RESET,
//     SHOW REPLICA STATUS and CHANGE REPLICATION FILTER on every channel, as in MySQL.
//
//   - Prepared statements of package fastpath's shapes are run by fastPath (fastpath.go) when
//     relaydb_fast_path is ON and the storage provider reports a catalog version: classified at
//     COM_STMT_PREPARE, planned at first execution, re-planned when the catalog version or the
//     current database changes. A SELECT's result metadata is the general path's own, kept from
//     its first execution (again after any re-plan or change of character_set_results). Anything
//     the fast path declines before changing anything goes to GMS unchanged; nothing it does is
//     visible to the general path's bookkeeping except through the session (transaction,
//     LAST_INSERT_ID, ROW_COUNT, FOUND_ROWS, warnings cleared) and the status counters.
//
//   - Text statements take the same fast path by digest (textfast.go, package sqldigest): a
//     digest is trusted only after a parse of a text and of its template agreed literal for
//     literal (sqldigest.Matches), per sql_mode; the statement then runs exactly as the prepared
//     template with the text's literals bound. A text the digest lexer is unsure of has no
//     digest and goes to GMS unchanged.
//
//   - A cluster member (Config.Cluster, cluster.go) starts super_read_only and is writable only
//     while the control plane has made it the primary and its lease is valid on this process's
//     monotonic clock: the storage's commit fence refuses a group before it is logged, and fails
//     (1290, not acknowledged) a group whose lease ran out while it waited; the semi-sync waits
//     are failed at once when the lease lapses. read_only, super_read_only and the semi-sync
//     source variables are the control plane's (1228 for clients). Its dump refuses a replica of
//     a newer epoch (1236) and, while it is not a writable primary, any cluster replica (1290,
//     retried). Statements wait while the node is being promoted (it is still applying its
//     relay log). SHOW CLUSTER STATUS / JOURNAL read the control plane (clusterstmt.go).
//     During a planned switchover (SWITCHOVER, clusterstmt.go) the primary's commits are held
//     in the pipeline before they are logged (HoldCommits): super_read_only stays off until the
//     hold ends (bounded), so writes wait instead of failing, and when the primary has switched
//     they fail with 1290 naming the new one — never logged, so retrying them is safe.
//
//   - A transaction ends only where MySQL ends it (implicitcommit.go): DDL, account
//     statements, LOCK TABLES, FLUSH, ANALYZE TABLE and replication control commit the open
//     transaction before they run; reading a view, PREPARE, SHOW and every other statement
//     leave it alone (GMS would commit after a statement that merely reads a view). A session
//     left without a transaction is out of BEGIN's mode, so what follows autocommits.
//
//   - Transaction characteristics (txnchars.go): SET TRANSACTION and SET @@transaction_isolation
//     without a scope set the next transaction's level only (relaydb_next_transaction_isolation,
//     which the storage reads when a transaction starts and the node clears after the next
//     command), and fail with 1568 inside a transaction; tx_isolation / tx_read_only equal
//     transaction_isolation / transaction_read_only in both scopes; innodb_lock_wait_timeout is
//     a session and global variable (1..1073741824, default 50) the storage reads per statement.
//
//   - The engine's parser, SHOW CREATE TABLE formatter and function provider are package
//     dumpsql's (node.go): stored functions, and SHOW CREATE output that mariadb-dump can reload.
//     CREATE/DROP FUNCTION commit implicitly (implicitcommit.go: CommitsImplicitly).
//
// The package never imports a storage implementation: cmd/relaydb chooses
// one. OpenMemoryStorage (GMS's in-memory toy) is for tests.
package server
