package clusternode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/relaydb/relaydb/internal/cluster"
	"github.com/relaydb/relaydb/internal/gtid"
)

// handover is the old primary's part in a switchover: its commits are held from the moment it
// applies the switchover until the switchover ends.
type handover struct {
	id      string
	epoch   uint64
	started time.Time
	release func(newPrimary string)
	// fenced: this node gave up its lease locally (no renewal may reopen it); reported: the
	// cluster applied OpSwitchoverFenced. Both only ever go from false to true.
	fenced, reported bool
}

// switchoverTimeout is a switchover's bound per phase.
func switchoverTimeout(st *cluster.State, sw *cluster.Switchover) time.Duration {
	if sw.Timeout > 0 {
		return sw.Timeout
	}
	if st.Settings.SwitchoverTimeout > 0 {
		return st.Settings.SwitchoverTimeout
	}
	return cluster.DefaultSwitchoverTimeout
}

// switchoverStep does this node's part of the switchover in progress, and ends its hold when
// the switchover is over. It reports whether reconcile should do nothing else now.
func (a *agent) switchoverStep(st *cluster.State) bool {
	me := a.n.cfg.ID
	sw := st.Switchover
	a.mu.Lock()
	ho := a.ho
	a.mu.Unlock()
	if ho != nil && (sw == nil || sw.ID != ho.id) {
		a.endHandover(st, ho)
	}
	a.leaveOldPrimary(st)
	if sw == nil {
		return false
	}
	switch {
	case sw.From == me && sw.Phase == cluster.PhaseFence && st.Primary == me && st.Epoch == sw.Epoch:
		a.fenceForSwitchover(st, sw)
		return true
	case sw.To == me && sw.Phase == cluster.PhaseCatchUp && st.Epoch == sw.Epoch:
		a.takeOver(st, sw)
		return true
	}
	return false
}

// leaveOldPrimary: once a switchover has named a new primary, a replica stops receiving from the
// old one at once, as an election makes it do. The old primary's existing dump stream would go
// on otherwise, and once the old primary follows the new one it would relay the new primary's
// transactions after its own last ones, which the new primary may lack (availability-first):
// this replica could then neither rewind them nor rejoin.
func (a *agent) leaveOldPrimary(st *cluster.State) {
	l := st.LastSwitchover
	if l == nil || !l.OK || l.Epoch != st.Epoch || st.Primary == a.n.cfg.ID || st.Election != nil {
		return
	}
	a.mu.Lock()
	following, cut := a.following, a.cutFor
	a.mu.Unlock()
	if cut == st.Epoch || following != fmt.Sprintf("%s@%d", l.From, st.Epoch-1) {
		return
	}
	if err := a.loc.StopReceiving(); err != nil {
		a.n.log.Warn("switchover: stop receiving from the old primary", "err", err)
		return
	}
	if l.Mode == cluster.Availability {
		// What this replica received from the old primary may include transactions the new
		// primary lacks, which it rewinds from its binlog when it joins. Its relay log must not
		// hold them then (an applier restarted from an earlier position would apply them
		// again): apply it, then forget it; auto-position starts again from gtid_executed.
		ctx, cancel := context.WithTimeout(a.n.ctx, 30*time.Second)
		err := a.loc.WaitRelayApplied(ctx)
		cancel()
		if err == nil {
			err = a.loc.DiscardRelayLog()
		}
		if err != nil {
			a.n.log.Warn("switchover: could not apply and discard the relay log received from the old primary", "err", err)
			return // tried again at the next reconcile
		}
	}
	a.set(func() { a.cutFor, a.following = st.Epoch, "" })
	a.n.log.Info("switchover: stopped receiving from the old primary", "old_primary", l.From, "new_primary", st.Primary, "epoch", st.Epoch)
}

