package cluster

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Mode is how a cluster's primary waits for its replicas before it acknowledges a commit.
type Mode string

const (
	// Lossless is semi-synchronous AFTER_SYNC with Settings.Acks acknowledgements: an
	// acknowledged commit is in the relay log of Acks replicas, and a failover never loses it.
	Lossless Mode = "lossless"
	// Async acknowledges commits without waiting: a failover may lose acknowledged commits.
	Async Mode = "async"
)

// Settings are the cluster-wide timings and rules, fixed by the member that bootstraps the
// cluster (every member must agree on them, so they live in the replicated state).
type Settings struct {
	Mode Mode `json:"mode"`
	// Acks is rpl_semi_sync_source_wait_for_replica_count in lossless mode; 0 means ⌊N/2⌋ for
	// N data members.
	Acks int `json:"acks,omitempty"`
	// Lease is how long a renewal lets the primary acknowledge commits, on its own clock,
	// counted from when it asked for the renewal.
	Lease time.Duration `json:"lease"`
	// LeaseMargin is added to Lease on the controller's side before it treats a lease as
	// expired: it covers clock rate differences between the two machines.
	LeaseMargin time.Duration `json:"lease_margin"`
	// Cooldown is the time after an automatic failover during which another one waits for an
	// operator (anti-flapping).
	Cooldown time.Duration `json:"cooldown"`
	// ReportTTL is how old a member's last health report may be and still count.
	ReportTTL time.Duration `json:"report_ttl"`
	// AsyncWait is how long an election in async mode waits for every replica's report before
	// it promotes the best of those that did report.
	AsyncWait time.Duration `json:"async_wait"`
	// MinFreeDisk, when not 0, is the free disk space (bytes) below which the primary is handed
	// over to the best candidate by a reliability-first switchover (the disk trigger).
	MinFreeDisk uint64 `json:"min_free_disk,omitempty"`
	// SwitchoverMaxLag is the largest replication lag (Seconds_Behind_Source) a reliability-first
	// switchover accepts in its target when the request names none (0: DefaultSwitchoverMaxLag).
	SwitchoverMaxLag time.Duration `json:"switchover_max_lag,omitempty"`
	// SwitchoverTimeout bounds each phase of a switchover (0: DefaultSwitchoverTimeout); a
	// switchover stuck longer is aborted and the old primary serves again.
	SwitchoverTimeout time.Duration `json:"switchover_timeout,omitempty"`
	// PriorityTrigger hands a serving primary over, by a reliability-first switchover, to a
	// member of strictly higher priority that can take over (the priority trigger).
	PriorityTrigger bool `json:"priority_trigger,omitempty"`
}

// DefaultSettings fail over in about a second on a LAN.
func DefaultSettings() Settings {
	return Settings{
		Mode:        Lossless,
		Lease:       500 * time.Millisecond,
		LeaseMargin: 100 * time.Millisecond,
		Cooldown:    30 * time.Second,
		ReportTTL:   1500 * time.Millisecond,
		AsyncWait:   400 * time.Millisecond,
	}
}

// Member is one voter of the cluster.
type Member struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	// SQLAddr is where clients and replicas reach the node (host:port); empty for an arbiter.
	SQLAddr string `json:"sql_addr,omitempty"`
	// Arbiter members vote but hold no data: never primary, never counted as replicas.
	Arbiter bool `json:"arbiter,omitempty"`
	// Priority breaks ties between candidates holding the same transactions (higher wins).
	Priority     int  `json:"priority,omitempty"`
	NeverPromote bool `json:"never_promote,omitempty"`
}

// Election is an open election: the old primary's lease has expired and the members have been
// told to stop receiving from it.
type Election struct {
	Epoch      uint64    `json:"epoch"`
	OldPrimary string    `json:"old_primary,omitempty"`
	Reason     string    `json:"reason"`
	Started    time.Time `json:"started"` // the proposer's wall clock, for people
}

// JournalEntry is one decision or refusal to decide.
type JournalEntry struct {
	Time   time.Time `json:"time"`
	Epoch  uint64    `json:"epoch"`
	Kind   string    `json:"kind"`
	Node   string    `json:"node,omitempty"`
	Reason string    `json:"reason"`
}

// journalCap bounds the journal kept in the state (and in every snapshot).
const journalCap = 200

