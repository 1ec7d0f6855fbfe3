package replica

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/mariabinlog"
	"github.com/relaydb/relaydb/internal/semisync"
	"github.com/relaydb/relaydb/internal/wire"
)

// receive is the receiver: it connects (retrying per CONNECT_RETRY / RETRY_COUNT), asks for the
// transactions this server lacks, and appends each complete transaction to the relay log.
func (r *Replica) receive(ctx context.Context) {
	defer r.setState(true, "")
	cfg := r.config()
	for attempt := 1; ; attempt++ {
		r.setState(true, "Connecting to source")
		r.streaming.Store(false)
		err := r.session(ctx, cfg)
		if ctx.Err() != nil {
			return
		}

		if err != nil {
			switch errno(err, 0) {
			case erRelayLogWrite:
				r.setIOError(erRelayLogWrite, err)
			case 1236:
				r.setIOError(1236, fmt.Errorf("Got fatal error 1236 from source when reading data from binary log: '%v'", err))
			case 1743, mariabinlog.ErrNotSupported:
				r.setIOError(errno(err, 0), err)
			default:
				r.setIOError(errno(err, 2003), fmt.Errorf("error connecting to source '%s@%s:%d' - retry-time: %d retries: %d message: %v",
					cfg.User, cfg.Host, cfg.Port, cfg.ConnectRetry, attempt, err))
			}
			switch errno(err, 0) {
			case 1593, 1236, erRelayLogWrite, mariabinlog.ErrNotSupported:
				// Equal server ids, a source that cannot serve what this replica needs (purged
				// binlogs, events this replica cannot read), or a relay log that cannot be
				// written: retrying cannot help, so the receiver stops, as in MySQL.
				return
			}
		}
		if r.streaming.Load() {
			// The connection worked and the dump ran: RETRY_COUNT counts failed attempts in a
			// row, as in MySQL, so the count starts again.
			attempt = 0
		}
		if attempt >= cfg.RetryCount {
			return
		}
		if !sleepCtx(ctx, time.Duration(max(cfg.ConnectRetry, 1))*time.Second) {
			return
		}
	}
}

// session is one connection to the source, until it fails or ctx ends.
func (r *Replica) session(ctx context.Context, cfg Config) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	conn, err := r.connect(cctx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close()
	ended := make(chan struct{})
	defer close(ended)
	go func() {
		// STOP REPLICA closes the connection to end a blocking read.
		select {
		case <-ctx.Done():
			conn.Close()
		case <-ended:
		}
	}()
	srcID, srcUUID, err := r.sourceIdentity(conn)
	if err != nil {
		return err
	}
	maria := isMariaDB(conn)
	if srcID == r.opts.ServerID {
		return mysql.NewSQLError(1593, "HY000", "Fatal error: The replica I/O thread stops because source and replica have equal MySQL server ids; these ids must be different for replication to work")
	}
	for _, q := range []string{
		fmt.Sprintf("SET @master_heartbeat_period = %d", int64(cfg.Heartbeat*1e9)),
		"SET @master_binlog_checksum = @@GLOBAL.binlog_checksum, @source_binlog_checksum = @@GLOBAL.binlog_checksum",
		"SET @slave_uuid = '" + r.opts.ServerUUID + "', @replica_uuid = '" + r.opts.ServerUUID + "'",
		r.epochStatement(),
		mariaDBCapability(maria),
	} {
		if q == "" {
			continue
		}
		if _, err := conn.ExecuteFetch(q, 0, false); err != nil {
			return err
		}
	}
	if err := r.register(conn); err != nil {
		return err
	}
	semi, err := r.startSemiSync(conn)
	if err != nil {
		return err
	}
	defer r.endSemiSync()
	if semi {
		go r.runAcker(ended, conn.Close)
	}
	r.mu.Lock()
	r.st.sourceServerID, r.st.sourceUUID = srcID, srcUUID
	has := gtid.Union(r.opts.Executed(), r.st.retrieved)
	r.mu.Unlock()
	checksum := streamChecksum(conn) // before the dump: the connection then only streams events
	if err := r.requestDump(conn, cfg, has, maria); err != nil {
		return err
	}
	r.setState(true, ioStateWaitingForSource)
	r.streaming.Store(true)
	r.mu.Lock()
	r.st.lastIOErrno, r.st.lastIOError = 0, ""
	r.mu.Unlock()
	return r.readEvents(ctx, conn, semi, netTimeout(cfg.Heartbeat), checksum, maria)
}

