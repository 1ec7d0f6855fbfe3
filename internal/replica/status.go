package replica

import (
	"strconv"
	"time"

	"github.com/relaydb/relaydb/internal/rplfilter"
)

// Column is one SHOW REPLICA STATUS column: its name in MySQL 8.0.22+ and in the older
// SHOW SLAVE STATUS, and its value ("" for NULL when Null is set).
type Column struct {
	Name, OldName string
	Value         string
	Null, Number  bool
}

func (t *thread) running() bool {
	if t == nil {
		return false
	}
	select {
	case <-t.done:
		return false
	default:
		return true
	}
}

// Status returns the SHOW REPLICA STATUS row (nil when replication was never configured).
func (r *Replica) Status() []Column {
	executed := r.opts.Executed().String()
	space := r.relaySpace()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfg == nil {
		return nil
	}
	cols := statusColumns(r.cfg, r.st, r.io.running(), r.sqlT.running(), r.until, executed, space, r.filters)
	for i := range cols {
		if cols[i].Name == "Channel_Name" {
			cols[i].Value = r.opts.Channel
		}
	}
	return cols
}

// relaySpace is the size of the relay log files (Relay_Log_Space): what the replica keeps of
// the source's binlog, applied or not (the active file stays until it rotates).
func (r *Replica) relaySpace() int64 {
	w := r.relayWriterNow()
	if w == nil {
		return 0
	}
	// A purge between listing and sizing the files makes Files fail; the next try sees the
	// index without them.
	for try := 0; try < 3; try++ {
		files, err := w.Files()
		if err != nil {
			continue
		}
		var n int64
		for _, f := range files {
			n += f.Size
		}
		return n
	}
	return 0
}

// EmptyStatus is the column list with every value NULL: SHOW REPLICA STATUS on a server that was
// never configured returns the columns and no row.
func EmptyStatus() []Column {
	cols := statusColumns(&Config{}, status{}, false, false, nil, "", 0, nil)
	for i := range cols {
		cols[i].Value, cols[i].Number, cols[i].Null = "", false, true
	}
	return cols
}

