package cluster

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/relaydb/relaydb/internal/gtid"
)

// SwitchoverMode is how a planned switchover trades availability against the old primary's
// last transactions (seed 001: 可靠性优先 / 可用性优先).
type SwitchoverMode string

const (
	// Reliability holds the old primary's commits, waits until the target has received
	// everything the old primary logged, then promotes it: nothing acknowledged is lost, and
	// writes pause for the handover.
	Reliability SwitchoverMode = "reliability"
	// Availability fences the old primary and promotes the target at once with what it has;
	// what the old primary logged and the target lacks becomes errant on the old primary (it is
	// rewound into its lost-and-found when it rejoins) and is reported.
	Availability SwitchoverMode = "availability"
)

// Phases of a switchover.
const (
	// PhaseFence: the old primary is asked to hold new commits, let the logged ones finish, and
	// give up its lease (OpSwitchoverFenced). It still holds its lease and renews it meanwhile.
	PhaseFence = "fence"
	// PhaseCatchUp: the old primary acknowledges nothing more and may not renew; the target is
	// asked to take over (OpHandover) once it has received Executed (reliability-first).
	PhaseCatchUp = "catchup"
)

// Defaults for the switchover settings.
const (
	DefaultSwitchoverMaxLag  = 5 * time.Second
	DefaultSwitchoverTimeout = 5 * time.Second
)

// Switchover is a planned change of primary in progress.
type Switchover struct {
	ID     string         `json:"id"`
	From   string         `json:"from"`
	To     string         `json:"to"`
	Mode   SwitchoverMode `json:"mode"`
	Epoch  uint64         `json:"epoch"` // the old primary's epoch
	Phase  string         `json:"phase"`
	Reason string         `json:"reason"`
	// Executed is the old primary's gtid_executed once it has fenced itself: everything it
	// logged, since it logs nothing more.
	Executed string        `json:"executed,omitempty"`
	Timeout  time.Duration `json:"timeout,omitempty"`
	Started  time.Time     `json:"started"` // proposer's wall clock, for people
}

// SwitchoverResult is how a switchover ended.
type SwitchoverResult struct {
	ID   string         `json:"id"`
	From string         `json:"from"`
	To   string         `json:"to"`
	Mode SwitchoverMode `json:"mode"`
	OK   bool           `json:"ok"`
	// Epoch is the new primary's epoch when OK.
	Epoch uint64 `json:"epoch,omitempty"`
	// Executed is the old primary's gtid_executed when it fenced itself; Lacked is the part of
	// it the target did not have when it took over (availability-first only; errant on the old
	// primary).
	Executed string    `json:"executed,omitempty"`
	Lacked   string    `json:"lacked,omitempty"`
	Error    string    `json:"error,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended"`
}

// SwitchoverRequest asks for a switchover (an operator's, or a trigger's).
type SwitchoverRequest struct {
	ID string `json:"id"`
	// To is the target; "" picks the best candidate.
	To      string         `json:"to,omitempty"`
	Mode    SwitchoverMode `json:"mode,omitempty"` // "" is Reliability
	MaxLag  time.Duration  `json:"max_lag,omitempty"`
	Timeout time.Duration  `json:"timeout,omitempty"`
	Reason  string         `json:"reason,omitempty"`
}

// Tuning changes the settings that may change while the cluster runs (nil fields keep theirs).
type Tuning struct {
	MinFreeDisk       *uint64        `json:"min_free_disk,omitempty"`
	SwitchoverMaxLag  *time.Duration `json:"switchover_max_lag,omitempty"`
	SwitchoverTimeout *time.Duration `json:"switchover_timeout,omitempty"`
	PriorityTrigger   *bool          `json:"priority_trigger,omitempty"`
}

func (s Settings) switchoverTimeout() time.Duration {
	if s.SwitchoverTimeout > 0 {
		return s.SwitchoverTimeout
	}
	return DefaultSwitchoverTimeout
}

func (s Settings) switchoverMaxLag() time.Duration {
	if s.SwitchoverMaxLag > 0 {
		return s.SwitchoverMaxLag
	}
	return DefaultSwitchoverMaxLag
}

// leaseGivenUp: the primary has fenced itself for a switchover and may not renew its lease.
func (s *State) leaseGivenUp() bool {
	return s.Switchover != nil && s.Switchover.Phase == PhaseCatchUp
}

