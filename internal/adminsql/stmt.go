package adminsql

import (
	"strconv"
	"strings"

	"github.com/relaydb/relaydb/internal/gtid"
)

// Statement is one parsed administrative statement. String prints it in MySQL's syntax (the
// current spelling, or the legacy one where the statement records it), in a form Parse reads
// back to an equal statement.
type Statement interface {
	String() string
	statement()
}

// Channel is a statement's FOR CHANNEL clause.
type Channel struct {
	Named bool   // FOR CHANNEL was given
	Name  string // "" is the default channel
}

func (c Channel) clause() string {
	if !c.Named {
		return ""
	}
	return " FOR CHANNEL " + quoteString(c.Name)
}

// ShowBinaryLogs is SHOW BINARY LOGS (SHOW MASTER LOGS).
type ShowBinaryLogs struct{}

// ShowBinaryLogStatus is SHOW BINARY LOG STATUS (SHOW MASTER STATUS).
type ShowBinaryLogStatus struct{}

// ShowBinlogEvents is SHOW BINLOG EVENTS [IN 'file'] [FROM pos] [LIMIT [offset,] count].
type ShowBinlogEvents struct {
	File          string // "": the first log
	HasFrom       bool
	From          uint64
	HasLimit      bool
	Offset, Count uint64
}

// FlushBinaryLogs is FLUSH [NO_WRITE_TO_BINLOG | LOCAL] [BINARY] LOGS.
type FlushBinaryLogs struct {
	NoWriteToBinlog bool
	BinaryOnly      bool // FLUSH BINARY LOGS
}

// PurgeBinaryLogs is PURGE BINARY LOGS TO 'file' or BEFORE 'datetime' (MASTER for BINARY too).
type PurgeBinaryLogs struct {
	Before bool   // BEFORE: Target is a datetime; else TO: Target is a log file name
	Target string // as written
}

// ResetBinaryLogs is RESET BINARY LOGS AND GTIDS (RESET MASTER).
type ResetBinaryLogs struct {
	Legacy bool // RESET MASTER
}

// SetGTIDPurged is SET GLOBAL gtid_purged = 'set'. Value is as written, with mysqldump's
// '+' prefix ("add to") if there was one.
type SetGTIDPurged struct {
	Value string
}

// ShowReplicas is SHOW REPLICAS (SHOW SLAVE HOSTS).
type ShowReplicas struct {
	Legacy bool // SHOW SLAVE HOSTS: the old column names
}

// ChangeSource is CHANGE REPLICATION SOURCE TO option = value, … [FOR CHANNEL 'c'] (CHANGE
// MASTER TO). Options are in the order written; a repeated option is there twice.
type ChangeSource struct {
	Legacy  bool // CHANGE MASTER TO
	Options []Option
	Channel Channel
}

// Threads are the thread types of START / STOP REPLICA; neither means both.
type Threads struct {
	IO  bool // IO_THREAD (RELAY_THREAD)
	SQL bool // SQL_THREAD
}

func (t Threads) clause() string {
	switch {
	case t.IO && t.SQL:
		return " IO_THREAD, SQL_THREAD"
	case t.IO:
		return " IO_THREAD"
	case t.SQL:
		return " SQL_THREAD"
	}
	return ""
}

// Until is the condition of START REPLICA UNTIL: exactly one of the GTID sets, AfterMTSGaps,
// the source log file and position, or the relay log file and position.
type Until struct {
	BeforeGTIDs, AfterGTIDs *gtid.Set
	AfterMTSGaps            bool
	SourceLogFile           string
	SourceLogPos            uint64
	RelayLogFile            string
	RelayLogPos             uint64
}

