package server

import (
	"context"
	"errors"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/relaydb/relaydb/internal/adminsql"
	"github.com/relaydb/relaydb/internal/cluster"
)

// ClusterStatus is what SHOW CLUSTER STATUS and SHOW CLUSTER JOURNAL print: the cluster state as
// this member applied it, with the controller's latest health reports.
type ClusterStatus struct {
	Primary  string
	Epoch    uint64
	Mode     string
	Acks     int
	Election string // "" when none is open
	Members  []ClusterMemberRow
	Journal  []ClusterJournalRow // newest first
}

// ClusterMemberRow is one member's line.
type ClusterMemberRow struct {
	Member, SQLAddr, ClusterAddr string
	Role                         string // in the state: primary, replica, arbiter
	State                        string // as the member reports itself: primary, fenced, promoting, replica, diverged
	Epoch                        uint64
	Controller                   bool
	Reported                     bool
	Lease                        bool
	Executed, Received           string
	IORunning, SQLRunning        bool
	LastError                    string
	FreeDisk                     uint64
	LagSeconds                   int64         // Seconds_Behind_Source (-1: not replicating)
	StreamAge                    time.Duration // since the receiver last heard its source (-1: not streaming)
	ReportAge                    time.Time     // when the report was sent
	Priority                     int
	NeverPromote                 bool
}

// ClusterJournalRow is one journal entry.
type ClusterJournalRow struct {
	Time   time.Time
	Epoch  uint64
	Kind   string
	Node   string
	Reason string
}

// SetClusterStatus installs where SHOW CLUSTER STATUS reads from (the control plane, which
// cmd/relaydb starts after the node is open).
func (n *Node) SetClusterStatus(fn func(ctx context.Context) ClusterStatus) {
	n.clusterStatus.Store(&fn)
}

// ClusterSwitchoverFunc runs a planned switchover through the control plane and waits for its
// end: the result, or why it was refused or aborted.
type ClusterSwitchoverFunc func(ctx context.Context, req cluster.SwitchoverRequest) (cluster.SwitchoverResult, error)

// SetClusterSwitchover installs what the SWITCHOVER statement runs (cmd/relaydb, like
// SetClusterStatus).
func (n *Node) SetClusterSwitchover(fn ClusterSwitchoverFunc) {
	n.clusterSwitchover.Store(&fn)
}

// switchover answers SWITCHOVER: one row describing the switchover that ended, or an error
// (1105 with the reason) when it was refused or aborted.
func (a *binlogAdmin) switchover(ctx context.Context, s *adminsql.Switchover) (*sqltypes.Result, error) {
	var fn *ClusterSwitchoverFunc
	if a.clusterSwitchover != nil {
		fn = a.clusterSwitchover()
	}
	if fn == nil {
		return nil, mysql.NewSQLError(adminsql.ERUnknownError, "HY000", "This server is not a cluster member (start it with --cluster-id and --cluster-addr)")
	}
	req := cluster.SwitchoverRequest{To: s.To, Mode: cluster.SwitchoverMode(s.Mode), Reason: "SWITCHOVER statement"}
	if s.HasMaxLag {
		req.MaxLag = time.Duration(s.MaxLag * float64(time.Second))
	}
	res, err := (*fn)(ctx, req)
	if err != nil {
		if errors.Is(err, cluster.ErrSwitchoverRefused) {
			return nil, mysql.NewSQLError(adminsql.ERUnknownError, "HY000", "%s", err.Error())
		}
		return nil, mysql.NewSQLError(adminsql.ERUnknownError, "HY000", "switchover failed: %s", err.Error())
	}
	out := &sqltypes.Result{Fields: []*querypb.Field{field("Switchover_Id", querypb.Type_VARCHAR), field("Mode", querypb.Type_VARCHAR),
		field("Old_Primary", querypb.Type_VARCHAR), field("New_Primary", querypb.Type_VARCHAR), field("Epoch", querypb.Type_UINT64),
		field("Old_Primary_Gtid_Executed", querypb.Type_VARCHAR), field("Lacked_Gtid_Set", querypb.Type_VARCHAR),
		field("Duration_Ms", querypb.Type_INT64)}}
	out.Rows = append(out.Rows, []sqltypes.Value{text(res.ID), text(string(res.Mode)), text(res.From), text(res.To), number(res.Epoch),
		text(res.Executed), text(res.Lacked), sqltypes.NewInt64(res.Ended.Sub(res.Started).Milliseconds())})
	return out, nil
}

