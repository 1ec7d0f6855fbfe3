package main

// relaydb up: a local cluster in one command. Each node is a child `relaydb server` process of
// this one (plus, with --arbiter, a child `relaydb arbiter`).
//
// The default topology is a highly available cluster: every node is a member of the control
// plane (Raft on its cluster port), which elects the primary, fails over and re-points the
// replicas by itself; `up` only starts the processes, waits until the cluster has a writable
// primary, and supervises them (upwatch.go): a node that dies is restarted and rejoins.
// The chain and dual topologies are plain MySQL replication, wired up by `up` on the first run
// (later runs only start the processes: replication settings and users persist in the datadirs).

import (
	"bytes"
	"context"
	"crypto/rand"
	gosql "database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/relaydb/relaydb/internal/clone"
	"github.com/relaydb/relaydb/internal/config"
	"github.com/relaydb/relaydb/internal/server"
)

const (
	upHost = "127.0.0.1"
	// upReadyTimeout bounds the wait for all nodes' ready lines.
	upReadyTimeout = 60 * time.Second
	// upReplicaTimeout bounds the wait for every replica to report both threads running.
	upReplicaTimeout = 30 * time.Second
	// upClusterTimeout bounds the wait for a new cluster to elect a primary and for its replicas
	// to follow it.
	upClusterTimeout = 60 * time.Second
	// upStopTimeout is how long stopped nodes get to exit before they are killed.
	upStopTimeout = 30 * time.Second
	// upConnectRetry is SOURCE_CONNECT_RETRY for the replicas: MySQL's default of 60 s would
	// leave a replica idle for a minute after its primary was restarted by hand.
	upConnectRetry  = 1
	clusterFileName = "cluster.json"
	replUser        = "repl"
	// clusterReplUser is the account cluster members replicate with (created on every member).
	clusterReplUser = "relaydb_repl"
	arbiterID       = "arbiter"
	upTailLines     = 15
)

// upOptions are the flags of `relaydb up`.
type upOptions struct {
	nodes    int
	topology string // see topologies
	dataDir  string
	port     int
	logLevel string
	arbiter  bool // add a data-less voter (replicas topology only)
	// grownFrom is the node count of an existing HA cluster that --nodes grows (0: no growth):
	// nodes grownFrom+1 … nodes are seeded by a clone of the primary and join as voters.
	grownFrom int

	// minFreeDisk is the disk trigger's threshold given to the members ("": the default, off);
	// it takes effect when the cluster is bootstrapped (later: relaydb status --set).
	minFreeDisk string
	// given holds the flags set on the command line: only those must agree with an existing
	// cluster; the others are taken from its cluster.json.
	given map[string]bool
}

// clusterFile is DIR/cluster.json: what a later `up` needs to start the same cluster again.
type clusterFile struct {
	Nodes        int    `json:"nodes"`
	Topology     string `json:"topology,omitempty"` // "" means replicas (the first clusters had none)
	Port         int    `json:"port"`
	ReplUser     string `json:"repl_user"`
	ReplPassword string `json:"repl_password"`
	// SetupDone is set once replication is configured everywhere; until then each `up` redoes
	// the (idempotent) setup, so an interrupted first run is finished by the next one.
	SetupDone bool `json:"setup_done"`
	// Arbiter adds a data-less voter (cluster port clusterAddrOf(Port, Nodes+1)).
	Arbiter bool `json:"arbiter,omitempty"`
	// Cluster marks a highly available cluster (the replicas topology since the control plane
	// exists): its nodes are control-plane members, and SetupDone does not apply. A replicas
	// cluster without it was built by an older `up` with hand-made replication.
	Cluster bool `json:"cluster,omitempty"`
}

// clusterAddrOf is node k's cluster port in a cluster whose node1 serves SQL on port: SQL ports
// are port..port+N-1, cluster ports port+10000.. (the arbiter's follows the last node's).
func clusterAddrOf(port, k int) string {
	return net.JoinHostPort(upHost, strconv.Itoa(port+10000+k-1))
}

// topologies are what `up --topology` can build. In every one nodeK has server_id K.
//   - replicas: a highly available cluster: the control plane elects one node primary, the
//     others are read-only replicas of it, and another node is promoted when it is lost.
//   - chain: node1 → node2 → … → nodeN, each a read-only replica of the one before (cascading,
//     through log_replica_updates).
//   - dual: node1 ⇄ node2, each a replica of the other and both writable, with
//     auto_increment_increment 2 and offsets 1 and 2 so their inserts never collide.
var topologies = []string{"replicas", "chain", "dual"}

// sourceOf returns the node that node k replicates from (0: none).
func sourceOf(topology string, k int) int {
	switch {
	case topology == "dual":
		return 3 - k
	case k == 1:
		return 0
	case topology == "chain":
		return k - 1
	}
	return 1
}

// upNode is one run of a child process: a server node, or the arbiter. A node restarted by
// the supervisor is a new upNode in the same place of upCluster.nodes.
type upNode struct {
	num         int // 1-based; also its server id (the arbiter's is the number after the last node)
	arbiter     bool
	member      bool // a control-plane member (cluster): its role comes from the cluster
	source      int  // the node it replicates from (0: none); not used in a cluster
	dual        bool
	port        int
	clusterAddr string // its cluster port (members only)
	dir         string // its datadir
	logPath     string
	started     time.Time
	cmd         *exec.Cmd
	out         *nodeOutput
	exited      chan struct{} // closed once the process has been waited for
	waitErr     error         // the process's exit status, once exited is closed
}

