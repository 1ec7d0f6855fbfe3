package semisync

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaydb/relaydb/internal/binlog"
)

// Level is what a committing transaction waits for.
type Level int

const (
	Async    Level = iota // nothing
	Received              // enough replicas have it durably in their relay log (semi-sync)
	Applied               // enough replicas have applied it (synchronous)
)

func (l Level) String() string {
	switch l {
	case Received:
		return "SEMI_SYNC"
	case Applied:
		return "SYNC"
	}
	return "ASYNC"
}

// WaitPoint is rpl_semi_sync_source_wait_point.
type WaitPoint int

const (
	AfterSync   WaitPoint = iota // lossless (MySQL's default)
	AfterCommit                  // lossy: visible before acknowledged
	AfterApply                   // RelayDB: like AFTER_SYNC, for applied acknowledgements
)

// ParseWaitPoint reads a wait point name.
func ParseWaitPoint(s string) (WaitPoint, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "AFTER_SYNC":
		return AfterSync, nil
	case "AFTER_COMMIT":
		return AfterCommit, nil
	case "AFTER_APPLY":
		return AfterApply, nil
	}
	return 0, fmt.Errorf("unknown wait point %q", s)
}

func (w WaitPoint) String() string {
	switch w {
	case AfterCommit:
		return "AFTER_COMMIT"
	case AfterApply:
		return "AFTER_APPLY"
	}
	return "AFTER_SYNC"
}

// Settings are the source's semi-sync system variables.
type Settings struct {
	Enabled       bool          // rpl_semi_sync_source_enabled
	WaitPoint     WaitPoint     // rpl_semi_sync_source_wait_point
	WaitCount     int           // rpl_semi_sync_source_wait_for_replica_count (≥ 1)
	Timeout       time.Duration // rpl_semi_sync_source_timeout
	WaitNoReplica bool          // rpl_semi_sync_source_wait_no_replica
	Fallback      bool          // rpl_semi_sync_source_fallback (RelayDB): off = never go async
}

// DefaultSettings are MySQL's defaults (semi-sync off).
func DefaultSettings() Settings {
	return Settings{WaitPoint: AfterSync, WaitCount: 1, Timeout: 10 * time.Second, WaitNoReplica: true, Fallback: true}
}

// Source tracks the acknowledging replicas of one server and the commits waiting for them.
type Source struct {
	log      *slog.Logger
	settings atomic.Pointer[Settings]

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever an ack, a replica or the status changes
	replicas map[*Replica]struct{}
	active   bool            // Rpl_semi_sync_source_status
	latest   binlog.Position // the furthest position any commit waited for
	waiters  int             // commits waiting now
	expect   atomic.Int64    // groups about to wait (the dump must ask for acks)
	// expectApplied counts those of them that wait for applied acknowledgements.
	expectApplied atomic.Int64
	fenced        error // set while the node may not acknowledge (cluster lease lost)

	yesTx, noTx          atomic.Uint64
	txWaitNs, txWaits    atomic.Uint64
	netWaitNs, netWaits  atomic.Uint64
	timeouts, switchesOn atomic.Uint64
}

// NewSource returns a Source with MySQL's default settings (semi-sync off).
func NewSource(log *slog.Logger) *Source {
	if log == nil {
		log = slog.Default()
	}
	s := &Source{log: log, changed: make(chan struct{}), replicas: map[*Replica]struct{}{}}
	d := DefaultSettings()
	s.settings.Store(&d)
	return s
}

// Fence makes every wait, present and future, return err until Fence(nil): a cluster primary
// that lost its lease must not wait for acknowledgements it can no longer honour.
func (s *Source) Fence(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fenced = err
	s.notifyLocked()
}

// Settings returns the current settings.
func (s *Source) Settings() Settings { return *s.settings.Load() }

// Configure changes the settings (SET GLOBAL rpl_semi_sync_source_*). Turning semi-sync on makes
// the status ON at once, as in MySQL; turning it off releases every waiting commit.
func (s *Source) Configure(fn func(*Settings)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := *s.settings.Load()
	prev := next
	fn(&next)
	if next.WaitCount < 1 {
		next.WaitCount = 1
	}
	s.settings.Store(&next)
	if next.Enabled && !prev.Enabled {
		s.active = true
		s.log.Info("semi-synchronous replication enabled on the source", "wait_point", next.WaitPoint.String(), "wait_for_replica_count", next.WaitCount)
	} else if !next.Enabled && prev.Enabled {
		s.active = false
		s.log.Info("semi-synchronous replication disabled on the source")
	}
	s.notifyLocked()
}