func (u *Until) String() string {
	var parts []string
	if u.BeforeGTIDs != nil {
		parts = append(parts, "SQL_BEFORE_GTIDS = "+quoteString(u.BeforeGTIDs.String()))
	}
	if u.AfterGTIDs != nil {
		parts = append(parts, "SQL_AFTER_GTIDS = "+quoteString(u.AfterGTIDs.String()))
	}
	if u.AfterMTSGaps {
		parts = append(parts, "SQL_AFTER_MTS_GAPS")
	}
	if u.SourceLogFile != "" {
		parts = append(parts, "SOURCE_LOG_FILE = "+quoteString(u.SourceLogFile))
	}
	if u.SourceLogPos != 0 {
		parts = append(parts, "SOURCE_LOG_POS = "+strconv.FormatUint(u.SourceLogPos, 10))
	}
	if u.RelayLogFile != "" {
		parts = append(parts, "RELAY_LOG_FILE = "+quoteString(u.RelayLogFile))
	}
	if u.RelayLogPos != 0 {
		parts = append(parts, "RELAY_LOG_POS = "+strconv.FormatUint(u.RelayLogPos, 10))
	}
	return strings.Join(parts, ", ")
}

// StartReplica is START REPLICA [threads] [UNTIL …] [FOR CHANNEL 'c'] (START SLAVE).
type StartReplica struct {
	Threads Threads
	Until   *Until // nil: no UNTIL
	Channel Channel
}

// StopReplica is STOP REPLICA [threads] [FOR CHANNEL 'c'] (STOP SLAVE).
type StopReplica struct {
	Threads Threads
	Channel Channel
}

// ResetReplica is RESET REPLICA [ALL] [FOR CHANNEL 'c'] (RESET SLAVE).
type ResetReplica struct {
	Legacy  bool // RESET SLAVE
	All     bool
	Channel Channel
}

// ShowReplicaStatus is SHOW REPLICA STATUS [FOR CHANNEL 'c'] (SHOW SLAVE STATUS).
type ShowReplicaStatus struct {
	Legacy  bool // SHOW SLAVE STATUS: the old column names
	Channel Channel
}

// ChangeFilter is CHANGE REPLICATION FILTER kind = (…), … [FOR CHANNEL 'c'].
type ChangeFilter struct {
	Filters []Filter // each kind at most once, in the order written
	Channel Channel
}

// Filter is one kind of CHANGE REPLICATION FILTER (a name of rplfilter.Kinds) with its list;
// an empty list clears the kind.
type Filter struct {
	Kind     string
	Values   []string  // database names, db.table names or patterns
	Rewrites []Rewrite // REPLICATE_REWRITE_DB
}

// Rewrite is one (from, to) pair of REPLICATE_REWRITE_DB.
type Rewrite struct{ From, To string }

// List is the filter's values as rplfilter.Rules.Set takes them (rewrites as "from->to").
func (f Filter) List() []string {
	if f.Kind != "REPLICATE_REWRITE_DB" {
		return f.Values
	}
	var out []string
	for _, r := range f.Rewrites {
		out = append(out, r.From+"->"+r.To)
	}
	return out
}

// ShowCluster is SHOW CLUSTER STATUS or SHOW CLUSTER JOURNAL (RelayDB's).
type ShowCluster struct {
	Journal bool
}

// Switchover is SWITCHOVER [TO 'member'] [MODE RELIABILITY|AVAILABILITY] [MAX LAG seconds]
// (RelayDB's).
type Switchover struct {
	To        string // "": the control plane chooses
	Mode      string // "", "reliability" or "availability"
	HasMaxLag bool
	MaxLag    float64 // seconds
}

func (*ShowBinaryLogs) statement()      {}
func (*ShowBinaryLogStatus) statement() {}
func (*ShowBinlogEvents) statement()    {}
func (*FlushBinaryLogs) statement()     {}
func (*PurgeBinaryLogs) statement()     {}
func (*ResetBinaryLogs) statement()     {}
func (*SetGTIDPurged) statement()       {}
func (*ShowReplicas) statement()        {}
func (*ChangeSource) statement()        {}
func (*StartReplica) statement()        {}
func (*StopReplica) statement()         {}
func (*ResetReplica) statement()        {}
func (*ShowReplicaStatus) statement()   {}
func (*ChangeFilter) statement()        {}
func (*ShowCluster) statement()         {}
func (*Switchover) statement()          {}

func (*ShowBinaryLogs) String() string      { return "SHOW BINARY LOGS" }
func (*ShowBinaryLogStatus) String() string { return "SHOW BINARY LOG STATUS" }