// streamChecksum is the checksum the source's events carry in this session: what
// @master_binlog_checksum was set to. It matters before the first FORMAT_DESCRIPTION: the
// source's first event, the fake ROTATE naming the file, already has it (or not).
func streamChecksum(conn *mysql.Conn) binlog.Checksum {
	res, err := conn.ExecuteFetch("SELECT @master_binlog_checksum", 1, false)
	if err != nil || len(res.Rows) != 1 {
		return binlog.ChecksumCRC32
	}
	c, err := binlog.ParseChecksum(res.Rows[0][0].ToString())
	if err != nil {
		return binlog.ChecksumCRC32
	}
	return c
}

// netTimeout is how long the receiver waits for any packet: twice the heartbeat period (MySQL's
// defaults: heartbeat 30 s, replica_net_timeout 60 s), at least 2 s; 60 s without heartbeats.
func netTimeout(heartbeat float64) time.Duration {
	if heartbeat <= 0 {
		return 60 * time.Second
	}
	return max(time.Duration(2*heartbeat*float64(time.Second)), 2*time.Second)
}

// epochStatement tells a source the cluster epoch this replica acts in ("" outside a cluster).
func (r *Replica) epochStatement() string {
	if r.opts.ClusterEpoch == nil {
		return ""
	}
	return fmt.Sprintf("SET @relaydb_cluster_epoch = %d", r.opts.ClusterEpoch())
}

