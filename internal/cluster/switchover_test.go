package cluster

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// serving returns observations of cluster3 with n1 serving under a fresh lease and each
// replica reporting: lag in seconds and received GTID set per replica.
func serving(s *State, primaryExec string, replicas map[string]Report) Observed {
	o := Observed{Now: t0.Add(100 * time.Millisecond), Wall: t0, LeaseSeenAt: t0, SwitchoverSeenAt: t0,
		Reports: map[string]Received{}, Voters: []string{"n1", "n2", "n3"}}
	o.Reports[s.Primary] = Received{Report: Report{Node: s.Primary, Epoch: s.Epoch, Role: "primary", Executed: primaryExec,
		Received: primaryExec, Healthy: true, LeaseValid: true, FreeDisk: 10 << 30}, At: t0}
	for id, r := range replicas {
		r.Node, r.Epoch, r.Healthy = id, s.Epoch, true
		if r.Role == "" {
			r.Role = "replica"
		}
		r.IORunning, r.SQLRunning = true, true
		if r.FreeDisk == 0 {
			r.FreeDisk = 10 << 30
		}
		o.Reports[id] = Received{Report: r, At: t0}
	}
	return o
}

func servingCluster(t *testing.T) *State {
	s := cluster3(t)
	mustOK(t, s.Apply(Command{Op: OpRenew, Node: "n1", Epoch: 1}))
	return s
}

func TestPlanSwitchoverRefusesLaggingTarget(t *testing.T) {
	s := servingCluster(t)
	o := serving(s, U+":1-100", map[string]Report{"n2": {Received: U + ":1-10", LagSeconds: 30}, "n3": {Received: U + ":1-100"}})
	_, err := PlanSwitchover(s, o, SwitchoverRequest{ID: "x", To: "n2", MaxLag: 5 * time.Second}, 0)
	if !errors.Is(err, ErrSwitchoverRefused) || !strings.Contains(err.Error(), "lags 30s") {
		t.Fatalf("want a refusal for a target 30s behind, got %v", err)
	}
	// Availability-first does not care about lag.
	c, err := PlanSwitchover(s, o, SwitchoverRequest{ID: "x", To: "n2", Mode: Availability}, 0)
	if err != nil || c.Op != OpSwitchover || c.Node != "n2" {
		t.Fatalf("availability-first to a lagging target: %+v %v", c, err)
	}
}

func TestPlanSwitchoverPicksMostCaughtUpThenPriority(t *testing.T) {
	s := servingCluster(t)
	s.Members["n3"].Priority = 10
	o := serving(s, U+":1-100", map[string]Report{"n2": {Received: U + ":1-100"}, "n3": {Received: U + ":1-98"}})
	c, err := PlanSwitchover(s, o, SwitchoverRequest{ID: "x"}, 0)
	if err != nil || c.Node != "n2" {
		t.Fatalf("want n2 (holds everything), got %+v %v", c, err)
	}
	o = serving(s, U+":1-100", map[string]Report{"n2": {Received: U + ":1-100"}, "n3": {Received: U + ":1-100"}})
	if c, err := PlanSwitchover(s, o, SwitchoverRequest{ID: "x"}, 0); err != nil || c.Node != "n3" {
		t.Fatalf("equally caught up: want n3 (priority 10), got %+v %v", c, err)
	}
	s.Members["n3"].NeverPromote = true
	if c, err := PlanSwitchover(s, o, SwitchoverRequest{ID: "x"}, 0); err != nil || c.Node != "n2" {
		t.Fatalf("n3 may never be promoted: want n2, got %+v %v", c, err)
	}
	if _, err := PlanSwitchover(s, o, SwitchoverRequest{ID: "x", To: "n3"}, 0); err == nil {
		t.Fatal("a switchover to a never-promote member was planned")
	}
}

func TestPlanSwitchoverNeedsAServingPrimary(t *testing.T) {
	s := servingCluster(t)
	o := serving(s, U+":1-5", map[string]Report{"n2": {Received: U + ":1-5"}, "n3": {Received: U + ":1-5"}})
	o.Now = t0.Add(s.Settings.Lease + s.Settings.LeaseMargin)
	if _, err := PlanSwitchover(s, o, SwitchoverRequest{ID: "x"}, 0); err == nil || !strings.Contains(err.Error(), "no valid lease") {
		t.Fatalf("switchover from a primary whose lease expired: %v", err)
	}
}