// fenceForSwitchover: hold new commits (they wait, unlogged), let the logged ones finish, give up
// the lease locally, then tell the cluster everything this node logged (OpSwitchoverFenced).
// Reliability-first drains before it fences, so that no commit logged before the hold is left
// unacknowledged; availability-first fences at once.
func (a *agent) fenceForSwitchover(st *cluster.State, sw *cluster.Switchover) {
	log := a.n.log
	a.mu.Lock()
	ho, serving := a.ho, a.promotedFor == st.Epoch
	a.mu.Unlock()
	if !serving {
		return // still promoting: the controller aborts the switchover if this lasts
	}
	timeout := switchoverTimeout(st, sw)
	if ho == nil {
		// The bound covers both phases; a hold that outlives it fails its commits (unlogged).
		ho = &handover{id: sw.ID, epoch: sw.Epoch, started: time.Now(), release: a.loc.HoldCommits(2*timeout + time.Second)}
		a.set(func() { a.ho = ho })
		log.Info("switchover: holding new commits while this primary hands over", "id", sw.ID, "to", sw.To, "mode", sw.Mode)
	}
	if !ho.fenced {
		if sw.Mode == cluster.Reliability {
			ctx, cancel := a.whileSwitchover(sw.ID, timeout)
			err := a.loc.DrainCommits(ctx)
			cancel()
			if err != nil {
				a.abortSwitchover(sw, fmt.Sprintf("the old primary %s could not finish its logged commits: %v", sw.From, err))
				return
			}
			a.fenceLocal(ho)
		} else {
			a.fenceLocal(ho)
			// Fenced, the logged commits finish at once (not acknowledged); wait for them so
			// that gtid_executed below is everything this node logged.
			ctx, cancel := context.WithTimeout(a.n.ctx, time.Second)
			if err := a.loc.DrainCommits(ctx); err != nil {
				log.Warn("switchover: logged commits still unfinished; the reported set may miss them", "err", err)
			}
			cancel()
		}
	}
	if ho.reported {
		return
	}
	exec := a.loc.Executed().String()
	ctx, cancel := context.WithTimeout(a.n.ctx, proposeTimeout)
	res, err := a.n.Propose(ctx, cluster.Command{Op: cluster.OpSwitchoverFenced, Node: a.n.cfg.ID, Epoch: sw.Epoch, ID: sw.ID, GTIDs: exec})
	cancel()
	switch {
	case err != nil:
		log.Warn("switchover: could not report the fence (tried again)", "err", err)
	case !res.OK:
		log.Warn("switchover: fence report refused", "err", res.Error)
	default:
		ho.reported = true // reconcile goroutine only
		log.Info("switchover: fenced; the lease is given up", "id", sw.ID, "gtid_executed", exec,
			"held_for", time.Since(ho.started).Round(time.Microsecond))
	}
}

// fenceLocal gives up the lease on this node: it acknowledges nothing from now on, and no
// renewal asked for earlier can reopen the lease.
func (a *agent) fenceLocal(ho *handover) {
	a.leaseMu.Lock()
	defer a.leaseMu.Unlock()
	a.leaseGen++
	a.set(func() { ho.fenced = true })
	a.loc.SetPrimary(time.Time{}, 0)
}

// leaseGeneration is read before a renewal is asked for (see grantLease).
func (a *agent) leaseGeneration() uint64 {
	a.leaseMu.Lock()
	defer a.leaseMu.Unlock()
	return a.leaseGen
}

// grantLease makes the node writable until until, unless a switchover fenced it since the
// renewal was asked for (generation gen) or holds it fenced now.
func (a *agent) grantLease(until time.Time, acks int, gen uint64) bool {
	a.leaseMu.Lock()
	defer a.leaseMu.Unlock()
	a.mu.Lock()
	fenced := a.ho != nil && a.ho.fenced
	a.mu.Unlock()
	if fenced || gen != a.leaseGen {
		return false
	}
	a.loc.SetPrimary(until, acks)
	return true
}

// endHandover ends the old primary's hold once the switchover is over: aborted (this node is
// still the primary of its epoch), the node takes its lease again and lets the held commits go
// on; otherwise they fail with an error naming the new primary (they were never logged).
func (a *agent) endHandover(st *cluster.State, ho *handover) {
	me := a.n.cfg.ID
	if st.Primary == me && st.Epoch == ho.epoch && st.Election == nil {
		if ho.fenced {
			a.set(func() { a.ho = nil })
			gen := a.leaseGeneration()
			sent := time.Now()
			ctx, cancel := context.WithTimeout(a.n.ctx, st.Settings.Lease/2)
			res, err := a.n.Propose(ctx, cluster.Command{Op: cluster.OpRenew, Node: me, Epoch: st.Epoch})
			cancel()
			if err == nil && res.OK && res.Epoch == st.Epoch {
				a.grantLease(sent.Add(st.Settings.Lease), st.AcksRequired(), gen)
			}
		} else {
			a.set(func() { a.ho = nil })
		}
		ho.release("")
		a.n.log.Warn("switchover aborted: this node serves as the primary again", "id", ho.id)
		return
	}
	to := "another member (an election is open)"
	if st.Primary != "" {
		to = st.Primary
		if m := st.Members[st.Primary]; m != nil && m.SQLAddr != "" {
			to += " at " + m.SQLAddr
		}
		to += fmt.Sprintf(", epoch %d", st.Epoch)
	}
	ho.release(to)
	a.set(func() { a.ho = nil })
	a.n.log.Info("switchover: the held commits fail with a retryable error; this node follows the new primary", "id", ho.id,
		"new_primary", st.Primary, "epoch", st.Epoch, "held_for", time.Since(ho.started).Round(time.Microsecond))
}

