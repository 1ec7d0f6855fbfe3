package cluster

import (
	"strings"
	"testing"
	"time"
)

const U = "3e11fa47-71ca-11e1-9e33-c80aa9429562"

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// cluster3 is a configured three-node cluster with n1 primary in epoch 1.
func cluster3(t *testing.T) *State {
	t.Helper()
	s := NewState(Settings{})
	set := DefaultSettings()
	mustOK(t, s.Apply(Command{Op: OpSettings, Settings: &set, Time: t0}))
	for _, id := range []string{"n1", "n2", "n3"} {
		mustOK(t, s.Apply(Command{Op: OpRegister, Member: &Member{ID: id, RaftAddr: id + ":1", SQLAddr: id + ":2"}}))
	}
	mustOK(t, s.Apply(Command{Op: OpElect, Epoch: 0, Time: t0}))
	mustOK(t, s.Apply(Command{Op: OpPromote, Epoch: 1, Node: "n1", Time: t0}))
	return s
}

func mustOK(t *testing.T, r Result) {
	t.Helper()
	if !r.OK {
		t.Fatalf("command refused: %s", r.Error)
	}
}

func report(node string, epoch uint64, received string) Received {
	return Received{Report: Report{Node: node, Epoch: epoch, Received: received, ReceiverStopped: true, Healthy: true}, At: t0}
}

func TestLeaseNotExpiredNoElection(t *testing.T) {
	s := cluster3(t)
	o := Observed{Now: t0.Add(s.Settings.Lease + s.Settings.LeaseMargin - time.Millisecond), Wall: t0, LeaseSeenAt: t0}
	if cmds := Decide(s, o); len(cmds) != 0 {
		t.Fatalf("decided %+v before the lease could have expired", cmds)
	}
}

func TestExpiredLeaseOpensElection(t *testing.T) {
	s := cluster3(t)
	o := Observed{Now: t0.Add(s.Settings.Lease + s.Settings.LeaseMargin), Wall: t0.Add(time.Hour), LeaseSeenAt: t0}
	cmds := Decide(s, o)
	if len(cmds) != 1 || cmds[0].Op != OpElect || !cmds[0].Automatic {
		t.Fatalf("want an automatic election, got %+v", cmds)
	}
	mustOK(t, s.Apply(cmds[0]))
	if s.Epoch != 2 || s.Primary != "" || s.Election == nil || s.Election.OldPrimary != "n1" {
		t.Fatalf("state after election: %+v", s)
	}
	// The old primary can no longer renew, nor reserve auto-increment values.
	if r := s.Apply(Command{Op: OpRenew, Node: "n1", Epoch: 1}); r.OK {
		t.Fatal("old primary renewed its lease during an election")
	}
	if r := s.Apply(Command{Op: OpReserve, Node: "n1", Epoch: 1, Table: "d.t", From: 1, Count: 10}); r.OK {
		t.Fatal("old primary reserved auto-increment values during an election")
	}
}

func TestCooldownRefusesSecondFailover(t *testing.T) {
	s := cluster3(t)
	s.Settings.Cooldown = time.Minute
	o := Observed{Now: t0.Add(time.Second), Wall: t0, LeaseSeenAt: t0}
	mustOK(t, s.Apply(Decide(s, o)[0])) // first failover at wall t0
	mustOK(t, s.Apply(Command{Op: OpPromote, Epoch: 2, Node: "n2", Time: t0}))
	if cmds := Decide(s, Observed{Now: t0.Add(10 * time.Second), Wall: t0.Add(30 * time.Second), LeaseSeenAt: t0}); cmds[0].Op != OpElect {
		t.Fatalf("a promoted node that never took its lease must be replaced despite the cooldown, got %+v", cmds)
	}
	mustOK(t, s.Apply(Command{Op: OpRenew, Epoch: 2, Node: "n2"}))
	o = Observed{Now: t0.Add(10 * time.Second), Wall: t0.Add(30 * time.Second), LeaseSeenAt: t0.Add(5 * time.Second)}
	cmds := Decide(s, o)
	if len(cmds) != 1 || cmds[0].Op != OpRefuse || !strings.Contains(cmds[0].Reason, "cooldown") {
		t.Fatalf("want a cooldown refusal, got %+v", cmds)
	}
	mustOK(t, s.Apply(Command{Op: OpAllowFailover, Time: t0}))
	if cmds := Decide(s, o); len(cmds) != 1 || cmds[0].Op != OpElect {
		t.Fatalf("an operator allowed the failover, want an election, got %+v", cmds)
	}
}

