package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/relaydb/relaydb/internal/binlog"
	"github.com/relaydb/relaydb/internal/gtid"
	"github.com/relaydb/relaydb/internal/source"
	"github.com/relaydb/relaydb/internal/wire"
)

// errLogInUse refuses to purge a binlog file a connected replica still reads (MySQL's
// ER_LOG_IN_USE).
var errLogInUse = errors.New("a purgeable log is in use")

// replicaDump is one connected replica: what COM_REGISTER_SLAVE said and what its dump reads.
type replicaDump struct {
	serverID uint32
	host     string
	port     uint16
	uuid     string
	file     string // binlog file being read; "" before the dump starts
}

// replicaRegistry knows the replicas connected for a binlog dump (SHOW REPLICAS) and which
// files they read (PURGE refuses those).
type replicaRegistry struct {
	mu    sync.Mutex
	conns map[uint32]*replicaDump // by connection id
}

func newReplicaRegistry() *replicaRegistry {
	return &replicaRegistry{conns: map[uint32]*replicaDump{}}
}

func (r *replicaRegistry) get(id uint32) *replicaDump {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.conns[id]
	if !ok {
		d = &replicaDump{}
		r.conns[id] = d
	}
	return d
}

func (r *replicaRegistry) update(id uint32, fn func(d *replicaDump)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d, ok := r.conns[id]; ok {
		fn(d)
	}
}

func (r *replicaRegistry) remove(id uint32) {
	r.mu.Lock()
	delete(r.conns, id)
	r.mu.Unlock()
}

// guard refuses to purge a file some dump is reading.
func (r *replicaRegistry) guard(file string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.conns {
		if d.file == file {
			return fmt.Errorf("%w: %s is read by the replica with server_id %d", errLogInUse, file, d.serverID)
		}
	}
	return nil
}

// ComRegisterReplica implements mysql.BinlogReplicaHandler (COM_REGISTER_SLAVE).
func (h *nodeHandler) ComRegisterReplica(c *mysql.Conn, host string, port uint16, user, password string) error {
	if h.admin == nil || h.admin.log == nil {
		return source.Error1236("Binary log is not open")
	}
	if err := h.admin.checkPrivileges(context.Background(), c, []string{"REPLICATION SLAVE"}); err != nil {
		return err
	}
	h.admin.replicas.get(c.ConnectionID)
	h.admin.replicas.update(c.ConnectionID, func(d *replicaDump) {
		d.host, d.port = host, port
		d.serverID = connServerID(c)
	})
	return nil
}

// connServerID is the server_id a replica sent in its last COM_REGISTER_SLAVE or
// COM_BINLOG_DUMP_GTID (0 if it sent neither through limitConn).
func connServerID(c *mysql.Conn) uint32 {
	if lc := underlyingLimitConn(c.Conn); lc != nil {
		return lc.replicaServerID.Load()
	}
	return 0
}