// readEvents reads the dump stream and appends whole transactions to the relay log. In a
// semi-sync session, an event that asks for an acknowledgement is acknowledged once the
// transaction it ends is in the relay log: written to the file (WRITE) or also fsynced (FSYNC),
// see acknowledge.
func (r *Replica) readEvents(ctx context.Context, conn *mysql.Conn, semi bool, timeout time.Duration, checksum binlog.Checksum, maria bool) error {
	format := binlog.NewFormat(checksum)
	read := conn.ReadPacket
	if semi && maria {
		read = mariaDBSemiSyncReader(conn)
	}
	var mt mariabinlog.Translator
	var txn binlog.Txn
	var txnGTID gtid.GTID
	began := false
	for {
		// A source that sends nothing, not even a heartbeat, for this long is gone (a silent
		// partition sends no reset): reconnect, as MySQL does after replica_net_timeout.
		conn.Conn.SetReadDeadline(time.Now().Add(timeout))
		raw, needAck, flags, err := readEventPacket(ctx, read, semi)
		readAt := time.Now()
		if err == nil {
			r.heardAt.Store(readAt.UnixNano())
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if needAck {
			// Before the transaction reaches the relay log, so that the applier, once it
			// commits it, knows whether the source waits for its applied acknowledgement.
			r.semi.wantApplied.Store(flags&semisync.FlagAppliedAckRequested != 0)
		}
		e := binlog.Event(append([]byte(nil), raw...))
		if needAck && (len(txn) == 0 || !endsTxn(format, e, began)) {
			// Asked outside a transaction this replica relays (a heartbeat, or the end of a
			// transaction dropped as its own): everything before it is relayed already.
			if len(txn) == 0 && e.LogPos() > 0 && e.Type() != binlog.TypeRotate && e.Type() != binlog.TypeFormatDescription {
				r.mu.Lock()
				r.st.readPos = uint64(e.LogPos())
				r.mu.Unlock()
			}
			if err := r.acknowledge(readAt); err != nil {
				return err
			}
			needAck = false
		}
		if mariabinlog.IsMariaDBEvent(e.Type()) {
			// MariaDB's own events (whatever the greeting said: none is dropped unread): its
			// GTID event starts a transaction (mariadb.go).
			out, standalone, err := mt.Translate(format, e)
			if err != nil {
				return err
			}
			if len(out) > 0 {
				if txn, txnGTID, began, err = r.mariaTxnStart(format, out, standalone); err != nil {
					return err
				}
			}
			continue
		}
		switch e.Type() {
		case binlog.TypeFormatDescription:
			fd, err := binlog.DecodeFormatDescription(e)
			if err != nil {
				return err
			}
			format = fd.Format
			continue
		case binlog.TypeRotate:
			pos, next, err := binlog.DecodeRotate(format, e)
			if err == nil {
				r.mu.Lock()
				r.st.sourceFile, r.st.readPos = next, pos
				if len(txn) == 0 {
					r.st.resumeFile, r.st.resumePos = next, pos
				}
				r.mu.Unlock()
			}
			continue
		case binlog.TypeHeartbeat, binlog.TypeHeartbeatV2:
			r.mu.Lock()
			r.st.readPos = uint64(e.LogPos())
			r.mu.Unlock()
			continue
		case binlog.TypePreviousGTIDs, binlog.TypeStop:
			continue
		case binlog.TypeGTID:
			g, err := binlog.DecodeGTID(format, e)
			if err != nil {
				return err
			}
			txn, txnGTID, began = binlog.Txn{e}, g.GTID, false
			if e.ServerID() == r.opts.ServerID && !r.opts.ReplicateSameServerID {
				// This server's own transaction come back around a ring: not relayed
				// (replicate_same_server_id = 0); its GTID is executed here already.
				txn = nil
			}
			continue
		}
		if len(txn) == 0 {
			continue // not inside a transaction we can relay (an anonymous one, or a cut-off start)
		}
		txn = append(txn, e)
		end := false
		switch e.Type() {
		case binlog.TypeXID:
			end = true
		case binlog.TypeQuery:
			q, err := binlog.DecodeQuery(format, e)
			if err != nil {
				return err
			}
			switch s := strings.ToUpper(strings.TrimSpace(q.SQL)); {
			case s == "BEGIN":
				began = true
			case s == "COMMIT" || s == "ROLLBACK" || !began:
				end = true
			}
		}
		if !end {
			continue
		}
		// A transaction acknowledged at once (WRITE) is shown to the applier only after the ack
		// went out: waking the applier first would let it take the CPU the ack needs.
		quiet := needAck && r.ackDurability() == AckWrite
		if err := r.appendRelay(ctx, format.Checksum, txn, quiet); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		r.mu.Lock()
		_ = r.st.retrieved.Add(txnGTID)
		r.st.readPos = uint64(e.LogPos())
		r.st.resumeFile, r.st.resumePos = r.st.sourceFile, uint64(e.LogPos())
		r.mu.Unlock()
		txn = nil
		if needAck {
			err := r.acknowledge(readAt)
			if quiet {
				r.relayWriterNow().Publish()
			}
			if err != nil {
				return err
			}
		}
	}
}

// endsTxn reports whether e ends the transaction being read (began: it started with BEGIN).
func endsTxn(f binlog.Format, e binlog.Event, began bool) bool {
	switch e.Type() {
	case binlog.TypeXID:
		return true
	case binlog.TypeQuery:
		q, err := binlog.DecodeQuery(f, e)
		if err != nil {
			return false
		}
		s := strings.ToUpper(strings.TrimSpace(q.SQL))
		return s == "COMMIT" || s == "ROLLBACK" || (!began && s != "BEGIN")
	}
	return false
}

// acknowledge acknowledges everything read from the source so far (askedAt: when the event
// asking for it was read), as rpl_semi_sync_replica_ack_durability says. WRITE sends the ack at
// once, from the receiver itself: what was read is in the relay log file already, and no other
// goroutine has to wake up for it. FSYNC hands the position to the acker (see runAcker). It
// fails if the ack cannot be sent, or if the acker has failed.
func (r *Replica) acknowledge(askedAt time.Time) error {
	r.mu.Lock()
	pos := binlog.Position{File: r.st.sourceFile, Offset: r.st.readPos}
	r.mu.Unlock()
	if r.ackDurability() == AckWrite {
		r.semi.mu.Lock()
		err := r.semi.ackErr
		r.semi.mu.Unlock()
		if err != nil {
			return err
		}
		if err := r.sendAck(pos, false); err != nil {
			return err
		}
		r.semi.ackWaitNs.Add(uint64(time.Since(askedAt)))
		return nil
	}
	r.semi.mu.Lock()
	err := r.semi.ackErr
	r.semi.want, r.semi.askedAt = pos, askedAt
	r.semi.mu.Unlock()
	select {
	case r.semi.kick <- struct{}{}:
	default:
	}
	return err
}

// runAcker acknowledges, until done is closed, the latest position the receiver asked for in
// FSYNC mode: it makes the relay log durable up to there (without stopping the receiver, which
// goes on reading the next events meanwhile), then sends the ack. Requests that arrive during an
// fsync are covered together by the next one (group fsync: one fsync and one ack for all).
func (r *Replica) runAcker(done <-chan struct{}, closeConn func()) {
	for {
		select {
		case <-done:
			return
		case <-r.semi.kick:
		}
		r.semi.mu.Lock()
		pos, askedAt := r.semi.want, r.semi.askedAt
		r.semi.mu.Unlock()
		var err error
		if w := r.relayWriterNow(); w != nil {
			if _, serr := w.SyncConcurrent(); serr != nil {
				err = mysql.NewSQLError(erRelayLogWrite, "HY000", "Relay log write failure: fsync before a semi-sync acknowledgement: %v", serr)
			} else {
				r.semi.ackFsyncs.Add(1)
			}
		}
		if err == nil {
			err = r.sendAck(pos, false)
		}
		if err != nil {
			r.semi.mu.Lock()
			r.semi.ackErr = err
			r.semi.mu.Unlock()
			closeConn() // the receiver's read fails and it reconnects
			return
		}
		r.semi.ackWaitNs.Add(uint64(time.Since(askedAt)))
	}
}

// erRelayLogWrite is MySQL's ER_REPLICA_RELAY_LOG_WRITE_FAILURE.
const erRelayLogWrite = 13122

// diskFullRetry is how often the receiver tries again to write to a full relay log disk.
const diskFullRetry = time.Second

// appendRelay appends one whole transaction to the relay log. No fsync: the relay log is
// discarded at startup and fetched again from the source (relay_log_recovery), so its
// durability buys nothing; the applier reads what is written.
//
// On a full disk (ENOSPC, EDQUOT) the receiver does what MySQL's does: it reports error 1021,
// keeps the transaction in memory, stops reading from the source and tries again every
// diskFullRetry until the write fits (someone freed space, or the applier purged relay log
// files) or the receiver is stopped. Nothing is lost: the transaction joins Retrieved_Gtid_Set
// only once written, and a receiver stopped meanwhile asks the source for it again. The writer
// cuts a failed write off the file and its position covers only whole writes, so the applier
// never sees part of a transaction.
func (r *Replica) appendRelay(ctx context.Context, checksum binlog.Checksum, txn binlog.Txn, quiet bool) error {
	waiting := false
	for {
		err := r.tryAppendRelay(checksum, txn, quiet)
		if err == nil {
			if waiting {
				r.diskSpaceBack()
			}
			return nil
		}
		if !diskFull(err) {
			return err
		}
		if !waiting {
			waiting = true
			r.waitForDiskSpace(err)
		}
		if !sleepCtx(ctx, diskFullRetry) {
			return ctx.Err()
		}
	}
}

// tryAppendRelay writes txn to the relay log once (quiet: without waking the applier, see
// binlog.Writer.AppendQuiet). A full disk comes back as it is, other I/O errors as
// erRelayLogWrite; anything else the writer refuses is damage in transit.
func (r *Replica) tryAppendRelay(checksum binlog.Checksum, txn binlog.Txn, quiet bool) error {
	w, err := r.relayWriter(checksum)
	if err != nil {
		if diskFull(err) {
			return err
		}
		return mysql.NewSQLError(erRelayLogWrite, "HY000", "Relay log write failure: could not open the relay log: %v", err)
	}
	r.markSourceFile(w.Position(), r.sourceFileName())
	if quiet {
		// Shown to the applier by Publish once acknowledged (readEvents).
		_, err = w.AppendQuiet(txn)
	} else {
		_, err = w.Append(txn)
	}
	var pathErr *os.PathError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, binlog.ErrStopped):
		return mysql.NewSQLError(erRelayLogWrite, "HY000", "Relay log write failure: %v; the relay log stays unusable until RESET REPLICA (with both threads stopped) or a restart of the server discards it", err)
	case diskFull(err):
		return err
	case errors.As(err, &pathErr):
		return mysql.NewSQLError(erRelayLogWrite, "HY000", "Relay log write failure: %v", err)
	}
	// The writer checks every event's size and checksum: damage in transit lands here. The
	// transaction is dropped and the receiver reconnects from what it has.
	return mysql.NewSQLError(1743, "HY000", "Replication event checksum verification failed while reading from network (%v)", err)
}