// State is the replicated cluster state. Only Apply changes it.
type State struct {
	Settings Settings           `json:"settings"`
	Members  map[string]*Member `json:"members"`
	// Primary is the member that may accept writes in Epoch, "" while an election is open or
	// before the first one.
	Primary  string    `json:"primary,omitempty"`
	Epoch    uint64    `json:"epoch"`
	Election *Election `json:"election,omitempty"`
	// LeaseSeq counts the renewals granted to Primary in Epoch; it changes with every renewal,
	// which is how a controller notices one.
	LeaseSeq uint64 `json:"lease_seq"`
	// AutoInc is, per "db.table", the highest auto-increment value ever reserved.
	AutoInc map[string]uint64 `json:"auto_inc,omitempty"`
	// LastFailover is when the last automatic failover started (proposer's wall clock);
	// FailoverAllowed lets the next one skip the cooldown.
	LastFailover    time.Time `json:"last_failover"`
	FailoverAllowed bool      `json:"failover_allowed,omitempty"`
	// Switchover is the planned change of primary in progress (nil when none is);
	// LastSwitchover is how the last one ended.
	Switchover     *Switchover       `json:"switchover,omitempty"`
	LastSwitchover *SwitchoverResult `json:"last_switchover,omitempty"`
	Journal        []JournalEntry    `json:"journal,omitempty"`
}

// NewState is the state of a cluster being bootstrapped.
func NewState(s Settings) *State {
	return &State{Settings: s, Members: map[string]*Member{}, AutoInc: map[string]uint64{}}
}

// Clone returns a deep copy (the FSM hands copies to readers).
func (s *State) Clone() *State {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // every field marshals
	}
	var c State
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	if c.Members == nil {
		c.Members = map[string]*Member{}
	}
	if c.AutoInc == nil {
		c.AutoInc = map[string]uint64{}
	}
	return &c
}