// ComBinlogDumpGTID implements mysql.BinlogReplicaHandler (COM_BINLOG_DUMP_GTID, and
// COM_BINLOG_DUMP, which limitConn rewrites into it): it streams the binlog until the replica
// goes away or the server stops, or, for a non-blocking dump, until all of it has been sent. A
// GTID set (flag BINLOG_THROUGH_GTID) asks for auto-positioning; otherwise the file and position
// are the start.
func (h *nodeHandler) ComBinlogDumpGTID(c *mysql.Conn, logFile string, logPos uint64, gtidSet mysql.GTIDSet) error {
	var req dumpRequest
	seen := false // the command came through limitConn, so its flags and server_id are known
	if lc := underlyingLimitConn(c.Conn); lc != nil {
		if r := lc.takeDumpRequest(); r != nil {
			req, seen = *r, true
		}
	}
	a := h.admin
	if a == nil || a.log == nil {
		return source.Error1236("Binary log is not open")
	}
	if err := a.checkPrivileges(context.Background(), c, []string{"REPLICATION SLAVE"}); err != nil {
		return err
	}
	if err := h.checkClusterDump(c); err != nil {
		return err
	}
	start := source.Start{File: logFile, Pos: logPos}
	if gtidSet != nil { // the replica set BINLOG_THROUGH_GTID: auto-positioning
		set, err := gtid.FromVitess(gtidSet)
		if err != nil {
			return source.Error1236("malformed GTID set: %v", err)
		}
		start = source.Start{GTIDs: &set}
	}
	id := c.ConnectionID
	a.replicas.get(id)
	a.replicas.update(id, func(d *replicaDump) {
		if sid := connServerID(c); sid != 0 {
			d.serverID = sid
		}
		if d.host == "" {
			d.host = strings.Split(c.RemoteAddr().String(), ":")[0]
		}
	})
	defer a.replicas.remove(id)
	heartbeat := 30 * time.Second
	var replicaChecksum *binlog.Checksum
	if sess := a.sessions.get(id); sess != nil {
		sctx := sql.NewEmptyContext()
		for _, name := range []string{"master_binlog_checksum", "source_binlog_checksum"} {
			if _, v, err := sess.GetUserVariable(sctx, name); err == nil && v != nil {
				if cs, err := binlog.ParseChecksum(fmt.Sprint(v)); err == nil {
					replicaChecksum = &cs
				}
			}
		}
		for _, name := range []string{"source_heartbeat_period", "master_heartbeat_period"} {
			if _, v, err := sess.GetUserVariable(sctx, name); err == nil && v != nil {
				if ns, ok := toInt64(v); ok {
					heartbeat = time.Duration(ns)
				} else if s, ok := v.(string); ok {
					if n, err := strconv.ParseInt(s, 10, 64); err == nil {
						heartbeat = time.Duration(n)
					}
				}
			}
		}
		for _, name := range []string{"replica_uuid", "slave_uuid"} {
			if _, v, err := sess.GetUserVariable(sctx, name); err == nil && v != nil {
				uuid := fmt.Sprint(v)
				a.replicas.update(id, func(d *replicaDump) { d.uuid = uuid })
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-a.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	opts := source.Options{
		Log: a.log, Dir: a.dataDir, ServerID: a.serverID, ServerUUID: a.serverUUID, Heartbeat: heartbeat,
		OnFile: func(file string) { a.replicas.update(id, func(d *replicaDump) { d.file = file }) },
		// mysqlbinlog has always dumped with server_id 0 to mean "do not wait", and MySQL
		// honours that as it honours BINLOG_DUMP_NON_BLOCK.
		NonBlock:        seen && (req.nonBlock || req.serverID == 0),
		ReplicaChecksum: replicaChecksum,
	}
	packets := 0 // packets written after the command's, for the sequence id of the final EOF
	send := func(ev binlog.Event, _ *binlog.Position) error {
		packets += (len(ev)+1)/mysql.MaxPacketSize + 1
		return c.WriteBinlogEvent(mysql.NewMysql56BinlogEvent(ev), false)
	}
	flush := c.FlushBuffer
	if semi := a.log.Semi(); semi != nil && !opts.NonBlock && semiSyncRequested(a.sessions.get(id)) {
		// A semi-sync replica: events carry the semi-sync header and its acks are read here.
		rep := semi.Register(connServerID(c))
		defer rep.Close()
		sd := newSemiSyncDump(c, rep)
		if appliedAckOnRequest(a.sessions.get(id)) {
			sd.wantsApplied = semi.WantsAppliedAcks
		}
		send, flush = sd.send, sd.flush
		opts.RequestAcks = semi.WantsAcks
		go func() {
			if err := sd.readAcks(); err != nil {
				cancel() // the replica went away (or sent something that is not an ack)
			}
		}()
		// The connection was driven outside vitess: it cannot go back to commands.
		defer endAfterDump(c)
	}
	send, flush, untrack := h.conns.trackDump(id, !req.legacy, send, flush)
	defer untrack()
	err := source.Dump(ctx, opts, start, send, flush)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	if err == nil && opts.NonBlock {
		// As MySQL: an EOF packet says the whole binlog was sent, and the connection ends.
		if _, err := c.Conn.Write(eofPacket(c, byte(1+packets))); err != nil {
			return err
		}
		endAfterDump(c)
	}
	return err
}

// eofPacket is the packet that ends a non-blocking dump: EOF, or the OK packet that replaces it
// for clients with CLIENT_DEPRECATE_EOF; both start with 0xfe and are shorter than 8 bytes,
// which is how mysqlbinlog recognises the end. seq is its sequence id.
func eofPacket(c *mysql.Conn, seq byte) []byte {
	var payload []byte
	if c.Capabilities&mysql.CapabilityClientDeprecateEOF != 0 {
		payload = []byte{0xfe, 0, 0} // affected rows, last insert id
		payload = binary.LittleEndian.AppendUint16(payload, c.StatusFlags)
		payload = binary.LittleEndian.AppendUint16(payload, 0)
	} else {
		payload = []byte{0xfe, 0, 0} // warnings
		payload = binary.LittleEndian.AppendUint16(payload, c.StatusFlags)
	}
	pkt, _ := wire.AppendPacket(nil, seq, payload)
	return pkt
}

// showReplicas answers SHOW REPLICAS / SHOW SLAVE HOSTS.
func (a *binlogAdmin) showReplicas(legacy bool) (*sqltypes.Result, error) {
	sourceID, uuid := "Source_Id", "Replica_UUID"
	if legacy {
		sourceID, uuid = "Master_Id", "Slave_UUID"
	}
	res := &sqltypes.Result{Fields: []*querypb.Field{field("Server_Id", querypb.Type_UINT64), field("Host", querypb.Type_VARCHAR),
		field("Port", querypb.Type_UINT64), field(sourceID, querypb.Type_UINT64), field(uuid, querypb.Type_VARCHAR)}}
	a.replicas.mu.Lock()
	var ds []replicaDump
	for _, d := range a.replicas.conns {
		if d.file != "" {
			ds = append(ds, *d)
		}
	}
	a.replicas.mu.Unlock()
	sort.Slice(ds, func(i, j int) bool { return ds[i].serverID < ds[j].serverID })
	for _, d := range ds {
		res.Rows = append(res.Rows, []sqltypes.Value{number(uint64(d.serverID)), text(d.host), number(uint64(d.port)),
			number(uint64(a.serverID)), text(d.uuid)})
	}
	return res, nil
}
