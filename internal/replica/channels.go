package replica

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/dolthub/vitess/go/mysql"
)

// Channels is a server's set of replication channels (multi-source replication): the default
// channel "" and any named one, each a Replica with its own receiver, relay log, applier,
// settings and status. Channels are created by CHANGE REPLICATION SOURCE … FOR CHANNEL and
// removed by RESET REPLICA ALL FOR CHANNEL; those with settings are reopened at startup.
type Channels struct {
	opts Options // the default channel's; a named channel differs in Channel only

	mu    sync.Mutex
	chans map[string]*Replica
}

// channelName is what MySQL accepts as a channel name (and what can be part of a file name).
var channelName = regexp.MustCompile(`^[A-Za-z0-9_$-]{1,64}$`)

// ErrNoChannel is MySQL's ER_REPLICA_CHANNEL_DOES_NOT_EXIST (3074).
func ErrNoChannel(name string) error {
	return mysql.NewSQLError(3074, "HY000", "Replica channel '%s' does not exist.", name)
}

// OpenChannels opens the default channel and every named channel whose settings are saved.
func OpenChannels(opts Options) (*Channels, error) {
	c := &Channels{opts: opts, chans: map[string]*Replica{}}
	names := []string{""}
	entries, err := os.ReadDir(opts.Dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, "replica-") && strings.HasSuffix(n, ".json") {
			if name := strings.TrimSuffix(strings.TrimPrefix(n, "replica-"), ".json"); channelName.MatchString(name) {
				names = append(names, name)
			}
		}
	}
	for _, name := range names {
		if _, err := c.open(name); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *Channels) open(name string) (*Replica, error) {
	o := c.opts
	o.Channel = name
	r, err := Open(o)
	if err != nil {
		return nil, fmt.Errorf("replication channel '%s': %w", name, err)
	}
	c.chans[strings.ToLower(name)] = r
	return r, nil
}

// Get returns the channel called name (case-insensitive, as MySQL); create makes a new named
// channel (CHANGE REPLICATION SOURCE … FOR CHANNEL) instead of failing with 3074.
func (c *Channels) Get(name string, create bool) (*Replica, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.chans[strings.ToLower(name)]; ok {
		return r, nil
	}
	if !create {
		return nil, ErrNoChannel(name)
	}
	if !channelName.MatchString(name) {
		return nil, mysql.NewSQLError(3073, "HY000", "Invalid channel name '%s': use up to 64 letters, digits, '_', '$' or '-'.", name)
	}
	return c.open(name)
}

// Default returns the default channel.
func (c *Channels) Default() *Replica {
	r, _ := c.Get("", false)
	return r
}

// All returns the channels, the default one first, then by name.
func (c *Channels) All() []*Replica {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Replica, 0, len(c.chans))
	for _, r := range c.chans {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].opts.Channel < out[j].opts.Channel })
	return out
}

// Remove drops a named channel after RESET REPLICA ALL FOR CHANNEL (its settings are gone).
func (c *Channels) Remove(name string) {
	if name == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.chans[strings.ToLower(name)]; ok {
		r.Close()
		delete(c.chans, strings.ToLower(name))
	}
}

// SemiSyncActive reports whether any channel's receiver is in a semi-sync session.
func (c *Channels) SemiSyncActive() bool {
	for _, r := range c.All() {
		if r.SemiSyncActive() {
			return true
		}
	}
	return false
}

// SemiSyncStats adds up every channel's semi-sync figures.
func (c *Channels) SemiSyncStats() SemiSyncStats {
	var st SemiSyncStats
	for _, r := range c.All() {
		s := r.SemiSyncStats()
		st.Acks += s.Acks
		st.AckFsyncs += s.AckFsyncs
		st.AckWaitNs += s.AckWaitNs
		st.AppliedAck += s.AppliedAck
	}
	return st
}

// Threads lists every channel's running threads (SHOW PROCESSLIST).
func (c *Channels) Threads() []Thread {
	var out []Thread
	for _, r := range c.All() {
		out = append(out, r.Threads()...)
	}
	return out
}

// Close stops every channel.
func (c *Channels) Close() {
	for _, r := range c.All() {
		r.Close()
	}
}
