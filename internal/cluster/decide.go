package cluster

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/relaydb/relaydb/internal/gtid"
)

// Report is one member's health, sent to the controller several times a second. Reports
// travel outside the Raft log; only decisions go through it.
type Report struct {
	Node  string `json:"node"`
	Epoch uint64 `json:"epoch"` // the newest epoch the member has acted on
	// Role is what the member does now: primary (writable under a valid lease), fenced (was
	// primary, lease lost), promoting, replica, diverged (holds transactions the primary
	// lacks), starting.
	Role string `json:"role"`
	// Executed is gtid_executed; Received adds every transaction in the relay log.
	Executed string `json:"executed"`
	Received string `json:"received"`
	// ReceiverStopped says the member's receiver is stopped for Epoch's election: it can
	// acknowledge nothing more to the old primary, so Received is final.
	ReceiverStopped bool `json:"receiver_stopped"`
	IORunning       bool `json:"io_running"`
	SQLRunning      bool `json:"sql_running"`
	// StreamAge is how long ago the receiver last heard from its source (event or heartbeat);
	// negative when it is not connected.
	StreamAge     time.Duration `json:"stream_age"`
	LagSeconds    int64         `json:"lag_seconds"`
	FreeDisk      uint64        `json:"free_disk"`
	LeaseValid    bool          `json:"lease_valid"`
	CommitStalled bool          `json:"commit_stalled"`
	LastError     string        `json:"last_error,omitempty"`
	// Healthy is false when the member knows it must not be promoted (damaged, disk full).
	Healthy bool      `json:"healthy"`
	SentAt  time.Time `json:"sent_at"`
}

// Observed is what the controller knows locally, on its own monotonic clock.
type Observed struct {
	Now  time.Time // monotonic
	Wall time.Time // for the cooldown, compared with State.LastFailover
	// LeaseSeenAt is when this controller last saw State.LeaseSeq change for the current
	// primary and epoch, or first saw the current primary and epoch: always at or after the
	// primary asked for that renewal, so expiry measured from it is never early.
	LeaseSeenAt time.Time
	// ElectionSeenAt is when this controller first saw the open election.
	ElectionSeenAt time.Time
	// SwitchoverSeenAt is when this controller first saw the switchover in progress in its
	// current phase.
	SwitchoverSeenAt time.Time
	// Reports holds each member's latest report and when it arrived (local clock).
	Reports map[string]Received
	// Voters are the Raft configuration's voters. A voter that has not registered yet could be a
	// data node holding acknowledged commits: nothing is decided until every voter has.
	Voters []string
}

// Received is a report and its arrival time.
type Received struct {
	Report
	At time.Time
}

func leaseExpired(s *State, o Observed) bool {
	return !o.Now.Before(o.LeaseSeenAt.Add(s.Settings.Lease + s.Settings.LeaseMargin))
}

// MaxPromotion bounds how long a promoted member may take to apply its relay log and ask for
// its first lease while it reports that it is promoting; after that it is replaced.
const MaxPromotion = 60 * time.Second

// Decide returns the commands the controller should propose now (none if nothing is to be
// done). It is a pure function of its arguments.
func Decide(s *State, o Observed) []Command {
	mk := func(op Op) Command { return Command{Op: op, Time: o.Wall, Epoch: s.Epoch} }
	var unregistered []string
	for _, v := range o.Voters {
		if s.Members[v] == nil {
			unregistered = append(unregistered, v)
		}
	}
	if len(unregistered) > 0 && (s.Election != nil || s.Primary == "" || leaseExpired(s, o)) {
		c := mk(OpRefuse)
		c.Reason = fmt.Sprintf("waiting for %s to register: an unregistered member may be a data node holding acknowledged commits",
			strings.Join(unregistered, ", "))
		return []Command{c}
	}
	switch {
	case s.Election != nil:
		return decideElection(s, o)
	case s.Primary == "":
		if len(s.DataMembers()) == 0 {
			return nil
		}
		c := mk(OpElect)
		c.Reason = "the cluster has no primary"
		return []Command{c}
	case s.Switchover != nil:
		return decideSwitchover(s, o)
	}
	expires := o.LeaseSeenAt.Add(s.Settings.Lease + s.Settings.LeaseMargin)
	if o.Now.Before(expires) {
		return decideTriggers(s, o)
	}
	if s.LeaseSeq == 0 && o.Now.Sub(o.LeaseSeenAt) < MaxPromotion {
		// A promoted member applies its relay log before it asks for its first lease; it holds
		// none meanwhile (it acknowledges nothing), so waiting for it is safe, and replacing it
		// while it reports progress would only start the same wait elsewhere.
		if r, ok := o.Reports[s.Primary]; ok && fresh(s, o, r) && r.Epoch == s.Epoch && r.Role == "promoting" {
			return nil
		}
	}
	since := o.Now.Sub(o.LeaseSeenAt).Round(time.Millisecond)
	why := fmt.Sprintf("primary %s stopped renewing its lease (last renewal seen %s ago, lease %s + margin %s)",
		s.Primary, since, s.Settings.Lease, s.Settings.LeaseMargin)
	if r, ok := o.Reports[s.Primary]; ok && fresh(s, o, r) {
		switch {
		case r.CommitStalled:
			why += "; its commit path is stalled"
		case r.LastError != "":
			why += "; its last error: " + r.LastError
		}
	}
	// The cooldown holds back flapping between primaries that served; a promoted node that never
	// took its lease (its promotion failed) is replaced at once.
	if s.LeaseSeq > 0 && !s.LastFailover.IsZero() && !s.FailoverAllowed && o.Wall.Sub(s.LastFailover) < s.Settings.Cooldown {
		c := mk(OpRefuse)
		c.Reason = fmt.Sprintf("failover refused: the last automatic failover was %s ago, within the cooldown of %s (an operator can allow it); %s",
			o.Wall.Sub(s.LastFailover).Round(time.Second), s.Settings.Cooldown, why)
		return []Command{c}
	}
	c := mk(OpElect)
	c.Reason, c.Automatic = why, true
	return []Command{c}
}