func elected(t *testing.T) *State {
	s := cluster3(t)
	mustOK(t, s.Apply(Command{Op: OpElect, Epoch: 1, Automatic: true, Time: t0}))
	return s
}

func TestLosslessWaitsForEnoughReports(t *testing.T) {
	s := elected(t)
	// n2 reports; n3 (which may hold the only copy of an acknowledged commit) does not.
	o := Observed{Now: t0, Wall: t0, Reports: map[string]Received{"n2": report("n2", 2, U+":1-5")}}
	cmds := Decide(s, o)
	if len(cmds) != 1 || cmds[0].Op != OpRefuse || !strings.Contains(cmds[0].Reason, "not yet reported: n1, n3") {
		t.Fatalf("want a refusal naming n3, got %+v", cmds)
	}
	// A report from before the election (receiver not stopped for epoch 2) does not count.
	stale := report("n3", 1, U+":1-6")
	o.Reports["n3"] = stale
	if cmds := Decide(s, o); cmds[0].Op != OpRefuse {
		t.Fatalf("a report of the old epoch counted: %+v", cmds)
	}
	o.Reports["n3"] = report("n3", 2, U+":1-6")
	cmds = Decide(s, o)
	if len(cmds) != 1 || cmds[0].Op != OpPromote || cmds[0].Node != "n3" {
		t.Fatalf("want n3 (largest received set) promoted, got %+v", cmds)
	}
}

func TestStaleReportDoesNotCount(t *testing.T) {
	s := elected(t)
	old := report("n3", 2, U+":1-6")
	o := Observed{Now: t0.Add(s.Settings.ReportTTL + time.Millisecond), Wall: t0, Reports: map[string]Received{
		"n2": {Report: report("n2", 2, U+":1-5").Report, At: t0.Add(s.Settings.ReportTTL)}, "n3": old}}
	if cmds := Decide(s, o); cmds[0].Op != OpRefuse {
		t.Fatalf("promoted on a stale report: %+v", cmds)
	}
}

func TestNeverPromoteHolderBlocksPromotion(t *testing.T) {
	s := elected(t)
	s.Members["n3"].NeverPromote = true
	o := Observed{Now: t0, Wall: t0, Reports: map[string]Received{"n2": report("n2", 2, U+":1-5"), "n3": report("n3", 2, U+":1-6")}}
	cmds := Decide(s, o)
	if len(cmds) != 1 || cmds[0].Op != OpRefuse || !strings.Contains(cmds[0].Reason, "held in full only by: n3") {
		t.Fatalf("want a refusal (only a never-promote member holds everything), got %+v", cmds)
	}
}

func TestPriorityBreaksTies(t *testing.T) {
	s := elected(t)
	s.Members["n3"].Priority = 5
	o := Observed{Now: t0, Wall: t0, Reports: map[string]Received{"n2": report("n2", 2, U+":1-5"), "n3": report("n3", 2, U+":1-5")}}
	if cmds := Decide(s, o); cmds[0].Op != OpPromote || cmds[0].Node != "n3" {
		t.Fatalf("want n3 by priority, got %+v", cmds)
	}
}

func TestOldPrimaryReportSuffices(t *testing.T) {
	s := elected(t)
	// The old primary came back (it was paused): it holds every commit it acknowledged.
	o := Observed{Now: t0, Wall: t0, Reports: map[string]Received{"n1": report("n1", 2, U+":1-7")}}
	cmds := Decide(s, o)
	if len(cmds) != 1 || cmds[0].Op != OpPromote || cmds[0].Node != "n1" {
		t.Fatalf("want n1 promoted on its own report, got %+v", cmds)
	}
	// With a replica that also holds everything, the replica is preferred.
	o.Reports["n2"] = report("n2", 2, U+":1-7")
	if cmds := Decide(s, o); cmds[0].Node != "n2" {
		t.Fatalf("want n2 preferred over the old primary, got %+v", cmds)
	}
}

func TestAsyncPromotesAfterWait(t *testing.T) {
	s := elected(t)
	s.Settings.Mode = Async
	o := Observed{Now: t0, Wall: t0, ElectionSeenAt: t0, Reports: map[string]Received{"n2": report("n2", 2, U+":1-5")}}
	if cmds := Decide(s, o); len(cmds) != 0 {
		t.Fatalf("async promoted before waiting for the others: %+v", cmds)
	}
	o.Now = t0.Add(s.Settings.AsyncWait)
	o.Reports["n2"] = Received{Report: o.Reports["n2"].Report, At: o.Now}
	if cmds := Decide(s, o); len(cmds) != 1 || cmds[0].Node != "n2" {
		t.Fatalf("want n2 after the wait, got %+v", cmds)
	}
}