// DataMembers returns the IDs of the members that hold data, sorted.
func (s *State) DataMembers() []string {
	var ids []string
	for id, m := range s.Members {
		if !m.Arbiter {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// AcksRequired is how many replica acknowledgements a commit waits for in lossless mode.
func (s *State) AcksRequired() int {
	if s.Settings.Mode != Lossless {
		return 0
	}
	n := len(s.DataMembers())
	if s.Settings.Acks > 0 {
		return min(s.Settings.Acks, max(n-1, 0))
	}
	return n / 2
}

// Op names a command.
type Op string

const (
	OpRegister      Op = "register"       // Member: add or update a member
	OpRenew         Op = "renew"          // Node, Epoch: the primary renews its lease
	OpElect         Op = "elect"          // Epoch (the current one), Reason: open an election
	OpPromote       Op = "promote"        // Node, Epoch: close the election with a winner
	OpRefuse        Op = "refuse"         // Reason: journal why nothing was decided
	OpReserve       Op = "reserve"        // Node, Epoch, Table, From, Count: auto-increment range
	OpAllowFailover Op = "allow_failover" // an operator lets the next failover skip the cooldown
	OpJournal       Op = "journal"        // Node, Kind, Reason: a member's own event
	OpSettings      Op = "settings"       // Settings: fixed once, by the first controller
	// Planned switchover (see switchover.go): the controller starts one (OpSwitchover), the old
	// primary reports that it holds its commits and gave up its lease (OpSwitchoverFenced), the
	// target takes over (OpHandover); any of them, or the controller on a timeout, may abort it.
	OpSwitchover       Op = "switchover"        // Node (target), Epoch, Switchover
	OpSwitchoverFenced Op = "switchover_fenced" // Node (old primary), Epoch, ID, GTIDs (its gtid_executed)
	OpHandover         Op = "handover"          // Node (target), Epoch, ID, GTIDs (what it lacked)
	OpSwitchoverAbort  Op = "switchover_abort"  // ID, Reason
	OpTune             Op = "tune"              // Tuning: change the settings that may change at runtime
)

// Command is one change to the state, as logged in Raft.
type Command struct {
	Op       Op        `json:"op"`
	Time     time.Time `json:"time"` // proposer's wall clock (journal only)
	Node     string    `json:"node,omitempty"`
	Epoch    uint64    `json:"epoch,omitempty"`
	Member   *Member   `json:"member,omitempty"`
	Kind     string    `json:"kind,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Table    string    `json:"table,omitempty"`
	From     uint64    `json:"from,omitempty"`
	Count    uint64    `json:"count,omitempty"`
	Settings *Settings `json:"settings,omitempty"`
	// Automatic marks an election the controller started (it counts for the cooldown).
	Automatic bool `json:"automatic,omitempty"`
	// Switchover commands: the switchover being started, the ID of the one acted on, and a
	// GTID set (see the Op).
	Switchover *Switchover `json:"switchover,omitempty"`
	ID         string      `json:"id,omitempty"`
	GTIDs      string      `json:"gtids,omitempty"`
	Tuning     *Tuning     `json:"tuning,omitempty"`
}

// Result is what Apply returns for a command.
type Result struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Epoch uint64 `json:"epoch"`
	Lo    uint64 `json:"lo,omitempty"`
	Hi    uint64 `json:"hi,omitempty"`
}

func refused(s *State, format string, args ...any) Result {
	return Result{Error: fmt.Sprintf(format, args...), Epoch: s.Epoch}
}

// Apply runs one command against the state. It is deterministic: every member applies the
// same commands in the same order and ends with the same state.
func (s *State) Apply(c Command) Result {
	switch c.Op {
	case OpRegister:
		if c.Member == nil || c.Member.ID == "" {
			return refused(s, "register: no member")
		}
		m := *c.Member
		s.Members[m.ID] = &m
		return Result{OK: true, Epoch: s.Epoch}
	case OpRenew:
		if s.Election != nil || c.Node != s.Primary || c.Epoch != s.Epoch || s.Primary == "" {
			return refused(s, "lease refused: %s is not the primary of epoch %d (primary %q, epoch %d)", c.Node, c.Epoch, s.Primary, s.Epoch)
		}
		if s.leaseGivenUp() {
			return refused(s, "lease refused: %s gave up its lease for the switchover to %s", c.Node, s.Switchover.To)
		}
		s.LeaseSeq++
		return Result{OK: true, Epoch: s.Epoch}
	case OpElect:
		if c.Epoch != s.Epoch || s.Election != nil {
			return refused(s, "election for epoch %d refused: epoch is %d", c.Epoch, s.Epoch)
		}
		old := s.Primary
		if s.Switchover != nil {
			s.endSwitchover(c.Time, false, 0, "", "superseded by an election: "+c.Reason)
		}
		s.Epoch++
		s.Primary, s.LeaseSeq = "", 0
		s.Election = &Election{Epoch: s.Epoch, OldPrimary: old, Reason: c.Reason, Started: c.Time}
		if c.Automatic && old != "" {
			s.LastFailover = c.Time
			s.FailoverAllowed = false
		}
		s.journal(c.Time, "election", old, c.Reason)
		return Result{OK: true, Epoch: s.Epoch}
	case OpPromote:
		if s.Election == nil || c.Epoch != s.Epoch {
			return refused(s, "promotion of %s in epoch %d refused: no election open in that epoch", c.Node, c.Epoch)
		}
		m := s.Members[c.Node]
		if m == nil || m.Arbiter || m.NeverPromote {
			return refused(s, "promotion of %s refused: not a promotable member", c.Node)
		}
		s.Primary, s.Election, s.LeaseSeq = c.Node, nil, 0
		s.journal(c.Time, "promote", c.Node, c.Reason)
		return Result{OK: true, Epoch: s.Epoch}
	case OpRefuse:
		if n := len(s.Journal); n > 0 && s.Journal[n-1].Kind == "refuse" && s.Journal[n-1].Reason == c.Reason && s.Journal[n-1].Epoch == s.Epoch {
			return Result{OK: true, Epoch: s.Epoch}
		}
		s.journal(c.Time, "refuse", c.Node, c.Reason)
		return Result{OK: true, Epoch: s.Epoch}
	case OpJournal:
		s.journal(c.Time, c.Kind, c.Node, c.Reason)
		return Result{OK: true, Epoch: s.Epoch}
	case OpReserve:
		if c.Node != s.Primary || c.Epoch != s.Epoch || s.Election != nil || s.leaseGivenUp() {
			return refused(s, "auto-increment reservation refused: %s is not the primary of epoch %d", c.Node, c.Epoch)
		}
		if c.Count == 0 || c.Table == "" {
			return refused(s, "auto-increment reservation: empty")
		}
		lo := max(c.From, s.AutoInc[c.Table]+1)
		hi := lo + c.Count - 1
		if hi < lo { // overflow: grant up to the largest value
			hi = ^uint64(0)
		}
		s.AutoInc[c.Table] = hi
		return Result{OK: true, Epoch: s.Epoch, Lo: lo, Hi: hi}
	case OpSettings:
		if c.Settings == nil || c.Settings.Lease <= 0 {
			return refused(s, "settings: a lease is required")
		}
		if s.Settings.Lease != 0 {
			return refused(s, "settings are already fixed")
		}
		s.Settings = *c.Settings
		s.journal(c.Time, "settings", c.Node, fmt.Sprintf("mode %s, lease %s, cooldown %s", s.Settings.Mode, s.Settings.Lease, s.Settings.Cooldown))
		return Result{OK: true, Epoch: s.Epoch}
	case OpSwitchover, OpSwitchoverFenced, OpHandover, OpSwitchoverAbort:
		return s.applySwitchover(c)
	case OpTune:
		return s.applyTune(c)
	case OpAllowFailover:
		s.FailoverAllowed = true
		s.journal(c.Time, "allow_failover", c.Node, "an operator allowed the next failover within the cooldown")
		return Result{OK: true, Epoch: s.Epoch}
	}
	return refused(s, "unknown command %q", c.Op)
}

func (s *State) journal(t time.Time, kind, node, reason string) {
	s.Journal = append(s.Journal, JournalEntry{Time: t, Epoch: s.Epoch, Kind: kind, Node: node, Reason: reason})
	if len(s.Journal) > journalCap {
		s.Journal = append([]JournalEntry(nil), s.Journal[len(s.Journal)-journalCap:]...)
	}
}