func (n *upNode) name() string {
	if n.arbiter {
		return arbiterID
	}
	return "node" + strconv.Itoa(n.num)
}

func (n *upNode) addr() string {
	if n.arbiter {
		return n.clusterAddr
	}
	return net.JoinHostPort(upHost, strconv.Itoa(n.port))
}

func (n *upNode) running() bool {
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

func (n *upNode) isReady() bool {
	select {
	case <-n.out.ready:
		return true
	default:
		return false
	}
}

// role is the node's role as `up` set it up; a cluster member's comes from the cluster instead.
func (n *upNode) role() string {
	switch {
	case n.arbiter:
		return "arbiter"
	case n.member:
		return "member"
	case n.dual:
		return "primary"
	case n.source == 0:
		return "primary"
	}
	return "replica"
}

func runUp(args []string, stdout, stderr io.Writer) int {
	opts, err := parseUpFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "relaydb up: %v\n", err)
		return 2
	}
	cl, err := loadOrCreateCluster(&opts)
	if err != nil {
		fmt.Fprintf(stderr, "relaydb up: %v\n", err)
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "relaydb up: cannot find the relaydb binary to run the nodes: %v\n", err)
		return 1
	}

	// Handle signals from the start, so that Ctrl-C during startup also stops what was started.
	ctx, stopSignals := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stopSignals()
	c := newUpCluster(exe, opts, cl, stdout, stderr)
	err = c.bringUp(ctx)
	if err == nil {
		c.printSummary(stdout)
		err = c.watch(ctx)
	}
	code := 0
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "relaydb up: %v\n", err)
		code = 1
	}
	if err := c.stopAll(); err != nil {
		fmt.Fprintf(stderr, "relaydb up: %v\n", err)
		code = 1
	}
	return code
}