func TestPromoteOnlyInOpenElection(t *testing.T) {
	s := cluster3(t)
	if r := s.Apply(Command{Op: OpPromote, Epoch: 1, Node: "n2"}); r.OK {
		t.Fatal("promotion without an election")
	}
	mustOK(t, s.Apply(Command{Op: OpElect, Epoch: 1}))
	if r := s.Apply(Command{Op: OpPromote, Epoch: 1, Node: "n2"}); r.OK {
		t.Fatal("promotion for an old epoch")
	}
	if r := s.Apply(Command{Op: OpElect, Epoch: 1}); r.OK {
		t.Fatal("a second election for the same epoch")
	}
}

func TestReservationsNeverOverlap(t *testing.T) {
	s := cluster3(t)
	r1 := s.Apply(Command{Op: OpReserve, Node: "n1", Epoch: 1, Table: "d.t", From: 1, Count: 100})
	mustOK(t, r1)
	mustOK(t, s.Apply(Command{Op: OpElect, Epoch: 1}))
	mustOK(t, s.Apply(Command{Op: OpPromote, Epoch: 2, Node: "n2"}))
	// n2 never saw n1's rows: its counter says 1.
	r2 := s.Apply(Command{Op: OpReserve, Node: "n2", Epoch: 2, Table: "d.t", From: 1, Count: 100})
	mustOK(t, r2)
	if r2.Lo <= r1.Hi {
		t.Fatalf("ranges overlap: [%d,%d] and [%d,%d]", r1.Lo, r1.Hi, r2.Lo, r2.Hi)
	}
}

func TestJournalDedupesRefusals(t *testing.T) {
	s := cluster3(t)
	n := len(s.Journal)
	s.Apply(Command{Op: OpRefuse, Reason: "x"})
	s.Apply(Command{Op: OpRefuse, Reason: "x"})
	if len(s.Journal) != n+1 {
		t.Fatalf("journal grew by %d for one repeated refusal", len(s.Journal)-n)
	}
}

func TestPromotingMemberIsGivenTime(t *testing.T) {
	s := elected(t)
	mustOK(t, s.Apply(Command{Op: OpPromote, Epoch: 2, Node: "n2"}))
	now := t0.Add(5 * time.Second) // long past lease + margin since the promotion was seen at t0
	promoting := Received{Report: Report{Node: "n2", Epoch: 2, Role: "promoting", Healthy: true}, At: now}
	o := Observed{Now: now, Wall: now, LeaseSeenAt: t0, Reports: map[string]Received{"n2": promoting}}
	if cmds := Decide(s, o); len(cmds) != 0 {
		t.Fatalf("a member still applying its relay log was replaced: %+v", cmds)
	}
	// Once it stops reporting (it died), or takes too long, it is replaced.
	o.Reports = nil
	if cmds := Decide(s, o); len(cmds) != 1 || cmds[0].Op != OpElect {
		t.Fatalf("a silent promoted member must be replaced, got %+v", cmds)
	}
	o.Now = t0.Add(MaxPromotion)
	o.Reports = map[string]Received{"n2": {Report: promoting.Report, At: o.Now}}
	if cmds := Decide(s, o); len(cmds) != 1 || cmds[0].Op != OpElect {
		t.Fatalf("a promotion past MaxPromotion must be replaced, got %+v", cmds)
	}
}

func TestUnregisteredVoterBlocksDecisions(t *testing.T) {
	s := elected(t)
	// n4 is a voter that never registered: it may be a data node holding acknowledged commits.
	o := Observed{Now: t0, Wall: t0, Voters: []string{"n1", "n2", "n3", "n4"},
		Reports: map[string]Received{"n2": report("n2", 2, U+":1-5"), "n3": report("n3", 2, U+":1-6")}}
	cmds := Decide(s, o)
	if len(cmds) != 1 || cmds[0].Op != OpRefuse || !strings.Contains(cmds[0].Reason, "n4 to register") {
		t.Fatalf("want a refusal naming n4, got %+v", cmds)
	}
	o.Voters = o.Voters[:3]
	if cmds := Decide(s, o); cmds[0].Op != OpPromote {
		t.Fatalf("every voter registered: want a promotion, got %+v", cmds)
	}
}