// The reliability-first protocol through the state: the old primary renews until it fences
// itself, then may neither renew nor reserve; only the target can end it, and only after that.
func TestSwitchoverReliabilityProtocol(t *testing.T) {
	s := servingCluster(t)
	o := serving(s, U+":1-100", map[string]Report{"n2": {Received: U + ":1-100"}, "n3": {Received: U + ":1-99"}})
	c, err := PlanSwitchover(s, o, SwitchoverRequest{ID: "sw1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	mustOK(t, s.Apply(c))
	if s.Switchover == nil || s.Switchover.From != "n1" || s.Switchover.To != "n2" || s.Switchover.Phase != PhaseFence {
		t.Fatalf("switchover state: %+v", s.Switchover)
	}
	if r := s.Apply(c); r.OK {
		t.Fatal("a second switchover started while one is in progress")
	}
	mustOK(t, s.Apply(Command{Op: OpRenew, Node: "n1", Epoch: 1})) // still serving while it drains
	if r := s.Apply(Command{Op: OpHandover, Node: "n2", Epoch: 1, ID: "sw1"}); r.OK {
		t.Fatal("the target took over before the old primary gave up its lease")
	}
	if r := s.Apply(Command{Op: OpSwitchoverFenced, Node: "n3", Epoch: 1, ID: "sw1"}); r.OK {
		t.Fatal("a member other than the old primary reported its fence")
	}
	mustOK(t, s.Apply(Command{Op: OpSwitchoverFenced, Node: "n1", Epoch: 1, ID: "sw1", GTIDs: U + ":1-101"}))
	if r := s.Apply(Command{Op: OpRenew, Node: "n1", Epoch: 1}); r.OK {
		t.Fatal("the old primary renewed the lease it gave up")
	}
	if r := s.Apply(Command{Op: OpReserve, Node: "n1", Epoch: 1, Table: "d.t", Count: 1}); r.OK {
		t.Fatal("the old primary reserved auto-increment values after it gave up its lease")
	}
	mustOK(t, s.Apply(Command{Op: OpHandover, Node: "n2", Epoch: 1, ID: "sw1"}))
	if s.Epoch != 2 || s.Primary != "n2" || s.Switchover != nil || s.LeaseSeq != 0 {
		t.Fatalf("after the handover: epoch %d primary %s switchover %+v", s.Epoch, s.Primary, s.Switchover)
	}
	if l := s.LastSwitchover; l == nil || !l.OK || l.Epoch != 2 || l.Executed != U+":1-101" || l.Lacked != "" {
		t.Fatalf("result: %+v", l)
	}
	if !s.LastFailover.IsZero() {
		t.Fatal("a switchover counted as an automatic failover (cooldown)")
	}
	if r := s.Apply(Command{Op: OpRenew, Node: "n1", Epoch: 1}); r.OK {
		t.Fatal("the old primary renewed in the old epoch")
	}
	mustOK(t, s.Apply(Command{Op: OpRenew, Node: "n2", Epoch: 2}))
}

func TestSwitchoverAvailabilityReportsLacked(t *testing.T) {
	s := servingCluster(t)
	o := serving(s, U+":1-100", map[string]Report{"n2": {Received: U + ":1-90", LagSeconds: 40}, "n3": {Received: U + ":1-90"}})
	c, err := PlanSwitchover(s, o, SwitchoverRequest{ID: "sw2", To: "n2", Mode: Availability}, 0)
	if err != nil {
		t.Fatal(err)
	}
	mustOK(t, s.Apply(c))
	mustOK(t, s.Apply(Command{Op: OpSwitchoverFenced, Node: "n1", Epoch: 1, ID: "sw2", GTIDs: U + ":1-100"}))
	mustOK(t, s.Apply(Command{Op: OpHandover, Node: "n2", Epoch: 1, ID: "sw2", GTIDs: U + ":91-100"}))
	if l := s.LastSwitchover; !l.OK || l.Mode != Availability || l.Lacked != U+":91-100" {
		t.Fatalf("result: %+v", l)
	}
	last := s.Journal[len(s.Journal)-1]
	if last.Kind != "switchover_done" || !strings.Contains(last.Reason, U+":91-100") {
		t.Fatalf("journal does not name the lacked transactions: %+v", last)
	}
}

func TestSwitchoverStuckIsAbortedNotFailedOver(t *testing.T) {
	s := servingCluster(t)
	o := serving(s, U+":1-100", map[string]Report{"n2": {Received: U + ":1-100"}, "n3": {Received: U + ":1-100"}})
	c, _ := PlanSwitchover(s, o, SwitchoverRequest{ID: "sw3", To: "n2", Timeout: 2 * time.Second}, 0)
	mustOK(t, s.Apply(c))
	mustOK(t, s.Apply(Command{Op: OpSwitchoverFenced, Node: "n1", Epoch: 1, ID: "sw3", GTIDs: U + ":1-105"}))
	// The old primary stopped renewing on purpose: no election, while within the timeout.
	o.Now, o.SwitchoverSeenAt = t0.Add(1500*time.Millisecond), t0
	if cmds := Decide(s, o); len(cmds) != 0 {
		t.Fatalf("decided %+v during the catch-up", cmds)
	}
	o.Now = t0.Add(2 * time.Second)
	n2 := o.Reports["n2"]
	n2.At = o.Now
	o.Reports["n2"] = n2
	cmds := Decide(s, o)
	if len(cmds) != 1 || cmds[0].Op != OpSwitchoverAbort || !strings.Contains(cmds[0].Reason, U+":101-105") {
		t.Fatalf("want an abort naming what the target lacks, got %+v", cmds)
	}
	mustOK(t, s.Apply(cmds[0]))
	if s.Switchover != nil || s.Primary != "n1" || s.Epoch != 1 || s.LastSwitchover.OK {
		t.Fatalf("after the abort: %+v %+v", s.Switchover, s.LastSwitchover)
	}
	mustOK(t, s.Apply(Command{Op: OpRenew, Node: "n1", Epoch: 1})) // it serves again
	if r := s.Apply(Command{Op: OpHandover, Node: "n2", Epoch: 1, ID: "sw3"}); r.OK {
		t.Fatal("a handover was accepted after the abort")
	}
}

func TestSwitchoverOldPrimaryDiesBeforeFencing(t *testing.T) {
	s := servingCluster(t)
	o := serving(s, U+":1-100", map[string]Report{"n2": {Received: U + ":1-100"}, "n3": {Received: U + ":1-100"}})
	c, _ := PlanSwitchover(s, o, SwitchoverRequest{ID: "sw4"}, 0)
	mustOK(t, s.Apply(c))
	o.Now = t0.Add(s.Settings.Lease + s.Settings.LeaseMargin)
	cmds := Decide(s, o)
	if len(cmds) != 1 || cmds[0].Op != OpSwitchoverAbort {
		t.Fatalf("want an abort, got %+v", cmds)
	}
	mustOK(t, s.Apply(cmds[0]))
	if cmds := Decide(s, o); len(cmds) != 1 || cmds[0].Op != OpElect {
		t.Fatalf("after the abort the dead primary is failed over: got %+v", cmds)
	}
}

func TestDiskTriggerStartsReliabilitySwitchover(t *testing.T) {
	s := servingCluster(t)
	s.Settings.MinFreeDisk = 100 << 20
	o := serving(s, U+":1-100", map[string]Report{"n2": {Received: U + ":1-100", FreeDisk: 50 << 20}, "n3": {Received: U + ":1-100"}})
	if cmds := Decide(s, o); len(cmds) != 0 {
		t.Fatalf("decided %+v with enough free disk on the primary", cmds)
	}
	r := o.Reports["n1"]
	r.FreeDisk = 10 << 20
	o.Reports["n1"] = r
	cmds := Decide(s, o)
	if len(cmds) != 1 || cmds[0].Op != OpSwitchover || cmds[0].Node != "n3" || cmds[0].Switchover.Mode != Reliability ||
		!strings.Contains(cmds[0].Reason, "disk trigger") {
		t.Fatalf("want a reliability-first switchover to n3 (n2's disk is low too), got %+v", cmds)
	}
	mustOK(t, s.Apply(cmds[0]))
	if !strings.Contains(s.Journal[len(s.Journal)-1].Reason, "below the threshold") {
		t.Fatalf("journal: %+v", s.Journal[len(s.Journal)-1])
	}
	// An aborted switchover holds the trigger back for a while (each attempt holds commits).
	mustOK(t, s.Apply(Command{Op: OpSwitchoverAbort, ID: cmds[0].Switchover.ID, Reason: "stuck", Time: t0}))
	if cmds := Decide(s, o); len(cmds) != 0 {
		t.Fatalf("trigger fired again right after an abort: %+v", cmds)
	}
	o.Wall = t0.Add(TriggerBackoff)
	if cmds := Decide(s, o); len(cmds) != 1 || cmds[0].Op != OpSwitchover {
		t.Fatalf("trigger did not fire after the backoff: %+v", cmds)
	}
	// No candidate: refused, journaled.
	s = servingCluster(t)
	s.Settings.MinFreeDisk = 100 << 20
	o = serving(s, U+":1-100", map[string]Report{"n2": {Received: U + ":1-100", FreeDisk: 50 << 20}, "n3": {Received: U + ":1-100", LagSeconds: 60}})
	o.Reports["n1"] = r
	cmds = Decide(s, o)
	if len(cmds) != 1 || cmds[0].Op != OpRefuse || !strings.Contains(cmds[0].Reason, "no member can take over") {
		t.Fatalf("want a refusal, got %+v", cmds)
	}
}

func TestPriorityTriggerMovesToHigherPriority(t *testing.T) {
	s := servingCluster(t)
	o := serving(s, U+":1-100", map[string]Report{"n2": {Received: U + ":1-100"}, "n3": {Received: U + ":1-100", LagSeconds: 60}})
	s.Members["n3"].Priority = 5
	if cmds := Decide(s, o); len(cmds) != 0 {
		t.Fatalf("decided %+v with the priority trigger off", cmds)
	}
	on := true
	mustOK(t, s.Apply(Command{Op: OpTune, Tuning: &Tuning{PriorityTrigger: &on}}))
	// n3 outranks the primary but lags a minute: refused, journaled; n2 is not above it.
	cmds := Decide(s, o)
	if len(cmds) != 1 || cmds[0].Op != OpRefuse || !strings.Contains(cmds[0].Reason, "lags 60s") {
		t.Fatalf("want a refusal naming n3's lag, got %+v", cmds)
	}
	r := o.Reports["n3"]
	r.LagSeconds = 0
	o.Reports["n3"] = r
	cmds = Decide(s, o)
	if len(cmds) != 1 || cmds[0].Op != OpSwitchover || cmds[0].Node != "n3" || cmds[0].Switchover.Mode != Reliability ||
		!strings.Contains(cmds[0].Reason, "priority trigger") {
		t.Fatalf("want a reliability-first switchover to n3, got %+v", cmds)
	}
	mustOK(t, s.Apply(cmds[0]))
	mustOK(t, s.Apply(Command{Op: OpSwitchoverFenced, Node: "n1", Epoch: 1, ID: s.Switchover.ID, GTIDs: U + ":1-100"}))
	mustOK(t, s.Apply(Command{Op: OpHandover, Node: "n3", Epoch: 1, ID: s.Switchover.ID}))
	mustOK(t, s.Apply(Command{Op: OpRenew, Node: "n3", Epoch: 2}))
	// n3 is the highest now: nothing more to do.
	o = serving(s, U+":1-100", map[string]Report{"n1": {Received: U + ":1-100"}, "n2": {Received: U + ":1-100"}})
	if cmds := Decide(s, o); len(cmds) != 0 {
		t.Fatalf("decided %+v with the highest-priority member primary", cmds)
	}
}

func TestTuneChangesDiskThreshold(t *testing.T) {
	s := servingCluster(t)
	v := uint64(1 << 30)
	mustOK(t, s.Apply(Command{Op: OpTune, Tuning: &Tuning{MinFreeDisk: &v}}))
	if s.Settings.MinFreeDisk != 1<<30 {
		t.Fatalf("min free disk %d", s.Settings.MinFreeDisk)
	}
	if r := s.Apply(Command{Op: OpTune, Tuning: &Tuning{}}); r.OK {
		t.Fatal("an empty tuning was accepted")
	}
}

func TestElectionSupersedesSwitchover(t *testing.T) {
	s := servingCluster(t)
	o := serving(s, U+":1-100", map[string]Report{"n2": {Received: U + ":1-100"}, "n3": {Received: U + ":1-100"}})
	c, _ := PlanSwitchover(s, o, SwitchoverRequest{ID: "sw5"}, 0)
	mustOK(t, s.Apply(c))
	mustOK(t, s.Apply(Command{Op: OpElect, Epoch: 1, Reason: "operator"}))
	if s.Switchover != nil || s.LastSwitchover == nil || s.LastSwitchover.OK {
		t.Fatalf("switchover not ended by the election: %+v", s.LastSwitchover)
	}
}