func parseUpFlags(args []string, out io.Writer) (upOptions, error) {
	opts := upOptions{given: map[string]bool{}}
	fs := flag.NewFlagSet("relaydb up", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.IntVar(&opts.nodes, "nodes", 3, "number of nodes: one primary and N-1 replicas (2 or more; 2 needs --arbiter; 2 for --topology dual); more than an existing HA cluster has grows it: the new nodes are seeded by a clone of the primary")
	fs.StringVar(&opts.topology, "topology", "replicas", "replicas (an HA cluster: one elected primary, N-1 replicas, automatic failover), chain (node1 → node2 → … → nodeN) or dual (node1 ⇄ node2, both writable)")
	fs.BoolVar(&opts.arbiter, "arbiter", false, "also run a data-less voter ('relaydb arbiter', in DIR/arbiter), so that 2 data nodes keep a quorum when one is lost (replicas topology)")
	fs.StringVar(&opts.dataDir, "datadir", "./relaydb-data", "directory holding node1, node2, … (each a node's datadir), their logs and cluster.json")
	fs.IntVar(&opts.port, "port", 3306, "TCP port of node1; nodeK listens on port+K-1")
	fs.StringVar(&opts.logLevel, "log-level", "info", "the nodes' minimum log level: debug, info, warn or error")
	fs.StringVar(&opts.minFreeDisk, "min-free-disk", "", "disk trigger (replicas topology): hand a primary with less free disk than `SIZE` (e.g. 1GiB) over to the best replica by a reliability-first switchover; "+
		"taken when the cluster is created (change it later with 'relaydb status --set min-free-disk=SIZE')")
	fs.Usage = func() {
		fmt.Fprint(out, "Usage: relaydb up [options]\n\n"+
			"Runs a local highly available cluster on 127.0.0.1, each node a 'relaydb server' child process:\n"+
			"the nodes elect a primary, the others replicate from it, and when the primary is lost another\n"+
			"node is promoted in about a second. up restarts a node that dies, and it rejoins as a replica.\n"+
			"Node K serves SQL on --port+K-1 and its cluster port on --port+10000+K-1 ('relaydb status').\n"+
			"--topology chain or dual runs plain replication instead (no failover). Later runs on the same\n"+
			"--datadir start the same cluster again. Ctrl-C stops all nodes.\n\nOptions:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { opts.given[f.Name] = true })
	if opts.minFreeDisk != "" {
		if _, err := config.ParseSize(opts.minFreeDisk); err != nil {
			return opts, fmt.Errorf("--min-free-disk: %v", err)
		}
	}
	if _, err := config.ParseLevel(opts.logLevel); err != nil {
		return opts, err
	}
	if opts.dataDir == "" {
		return opts, errors.New("--datadir must not be empty")
	}
	abs, err := filepath.Abs(opts.dataDir)
	if err != nil {
		return opts, fmt.Errorf("--datadir %q: %v", opts.dataDir, err)
	}
	opts.dataDir = abs
	if opts.arbiter && opts.topology != "replicas" {
		return opts, fmt.Errorf("--arbiter is for the default topology (an HA cluster), not --topology %s", opts.topology)
	}
	switch opts.topology {
	case "replicas":
	case "chain":
		if opts.nodes < 2 {
			return opts, errors.New("--topology chain needs --nodes 2 or more")
		}
	case "dual":
		if !opts.given["nodes"] {
			opts.nodes = 2
		}
		if opts.nodes != 2 {
			return opts, errors.New("--topology dual is two nodes: omit --nodes or give --nodes 2")
		}
	default:
		return opts, fmt.Errorf("--topology must be one of %s, not %q", strings.Join(topologies, ", "), opts.topology)
	}
	return opts, checkNodesAndPort(opts.nodes, opts.port, opts.topology == "replicas", opts.arbiter)
}

func checkNodesAndPort(nodes, port int, cluster, arbiter bool) error {
	if nodes < 1 || nodes > 64 {
		return fmt.Errorf("--nodes %d: must be 1 to 64", nodes)
	}
	// Port 0 ("pick a free port") is refused: replicas and the summary need fixed ports.
	if port < 1 || port+nodes-1 > 65535 {
		return fmt.Errorf("--port %d: nodes need ports %d to %d, which must lie within 1-65535", port, port, port+nodes-1)
	}
	if ports := upPorts(port, nodes, cluster, arbiter); ports[len(ports)-1] > 65535 {
		return fmt.Errorf("--port %d: the nodes' cluster ports %d to %d must lie within 1-65535; use a lower --port", port, port+10000, ports[len(ports)-1])
	}
	return nil
}

// checkClusterSize refuses a new HA cluster that could not fail over.
func checkClusterSize(nodes int, arbiter bool) error {
	switch {
	case nodes < 2:
		return fmt.Errorf("--nodes %d: an HA cluster needs 2 or more nodes (for a single node, run 'relaydb server')", nodes)
	case nodes == 2 && !arbiter:
		return errors.New("--nodes 2: two voters lose their quorum when one is lost, so there would be no failover; add --arbiter (a data-less third voter), or use --nodes 3")
	}
	return nil
}

// upPorts lists every port a cluster listens on: SQL ports, then (for an HA cluster) cluster
// ports, the arbiter's last.
func upPorts(port, nodes int, cluster, arbiter bool) []int {
	var ports []int
	for k := 1; k <= nodes; k++ {
		ports = append(ports, port+k-1)
	}
	if cluster {
		members := nodes
		if arbiter {
			members++
		}
		for k := 1; k <= members; k++ {
			ports = append(ports, port+10000+k-1)
		}
	}
	return ports
}

// loadOrCreateCluster reads DIR/cluster.json, or creates it (with a new replication password)
// for a new cluster. An existing cluster's node count and port win over the defaults; flags
// given explicitly must match them, as replicas point at the primary's port.
func loadOrCreateCluster(opts *upOptions) (*clusterFile, error) {
	path := filepath.Join(opts.dataDir, clusterFileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if opts.topology == "replicas" {
			if err := checkClusterSize(opts.nodes, opts.arbiter); err != nil {
				return nil, err
			}
		}
		// Ports are checked before cluster.json fixes them for good.
		if err := checkPortsFree(upPorts(opts.port, opts.nodes, opts.topology == "replicas", opts.arbiter)); err != nil {
			return nil, err
		}
		return createCluster(opts)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", path, err)
	}
	var cl clusterFile
	if err := json.Unmarshal(data, &cl); err != nil {
		return nil, fmt.Errorf("reading %s: %v", path, err)
	}
	if err := checkNodesAndPort(cl.Nodes, cl.Port, cl.Cluster, cl.Arbiter); err != nil || cl.ReplUser == "" || cl.ReplPassword == "" {
		return nil, fmt.Errorf("%s is incomplete or damaged (nodes %d, port %d)", path, cl.Nodes, cl.Port)
	}
	grow := 0
	if opts.given["nodes"] && opts.nodes > cl.Nodes && cl.Cluster && !cl.Arbiter && (cl.Topology == "" || cl.Topology == "replicas") {
		// Growing an HA cluster: the new nodes are seeded by a clone of the primary, then
		// join as voters (an arbiter's port follows the last node's, so not with one).
		grow = opts.nodes
	} else if opts.given["nodes"] && opts.nodes != cl.Nodes {
		return nil, fmt.Errorf("%s holds a %d-node cluster; --nodes %d cannot change it (only an HA cluster without an arbiter can grow; omit --nodes, or use another --datadir)",
			opts.dataDir, cl.Nodes, opts.nodes)
	}
	if opts.given["port"] && opts.port != cl.Port {
		return nil, fmt.Errorf("%s holds a cluster on ports %d-%d, and its replicas replicate from port %d; --port %d cannot change it (omit --port, or use another --datadir)",
			opts.dataDir, cl.Port, cl.Port+cl.Nodes-1, cl.Port, opts.port)
	}
	if cl.Topology == "" {
		cl.Topology = "replicas"
	}
	if cl.Topology == "replicas" && !cl.Cluster {
		return nil, fmt.Errorf("%s holds a cluster made by an older relaydb up, whose replicas were configured by hand and which cannot fail over; "+
			"relaydb up now runs an HA cluster and will not mix the two: use a new --datadir (or remove %s to start from nothing)",
			opts.dataDir, opts.dataDir)
	}
	if opts.given["arbiter"] && opts.arbiter != cl.Arbiter {
		have := "no arbiter"
		if cl.Arbiter {
			have = "an arbiter"
		}
		return nil, fmt.Errorf("%s holds a cluster with %s; --arbiter=%v cannot change it (omit --arbiter, or use another --datadir)",
			opts.dataDir, have, opts.arbiter)
	}
	if opts.given["topology"] && opts.topology != cl.Topology {
		return nil, fmt.Errorf("%s holds a cluster with topology %s; --topology %s cannot change it (omit --topology, or use another --datadir)",
			opts.dataDir, cl.Topology, opts.topology)
	}
	opts.nodes, opts.port, opts.topology, opts.arbiter = cl.Nodes, cl.Port, cl.Topology, cl.Arbiter
	if grow > 0 {
		opts.grownFrom, opts.nodes = cl.Nodes, grow
	}
	return &cl, checkPortsFree(upPorts(cl.Port, opts.nodes, cl.Cluster, cl.Arbiter))
}

func createCluster(opts *upOptions) (*clusterFile, error) {
	if err := checkNewClusterDir(opts.dataDir); err != nil {
		return nil, err
	}
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		return nil, fmt.Errorf("generating the replication password: %v", err)
	}
	// Hex, so the password needs no quoting in SQL.
	cl := &clusterFile{Nodes: opts.nodes, Topology: opts.topology, Port: opts.port, ReplUser: replUser, ReplPassword: hex.EncodeToString(pw)}
	if opts.topology == "replicas" {
		cl.Cluster, cl.Arbiter, cl.ReplUser = true, opts.arbiter, clusterReplUser
	}
	// Written before any node starts, so a later run always finds the password the nodes use.
	return cl, saveCluster(opts.dataDir, cl)
}

// checkNewClusterDir refuses a directory that already holds nodes or a server's data without
// a cluster.json: `up` would not know their replication password or topology.
func checkNewClusterDir(dir string) error {
	for _, name := range []string{"auto.cnf", "mysql.db", "relaydb.pid"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("%s is a single server's datadir (it has %s), not a cluster's; use another --datadir", dir, name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "node1")); err == nil {
		return fmt.Errorf("%s has node directories but no %s, so its replication setup is unknown; remove %s to start from nothing, or use another --datadir",
			dir, clusterFileName, dir)
	}
	return nil
}

// saveCluster writes cluster.json atomically, readable by its owner only (it holds a password).
func saveCluster(dir string, cl *clusterFile) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating %s: %v", dir, err)
	}
	data, err := json.MarshalIndent(cl, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, clusterFileName)
	f, err := os.CreateTemp(dir, clusterFileName+".tmp*") // created 0600
	if err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return nil
}