// takeOver is the target's part: once it has received everything the old primary logged
// (reliability-first), or at once with what it has (availability-first, stopping its receiver
// and naming what it lacks), it proposes OpHandover. The promotion that follows is the
// failover's: apply the relay log, then ask for the first lease.
func (a *agent) takeOver(st *cluster.State, sw *cluster.Switchover) {
	log := a.n.log
	a.mu.Lock()
	done := a.tookOver == sw.ID
	a.mu.Unlock()
	if done {
		return
	}
	want, err := gtid.Parse(sw.Executed)
	if err != nil {
		a.abortSwitchover(sw, fmt.Sprintf("the old primary's GTID set is unreadable: %v", err))
		return
	}
	var lacked gtid.Set
	start := time.Now()
	if sw.Mode == cluster.Reliability {
		ctx, cancel := a.whileSwitchover(sw.ID, switchoverTimeout(st, sw))
		err := a.loc.WaitReceived(ctx, want)
		cancel()
		if err != nil {
			a.abortSwitchover(sw, fmt.Sprintf("the target %s did not receive everything the old primary logged: %v", sw.To, err))
			return
		}
	} else {
		if err := a.loc.StopReceiving(); err != nil {
			log.Warn("switchover: stop receiving", "err", err)
			return
		}
		has, err := gtid.Parse(a.loc.Health(time.Hour).Received)
		if err != nil {
			return
		}
		lacked = gtid.Subtract(want, has)
	}
	ctx, cancel := context.WithTimeout(a.n.ctx, proposeTimeout)
	res, err := a.n.Propose(ctx, cluster.Command{Op: cluster.OpHandover, Node: a.n.cfg.ID, Epoch: sw.Epoch, ID: sw.ID, GTIDs: lacked.String()})
	cancel()
	switch {
	case err != nil:
		log.Warn("switchover: handover not proposed (tried again)", "err", err)
	case !res.OK:
		log.Warn("switchover: handover refused", "err", res.Error)
		a.set(func() { a.tookOver = sw.ID })
	default:
		a.set(func() { a.tookOver = sw.ID })
		log.Info("switchover: this node takes over", "id", sw.ID, "mode", sw.Mode, "epoch", res.Epoch,
			"caught_up_in", time.Since(start).Round(time.Microsecond), "lacked", lacked.String())
	}
}

