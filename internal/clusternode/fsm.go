package clusternode

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/relaydb/relaydb/internal/cluster"
)

// fsm is the Raft state machine: the cluster.State, plus what this member observed locally
// about it (when it saw the lease renewed or an election opened), which the controller needs and
// which must never be replicated (each member's clock is its own).
type fsm struct {
	mu             sync.Mutex
	st             *cluster.State // guarded by mu
	leaseSeenAt    time.Time      // guarded by mu; see cluster.Observed.LeaseSeenAt
	electionSeenAt time.Time      // guarded by mu
	// switchoverSeenAt is when this member applied the switchover in progress in its current
	// phase (guarded by mu; see cluster.Observed.SwitchoverSeenAt).
	switchoverSeenAt time.Time
	primarySeenAt    time.Time     // guarded by mu; when the primary or the epoch last changed
	changed          chan struct{} // guarded by mu; closed and replaced on every change
	now              func() time.Time
}

func newFSM(settings cluster.Settings) *fsm {
	return &fsm{st: cluster.NewState(settings), changed: make(chan struct{}), now: time.Now,
		leaseSeenAt: time.Now(), electionSeenAt: time.Now(), switchoverSeenAt: time.Now()}
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	var c cluster.Command
	if err := json.Unmarshal(l.Data, &c); err != nil {
		return cluster.Result{Error: fmt.Sprintf("undecodable command: %v", err)}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	prevPrimary, prevEpoch, prevSeq, prevElection := f.st.Primary, f.st.Epoch, f.st.LeaseSeq, f.st.Election != nil
	prevSwitch := switchoverKey(f.st)
	res := f.st.Apply(c)
	now := f.now()
	if f.st.Primary != prevPrimary || f.st.Epoch != prevEpoch || f.st.LeaseSeq != prevSeq {
		f.leaseSeenAt = now
	}
	if f.st.Primary != prevPrimary || f.st.Epoch != prevEpoch {
		f.primarySeenAt = now
	}
	if sw := switchoverKey(f.st); sw != prevSwitch {
		f.switchoverSeenAt = now
		if sw == "" {
			// A switchover that ended without a new primary gives the old one its lease back: it
			// stopped renewing on purpose once it fenced itself, so its lease counts from now
			// (later than any renewal it asked for, so expiry is never early).
			f.leaseSeenAt = now
		}
	}
	if f.st.Election != nil && (!prevElection || f.st.Epoch != prevEpoch) {
		f.electionSeenAt = now
	}
	close(f.changed)
	f.changed = make(chan struct{})
	return res
}

func switchoverKey(st *cluster.State) string {
	if st.Switchover == nil {
		return ""
	}
	return st.Switchover.ID + "/" + st.Switchover.Phase
}

// primaryChanged is when this member applied the last change of primary or epoch.
func (f *fsm) primaryChanged() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.primarySeenAt
}

// switchoverSeen is when this member applied the switchover in progress in its current phase.
func (f *fsm) switchoverSeen() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.switchoverSeenAt
}

// view returns a copy of the state, the local observations and a channel closed at the next change.
func (f *fsm) view() (*cluster.State, time.Time, time.Time, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.Clone(), f.leaseSeenAt, f.electionSeenAt, f.changed
}

// Snapshot implements raft.FSM.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := json.Marshal(f.st)
	if err != nil {
		return nil, err
	}
	return snapshot(b), nil
}

// Restore implements raft.FSM. The local observations restart from now: a lease restored from
// a snapshot is treated as renewed just now, which only delays its expiry.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var st cluster.State
	if err := json.NewDecoder(rc).Decode(&st); err != nil {
		return fmt.Errorf("restore cluster state: %w", err)
	}
	if st.Members == nil {
		st.Members = map[string]*cluster.Member{}
	}
	if st.AutoInc == nil {
		st.AutoInc = map[string]uint64{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st = &st
	f.leaseSeenAt, f.electionSeenAt, f.switchoverSeenAt = f.now(), f.now(), f.now()
	close(f.changed)
	f.changed = make(chan struct{})
	return nil
}

type snapshot []byte

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s snapshot) Release() {}