// upCluster is the running cluster.
type upCluster struct {
	exe            string
	opts           upOptions
	cl             *clusterFile
	stdout, stderr io.Writer
	// nodes holds the current run of each child: nodeK at K-1, the arbiter last; nil until
	// started. Only the goroutine running bringUp, watch and stopAll touches it.
	nodes []*upNode
	exits chan *upNode // receives each run once its process has exited
	sup   supervisor   // see upwatch.go
}

func newUpCluster(exe string, opts upOptions, cl *clusterFile, stdout, stderr io.Writer) *upCluster {
	total := opts.nodes
	if cl.Cluster && cl.Arbiter {
		total++
	}
	c := &upCluster{exe: exe, opts: opts, cl: cl, stdout: stdout, stderr: stderr,
		nodes: make([]*upNode, total), exits: make(chan *upNode, total)}
	c.sup.init(total)
	return c
}

// started returns the nodes started so far, in order.
func (c *upCluster) started() []*upNode {
	var out []*upNode
	for _, n := range c.nodes {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

// bringUp starts the nodes, waits until they are ready, and then, for an HA cluster, until it
// has a writable primary followed by its replicas; for the other topologies it sets up
// replication on the first run and checks that every replica replicates.
func (c *upCluster) bringUp(ctx context.Context) error {
	fmt.Fprintf(c.stderr, "relaydb up: starting %d nodes in %s (logs in %s)\n",
		c.opts.nodes, c.opts.dataDir, filepath.Join(c.opts.dataDir, "nodeK.log"))
	if c.cl.Cluster {
		return c.bringUpCluster(ctx)
	}
	// The primary first: a restarted replica resumes replication at once and needs its source.
	primary, err := c.startNode(1)
	if err != nil {
		return err
	}
	if err := waitReady(ctx, []*upNode{primary}); err != nil {
		return err
	}
	for k := 2; k <= c.opts.nodes; k++ {
		if _, err := c.startNode(k); err != nil {
			return err
		}
	}
	if err := waitReady(ctx, c.nodes[1:]); err != nil {
		return err
	}
	for _, n := range c.nodes {
		c.sup.slots[n.num-1].readySeen = true
	}
	var replicas []*upNode
	for _, n := range c.nodes {
		if n.source != 0 {
			replicas = append(replicas, n)
		}
	}
	if !c.cl.SetupDone {
		fmt.Fprintf(c.stderr, "relaydb up: first run: creating user %s and setting up replication (%s)\n", c.cl.ReplUser, c.opts.topology)
		if err := setupReplication(ctx, c.cl, c.nodes); err != nil {
			return err
		}
		c.cl.SetupDone = true
		if err := saveCluster(c.opts.dataDir, c.cl); err != nil {
			return err
		}
	}
	return waitReplicating(ctx, replicas)
}

// checkPortsFree gives a clear message for a busy port before any node is started (a node
// would also fail on it, but less readably).
func checkPortsFree(ports []int) error {
	for _, port := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(upHost, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("port %d is not free (%v); stop what uses it, or pick other ports with --port (only for a new --datadir)", port, err)
		}
		ln.Close()
	}
	return nil
}

// bringUpCluster starts every member at once (the first election needs a quorum of them),
// waits for their ready lines, then for a writable primary that the replicas follow.
func (c *upCluster) bringUpCluster(ctx context.Context) error {
	first, dataNodes := len(c.nodes), c.opts.nodes // the arbiter, if any, is the last slot
	if c.opts.grownFrom > 0 {
		first, dataNodes = c.opts.grownFrom, c.opts.grownFrom
	}
	for k := 1; k <= first; k++ {
		if _, err := c.startNode(k); err != nil {
			return err
		}
	}
	if err := waitReady(ctx, c.nodes[:first]); err != nil {
		return err
	}
	for i := range c.nodes[:first] {
		c.sup.slots[i].readySeen = true
	}
	fmt.Fprintf(c.stderr, "relaydb up: all nodes are ready; waiting for the cluster to elect a primary\n")
	if err := c.waitClusterSettled(ctx, dataNodes); err != nil || c.opts.grownFrom == 0 {
		return err
	}
	return c.grow(ctx)
}

// grow adds nodes grownFrom+1 … nodes to a running HA cluster: each is seeded by a verified
// clone of the primary (instead of replaying its whole history), then started with
// --cluster-join so that the Raft leader adds it as a voter, and it follows the primary by
// auto-position from the clone's GTIDs. cluster.json counts them once the cluster settled.
func (c *upCluster) grow(ctx context.Context) error {
	for k := c.opts.grownFrom + 1; k <= c.opts.nodes; k++ {
		if err := c.seedByClone(ctx, k); err != nil {
			return err
		}
		if _, err := c.startNode(k); err != nil {
			return err
		}
		if err := waitReady(ctx, c.nodes[k-1:k]); err != nil {
			return err
		}
		c.sup.slots[k-1].readySeen = true
	}
	if err := c.waitClusterSettled(ctx, c.opts.nodes); err != nil {
		return err
	}
	c.cl.Nodes = c.opts.nodes
	if err := saveCluster(c.opts.dataDir, c.cl); err != nil {
		return err
	}
	c.event("the cluster grew from %d to %d nodes", c.opts.grownFrom, c.opts.nodes)
	c.opts.grownFrom = 0
	return nil
}

// seedByClone fills nodeK's new datadir with a clone of the primary. A node that already has
// data (an earlier, interrupted growth got that far) is left as it is: it catches up by
// replication.
func (c *upCluster) seedByClone(ctx context.Context, k int) error {
	dir := filepath.Join(c.opts.dataDir, fmt.Sprintf("node%d", k))
	if _, err := os.Stat(filepath.Join(dir, "cluster")); err == nil {
		return nil
	}
	primary := c.sup.primary
	var port int
	if _, err := fmt.Sscanf(primary, "node%d", &port); err != nil {
		return fmt.Errorf("growing the cluster: no primary to clone (%q)", primary)
	}
	port = c.opts.port + port - 1
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	src := clone.Source{User: c.cl.ReplUser, Password: c.cl.ReplPassword, Host: upHost, Port: port}
	fmt.Fprintf(c.stderr, "relaydb up: node%d: cloning %s (%s) into %s\n", k, primary, src.Addr(), dir)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := time.Now()
	m, err := clone.Fetch(ctx, clone.Options{Source: src, Dir: dir, Tracker: clone.NewTracker(filepath.Join(dir, "clone-status.json")), Logger: log})
	if err != nil {
		return fmt.Errorf("node%d: clone of %s: %v", k, primary, err)
	}
	if _, err := server.InstallStagedClone(dir, clone.Layout{}, log); err != nil {
		return fmt.Errorf("node%d: install the clone: %v", k, err)
	}
	c.event("node%d seeded by a clone of %s: %s in %.1f s (gtid_executed %s)", k, primary,
		formatBytes(m.Total()), time.Since(start).Seconds(), m.GTIDExecuted)
	return nil
}

// memberPeers is --cluster-peers for every member of the HA cluster.
func (c *upCluster) memberPeers() string {
	var peers []string
	for k := 1; k <= c.opts.nodes; k++ {
		peers = append(peers, fmt.Sprintf("node%d=%s", k, clusterAddrOf(c.opts.port, k)))
	}
	if c.cl.Arbiter {
		peers = append(peers, arbiterID+"="+clusterAddrOf(c.opts.port, c.opts.nodes+1))
	}
	return strings.Join(peers, ",")
}

// startNode starts nodeK as `relaydb server` (or, for the number after the last node, the
// arbiter), its output appended to DIR/nodeK.log (DIR/arbiter.log), and puts it in c.nodes.
func (c *upCluster) startNode(k int) (*upNode, error) {
	n := &upNode{
		num:     k,
		arbiter: c.cl.Cluster && k > c.opts.nodes,
		member:  c.cl.Cluster,
		source:  sourceOf(c.opts.topology, k),
		dual:    c.opts.topology == "dual",
		port:    c.opts.port + k - 1,
		exited:  make(chan struct{}),
	}
	if n.member {
		n.source = 0
		n.clusterAddr = clusterAddrOf(c.opts.port, k)
	}
	n.dir = filepath.Join(c.opts.dataDir, n.name())
	n.logPath = filepath.Join(c.opts.dataDir, n.name()+".log")
	f, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("%s: opening its log: %v", n.name(), err)
	}
	fmt.Fprintf(f, "---- relaydb up: starting %s (%s) at %s ----\n", n.name(), n.role(), time.Now().Format(time.RFC3339))
	readyLine := "ready for connections"
	var args []string
	switch {
	case n.arbiter:
		readyLine = "arbiter ready"
		args = []string{"arbiter", "--datadir", n.dir, "--log-level", c.opts.logLevel,
			"--cluster-id", arbiterID, "--cluster-addr", n.clusterAddr, "--cluster-peers", c.memberPeers(), "--cluster-bootstrap"}
	default:
		args = []string{"server", "--datadir", n.dir, "--port", strconv.Itoa(n.port),
			"--server-id", strconv.Itoa(k), "--host", upHost, "--log-level", c.opts.logLevel}
		if n.member {
			// Every member bootstraps with the same peers (Raft accepts identical bootstraps);
			// with existing cluster state the flag does nothing. A node that grows the cluster
			// asks to be added instead.
			start := "--cluster-bootstrap"
			if k > c.cl.Nodes {
				start = "--cluster-join"
			}
			args = append(args, "--cluster-id", n.name(), "--cluster-addr", n.clusterAddr,
				"--cluster-peers", c.memberPeers(), start,
				"--cluster-repl-user", c.cl.ReplUser, "--cluster-repl-password", c.cl.ReplPassword)
			if c.opts.minFreeDisk != "" {
				args = append(args, "--cluster-min-free-disk", c.opts.minFreeDisk)
			}
		}
	}
	n.out = newNodeOutput(f, readyLine)
	n.cmd = exec.Command(c.exe, args...)
	// root keeps its empty loopback password even if the caller's environment sets one, since
	// `up` connects as root without a password.
	n.cmd.Env = append(os.Environ(), config.EnvRootPassword+"=")
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	// Its own process group: a terminal's Ctrl-C reaches only `up`, which then stops the nodes
	// in order, instead of the nodes dying under it.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	n.started = time.Now()
	if err := n.cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: starting %s: %v", n.name(), c.exe, err)
	}
	c.nodes[k-1] = n
	go func() {
		n.waitErr = n.cmd.Wait()
		f.Close()
		close(n.exited)
		c.exits <- n
	}()
	return n, nil
}