func (s *State) endSwitchover(t time.Time, ok bool, epoch uint64, lacked, errText string) {
	sw := s.Switchover
	s.Switchover = nil
	s.LastSwitchover = &SwitchoverResult{ID: sw.ID, From: sw.From, To: sw.To, Mode: sw.Mode, OK: ok, Epoch: epoch,
		Executed: sw.Executed, Lacked: lacked, Error: errText, Reason: sw.Reason, Started: sw.Started, Ended: t}
}

func (s *State) applySwitchover(c Command) Result {
	sw := s.Switchover
	switch c.Op {
	case OpSwitchover:
		n := c.Switchover
		switch {
		case n == nil || n.ID == "":
			return refused(s, "switchover: no request")
		case s.Election != nil || s.Primary == "" || c.Epoch != s.Epoch:
			return refused(s, "switchover refused: no primary serves epoch %d (epoch %d, primary %q)", c.Epoch, s.Epoch, s.Primary)
		case sw != nil:
			return refused(s, "switchover refused: switchover %s from %s to %s is in progress", sw.ID, sw.From, sw.To)
		case c.Node == s.Primary:
			return refused(s, "switchover refused: %s is already the primary", c.Node)
		}
		if m := s.Members[c.Node]; m == nil || m.Arbiter || m.NeverPromote {
			return refused(s, "switchover refused: %s is not a promotable member", c.Node)
		}
		cp := *n
		cp.From, cp.To, cp.Epoch, cp.Phase, cp.Started, cp.Executed = s.Primary, c.Node, s.Epoch, PhaseFence, c.Time, ""
		if cp.Mode == "" {
			cp.Mode = Reliability
		}
		s.Switchover = &cp
		s.journal(c.Time, "switchover", c.Node, fmt.Sprintf("%s-first switchover %s from %s to %s started: %s", cp.Mode, cp.ID, cp.From, cp.To, c.Reason))
		return Result{OK: true, Epoch: s.Epoch}
	case OpSwitchoverFenced:
		if sw == nil || sw.ID != c.ID || sw.From != c.Node || sw.Phase != PhaseFence || c.Epoch != s.Epoch || s.Primary != c.Node {
			return refused(s, "switchover %s: %s's fence report does not match the switchover in progress", c.ID, c.Node)
		}
		sw.Phase, sw.Executed = PhaseCatchUp, c.GTIDs
		s.journal(c.Time, "switchover_fenced", c.Node, fmt.Sprintf("%s holds its new commits and gave up its lease; everything it logged: %s", c.Node, orEmpty(c.GTIDs)))
		return Result{OK: true, Epoch: s.Epoch}
	case OpHandover:
		if sw == nil || sw.ID != c.ID || sw.To != c.Node || sw.Phase != PhaseCatchUp || c.Epoch != s.Epoch || s.Election != nil {
			return refused(s, "switchover %s: the handover to %s does not match the switchover in progress", c.ID, c.Node)
		}
		if m := s.Members[c.Node]; m == nil || m.Arbiter || m.NeverPromote {
			return refused(s, "switchover refused: %s is not a promotable member", c.Node)
		}
		from, mode := sw.From, sw.Mode
		s.Epoch++
		s.Primary, s.LeaseSeq = c.Node, 0
		s.endSwitchover(c.Time, true, s.Epoch, c.GTIDs, "")
		why := fmt.Sprintf("%s is the primary after a switchover (%s-first) from %s; ", c.Node, mode, from)
		if c.GTIDs == "" {
			why += "it holds every transaction " + from + " logged"
		} else {
			why += fmt.Sprintf("it lacked %s of %s's transactions: they are errant on %s, which rewinds them into its lost-and-found when it rejoins", c.GTIDs, from, from)
		}
		s.journal(c.Time, "switchover_done", c.Node, why)
		return Result{OK: true, Epoch: s.Epoch}
	case OpSwitchoverAbort:
		if sw == nil || sw.ID != c.ID {
			return refused(s, "switchover %s is not in progress", c.ID)
		}
		node := sw.From
		s.endSwitchover(c.Time, false, 0, "", c.Reason)
		s.journal(c.Time, "switchover_aborted", node, fmt.Sprintf("switchover %s aborted: %s; %s stays the primary", c.ID, c.Reason, node))
		return Result{OK: true, Epoch: s.Epoch}
	}
	return refused(s, "unknown command %q", c.Op)
}