func yesNo(b bool) sqltypes.Value {
	if b {
		return text("Yes")
	}
	return text("No")
}

// showCluster answers SHOW CLUSTER STATUS (one row per member) and SHOW CLUSTER JOURNAL.
func (a *binlogAdmin) showCluster(ctx context.Context, journal bool) (*sqltypes.Result, error) {
	fn := a.clusterStatus()
	if fn == nil {
		return nil, mysql.NewSQLError(adminsql.ERUnknownError, "HY000", "This server is not a cluster member (start it with --cluster-id and --cluster-addr)")
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st := (*fn)(cctx)
	if journal {
		res := &sqltypes.Result{Fields: []*querypb.Field{field("Time", querypb.Type_VARCHAR), field("Epoch", querypb.Type_UINT64),
			field("Kind", querypb.Type_VARCHAR), field("Member", querypb.Type_VARCHAR), field("Reason", querypb.Type_VARCHAR)}}
		for _, e := range st.Journal {
			res.Rows = append(res.Rows, []sqltypes.Value{text(e.Time.Format("2006-01-02 15:04:05.000")), number(e.Epoch),
				text(e.Kind), text(e.Node), text(e.Reason)})
		}
		return res, nil
	}
	res := &sqltypes.Result{Fields: []*querypb.Field{
		field("Member", querypb.Type_VARCHAR), field("Role", querypb.Type_VARCHAR), field("State", querypb.Type_VARCHAR),
		field("Epoch", querypb.Type_UINT64), field("Lease_Valid", querypb.Type_VARCHAR), field("Controller", querypb.Type_VARCHAR),
		field("SQL_Address", querypb.Type_VARCHAR), field("Cluster_Address", querypb.Type_VARCHAR),
		field("Replica_IO_Running", querypb.Type_VARCHAR), field("Replica_SQL_Running", querypb.Type_VARCHAR),
		field("Executed_Gtid_Set", querypb.Type_VARCHAR), field("Received_Gtid_Set", querypb.Type_VARCHAR),
		field("Seconds_Behind_Source", querypb.Type_INT64), field("Last_Heard_Source_Ms", querypb.Type_INT64),
		field("Report_Age_Ms", querypb.Type_INT64), field("Free_Disk_Bytes", querypb.Type_UINT64),
		field("Last_Error", querypb.Type_VARCHAR), field("Cluster_Mode", querypb.Type_VARCHAR), field("Election", querypb.Type_VARCHAR)}}
	for _, m := range st.Members {
		state, age, lag, heard := "unreachable", sqltypes.NULL, sqltypes.NULL, sqltypes.NULL
		if m.Reported {
			state = m.State
			age = sqltypes.NewInt64(time.Since(m.ReportAge).Milliseconds())
			if m.LagSeconds >= 0 {
				lag = sqltypes.NewInt64(m.LagSeconds)
			}
			if m.StreamAge >= 0 {
				heard = sqltypes.NewInt64(m.StreamAge.Milliseconds())
			}
		}
		mode := st.Mode
		if st.Mode == "lossless" {
			mode = "lossless (AFTER_SYNC, " + itoa(st.Acks) + " acks)"
		}
		res.Rows = append(res.Rows, []sqltypes.Value{text(m.Member), text(m.Role), text(state), number(m.Epoch),
			yesNo(m.Lease), yesNo(m.Controller), text(m.SQLAddr), text(m.ClusterAddr), yesNo(m.IORunning), yesNo(m.SQLRunning),
			text(m.Executed), text(m.Received), lag, heard, age, number(m.FreeDisk), text(m.LastError), text(mode), text(st.Election)})
	}
	return res, nil
}

func itoa(n int) string { return sqltypes.NewInt64(int64(n)).ToString() }