// waitReady waits, within upReadyTimeout, for each node's ready line.
func waitReady(ctx context.Context, nodes []*upNode) error {
	deadline := time.NewTimer(upReadyTimeout)
	defer deadline.Stop()
	for _, n := range nodes {
		select {
		case <-n.out.ready:
		case <-n.exited:
			return n.exitError("before it was ready")
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("%s (%s) not ready after %s; last lines of %s:\n%s",
				n.name(), n.addr(), upReadyTimeout, n.logPath, n.out.tailText())
		}
	}
	return nil
}

func (n *upNode) exitError(when string) error {
	return fmt.Errorf("%s (%s) exited %s (%s); last lines of %s:\n%s",
		n.name(), n.addr(), when, exitText(n.waitErr), n.logPath, n.out.tailText())
}

// exitText describes how a process ended: "signal: killed", "exit status 1", "exit status 0".
func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// openRoot opens root's connection pool to a node (empty password: loopback only).
func openRoot(n *upNode) (*gosql.DB, error) {
	db, err := gosql.Open("mysql", "root@tcp("+n.addr()+")/?timeout=5s&readTimeout=30s&writeTimeout=30s")
	if err != nil {
		return nil, fmt.Errorf("%s: %v", n.name(), err)
	}
	return db, nil
}