func (s *ShowBinlogEvents) String() string {
	var b strings.Builder
	b.WriteString("SHOW BINLOG EVENTS")
	if s.File != "" {
		b.WriteString(" IN " + quoteString(s.File))
	}
	if s.HasFrom {
		b.WriteString(" FROM " + strconv.FormatUint(s.From, 10))
	}
	if s.HasLimit {
		b.WriteString(" LIMIT ")
		if s.Offset != 0 {
			b.WriteString(strconv.FormatUint(s.Offset, 10) + ", ")
		}
		b.WriteString(strconv.FormatUint(s.Count, 10))
	}
	return b.String()
}

func (s *FlushBinaryLogs) String() string {
	out := "FLUSH "
	if s.NoWriteToBinlog {
		out += "NO_WRITE_TO_BINLOG "
	}
	if s.BinaryOnly {
		out += "BINARY "
	}
	return out + "LOGS"
}

func (s *PurgeBinaryLogs) String() string {
	if s.Before {
		return "PURGE BINARY LOGS BEFORE " + quoteString(s.Target)
	}
	return "PURGE BINARY LOGS TO " + quoteString(s.Target)
}

func (s *ResetBinaryLogs) String() string {
	if s.Legacy {
		return "RESET MASTER"
	}
	return "RESET BINARY LOGS AND GTIDS"
}

func (s *SetGTIDPurged) String() string { return "SET @@GLOBAL.GTID_PURGED = " + quoteString(s.Value) }

func (s *ShowReplicas) String() string {
	if s.Legacy {
		return "SHOW SLAVE HOSTS"
	}
	return "SHOW REPLICAS"
}

// Head is the statement's leading words as written: CHANGE REPLICATION SOURCE TO or CHANGE
// MASTER TO.
func (s *ChangeSource) Head() string {
	if s.Legacy {
		return "CHANGE MASTER TO"
	}
	return "CHANGE REPLICATION SOURCE TO"
}

func (s *ChangeSource) String() string {
	opts := make([]string, len(s.Options))
	for i, o := range s.Options {
		opts[i] = o.String()
	}
	return s.Head() + " " + strings.Join(opts, ", ") + s.Channel.clause()
}

func (s *StartReplica) String() string {
	out := "START REPLICA" + s.Threads.clause()
	if s.Until != nil {
		out += " UNTIL " + s.Until.String()
	}
	return out + s.Channel.clause()
}

func (s *StopReplica) String() string {
	return "STOP REPLICA" + s.Threads.clause() + s.Channel.clause()
}

// Head is RESET REPLICA or RESET SLAVE, as written.
func (s *ResetReplica) Head() string {
	if s.Legacy {
		return "RESET SLAVE"
	}
	return "RESET REPLICA"
}

func (s *ResetReplica) String() string {
	out := s.Head()
	if s.All {
		out += " ALL"
	}
	return out + s.Channel.clause()
}

func (s *ShowReplicaStatus) String() string {
	if s.Legacy {
		return "SHOW SLAVE STATUS" + s.Channel.clause()
	}
	return "SHOW REPLICA STATUS" + s.Channel.clause()
}

func (s *ChangeFilter) String() string {
	parts := make([]string, len(s.Filters))
	for i, f := range s.Filters {
		var items []string
		for _, v := range f.Values {
			if strings.Contains(f.Kind, "WILD") {
				items = append(items, quoteString(v))
			} else {
				items = append(items, quoteIdent(v))
			}
		}
		for _, r := range f.Rewrites {
			items = append(items, "("+quoteIdent(r.From)+", "+quoteIdent(r.To)+")")
		}
		parts[i] = f.Kind + " = (" + strings.Join(items, ", ") + ")"
	}
	return "CHANGE REPLICATION FILTER " + strings.Join(parts, ", ") + s.Channel.clause()
}

func (s *ShowCluster) String() string {
	if s.Journal {
		return "SHOW CLUSTER JOURNAL"
	}
	return "SHOW CLUSTER STATUS"
}

func (s *Switchover) String() string {
	out := "SWITCHOVER"
	if s.To != "" {
		out += " TO " + quoteString(s.To)
	}
	if s.Mode != "" {
		out += " MODE " + strings.ToUpper(s.Mode)
	}
	if s.HasMaxLag {
		out += " MAX LAG " + strconv.FormatFloat(s.MaxLag, 'f', -1, 64)
	}
	return out
}