func statusColumns(c *Config, st status, ioRun, sqlRun bool, until *Until, executed string, relaySpace int64, f *rplfilter.Rules) []Column {
	yes := func(b bool) string {
		if b {
			return "Yes"
		}
		return "No"
	}
	ioRunning := yes(ioRun)
	if ioRun && st.ioState == "Connecting to source" {
		ioRunning = "Connecting"
	}
	var behind Column
	behind = Column{Name: "Seconds_Behind_Source", OldName: "Seconds_Behind_Master", Number: true}
	switch {
	case !sqlRun || !ioRun:
		behind.Null = true
	case st.caughtUp || st.lastApplied.IsZero():
		behind.Value = "0"
	default:
		behind.Value = strconv.FormatInt(max(int64(time.Since(st.lastApplied)/time.Second), 0), 10)
	}
	num := func(n uint64) string { return strconv.FormatUint(n, 10) }
	errTime := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format("060102 15:04:05")
	}
	remaining := Column{Name: "SQL_Remaining_Delay", OldName: "SQL_Remaining_Delay", Null: true, Number: true}
	if !st.delayUntil.IsZero() {
		remaining.Null = false
		remaining.Value = strconv.FormatInt(max(int64(time.Until(st.delayUntil)/time.Second), 0), 10)
	}
	return []Column{
		{Name: "Replica_IO_State", OldName: "Slave_IO_State", Value: st.ioState},
		{Name: "Source_Host", OldName: "Master_Host", Value: c.Host},
		{Name: "Source_User", OldName: "Master_User", Value: c.User},
		{Name: "Source_Port", OldName: "Master_Port", Value: strconv.Itoa(c.Port), Number: true},
		{Name: "Connect_Retry", OldName: "Connect_Retry", Value: strconv.Itoa(c.ConnectRetry), Number: true},
		{Name: "Source_Log_File", OldName: "Master_Log_File", Value: st.sourceFile},
		{Name: "Read_Source_Log_Pos", OldName: "Read_Master_Log_Pos", Value: num(st.readPos), Number: true},
		{Name: "Relay_Log_File", OldName: "Relay_Log_File", Value: st.relayFile},
		{Name: "Relay_Log_Pos", OldName: "Relay_Log_Pos", Value: num(st.relayPos), Number: true},
		{Name: "Relay_Source_Log_File", OldName: "Relay_Master_Log_File", Value: st.execSourceFile},
		{Name: "Replica_IO_Running", OldName: "Slave_IO_Running", Value: ioRunning},
		{Name: "Replica_SQL_Running", OldName: "Slave_SQL_Running", Value: yes(sqlRun)},
		{Name: "Replicate_Do_DB", OldName: "Replicate_Do_DB", Value: f.Show("REPLICATE_DO_DB")},
		{Name: "Replicate_Ignore_DB", OldName: "Replicate_Ignore_DB", Value: f.Show("REPLICATE_IGNORE_DB")},
		{Name: "Replicate_Do_Table", OldName: "Replicate_Do_Table", Value: f.Show("REPLICATE_DO_TABLE")},
		{Name: "Replicate_Ignore_Table", OldName: "Replicate_Ignore_Table", Value: f.Show("REPLICATE_IGNORE_TABLE")},
		{Name: "Replicate_Wild_Do_Table", OldName: "Replicate_Wild_Do_Table", Value: f.Show("REPLICATE_WILD_DO_TABLE")},
		{Name: "Replicate_Wild_Ignore_Table", OldName: "Replicate_Wild_Ignore_Table", Value: f.Show("REPLICATE_WILD_IGNORE_TABLE")},
		{Name: "Last_Errno", OldName: "Last_Errno", Value: strconv.Itoa(st.lastSQLErrno), Number: true},
		{Name: "Last_Error", OldName: "Last_Error", Value: st.lastSQLError},
		{Name: "Skip_Counter", OldName: "Skip_Counter", Value: "0", Number: true},
		{Name: "Exec_Source_Log_Pos", OldName: "Exec_Master_Log_Pos", Value: num(st.execPos), Number: true},
		{Name: "Relay_Log_Space", OldName: "Relay_Log_Space", Value: strconv.FormatInt(relaySpace, 10), Number: true},
		{Name: "Until_Condition", OldName: "Until_Condition", Value: until.condition()},
		{Name: "Until_Log_File", OldName: "Until_Log_File", Value: untilFile(until)},
		{Name: "Until_Log_Pos", OldName: "Until_Log_Pos", Value: untilPos(until), Number: true},
		{Name: "Source_SSL_Allowed", OldName: "Master_SSL_Allowed", Value: yes(c.TLS.Enabled)},
		{Name: "Source_SSL_CA_File", OldName: "Master_SSL_CA_File", Value: c.TLS.CA},
		{Name: "Source_SSL_CA_Path", OldName: "Master_SSL_CA_Path", Value: c.TLS.CAPath},
		{Name: "Source_SSL_Cert", OldName: "Master_SSL_Cert", Value: c.TLS.Cert},
		{Name: "Source_SSL_Cipher", OldName: "Master_SSL_Cipher", Value: c.TLS.Cipher},
		{Name: "Source_SSL_Key", OldName: "Master_SSL_Key", Value: c.TLS.Key},
		behind,
		{Name: "Source_SSL_Verify_Server_Cert", OldName: "Master_SSL_Verify_Server_Cert", Value: yes(c.TLS.VerifyServerCert)},
		{Name: "Last_IO_Errno", OldName: "Last_IO_Errno", Value: strconv.Itoa(st.lastIOErrno), Number: true},
		{Name: "Last_IO_Error", OldName: "Last_IO_Error", Value: st.lastIOError},
		{Name: "Last_SQL_Errno", OldName: "Last_SQL_Errno", Value: strconv.Itoa(st.lastSQLErrno), Number: true},
		{Name: "Last_SQL_Error", OldName: "Last_SQL_Error", Value: st.lastSQLError},
		{Name: "Replicate_Ignore_Server_Ids", OldName: "Replicate_Ignore_Server_Ids"},
		{Name: "Source_Server_Id", OldName: "Master_Server_Id", Value: strconv.FormatUint(uint64(st.sourceServerID), 10), Number: true},
		{Name: "Source_UUID", OldName: "Master_UUID", Value: st.sourceUUID},
		{Name: "Source_Info_File", OldName: "Master_Info_File", Value: "mysql.slave_master_info"},
		{Name: "SQL_Delay", OldName: "SQL_Delay", Value: strconv.Itoa(c.Delay), Number: true},
		remaining,
		{Name: "Replica_SQL_Running_State", OldName: "Slave_SQL_Running_State", Value: st.sqlState},
		{Name: "Source_Retry_Count", OldName: "Master_Retry_Count", Value: strconv.Itoa(c.RetryCount), Number: true},
		{Name: "Source_Bind", OldName: "Master_Bind"},
		{Name: "Last_IO_Error_Timestamp", OldName: "Last_IO_Error_Timestamp", Value: errTime(st.lastIOErrTime)},
		{Name: "Last_SQL_Error_Timestamp", OldName: "Last_SQL_Error_Timestamp", Value: errTime(st.lastSQLErrTim)},
		{Name: "Source_SSL_Crl", OldName: "Master_SSL_Crl", Value: c.TLS.CRL},
		{Name: "Source_SSL_Crlpath", OldName: "Master_SSL_Crlpath", Value: c.TLS.CRLPath},
		{Name: "Retrieved_Gtid_Set", OldName: "Retrieved_Gtid_Set", Value: st.retrieved.String()},
		{Name: "Executed_Gtid_Set", OldName: "Executed_Gtid_Set", Value: executed},
		{Name: "Auto_Position", OldName: "Auto_Position", Value: map[bool]string{true: "1", false: "0"}[c.AutoPosition], Number: true},
		{Name: "Replicate_Rewrite_DB", OldName: "Replicate_Rewrite_DB", Value: f.Show("REPLICATE_REWRITE_DB")},
		{Name: "Channel_Name", OldName: "Channel_Name"},
	}
}

func untilFile(u *Until) string {
	if u == nil {
		return ""
	}
	return u.File
}

func untilPos(u *Until) string {
	if u == nil {
		return "0"
	}
	return strconv.FormatUint(u.Pos, 10)
}

// Thread describes a running replication thread for SHOW PROCESSLIST.
type Thread struct {
	ID      uint32 // a process id outside the range of client connections
	Name    string
	State   string
	Started time.Time
}

// Threads lists the running receiver and applier.
func (r *Replica) Threads() []Thread {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Thread
	if r.io.running() {
		out = append(out, Thread{ID: 1<<31 + 1, Name: "receiver", State: r.st.ioState, Started: r.io.started})
	}
	if r.sqlT.running() {
		out = append(out, Thread{ID: 1<<31 + 2, Name: "applier", State: r.st.sqlState, Started: r.sqlT.started})
	}
	return out
}
