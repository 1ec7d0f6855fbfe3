package cluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// RelayOptions describe a RelayDB cluster to start: data nodes n1…nN (and arbiters arb1, …),
// every link between members through a proxy of the Net, so that any link can be cut.
type RelayOptions struct {
	Bin          string        // the relaydb binary (BuildRelayDB)
	Nodes        int           // data nodes (default 3)
	Arbiters     int           // data-less voters arb1, arb2, …
	Mode         string        // --cluster-mode ("" = the default, lossless)
	Lease        time.Duration // --cluster-lease (0 = the default)
	Cooldown     time.Duration // --cluster-cooldown (negative = the default; 0 = none)
	ReplPassword string        // default "repl-pw"
	ExtraArgs    []string      // given to every data node
	Dir          string        // parent of the datadirs (default: a temporary directory)
	ReadyTimeout time.Duration
}

// RelayNode is one member.
type RelayNode struct {
	Name        string
	Proc        *Process
	SQLAddr     string // "" for the arbiter
	ClusterAddr string
	DataDir     string
	args        []string
}

// RelayCluster is a running cluster. Every process and proxy is stopped at the TB's cleanup.
type RelayCluster struct {
	tb      TB
	Net     *Net
	Nodes   []*RelayNode // data nodes, then the arbiter
	opts    RelayOptions
	pool    map[string]*sql.DB
	closers []func()
}

// StartRelayCluster starts the members and waits until each serves (not until a primary exists:
// see WaitPrimary).
func StartRelayCluster(tb TB, o RelayOptions) (*RelayCluster, error) {
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.ReplPassword == "" {
		o.ReplPassword = "repl-pw"
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	if o.Dir == "" {
		d, err := tempDir(tb)
		if err != nil {
			return nil, err
		}
		o.Dir = d
	}
	members := o.Nodes + o.Arbiters
	// Below the ephemeral range, so that no proxy (bound to port 0) can take one of them between
	// now and the moment the member binds it.
	ports, err := FreePorts(2 * members)
	if err != nil {
		return nil, err
	}
	c := &RelayCluster{tb: tb, Net: NewNet(tb), opts: o, pool: map[string]*sql.DB{}}
	tb.Cleanup(c.closeDBs)
	var peers []string
	for i := 0; i < members; i++ {
		n := &RelayNode{Name: fmt.Sprintf("n%d", i+1), ClusterAddr: fmt.Sprintf("127.0.0.1:%d", ports[2*i+1])}
		if i >= o.Nodes {
			n.Name = fmt.Sprintf("arb%d", i-o.Nodes+1)
		} else {
			n.SQLAddr = fmt.Sprintf("127.0.0.1:%d", ports[2*i])
		}
		n.DataDir = filepath.Join(o.Dir, n.Name)
		c.Nodes = append(c.Nodes, n)
		peers = append(peers, n.Name+"="+n.ClusterAddr)
	}
	// Links: every member reaches every other's cluster port, and every data node's SQL port.
	for _, from := range c.Nodes {
		for _, to := range c.Nodes {
			if from == to {
				continue
			}
			c.Net.Link(from.Name, to.Name, to.ClusterAddr)
			if to.SQLAddr != "" {
				c.Net.Link(from.Name, to.Name, to.SQLAddr)
			}
		}
	}
	for i, n := range c.Nodes {
		common := []string{"--datadir", n.DataDir, "--cluster-id", n.Name, "--cluster-addr", n.ClusterAddr,
			"--cluster-peers", strings.Join(peers, ","), "--cluster-bootstrap", "--log-level", "info",
			"--dial-override", c.Net.DialOverride(n.Name)}
		if o.Mode != "" {
			common = append(common, "--cluster-mode", o.Mode)
		}
		if o.Lease > 0 {
			common = append(common, "--cluster-lease", o.Lease.String())
		}
		if o.Cooldown >= 0 {
			common = append(common, "--cluster-cooldown", o.Cooldown.String())
		}
		ready := ReadyServer
		if n.SQLAddr == "" {
			n.args = append([]string{"arbiter"}, common...)
			ready = ReadyArbiter
		} else {
			_, port, _ := strings.Cut(n.SQLAddr, ":")
			n.args = append(append([]string{"server", "--host", "127.0.0.1", "--port", port,
				"--server-id", fmt.Sprint(i + 1), "--cluster-repl-password", o.ReplPassword}, common...), o.ExtraArgs...)
		}
		p, err := StartProcess(tb, ProcessConfig{Name: n.Name, Path: o.Bin, Args: n.args, LogPath: filepath.Join(o.Dir, n.Name+".log"),
			ReadyLine: ready, ReadyTimeout: o.ReadyTimeout})
		if err != nil {
			return nil, err
		}
		n.Proc = p
	}
	return c, nil
}

// Data returns the data nodes.
func (c *RelayCluster) Data() []*RelayNode {
	var out []*RelayNode
	for _, n := range c.Nodes {
		if n.SQLAddr != "" {
			out = append(out, n)
		}
	}
	return out
}

// Node returns the member named name.
func (c *RelayCluster) Node(name string) *RelayNode {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// DB returns a pool of connections to a data node as root (short timeouts, so a dead node fails
// fast).
func (c *RelayCluster) DB(n *RelayNode) *sql.DB {
	if db, ok := c.pool[n.Name]; ok {
		return db
	}
	db := OpenDB(n.SQLAddr)
	c.pool[n.Name] = db
	return db
}

// OpenDB opens a root connection pool to addr with short timeouts.
func OpenDB(addr string) *sql.DB {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "tcp", addr
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = time.Second, 5*time.Second, 5*time.Second
	cfg.InterpolateParams = true
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		panic(err) // the configuration above is valid
	}
	db := sql.OpenDB(conn)
	db.SetMaxIdleConns(16)
	db.SetConnMaxLifetime(time.Minute)
	return db
}

func (c *RelayCluster) closeDBs() {
	for _, db := range c.pool {
		db.Close()
	}
}

// MemberStatus is one row of SHOW CLUSTER STATUS.
type MemberStatus struct {
	Member, Role, State string
	Epoch               uint64
	Lease               bool
	IORunning           bool
	SQLRunning          bool
	Executed            string
	LastError           string
}

// Status reads SHOW CLUSTER STATUS from a data node.
func (c *RelayCluster) Status(ctx context.Context, n *RelayNode) ([]MemberStatus, error) {
	rows, err := c.DB(n).QueryContext(ctx, "SHOW CLUSTER STATUS")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []MemberStatus
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		get := func(name string) string {
			for i, c := range cols {
				if c == name {
					return vals[i].String
				}
			}
			return ""
		}
		var epoch uint64
		fmt.Sscan(get("Epoch"), &epoch)
		out = append(out, MemberStatus{Member: get("Member"), Role: get("Role"), State: get("State"), Epoch: epoch,
			Lease: get("Lease_Valid") == "Yes", IORunning: get("Replica_IO_Running") == "Yes",
			SQLRunning: get("Replica_SQL_Running") == "Yes", Executed: get("Executed_Gtid_Set"), LastError: get("Last_Error")})
	}
	return out, rows.Err()
}