// setupReplication creates the replication user on every node that is a source and makes each
// node with a source replicate from it: read-only, except in a dual primary, whose two nodes
// stay writable with interleaved auto-increment values. Each step is skipped when already done,
// so it can be rerun.
func setupReplication(ctx context.Context, cl *clusterFile, nodes []*upNode) error {
	isSource := map[int]bool{}
	for _, n := range nodes {
		isSource[n.source] = true
	}
	for _, n := range nodes {
		if isSource[n.num] {
			if err := ensureReplUser(ctx, cl, n); err != nil {
				return err
			}
		}
	}
	for _, n := range nodes {
		if n.source != 0 {
			if err := ensureReplicaOf(ctx, cl, n, nodes[n.source-1]); err != nil {
				return err
			}
		}
	}
	return nil
}

func ensureReplUser(ctx context.Context, cl *clusterFile, primary *upNode) error {
	db, err := openRoot(primary)
	if err != nil {
		return err
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.user WHERE User = ?", cl.ReplUser).Scan(&n); err != nil {
		return fmt.Errorf("%s: looking for user %s: %v", primary.name(), cl.ReplUser, err)
	}
	if n > 0 {
		return nil
	}
	// IF NOT EXISTS: account statements replicate, so in a dual-primary set the other node's
	// CREATE USER arrives where the user already exists.
	return execAll(ctx, db, primary,
		fmt.Sprintf("CREATE USER IF NOT EXISTS %s IDENTIFIED WITH mysql_native_password BY '%s'", cl.ReplUser, cl.ReplPassword),
		"GRANT REPLICATION SLAVE ON *.* TO "+cl.ReplUser)
}