func (s *Source) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Active reports Rpl_semi_sync_source_status.
func (s *Source) Active() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active && s.settings.Load().Enabled
}

// WantsAcks tells a dump whether to ask its replica for acknowledgements: semi-sync is enabled,
// or some commit asked for a replicated durability of its own.
func (s *Source) WantsAcks() bool {
	return s.settings.Load().Enabled || s.expect.Load() > 0
}

// Expect announces, before the binlog group is synced, that a commit of level lvl will wait: the
// dumps must request acknowledgements for the events they are about to send. Call Done after.
func (s *Source) Expect(lvl Level) (done func()) {
	if lvl == Async {
		return func() {}
	}
	s.expect.Add(1)
	if lvl == Applied {
		s.expectApplied.Add(1)
		return func() { s.expectApplied.Add(-1); s.expect.Add(-1) }
	}
	return func() { s.expect.Add(-1) }
}

// WantsAppliedAcks tells a dump whether to ask its replica for applied acknowledgements as well
// (FlagAppliedAckRequested): some commit that will wait for them was announced by Expect and has
// not finished waiting, or the wait point is AFTER_APPLY.
func (s *Source) WantsAppliedAcks() bool {
	st := s.settings.Load()
	return (st.Enabled && st.WaitPoint == AfterApply) || s.expectApplied.Load() > 0
}

// Replica is one connected replica that acknowledges (a semi-sync dump).
type Replica struct {
	s        *Source
	ServerID uint32
	received binlog.Position
	applied  binlog.Position
	sentAt   time.Time       // when the last event asking for an ack was sent
	sentPos  binlog.Position // its position
}

// Register adds a semi-sync replica (a dump whose replica set @rpl_semi_sync_replica = 1).
func (s *Source) Register(serverID uint32) *Replica {
	r := &Replica{s: s, ServerID: serverID}
	s.mu.Lock()
	s.replicas[r] = struct{}{}
	s.log.Info("semi-sync replica connected", "server_id", serverID, "semi_sync_clients", len(s.replicas))
	s.notifyLocked()
	s.mu.Unlock()
	return r
}

// Close removes the replica (its dump ended).
func (r *Replica) Close() {
	s := r.s
	s.mu.Lock()
	delete(s.replicas, r)
	s.log.Info("semi-sync replica disconnected", "server_id", r.ServerID, "semi_sync_clients", len(s.replicas))
	s.notifyLocked()
	s.mu.Unlock()
}

// Sent records that the dump asked for an acknowledgement of pos (for the network wait figure).
func (r *Replica) Sent(pos binlog.Position) {
	r.s.mu.Lock()
	r.sentAt, r.sentPos = time.Now(), pos
	r.s.mu.Unlock()
}

// Ack records an acknowledgement: the replica has everything up to pos durably received or, if
// applied, applied.
func (r *Replica) Ack(pos binlog.Position, applied bool) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if Compare(pos, r.sentPos) > 0 {
		// Never trust an acknowledgement beyond what this dump asked this replica to
		// acknowledge: a replica that was following another source may acknowledge positions
		// of that source's binlog, which mean nothing here (and could release commits no
		// replica holds).
		pos = r.sentPos
	}
	if applied {
		if Compare(pos, r.applied) > 0 {
			r.applied = pos
		}
		if Compare(pos, r.received) > 0 {
			r.received = pos
		}
	} else if Compare(pos, r.received) > 0 {
		r.received = pos
		if !r.sentAt.IsZero() && Compare(pos, r.sentPos) >= 0 {
			s.netWaitNs.Add(uint64(time.Since(r.sentAt)))
			s.netWaits.Add(1)
			r.sentAt = time.Time{}
		}
	}
	st := s.settings.Load()
	if st.Enabled && !s.active && s.countLocked(s.latest, Received) >= st.WaitCount {
		s.active = true
		s.switchesOn.Add(1)
		s.log.Info("semi-sync replicas caught up: semi-synchronous replication switched back ON", "position", s.latest.String())
	}
	s.notifyLocked()
}

// countLocked counts the replicas that acknowledged pos at lvl.
func (s *Source) countLocked(pos binlog.Position, lvl Level) int {
	n := 0
	for r := range s.replicas {
		p := r.received
		if lvl == Applied {
			p = r.applied
		}
		if Compare(p, pos) >= 0 {
			n++
		}
	}
	return n
}