func fresh(s *State, o Observed, r Received) bool {
	return o.Now.Sub(r.At) <= s.Settings.ReportTTL
}

// decideElection picks the winner of the open election once enough members have reported.
func decideElection(s *State, o Observed) []Command {
	e := s.Election
	refuse := func(format string, args ...any) []Command {
		return []Command{{Op: OpRefuse, Time: o.Wall, Epoch: s.Epoch, Reason: fmt.Sprintf("epoch %d: ", s.Epoch) + fmt.Sprintf(format, args...)}}
	}
	// Reports that count: fresh, from a data member that has acted on this election.
	type voter struct {
		id       string
		received gtid.Set
		m        *Member
		healthy  bool
	}
	var reported []voter
	var waitingFor []string
	oldReported := false
	for _, id := range s.DataMembers() {
		r, ok := o.Reports[id]
		if !ok || !fresh(s, o, r) || r.Epoch != s.Epoch || !r.ReceiverStopped {
			waitingFor = append(waitingFor, id)
			continue
		}
		set, err := gtid.Parse(r.Received)
		if err != nil {
			waitingFor = append(waitingFor, id)
			continue
		}
		reported = append(reported, voter{id: id, received: set, m: s.Members[id], healthy: r.Healthy})
		if id == e.OldPrimary {
			oldReported = true
		}
	}
	replicas := len(s.DataMembers())
	if e.OldPrimary != "" {
		replicas-- // the old primary is not one of its own replicas
	}
	acks := s.AcksRequired()
	switch s.Settings.Mode {
	case Lossless:
		// Every acknowledged commit is on acks replicas; any replicas-acks+1 of them include
		// at least one of those. The old primary holds every commit it acknowledged itself.
		need := replicas - acks + 1
		have := len(reported)
		if oldReported {
			have = need
		} else if e.OldPrimary == "" {
			need = len(s.DataMembers()) // first election: everyone, nothing was acknowledged yet
			if acks > 0 || need == 0 {
				need = max(need-acks, 1)
			}
		}
		if have < need || len(reported) == 0 {
			return refuse("waiting for reports from %d of the %d replicas (have %d) before promoting, so that the winner provably holds every acknowledged transaction; not yet reported: %s",
				need, replicas, have, strings.Join(waitingFor, ", "))
		}
	default:
		if len(reported) == 0 {
			return refuse("waiting for any data member to report")
		}
		if len(waitingFor) > 0 && o.Now.Sub(o.ElectionSeenAt) < s.Settings.AsyncWait {
			return nil // give the others a moment: the newest of them may still report
		}
	}
	// The union of what was received must be in the winner.
	var union gtid.Set
	for _, v := range reported {
		union.AddSet(v.received)
	}
	var candidates []voter
	for _, v := range reported {
		if v.m == nil || v.m.NeverPromote || !v.healthy {
			continue
		}
		if v.received.ContainsSet(union) {
			candidates = append(candidates, v)
		}
	}
	if len(candidates) == 0 {
		var holders []string
		for _, v := range reported {
			if v.received.ContainsSet(union) {
				holders = append(holders, v.id)
			}
		}
		return refuse("no promotable, healthy member holds every received transaction (%s); held in full only by: %s",
			union.String(), strings.Join(holders, ", "))
	}
	sort.Slice(candidates, func(i, j int) bool {
		a, b := candidates[i], candidates[j]
		if a.m.Priority != b.m.Priority {
			return a.m.Priority > b.m.Priority
		}
		if (a.id == e.OldPrimary) != (b.id == e.OldPrimary) {
			return b.id == e.OldPrimary // prefer a member that did not just fail
		}
		return a.id < b.id
	})
	w := candidates[0]
	reason := fmt.Sprintf("holds every received transaction (%s); %d member(s) reported", w.received.String(), len(reported))
	if len(waitingFor) > 0 {
		reason += "; not reported: " + strings.Join(waitingFor, ", ")
	}
	return []Command{{Op: OpPromote, Time: o.Wall, Epoch: s.Epoch, Node: w.id, Reason: reason}}
}