func ensureReplicaOf(ctx context.Context, cl *clusterFile, r, primary *upNode) error {
	db, err := openRoot(r)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := replicaStatus(ctx, db)
	if err != nil {
		return fmt.Errorf("%s: %v", r.name(), err)
	}
	var stmts []string
	if st == nil { // never configured; a configured one is left as it is
		stmts = append(stmts, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='%s', SOURCE_PORT=%d, SOURCE_USER='%s', SOURCE_PASSWORD='%s', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=%d",
			upHost, primary.port, cl.ReplUser, cl.ReplPassword, upConnectRetry))
	}
	if r.dual {
		// Both sides take writes: their auto-increment values interleave (1, 3, 5 … and
		// 2, 4, 6 …) so that concurrent inserts never collide. PERSIST survives restarts.
		stmts = append(stmts, "START REPLICA", "SET PERSIST auto_increment_increment = 2",
			fmt.Sprintf("SET PERSIST auto_increment_offset = %d", r.num))
	} else {
		// super_read_only keeps clients (root included) from writing to a replica; the applier
		// is exempt. PERSIST makes it survive restarts.
		stmts = append(stmts, "START REPLICA", "SET PERSIST super_read_only = ON")
	}
	return execAll(ctx, db, r, stmts...)
}

func execAll(ctx context.Context, db *gosql.DB, n *upNode, stmts ...string) error {
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %s: %v", n.name(), redactPassword(s), err)
		}
	}
	return nil
}

// redactPassword keeps the replication password out of error messages.
func redactPassword(stmt string) string {
	for _, kw := range []string{"SOURCE_PASSWORD='", "BY '"} {
		if i := strings.Index(stmt, kw); i >= 0 {
			if j := strings.IndexByte(stmt[i+len(kw):], '\''); j >= 0 {
				stmt = stmt[:i+len(kw)] + "***" + stmt[i+len(kw)+j:]
			}
		}
	}
	return stmt
}

// replicaStatus returns SHOW REPLICA STATUS by column name, or nil when the server was never
// configured as a replica.
func replicaStatus(ctx context.Context, db *gosql.DB) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, "SHOW REPLICA STATUS")
	if err != nil {
		return nil, fmt.Errorf("SHOW REPLICA STATUS: %v", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("SHOW REPLICA STATUS: %v", err)
	}
	if !rows.Next() {
		return nil, rows.Err()
	}
	vals := make([]gosql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, fmt.Errorf("SHOW REPLICA STATUS: %v", err)
	}
	st := make(map[string]string, len(cols))
	for i, c := range cols {
		st[c] = vals[i].String
	}
	return st, nil
}

// waitReplicating waits, within upReplicaTimeout, until every replica reports both
// replication threads running.
func waitReplicating(ctx context.Context, replicas []*upNode) error {
	deadline := time.Now().Add(upReplicaTimeout)
	for _, r := range replicas {
		if err := waitReplicaRunning(ctx, r, deadline); err != nil {
			return err
		}
	}
	return nil
}