// whileSwitchover is a context that ends after d or as soon as switchover id is no longer in
// progress (aborted by the controller meanwhile): a wait for it must not hold up reconcile.
func (a *agent) whileSwitchover(id string, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(a.n.ctx, d)
	go func() {
		for {
			st, _, _, changed := a.n.fsm.view()
			if st.Switchover == nil || st.Switchover.ID != id {
				cancel()
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
		}
	}()
	return ctx, cancel
}

func (a *agent) abortSwitchover(sw *cluster.Switchover, why string) {
	a.n.log.Warn("switchover: aborting", "id", sw.ID, "reason", why)
	ctx, cancel := context.WithTimeout(a.n.ctx, proposeTimeout)
	defer cancel()
	a.n.Propose(ctx, cluster.Command{Op: cluster.OpSwitchoverAbort, Node: a.n.cfg.ID, Epoch: sw.Epoch, ID: sw.ID, Reason: why})
}

// --- the request: control API and Node.Switchover ------------------------------------------------

// switchoverAnswer is the control API's answer to a switchover request.
type switchoverAnswer struct {
	Result  *cluster.SwitchoverResult `json:"result,omitempty"`
	Error   string                    `json:"error,omitempty"`
	Refused bool                      `json:"refused,omitempty"`
}

func newSwitchoverID() string {
	var b [4]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// Switchover runs a planned switchover and waits for its end. A refusal (the target lags, no
// candidate, …) is journaled and returned wrapping cluster.ErrSwitchoverRefused; an abort is
// returned as an error with the result.
func (n *Node) Switchover(ctx context.Context, req cluster.SwitchoverRequest) (cluster.SwitchoverResult, error) {
	if req.ID == "" {
		req.ID = newSwitchoverID()
	}
	_, _, _, changed := n.fsm.view()
	if err := n.startSwitchover(ctx, req); err != nil {
		return cluster.SwitchoverResult{}, err
	}
	for {
		st := n.State()
		if l := st.LastSwitchover; l != nil && l.ID == req.ID {
			if !l.OK {
				return *l, fmt.Errorf("switchover %s from %s to %s aborted: %s", l.ID, l.From, l.To, l.Error)
			}
			return *l, nil
		}
		select {
		case <-ctx.Done():
			return cluster.SwitchoverResult{}, fmt.Errorf("switchover %s: no outcome yet: %w", req.ID, ctx.Err())
		case <-changed:
		case <-time.After(100 * time.Millisecond):
		}
		_, _, _, changed = n.fsm.view()
	}
}

// startSwitchover plans the request on the controller (the Raft leader, which holds the health
// reports) and proposes it, or journals why it is refused.
func (n *Node) startSwitchover(ctx context.Context, req cluster.SwitchoverRequest) error {
	if !n.isLeader() {
		_, addr := n.Leader()
		if addr == "" {
			return errors.New("no cluster leader")
		}
		var ans switchoverAnswer
		if err := n.post(ctx, addr, "/v1/switchover?start=1", req, &ans); err != nil {
			return err
		}
		if ans.Refused {
			return fmt.Errorf("%w: %s", cluster.ErrSwitchoverRefused, ans.Error)
		}
		if ans.Error != "" {
			return errors.New(ans.Error)
		}
		return nil
	}
	st, leaseSeen, electionSeen, _ := n.fsm.view()
	obs := cluster.Observed{Now: time.Now(), Wall: time.Now(), LeaseSeenAt: leaseSeen, ElectionSeenAt: electionSeen,
		SwitchoverSeenAt: n.fsm.switchoverSeen(), Reports: n.snapshotReports(), Voters: n.voters()}
	cmd, err := cluster.PlanSwitchover(st, obs, req, 0)
	if err != nil {
		n.log.Warn("switchover refused", "id", req.ID, "reason", err)
		n.apply(cluster.Command{Op: cluster.OpJournal, Time: time.Now(), Kind: "switchover_refused", Node: req.To, Reason: err.Error()})
		return err
	}
	n.log.Info("switchover requested", "id", req.ID, "to", cmd.Node, "mode", cmd.Switchover.Mode, "reason", cmd.Reason)
	res, err := n.apply(cmd)
	if err != nil {
		return err
	}
	if !res.OK {
		return fmt.Errorf("%w: %s", cluster.ErrSwitchoverRefused, res.Error)
	}
	return nil
}

// handleSwitchover: POST a cluster.SwitchoverRequest. With ?start=1 (the leader, forwarded to
// by a member) it only starts it; otherwise it runs it to its end.
func (n *Node) handleSwitchover(w http.ResponseWriter, r *http.Request) {
	var req cluster.SwitchoverRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil {
		http.Error(w, "bad switchover request", http.StatusBadRequest)
		return
	}
	var ans switchoverAnswer
	var err error
	if r.URL.Query().Get("start") != "" {
		if !n.isLeader() {
			http.Error(w, "not the leader", http.StatusMisdirectedRequest)
			return
		}
		err = n.startSwitchover(r.Context(), req)
	} else {
		wait := req.Timeout
		if wait <= 0 {
			wait = n.State().Settings.SwitchoverTimeout
		}
		if wait <= 0 {
			wait = cluster.DefaultSwitchoverTimeout
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*wait+5*time.Second)
		var res cluster.SwitchoverResult
		res, err = n.Switchover(ctx, req)
		cancel()
		if res.ID != "" {
			ans.Result = &res
		}
	}
	if err != nil {
		ans.Error, ans.Refused = err.Error(), errors.Is(err, cluster.ErrSwitchoverRefused)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(ans)
}