func (s *State) applyTune(c Command) Result {
	t := c.Tuning
	if t == nil {
		return refused(s, "tune: nothing to change")
	}
	var parts []string
	if t.MinFreeDisk != nil {
		s.Settings.MinFreeDisk = *t.MinFreeDisk
		parts = append(parts, fmt.Sprintf("min_free_disk %d bytes", *t.MinFreeDisk))
	}
	if t.SwitchoverMaxLag != nil {
		if *t.SwitchoverMaxLag < 0 {
			return refused(s, "tune: switchover_max_lag must not be negative")
		}
		s.Settings.SwitchoverMaxLag = *t.SwitchoverMaxLag
		parts = append(parts, "switchover_max_lag "+t.SwitchoverMaxLag.String())
	}
	if t.SwitchoverTimeout != nil {
		if *t.SwitchoverTimeout < 0 {
			return refused(s, "tune: switchover_timeout must not be negative")
		}
		s.Settings.SwitchoverTimeout = *t.SwitchoverTimeout
		parts = append(parts, "switchover_timeout "+t.SwitchoverTimeout.String())
	}
	if t.PriorityTrigger != nil {
		s.Settings.PriorityTrigger = *t.PriorityTrigger
		parts = append(parts, fmt.Sprintf("priority_trigger %v", *t.PriorityTrigger))
	}
	if len(parts) == 0 {
		return refused(s, "tune: nothing to change")
	}
	s.journal(c.Time, "settings", c.Node, "changed: "+strings.Join(parts, ", "))
	return Result{OK: true, Epoch: s.Epoch}
}

func orEmpty(set string) string {
	if set == "" {
		return "(nothing)"
	}
	return set
}

// ErrSwitchoverRefused wraps the reason a switchover request was refused.
var ErrSwitchoverRefused = errors.New("switchover refused")

func refuseSwitchover(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSwitchoverRefused, fmt.Sprintf(format, args...))
}