func waitReplicaRunning(ctx context.Context, r *upNode, deadline time.Time) error {
	db, err := openRoot(r)
	if err != nil {
		return err
	}
	defer db.Close()
	for {
		st, err := replicaStatus(ctx, db)
		if err == nil && st != nil && st["Replica_IO_Running"] == "Yes" && st["Replica_SQL_Running"] == "Yes" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is not replicating after %s: %s", r.name(), upReplicaTimeout, describeReplica(st, err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.exited:
			return r.exitError("while waiting for replication")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func describeReplica(st map[string]string, err error) string {
	switch {
	case err != nil:
		return err.Error()
	case st == nil:
		return "SHOW REPLICA STATUS is empty (replication was never configured on it)"
	}
	return fmt.Sprintf("Replica_IO_Running=%s Replica_SQL_Running=%s Last_IO_Errno=%s Last_IO_Error=%q Last_SQL_Errno=%s Last_SQL_Error=%q",
		st["Replica_IO_Running"], st["Replica_SQL_Running"], st["Last_IO_Errno"], st["Last_IO_Error"], st["Last_SQL_Errno"], st["Last_SQL_Error"])
}

func (c *upCluster) printSummary(w io.Writer) {
	if c.cl.Cluster {
		c.printClusterSummary(w)
		return
	}
	fmt.Fprintf(w, "\nrelaydb cluster is up: %d node(s), data in %s\n\n", len(c.nodes), c.opts.dataDir)
	for _, n := range c.nodes {
		fmt.Fprintf(w, "  %-6s %-8s %-16s pid %-8d mariadb -h%s -P%d -uroot\n",
			n.name(), n.role(), n.addr(), n.cmd.Process.Pid, upHost, n.port)
	}
	fmt.Fprintln(w)
	pw := filepath.Join(c.opts.dataDir, clusterFileName)
	switch {
	case c.opts.topology == "dual":
		fmt.Fprintf(w, "Dual primary: node1 and node2 replicate from each other as user %s (password in %s);\n"+
			"both take writes, with auto_increment_increment 2 and offsets 1 and 2.\n", c.cl.ReplUser, pw)
	case c.opts.topology == "chain":
		fmt.Fprintf(w, "Chain: each node replicates from the one before it as user %s (password in %s);\n"+
			"all but node1 are super_read_only.\n", c.cl.ReplUser, pw)
	case len(c.nodes) > 1:
		fmt.Fprintf(w, "Replicas replicate from node1 as user %s (password in %s) and are super_read_only.\n",
			c.cl.ReplUser, pw)
	}
	fmt.Fprintf(w, "Logs: %s. Ctrl-C stops all nodes.\n", filepath.Join(c.opts.dataDir, "nodeK.log"))
}

// stopAll sends SIGTERM to every running node and waits for them, killing any still running
// after upStopTimeout. It reports nodes that did not stop cleanly.
func (c *upCluster) stopAll() error {
	var running []*upNode
	for _, n := range c.started() {
		if n.running() {
			running = append(running, n)
		}
	}
	if len(running) == 0 {
		return nil
	}
	fmt.Fprintf(c.stderr, "relaydb up: stopping %d node(s)\n", len(running))
	for _, n := range running {
		_ = n.cmd.Process.Signal(syscall.SIGTERM) // fails only if it has just exited
	}
	deadline := time.NewTimer(upStopTimeout)
	defer deadline.Stop()
	var errs []error
	for _, n := range running {
		select {
		case <-n.exited:
			if n.waitErr != nil {
				errs = append(errs, fmt.Errorf("%s did not stop cleanly (%v); see %s", n.name(), n.waitErr, n.logPath))
			}
		case <-deadline.C:
			// Later nodes had the same time: kill them all now.
			for _, m := range running {
				_ = m.cmd.Process.Kill()
			}
			<-n.exited
			errs = append(errs, fmt.Errorf("%s did not stop within %s and was killed; see %s", n.name(), upStopTimeout, n.logPath))
		}
	}
	if len(errs) == 0 {
		fmt.Fprintln(c.stderr, "relaydb up: all nodes stopped")
	}
	return errors.Join(errs...)
}

// nodeOutput receives a node's stdout and stderr: it appends them to the node's log file,
// keeps the last lines for error messages, and notices the ready line and a refused rejoin.
type nodeOutput struct {
	mu        sync.Mutex
	file      *os.File
	readyLine string
	partial   []byte   // guarded by mu
	tail      []string // guarded by mu
	refused   string   // guarded by mu; the last "rejoin refused" line
	rewound   string   // guarded by mu; what the last rewind undid ("undid N transaction(s) …")
	ready     chan struct{}
	readyOnce sync.Once
}

func newNodeOutput(f *os.File, readyLine string) *nodeOutput {
	return &nodeOutput{file: f, readyLine: readyLine, ready: make(chan struct{})}
}

// lastRewind returns what the node's last rewind undid, "" if it never rewound.
func (o *nodeOutput) lastRewind() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.rewound
}

// rejoinRefused returns the node's last "rejoin refused" log line, "" if none.
func (o *nodeOutput) rejoinRefused() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.refused
}

func (o *nodeOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	// A write error (full disk) is ignored: failing here would break the node's own output.
	_, _ = o.file.Write(p)
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		o.line(string(o.partial[:i]))
		o.partial = o.partial[i+1:]
	}
	o.partial = append([]byte(nil), o.partial...) // do not pin the consumed bytes
	return len(p), nil
}

func (o *nodeOutput) line(s string) {
	if strings.Contains(s, o.readyLine) {
		o.readyOnce.Do(func() { close(o.ready) })
	}
	if strings.Contains(s, "rejoin refused") {
		o.refused = s
	}
	if _, what, ok := strings.Cut(s, "rewound: "); ok {
		o.rewound, _, _ = strings.Cut(what, "\"")
	}
	o.tail = append(o.tail, s)
	if len(o.tail) > upTailLines {
		o.tail = o.tail[len(o.tail)-upTailLines:]
	}
}

// tailText is the last lines of output, indented for an error message.
func (o *nodeOutput) tailText() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	lines := append([]string(nil), o.tail...)
	if len(o.partial) > 0 {
		lines = append(lines, string(o.partial))
	}
	if len(lines) == 0 {
		return "    (no output)"
	}
	return "    " + strings.Join(lines, "\n    ")
}