func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// waitForDiskSpace reports a full relay log disk with MySQL's error 1021 and IO state.
func (r *Replica) waitForDiskSpace(err error) {
	file := r.opts.RelayLog
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		file = pathErr.Path
	}
	code := syscall.ENOSPC
	if errors.Is(err, syscall.EDQUOT) {
		code = syscall.EDQUOT
	}
	msg := code.Error() // strerror's text, capitalised as the C library prints it
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	r.setIOError(erDiskFull, fmt.Errorf("Disk is full writing '%s' (OS errno %d - %s). Waiting for someone to free space...", file, int(code), msg))
	r.setState(true, ioStateWaitingForDisk)
}

// diskSpaceBack clears the disk full error once the relay log could be written again.
func (r *Replica) diskSpaceBack() {
	r.mu.Lock()
	if r.st.lastIOErrno == erDiskFull {
		r.st.lastIOErrno, r.st.lastIOError, r.st.lastIOErrTime = 0, "", time.Time{}
	}
	r.st.ioState = ioStateWaitingForSource
	r.mu.Unlock()
	r.opts.Logger.Info("replication receiver: the relay log disk has room again; receiving")
}

const (
	erDiskFull              = 1021 // ER_DISK_FULL
	ioStateWaitingForDisk   = "Waiting for disk space"
	ioStateWaitingForSource = "Waiting for source to send event"
)

// register sends COM_REGISTER_SLAVE, as MySQL's receiver does, so that the source's SHOW
// REPLICAS lists this server with the port it serves clients on (report_port). vitess's client
// has no writer for it: the packet goes out as bytes, and the reply (OK or an error) is read the
// same way; nothing else is in flight on the connection then.
func (r *Replica) register(conn *mysql.Conn) error {
	if r.opts.ReportPort == 0 {
		return nil
	}
	// User and password are not sent; the source fills in the source id.
	p := wire.RegisterSlave{ServerID: r.opts.ServerID, Host: r.opts.ReportHost, Port: uint16(r.opts.ReportPort)}.Encode()
	pkt, _ := wire.AppendPacket(nil, 0, p)
	if _, err := conn.Conn.Write(pkt); err != nil {
		return err
	}
	reply, _, err := wire.ReadPacket(conn.Conn, 0)
	if err != nil {
		return err
	}
	if len(reply) > 0 && reply[0] == mysql.ErrPacket {
		return mysql.ParseErrorPacket(reply)
	}
	return nil
}