// PlanSwitchover checks a switchover request against the state and the controller's
// observations and returns the OpSwitchover to propose, or why it is refused. minFree, when not
// 0, is the free disk space the target must have (the disk trigger). It is a pure function.
func PlanSwitchover(s *State, o Observed, req SwitchoverRequest, minFree uint64) (Command, error) {
	mode := req.Mode
	if mode == "" {
		mode = Reliability
	}
	if mode != Reliability && mode != Availability {
		return Command{}, refuseSwitchover("unknown mode %q (reliability or availability)", mode)
	}
	switch {
	case s.Settings.Lease == 0:
		return Command{}, refuseSwitchover("the cluster is not configured yet")
	case s.Election != nil:
		return Command{}, refuseSwitchover("an election is open (epoch %d)", s.Epoch)
	case s.Primary == "":
		return Command{}, refuseSwitchover("the cluster has no primary")
	case s.Switchover != nil:
		return Command{}, refuseSwitchover("switchover %s from %s to %s is in progress", s.Switchover.ID, s.Switchover.From, s.Switchover.To)
	case s.LeaseSeq == 0 || leaseExpired(s, o):
		return Command{}, refuseSwitchover("primary %s holds no valid lease (a failover, not a switchover, replaces it)", s.Primary)
	}
	for _, v := range o.Voters {
		if s.Members[v] == nil {
			return Command{}, refuseSwitchover("%s has not registered yet", v)
		}
	}
	pr, ok := o.Reports[s.Primary]
	if !ok || !fresh(s, o, pr) || pr.Epoch != s.Epoch || pr.Role != "primary" {
		return Command{}, refuseSwitchover("primary %s has not reported as a serving primary recently", s.Primary)
	}
	primaryExec, err := gtid.Parse(pr.Executed)
	if err != nil {
		return Command{}, refuseSwitchover("primary %s reported an unreadable gtid_executed", s.Primary)
	}
	maxLag := req.MaxLag
	if maxLag <= 0 {
		maxLag = s.Settings.switchoverMaxLag()
	}
	type cand struct {
		id       string
		m        *Member
		r        Received
		received gtid.Set
		missing  int64
	}
	// check says why a member cannot be the target ("" if it can).
	check := func(id string) (cand, string) {
		m := s.Members[id]
		switch {
		case m == nil:
			return cand{}, "it is not a member"
		case id == s.Primary:
			return cand{}, "it is already the primary"
		case m.Arbiter:
			return cand{}, "it is an arbiter"
		case m.NeverPromote:
			return cand{}, "it may never be promoted"
		}
		r, ok := o.Reports[id]
		if !ok || !fresh(s, o, r) {
			return cand{}, "it has not reported recently"
		}
		if r.Epoch != s.Epoch || r.Role != "replica" {
			return cand{}, fmt.Sprintf("it is not a replica of epoch %d (it reports %s in epoch %d)", s.Epoch, r.Role, r.Epoch)
		}
		if !r.Healthy {
			return cand{}, "it is not healthy: " + r.LastError
		}
		if minFree > 0 && r.FreeDisk > 0 && r.FreeDisk < minFree {
			return cand{}, fmt.Sprintf("its free disk (%d MiB) is below the threshold (%d MiB)", r.FreeDisk>>20, minFree>>20)
		}
		received, err := gtid.Parse(r.Received)
		if err != nil {
			return cand{}, "it reported an unreadable GTID set"
		}
		c := cand{id: id, m: m, r: r, received: received, missing: gtid.Subtract(primaryExec, received).Count()}
		if mode == Reliability {
			switch {
			case !r.IORunning || !r.SQLRunning:
				return cand{}, "its replication threads are not both running"
			case r.LagSeconds < 0:
				return cand{}, "its lag is unknown"
			case time.Duration(r.LagSeconds)*time.Second > maxLag:
				return cand{}, fmt.Sprintf("it lags %ds behind the primary, more than the %s a reliability-first switchover accepts", r.LagSeconds, maxLag)
			}
		}
		return c, ""
	}
	var target cand
	if req.To != "" {
		c, why := check(req.To)
		if why != "" {
			return Command{}, refuseSwitchover("target %s: %s", req.To, why)
		}
		target = c
	} else {
		var cands []cand
		var whys []string
		for _, id := range s.DataMembers() {
			if id == s.Primary {
				continue
			}
			c, why := check(id)
			if why != "" {
				whys = append(whys, id+": "+why)
				continue
			}
			cands = append(cands, c)
		}
		if len(cands) == 0 {
			return Command{}, refuseSwitchover("no member can take over (%s)", strings.Join(whys, "; "))
		}
		// Most caught-up first (it makes the handover shortest), then priority.
		sort.Slice(cands, func(i, j int) bool {
			a, b := cands[i], cands[j]
			if a.missing != b.missing {
				return a.missing < b.missing
			}
			if a.r.LagSeconds != b.r.LagSeconds {
				return a.r.LagSeconds < b.r.LagSeconds
			}
			if a.m.Priority != b.m.Priority {
				return a.m.Priority > b.m.Priority
			}
			return a.id < b.id
		})
		target = cands[0]
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = s.Settings.switchoverTimeout()
	}
	reason := req.Reason
	if reason == "" {
		reason = "requested by an operator"
	}
	reason += fmt.Sprintf("; target %s lags %ds and lacks %d of the primary's transactions", target.id, target.r.LagSeconds, target.missing)
	return Command{Op: OpSwitchover, Time: o.Wall, Epoch: s.Epoch, Node: target.id, Reason: reason,
		Switchover: &Switchover{ID: req.ID, Mode: mode, Reason: reason, Timeout: timeout}}, nil
}

// decideSwitchover watches a switchover in progress: one that takes longer than its timeout in
// a phase, or whose old primary stops renewing before it fenced itself, is aborted. No
// election starts while one is in progress: in PhaseCatchUp the old primary stops renewing on
// purpose, and the abort gives its lease back (the controller counts it from the abort).
func decideSwitchover(s *State, o Observed) []Command {
	sw := s.Switchover
	abort := func(why string) []Command {
		return []Command{{Op: OpSwitchoverAbort, Time: o.Wall, Epoch: s.Epoch, ID: sw.ID, Reason: why}}
	}
	timeout := sw.Timeout
	if timeout <= 0 {
		timeout = s.Settings.switchoverTimeout()
	}
	if sw.Phase == PhaseFence && leaseExpired(s, o) {
		return abort(fmt.Sprintf("the old primary %s stopped renewing its lease before it fenced itself", sw.From))
	}
	if o.Now.Sub(o.SwitchoverSeenAt) < timeout {
		return nil
	}
	if sw.Phase == PhaseFence {
		return abort(fmt.Sprintf("the old primary %s did not finish its logged commits and fence itself within %s", sw.From, timeout))
	}
	why := fmt.Sprintf("the target %s did not take over within %s", sw.To, timeout)
	if r, ok := o.Reports[sw.To]; ok && fresh(s, o, r) {
		if rec, err := gtid.Parse(r.Received); err == nil {
			if exec, err := gtid.Parse(sw.Executed); err == nil {
				if lacks := gtid.Subtract(exec, rec); !lacks.IsEmpty() {
					why += fmt.Sprintf(" (it lacks %s of the old primary's transactions)", lacks.String())
				}
			}
		}
	}
	return abort(why)
}