// Wait blocks a group of txns commits that end at pos until enough replicas acknowledge it at
// lvl (see the package invariants for timeouts and fallback). ctx ends the wait early (the server
// stopping); a commit released that way is not acknowledged.
func (s *Source) Wait(ctx context.Context, pos binlog.Position, lvl Level, txns int) error {
	if lvl == Async {
		return nil
	}
	start := time.Now()
	st := s.settings.Load()
	globalWait := st.Enabled
	s.mu.Lock()
	if Compare(pos, s.latest) > 0 {
		s.latest = pos
	}
	if globalWait && !s.active {
		s.mu.Unlock()
		s.noTx.Add(uint64(txns))
		return nil
	}
	s.waiters++
	defer func() { s.mu.Lock(); s.waiters--; s.mu.Unlock() }()
	var expire <-chan time.Time
	if st.Fallback {
		t := time.NewTimer(st.Timeout)
		defer t.Stop()
		expire = t.C
	}
	for {
		st = s.settings.Load()
		if s.fenced != nil {
			err := s.fenced
			s.mu.Unlock()
			return err
		}
		if s.countLocked(pos, lvl) >= st.WaitCount {
			s.mu.Unlock()
			s.yesTx.Add(uint64(txns))
			s.txWaitNs.Add(uint64(time.Since(start)) * uint64(txns))
			s.txWaits.Add(uint64(txns))
			return nil
		}
		if globalWait && (!st.Enabled || !s.active) {
			// Semi-sync turned off (or switched off by another waiter's timeout) meanwhile.
			s.mu.Unlock()
			s.noTx.Add(uint64(txns))
			return nil
		}
		if globalWait && st.Fallback && !st.WaitNoReplica && len(s.replicas) < st.WaitCount {
			s.switchOffLocked(pos, "fewer semi-sync replicas connected than rpl_semi_sync_source_wait_for_replica_count")
			s.mu.Unlock()
			s.noTx.Add(uint64(txns))
			return nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-expire:
			s.mu.Lock()
			if s.countLocked(pos, lvl) >= s.settings.Load().WaitCount {
				continue
			}
			if globalWait {
				s.switchOffLocked(pos, fmt.Sprintf("timeout (%s) waiting for replica acknowledgement", st.Timeout))
			}
			s.mu.Unlock()
			s.timeouts.Add(1)
			s.noTx.Add(uint64(txns))
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
	}
}

func (s *Source) switchOffLocked(pos binlog.Position, why string) {
	if !s.active {
		return
	}
	s.active = false
	s.log.Warn("semi-synchronous replication switched OFF: commits no longer wait for replicas until they catch up",
		"reason", why, "position", pos.String(), "semi_sync_clients", len(s.replicas))
	s.notifyLocked()
}

// Status is the Rpl_semi_sync_source_* status variables.
type Status struct {
	On                           bool
	Clients                      int
	YesTx, NoTx                  uint64
	TxAvgWaitMicros              uint64
	NetAvgWaitMicros             uint64
	TxWaits, TxWaitMicros        uint64 // transactions that waited, and their total wait
	NetWaits, NetWaitMicros      uint64 // acknowledgements timed, and their total round trip
	WaitSessions                 int
	Timeouts, SwitchedBackOnTime uint64
}

// Status returns the current figures.
func (s *Source) Status() Status {
	s.mu.Lock()
	st := Status{On: s.active && s.settings.Load().Enabled, Clients: len(s.replicas), WaitSessions: s.waiters}
	s.mu.Unlock()
	st.YesTx, st.NoTx = s.yesTx.Load(), s.noTx.Load()
	st.TxWaits, st.TxWaitMicros = s.txWaits.Load(), s.txWaitNs.Load()/1000
	st.NetWaits, st.NetWaitMicros = s.netWaits.Load(), s.netWaitNs.Load()/1000
	if n := s.txWaits.Load(); n > 0 {
		st.TxAvgWaitMicros = s.txWaitNs.Load() / n / 1000
	}
	if n := s.netWaits.Load(); n > 0 {
		st.NetAvgWaitMicros = s.netWaitNs.Load() / n / 1000
	}
	st.Timeouts, st.SwitchedBackOnTime = s.timeouts.Load(), s.switchesOn.Load()
	return st
}

// Compare orders binlog positions: by file sequence number, then offset. The zero Position is
// before every other.
func Compare(a, b binlog.Position) int {
	if a.File != b.File {
		na, nb := fileNumber(a.File), fileNumber(b.File)
		switch {
		case a.File == "":
			return -1
		case b.File == "":
			return 1
		case na < nb:
			return -1
		case na > nb:
			return 1
		}
		return strings.Compare(a.File, b.File)
	}
	switch {
	case a.Offset < b.Offset:
		return -1
	case a.Offset > b.Offset:
		return 1
	}
	return 0
}

func fileNumber(name string) uint64 {
	i := strings.LastIndexByte(name, '.')
	n, _ := strconv.ParseUint(name[i+1:], 10, 64)
	return n
}