// Writable returns the data node that accepts writes now (super_read_only off) with the highest
// epoch, or nil.
func (c *RelayCluster) Writable(ctx context.Context) (*RelayNode, uint64) {
	var best *RelayNode
	var bestEpoch uint64
	for _, n := range c.Data() {
		if !n.Proc.Running() {
			continue
		}
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		var ro int
		var epoch uint64
		err := c.DB(n).QueryRowContext(qctx, "SELECT @@global.super_read_only, @@global.relaydb_cluster_epoch").Scan(&ro, &epoch)
		cancel()
		if err == nil && ro == 0 && (best == nil || epoch > bestEpoch) {
			best, bestEpoch = n, epoch
		}
	}
	return best, bestEpoch
}

// WaitPrimary waits until a data node accepts writes.
func (c *RelayCluster) WaitPrimary(ctx context.Context) (*RelayNode, uint64, error) {
	for {
		if n, e := c.Writable(ctx); n != nil {
			return n, e, nil
		}
		select {
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("no writable primary: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitHealthy waits until one member is primary with a valid lease and every other data node
// is a replica with both threads running and the primary's gtid_executed.
func (c *RelayCluster) WaitHealthy(ctx context.Context) error {
	var last string
	for {
		p, _ := c.Writable(ctx)
		if p != nil {
			st, err := c.Status(ctx, p)
			if err == nil {
				ok := len(st) == len(c.Nodes) // every member has registered
				var primaryExec string
				for _, m := range st {
					if m.Role == "primary" {
						primaryExec = m.Executed
					}
				}
				for _, m := range st {
					switch {
					case m.Role == "arbiter":
					case m.Role == "primary":
						ok = ok && m.State == "primary" && m.Lease
					default:
						ok = ok && m.State == "replica" && m.IORunning && m.SQLRunning && m.Executed == primaryExec
					}
				}
				if ok {
					return nil
				}
				last = fmt.Sprintf("%+v", st)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not healthy: %w; last status %s", ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// States returns each data node's own state as the cluster status shows it (read from any
// node that answers).
func (c *RelayCluster) States(ctx context.Context) map[string]string {
	for _, n := range c.Data() {
		if !n.Proc.Running() {
			continue
		}
		st, err := c.Status(ctx, n)
		if err != nil {
			continue
		}
		out := map[string]string{}
		for _, m := range st {
			out[m.Member] = m.State
		}
		return out
	}
	return nil
}

// Rebuild replaces a node's data (it holds transactions the primary lacks, and rewind is not
// built yet): the process is killed, everything but its Raft state (cluster/) is removed, and it
// starts again empty, to replicate everything from the primary.
func (c *RelayCluster) Rebuild(n *RelayNode) error {
	if err := n.Proc.Kill(); err != nil {
		return err
	}
	if err := WipeDataKeepCluster(n.DataDir); err != nil {
		return err
	}
	return n.Proc.Restart()
}

// WipeDataKeepCluster removes everything in a stopped member's datadir except its Raft state
// (cluster/), so that it starts again as an empty member of the same cluster.
func WipeDataKeepCluster(dataDir string) error {
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == "cluster" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dataDir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// Diverged lists the data nodes that refuse to rejoin (state "diverged").
func (c *RelayCluster) Diverged(ctx context.Context) []*RelayNode {
	var out []*RelayNode
	states := c.States(ctx)
	names := make([]string, 0, len(states))
	for name := range states {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if states[name] == "diverged" {
			out = append(out, c.Node(name))
		}
	}
	return out
}

// ErrNoPrimary is returned by helpers that need a primary when none accepts writes.
var ErrNoPrimary = errors.New("no writable primary")