// TriggerBackoff is how long after an aborted switchover a trigger waits before it starts
// another: each attempt holds the primary's commits for up to the switchover timeout.
const TriggerBackoff = 30 * time.Second

// decideTriggers starts a switchover away from a primary that is still serving but should not:
// its free disk is below Settings.MinFreeDisk, or (Settings.PriorityTrigger) a member of higher
// priority can take over.
func decideTriggers(s *State, o Observed) []Command {
	if s.LeaseSeq == 0 || (s.Settings.MinFreeDisk == 0 && !s.Settings.PriorityTrigger) {
		return nil
	}
	if l := s.LastSwitchover; l != nil && !l.OK && o.Wall.Sub(l.Ended) < TriggerBackoff {
		return nil
	}
	if cmds := decideDiskTrigger(s, o); cmds != nil {
		return cmds
	}
	return decidePriorityTrigger(s, o)
}

// decidePriorityTrigger moves the primary's role to the highest-priority member above the
// primary's own priority that can take over (never to a member short of disk, which the disk
// trigger would move away from again).
func decidePriorityTrigger(s *State, o Observed) []Command {
	pm := s.Members[s.Primary]
	if !s.Settings.PriorityTrigger || pm == nil {
		return nil
	}
	var higher []*Member
	for _, id := range s.DataMembers() {
		if m := s.Members[id]; id != s.Primary && !m.NeverPromote && m.Priority > pm.Priority {
			higher = append(higher, m)
		}
	}
	if len(higher) == 0 {
		return nil
	}
	sort.Slice(higher, func(i, j int) bool {
		if higher[i].Priority != higher[j].Priority {
			return higher[i].Priority > higher[j].Priority
		}
		return higher[i].ID < higher[j].ID
	})
	var whys []string
	for _, m := range higher {
		why := fmt.Sprintf("priority trigger: %s has priority %d, above the primary %s's %d", m.ID, m.Priority, s.Primary, pm.Priority)
		req := SwitchoverRequest{ID: fmt.Sprintf("priority-e%d-%d", s.Epoch, o.Wall.UnixNano()), To: m.ID, Mode: Reliability, Reason: why}
		c, err := PlanSwitchover(s, o, req, s.Settings.MinFreeDisk)
		if err == nil {
			return []Command{c}
		}
		whys = append(whys, err.Error())
	}
	return []Command{{Op: OpRefuse, Time: o.Wall, Epoch: s.Epoch, Node: s.Primary,
		Reason: "priority trigger: no member of higher priority can take over: " + strings.Join(whys, "; ")}}
}

// decideDiskTrigger moves the primary's role away from a primary short of disk.
func decideDiskTrigger(s *State, o Observed) []Command {
	if s.Settings.MinFreeDisk == 0 {
		return nil
	}
	r, ok := o.Reports[s.Primary]
	if !ok || !fresh(s, o, r) || r.Epoch != s.Epoch || r.FreeDisk == 0 || r.FreeDisk >= s.Settings.MinFreeDisk {
		return nil
	}
	why := fmt.Sprintf("disk trigger: primary %s has %d MiB free, below the threshold of %d MiB", s.Primary, r.FreeDisk>>20, s.Settings.MinFreeDisk>>20)
	req := SwitchoverRequest{ID: fmt.Sprintf("disk-e%d-%d", s.Epoch, o.Wall.UnixNano()), Mode: Reliability, Reason: why}
	c, err := PlanSwitchover(s, o, req, s.Settings.MinFreeDisk)
	if err != nil {
		return []Command{{Op: OpRefuse, Time: o.Wall, Epoch: s.Epoch, Node: s.Primary, Reason: why + "; " + err.Error()}}
	}
	return []Command{c}
}
