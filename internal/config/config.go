package config

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/relaydb/relaydb/internal/rplfilter"
	"time"
)

// EnvRootPassword is the environment variable that supplies --root-password
// when the flag itself is not given.
const EnvRootPassword = "RELAYDB_ROOT_PASSWORD"

// Options are the settings of one `relaydb server` process.
type Options struct {
	// DataDir holds everything the node keeps on disk. Created if missing.
	DataDir string
	// Host is the address the MySQL protocol listener binds to.
	Host string
	// Port is the TCP port of the listener; 0 picks a free port.
	Port int
	// ServerID is @@server_id.
	ServerID uint32
	// RootPassword is the password given to root@localhost when the datadir
	// is first initialised. Empty is only allowed on a loopback Host.
	RootPassword string
	// CacheSize is the storage engine's block cache, in bytes.
	CacheSize Size
	// LogLevel is the minimum level written to the log.
	LogLevel slog.Level
	// ConfigFile is the my.cnf-style file that was read, if any.
	ConfigFile string
	// MaxAllowedPacket is @@max_allowed_packet: the largest client packet
	// (a whole statement, after reassembly) the server accepts.
	MaxAllowedPacket Size
	// PprofAddr, when set, serves net/http/pprof on this loopback address.
	PprofAddr string
	// TxnIdleTimeout rolls back a transaction left idle this long, so that an abandoned
	// transaction cannot pin old row versions (and disk space) forever. 0 disables it.
	TxnIdleTimeout time.Duration
	// LogBin is the binary log's file name prefix (--log-bin): files LogBin.000001, … and
	// LogBin.index in the datadir.
	LogBin string
	// SkipLogBin turns the binary log off (--skip-log-bin); the store then syncs its own log.
	SkipLogBin bool
	// SyncBinlog is sync_binlog: fsync the binlog every N commit groups (1: every commit; 0:
	// leave it to the OS, which a power failure can lose).
	SyncBinlog int64
	// BinlogChecksum is binlog_checksum: CRC32 or NONE.
	BinlogChecksum string
	// MaxBinlogSize is max_binlog_size: a file is rotated once it reaches this size.
	MaxBinlogSize Size
	// BinlogExpireLogsSeconds is binlog_expire_logs_seconds (0: never purge automatically).
	BinlogExpireLogsSeconds int64
	// BinlogDoDB and BinlogIgnoreDB restrict which databases are logged (repeatable).
	BinlogDoDB, BinlogIgnoreDB []string
	// BinlogForceRecovery lets startup truncate a binlog file damaged in the middle, losing the
	// transactions after the damage (otherwise the server refuses to start).
	BinlogForceRecovery bool
	// SSLCert and SSLKey are the server's TLS certificate and key (PEM); when neither is given,
	// a self-signed pair is generated in the datadir on first start (auto_generate_certs).
	SSLCert, SSLKey string
	// SSLCA, when set, is the CA (PEM) that client certificates are verified against; clients
	// may then present one (REQUIRE X509 accounts need it).
	SSLCA string
	// SkipSSL turns TLS off: the server offers clients no encryption.
	SkipSSL bool
	// RelayLog is the relay log's file name prefix (--relay-log): files RelayLog.000001, …
	// and RelayLog.index; a relative prefix is taken from the datadir.
	RelayLog string
	// MaxRelayLogSize is max_relay_log_size: a relay log file is rotated (and, once applied,
	// purged) at this size; 0 means MaxBinlogSize, as in MySQL.
	MaxRelayLogSize Size
	// The replication filters (repeatable): --replicate-do-db, --replicate-ignore-db,
	// --replicate-do-table and --replicate-ignore-table (db.table),
	// --replicate-wild-do-table and --replicate-wild-ignore-table (LIKE patterns on db.table),
	// --replicate-rewrite-db (from->to). See package rplfilter.
	ReplicateDoDB, ReplicateIgnoreDB, ReplicateDoTable, ReplicateIgnoreTable []string
	ReplicateWildDoTable, ReplicateWildIgnoreTable, ReplicateRewriteDB       []string
	// Cluster options (see cmd/relaydb and internal/clusternode). ClusterID names this member;
	// ClusterAddr is its control port (Raft and the control API); ClusterPeers lists every
	// voter as id=host:port; ClusterBootstrap lets it create the cluster from ClusterPeers;
	// ClusterJoin has a new member ask the members in ClusterPeers to add it as a voter.
	ClusterID, ClusterAddr, ClusterPeers string
	ClusterBootstrap, ClusterJoin        bool
	// ClusterReplUser and ClusterReplPassword are the account replicas reach the primary with.
	ClusterReplUser, ClusterReplPassword string
	// ClusterMode is lossless (semi-sync AFTER_SYNC, ⌊N/2⌋ acks) or async; ClusterAcks overrides
	// the number of acks; ClusterLease, ClusterLeaseMargin and ClusterCooldown are the timings.
	ClusterMode                                       string
	ClusterAcks                                       int64
	ClusterLease, ClusterLeaseMargin, ClusterCooldown time.Duration
	// ClusterPriority and ClusterNeverPromote are this member's promotion rules.
	ClusterPriority     int64
	ClusterNeverPromote bool
	// ClusterMinFreeDisk is the disk trigger's threshold (0: off): a primary with less free
	// disk space is handed over by a reliability-first switchover. A cluster setting, fixed at
	// bootstrap and changed at runtime with `relaydb status --set min-free-disk=SIZE`.
	ClusterMinFreeDisk Size
	// ClusterPriorityTrigger turns the priority trigger on when the cluster is bootstrapped
	// (later: relaydb status --set priority-trigger=on|off).
	ClusterPriorityTrigger bool
	// ReportHost is the address other members and clients use for this node's SQL port
	// (default: --host).
	ReportHost string
	// DialOverride maps addresses this process dials to others (FROM=TO,…): the
	// fault-injection harness's per-link proxies. Hidden from help.
	DialOverride string
	// UnsafeNoFence disables lease fencing of commits: a planted bug for testing the checkers.
	UnsafeNoFence bool
	// Storage selects a test storage backend instead of Pebble. Hidden from help: only "memory"
	// (GMS's in-memory toy, for tests) is accepted.
	Storage string
}

// Defaults returns the options used when nothing else is said.
func Defaults() Options {
	return Options{
		DataDir:          "./relaydb-data",
		Host:             "127.0.0.1",
		Port:             3306,
		ServerID:         1,
		CacheSize:        256 << 20,
		LogLevel:         slog.LevelInfo,
		MaxAllowedPacket: 64 << 20,
		TxnIdleTimeout:   10 * time.Minute,
		Storage:          "",
		LogBin:           "binlog",
		RelayLog:         "relay-bin",
		SyncBinlog:       1,
		BinlogChecksum:   "CRC32",
		MaxBinlogSize:    1 << 30,

		BinlogExpireLogsSeconds: 30 * 24 * 3600,

		ClusterReplUser:    "relaydb_repl",
		ClusterMode:        "lossless",
		ClusterLease:       500 * time.Millisecond,
		ClusterLeaseMargin: 100 * time.Millisecond,
		ClusterCooldown:    30 * time.Second,
	}
}

// option describes one setting: its flag name, help text and how to set it
// from a string. The same table drives the flag set, the config file and the
// help output, so the three cannot disagree.
type option struct {
	name   string
	usage  string
	hidden bool
	value  flag.Value
}

func (o *Options) table() []option {
	return []option{
		{name: "datadir", usage: "directory holding all of the node's data; created if missing", value: (*stringValue)(&o.DataDir)},
		{name: "host", usage: "address to listen on for MySQL clients", value: (*stringValue)(&o.Host)},
		{name: "port", usage: "TCP port to listen on (0 picks a free port)", value: (*portValue)(&o.Port)},
		{name: "server-id", usage: "@@server_id of this node, unique within a replication topology", value: (*uint32Value)(&o.ServerID)},
		{name: "root-password", usage: "password for root@localhost, set when the datadir is first created (also $" + EnvRootPassword + "); empty is allowed only on a loopback --host", value: (*stringValue)(&o.RootPassword)},
		{name: "cache-size", usage: "storage block cache size, e.g. 256MiB, 1GiB", value: &o.CacheSize},
		{name: "log-level", usage: "minimum log level: debug, info, warn or error", value: (*levelValue)(&o.LogLevel)},
		{name: "config", usage: "read options from the [relaydb] section of this my.cnf-style `FILE`; command-line flags win", value: (*stringValue)(&o.ConfigFile)},
		{name: "max-allowed-packet", usage: "largest client packet accepted, e.g. 64MiB; a bigger one gets error 1153 and its connection is closed", value: &o.MaxAllowedPacket},
		{name: "txn-idle-timeout", usage: "roll back a transaction idle for this long (e.g. 10m, 1h; 0 disables), so it cannot pin old row versions forever", value: (*durationValue)(&o.TxnIdleTimeout)},
		{name: "pprof-addr", usage: "serve net/http/pprof on this loopback host:port (off when empty)", value: (*stringValue)(&o.PprofAddr)},
		{name: "log-bin", usage: "binary log file name prefix: files `NAME`.000001, … and NAME.index in the datadir", value: (*stringValue)(&o.LogBin)},
		{name: "skip-log-bin", usage: "run without a binary log (no replication, no point-in-time recovery)", value: (*boolValue)(&o.SkipLogBin)},
		{name: "sync-binlog", usage: "fsync the binary log every N commit groups: 1 is crash-safe, 0 leaves flushing to the OS", value: (*int64Value)(&o.SyncBinlog)},
		{name: "binlog-checksum", usage: "binlog event checksum: CRC32 or NONE", value: (*stringValue)(&o.BinlogChecksum)},
		{name: "max-binlog-size", usage: "rotate to a new binary log file once the current one reaches this size (4KiB to 1GiB)", value: &o.MaxBinlogSize},
		{name: "binlog-expire-logs-seconds", usage: "purge binary log files older than this many seconds (0: never)", value: (*int64Value)(&o.BinlogExpireLogsSeconds)},
		{name: "binlog-do-db", usage: "log only changes to this database (repeat for more); statements use the default database", value: (*listValue)(&o.BinlogDoDB)},
		{name: "binlog-ignore-db", usage: "do not log changes to this database (repeat for more)", value: (*listValue)(&o.BinlogIgnoreDB)},
		{name: "binlog-force-recovery", usage: "at startup, truncate a binary log damaged in the middle instead of refusing to start (loses the transactions after the damage)", value: (*boolValue)(&o.BinlogForceRecovery)},
		{name: "ssl-cert", usage: "the server's TLS certificate (PEM `FILE`); default: one generated in the datadir on first start", value: (*stringValue)(&o.SSLCert)},
		{name: "ssl-key", usage: "the private key (PEM `FILE`) of --ssl-cert", value: (*stringValue)(&o.SSLKey)},
		{name: "ssl-ca", usage: "verify the certificates clients present against this CA (PEM `FILE`), as REQUIRE X509 accounts need", value: (*stringValue)(&o.SSLCA)},
		{name: "skip-ssl", usage: "offer clients no TLS", value: (*boolValue)(&o.SkipSSL)},
		{name: "relay-log", usage: "relay log file name prefix: files `PATH`.000001, … and PATH.index; relative to the datadir unless absolute", value: (*stringValue)(&o.RelayLog)},
		{name: "max-relay-log-size", usage: "rotate a replica's relay log at this size (4KiB to 1GiB; 0: --max-binlog-size); applied files are purged, the active one is kept", value: &o.MaxRelayLogSize},
		{name: "replicate-do-db", usage: "a replica applies only changes to this database (repeat for more); statements use their default database", value: (*listValue)(&o.ReplicateDoDB)},
		{name: "replicate-ignore-db", usage: "a replica skips changes to this database (repeat for more); statements use their default database", value: (*listValue)(&o.ReplicateIgnoreDB)},
		{name: "replicate-do-table", usage: "a replica applies only changes to this `db.table` (repeat for more)", value: (*listValue)(&o.ReplicateDoTable)},
		{name: "replicate-ignore-table", usage: "a replica skips changes to this `db.table` (repeat for more)", value: (*listValue)(&o.ReplicateIgnoreTable)},
		{name: "replicate-wild-do-table", usage: "a replica applies only changes to tables matching this db.table `PATTERN` (% and _ wildcards; repeat for more)", value: (*listValue)(&o.ReplicateWildDoTable)},
		{name: "replicate-wild-ignore-table", usage: "a replica skips changes to tables matching this db.table `PATTERN` (% and _ wildcards; repeat for more)", value: (*listValue)(&o.ReplicateWildIgnoreTable)},
		{name: "replicate-rewrite-db", usage: "a replica applies changes to database `FROM->TO` to TO instead (repeat for more)", value: (*listValue)(&o.ReplicateRewriteDB)},
		{name: "cluster-id", usage: "this node's `NAME` in a cluster; setting it (with --cluster-addr) makes the node a cluster member", value: (*stringValue)(&o.ClusterID)},
		{name: "cluster-addr", usage: "`HOST:PORT` of this member's cluster port (Raft and the control API)", value: (*stringValue)(&o.ClusterAddr)},
		{name: "cluster-peers", usage: "every voter of the cluster, this one included: `ID=HOST:PORT,…` (cluster ports)", value: (*stringValue)(&o.ClusterPeers)},
		{name: "cluster-join", usage: "a new member of an existing cluster: ask the members in --cluster-peers to add it as a voter (seed its data first with relaydb clone)", value: (*boolValue)(&o.ClusterJoin)},
		{name: "cluster-bootstrap", usage: "create the cluster from --cluster-peers if this member has no cluster state yet (give it to every first member, with the same peers)", value: (*boolValue)(&o.ClusterBootstrap)},
		{name: "cluster-repl-user", usage: "account replicas use to reach the primary (created on every member)", value: (*stringValue)(&o.ClusterReplUser)},
		{name: "cluster-repl-password", usage: "password of --cluster-repl-user (the same on every member; required in a cluster)", value: (*stringValue)(&o.ClusterReplPassword)},
		{name: "cluster-mode", usage: "lossless (semi-sync AFTER_SYNC: a failover never loses an acknowledged commit) or async", value: (*stringValue)(&o.ClusterMode)},
		{name: "cluster-acks", usage: "replica acknowledgements a commit waits for in lossless mode (0: half the data nodes, rounded down)", value: (*int64Value)(&o.ClusterAcks)},
		{name: "cluster-lease", usage: "how long a lease renewal lets the primary acknowledge commits", value: (*durationValue)(&o.ClusterLease)},
		{name: "cluster-lease-margin", usage: "extra time the controller waits past a lease before it fails over (clock drift)", value: (*durationValue)(&o.ClusterLeaseMargin)},
		{name: "cluster-cooldown", usage: "after an automatic failover, the next one waits this long unless an operator allows it", value: (*durationValue)(&o.ClusterCooldown)},
		{name: "cluster-priority", usage: "promotion priority among members holding the same transactions (higher wins)", value: (*int64Value)(&o.ClusterPriority)},
		{name: "cluster-never-promote", usage: "never make this member the primary", value: (*boolValue)(&o.ClusterNeverPromote)},
		{name: "cluster-priority-trigger", usage: "priority trigger: hand the primary over, by a reliability-first switchover, to a member of higher --cluster-priority that can take over (a cluster setting taken at bootstrap; 'relaydb status --set priority-trigger=on|off' later)", value: (*boolValue)(&o.ClusterPriorityTrigger)},
		{name: "cluster-min-free-disk", usage: "disk trigger: hand a primary with less free disk than `SIZE` over to the best replica by a reliability-first switchover (0: off; a cluster setting taken at bootstrap, changed later with 'relaydb status --set min-free-disk=SIZE')", value: &o.ClusterMinFreeDisk},
		{name: "report-host", usage: "address other members and clients use for this node's SQL port (default: --host)", value: (*stringValue)(&o.ReportHost)},
		{name: "dial-override", usage: "testing: FROM=TO,… dial TO whenever this process would dial FROM", hidden: true, value: (*stringValue)(&o.DialOverride)},
		{name: "unsafe-no-fence", usage: "testing only: a cluster primary acknowledges commits without a valid lease (planted split-brain bug)", hidden: true, value: (*boolValue)(&o.UnsafeNoFence)},
		{name: "storage", usage: "storage backend (testing only)", hidden: true, value: (*stringValue)(&o.Storage)},
	}
}

// NewFlagSet returns a flag set bound to o. Its Usage prints every option
// that is not hidden, with its default.
func (o *Options) NewFlagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	for _, opt := range o.table() {
		fs.Var(opt.value, opt.name, opt.usage)
	}
	hidden := map[string]bool{}
	for _, opt := range o.table() {
		if opt.hidden {
			hidden[opt.name] = true
		}
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: %s [options]\n\nOptions:\n", name)
		fs.VisitAll(func(f *flag.Flag) {
			if hidden[f.Name] {
				return
			}
			arg, usage := flag.UnquoteUsage(f)
			if arg == "" || arg == "value" {
				arg = "VALUE"
			}
			fmt.Fprintf(out, "  --%s %s\n", f.Name, arg)
			fmt.Fprintf(out, "\t%s", usage)
			if f.DefValue != "" {
				fmt.Fprintf(out, " (default %q)", f.DefValue)
			}
			fmt.Fprintln(out)
		})
		fmt.Fprintf(out, "\nIn a --config file, option names are the flag names without dashes in front;\n"+
			"'-' and '_' are interchangeable, lines are 'name = value', '#' and ';' start comments,\n"+
			"and only the [relaydb] section is read.\n")
	}
	return fs
}

// Load parses args (without the program and subcommand names), then the
// environment, then the config file, and validates the result. getenv may be
// nil. Errors from flag parsing include flag.ErrHelp when -h/--help is given.
func Load(name string, args []string, getenv func(string) string, out io.Writer) (Options, error) {
	opts := Defaults()
	fs := opts.NewFlagSet(name, out)
	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
	if fs.NArg() > 0 {
		return Options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	if getenv != nil && !given["root-password"] {
		if pw := getenv(EnvRootPassword); pw != "" {
			opts.RootPassword = pw
			given["root-password"] = true
		}
	}

	if opts.ConfigFile != "" {
		entries, err := ReadFile(opts.ConfigFile)
		if err != nil {
			return Options{}, err
		}
		if err := opts.applyEntries(entries, given); err != nil {
			return Options{}, err
		}
	}
	if err := opts.Validate(); err != nil {
		return Options{}, err
	}
	return opts, nil
}

// Entry is one option line of a config file.
type Entry struct {
	File  string
	Line  int
	Name  string // normalised: lower case, '_' replaced by '-'
	Value string
	// HasValue is false for a bare `name` line.
	HasValue bool
}

func (e Entry) where() string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

// ReadFile reads the [relaydb] section of a my.cnf-style file. Other sections
// are skipped (a my.cnf shared with mysqld or clients is fine), but an option
// line before any section header or a directive such as !include is an error.
func ReadFile(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	return Parse(path, f)
}

// Parse is ReadFile on an open reader; file names the source in errors.
func Parse(file string, r io.Reader) ([]Entry, error) {
	var (
		entries []Entry
		section string
		inGroup = false
		lineNo  = 0
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '!' {
			return nil, fmt.Errorf("%s:%d: directive %q is not supported", file, lineNo, firstWord(line))
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 || strings.TrimSpace(stripComment(line[end+1:])) != "" {
				return nil, fmt.Errorf("%s:%d: malformed section header %q", file, lineNo, line)
			}
			section = strings.ToLower(strings.TrimSpace(line[1:end]))
			inGroup = section == "relaydb"
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("%s:%d: option %q appears before any [section] header", file, lineNo, firstWord(line))
		}
		if !inGroup {
			continue
		}
		e := Entry{File: file, Line: lineNo}
		name, value, hasValue := strings.Cut(line, "=")
		e.Name = normalize(strings.TrimSpace(name))
		if e.Name == "" {
			return nil, fmt.Errorf("%s:%d: missing option name", file, lineNo)
		}
		if hasValue {
			v, err := unquote(strings.TrimSpace(value))
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", file, lineNo, err)
			}
			e.Value, e.HasValue = v, true
		} else {
			e.Name = normalize(strings.TrimSpace(stripComment(name)))
		}
		if strings.ContainsAny(e.Name, " \t") {
			return nil, fmt.Errorf("%s:%d: malformed option line %q", file, lineNo, line)
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read config %s: %w", file, err)
	}
	return entries, nil
}

// applyEntries sets every entry whose option was not given on the command
// line. Unknown names are errors naming their line.
func (o *Options) applyEntries(entries []Entry, given map[string]bool) error {
	known := map[string]flag.Value{}
	for _, opt := range o.table() {
		known[opt.name] = opt.value
	}
	for _, e := range entries {
		v, ok := known[e.Name]
		if !ok || e.Name == "config" {
			return fmt.Errorf("%s: unknown option %q", e.where(), e.Name)
		}
		if bf, ok := v.(interface{ IsBoolFlag() bool }); !e.HasValue && ok && bf.IsBoolFlag() {
			e.Value, e.HasValue = "1", true // a bare `skip-log-bin` line, as in my.cnf
		}
		if !e.HasValue {
			return fmt.Errorf("%s: option %q needs a value (%s = ...)", e.where(), e.Name, e.Name)
		}
		if given[e.Name] {
			continue
		}
		if err := v.Set(e.Value); err != nil {
			return fmt.Errorf("%s: option %q: %v", e.where(), e.Name, err)
		}
	}
	return nil
}

// Validate checks the options against each other.
func (o *Options) Validate() error {
	if strings.TrimSpace(o.DataDir) == "" {
		return errors.New("--datadir must not be empty")
	}
	if o.Host == "" {
		return errors.New("--host must not be empty")
	}
	if o.RootPassword == "" && !IsLoopbackHost(o.Host) {
		return fmt.Errorf("refusing to listen on %q with an empty root password: set --root-password "+
			"(or $%s), or bind to a loopback address such as 127.0.0.1", o.Host, EnvRootPassword)
	}
	if o.CacheSize < 1<<20 {
		return fmt.Errorf("--cache-size %s is too small (minimum 1MiB)", o.CacheSize.Format())
	}
	if o.MaxAllowedPacket < 1024 || o.MaxAllowedPacket > 1<<30 {
		return fmt.Errorf("--max-allowed-packet %s is out of range (1KiB to 1GiB, as in MySQL)", o.MaxAllowedPacket.Format())
	}
	if o.PprofAddr != "" {
		host, _, err := net.SplitHostPort(o.PprofAddr)
		if err != nil {
			return fmt.Errorf("--pprof-addr %q: %v", o.PprofAddr, err)
		}
		if !IsLoopbackHost(host) {
			return fmt.Errorf("--pprof-addr %q: profiling is served on loopback addresses only", o.PprofAddr)
		}
	}
	if err := o.validateCluster(); err != nil {
		return err
	}
	if o.SyncBinlog < 0 || o.SyncBinlog > 4294967295 {
		return fmt.Errorf("--sync-binlog %d is out of range (0 to 4294967295)", o.SyncBinlog)
	}
	switch strings.ToUpper(o.BinlogChecksum) {
	case "CRC32", "NONE":
	default:
		return fmt.Errorf("--binlog-checksum %q: use CRC32 or NONE", o.BinlogChecksum)
	}
	if o.MaxBinlogSize < 4096 || o.MaxBinlogSize > 1<<30 {
		return fmt.Errorf("--max-binlog-size %s is out of range (4KiB to 1GiB)", o.MaxBinlogSize.Format())
	}
	if o.MaxRelayLogSize != 0 && (o.MaxRelayLogSize < 4096 || o.MaxRelayLogSize > 1<<30) {
		return fmt.Errorf("--max-relay-log-size %s is out of range (0, or 4KiB to 1GiB)", o.MaxRelayLogSize.Format())
	}
	var rules rplfilter.Rules
	for kind, v := range o.ReplicaFilters() {
		if err := rules.Set(kind, v); err != nil {
			flag := "--" + strings.ReplaceAll(strings.ToLower(kind), "_", "-")
			return fmt.Errorf("%s%s", flag, strings.TrimPrefix(err.Error(), kind))
		}
	}
	if o.BinlogExpireLogsSeconds < 0 {
		return fmt.Errorf("--binlog-expire-logs-seconds must not be negative")
	}
	if o.LogBin == "" || strings.ContainsAny(o.LogBin, "/\\") {
		return fmt.Errorf("--log-bin %q: give a file name prefix, without a directory", o.LogBin)
	}
	if (o.SSLCert == "") != (o.SSLKey == "") {
		return fmt.Errorf("--ssl-cert and --ssl-key go together: give both or neither")
	}
	if o.SkipSSL && (o.SSLCert != "" || o.SSLKey != "" || o.SSLCA != "") {
		return fmt.Errorf("--skip-ssl turns TLS off: it cannot be combined with --ssl-cert, --ssl-key or --ssl-ca")
	}
	if b := filepath.Base(o.RelayLog); o.RelayLog == "" || strings.HasSuffix(o.RelayLog, "/") || b == "." || b == ".." {
		return fmt.Errorf("--relay-log %q: give a file name prefix, optionally with a directory", o.RelayLog)
	}
	if relay, bin := o.inDataDir(o.RelayLog), o.inDataDir(o.LogBin); relay == bin {
		return fmt.Errorf("--relay-log %q names the binary log's files", o.RelayLog)
	}
	switch o.Storage {
	case "", "memory":
	default:
		return fmt.Errorf("--storage %q: unknown backend", o.Storage)
	}
	return nil
}

// inDataDir is where a file name prefix points: relative ones are in the datadir.
func (o *Options) inDataDir(prefix string) string {
	if !filepath.IsAbs(prefix) {
		prefix = filepath.Join(o.DataDir, prefix)
	}
	abs, err := filepath.Abs(prefix)
	if err != nil {
		return filepath.Clean(prefix)
	}
	return abs
}

// IsLoopbackHost reports whether host names only loopback interfaces:
// "localhost", 127.0.0.0/8 or ::1. An unspecified address (0.0.0.0, ::, "")
// is not loopback.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Names returns the names of every option that may appear in a config file.
func Names() []string {
	var o Options
	var names []string
	for _, opt := range o.table() {
		if opt.name != "config" {
			names = append(names, opt.name)
		}
	}
	sort.Strings(names)
	return names
}

func normalize(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t="); i >= 0 {
		return s[:i]
	}
	return s
}

// stripComment removes a trailing comment that starts with '#' or ';'.
func stripComment(s string) string {
	if i := strings.IndexAny(s, "#;"); i >= 0 {
		return s[:i]
	}
	return s
}

// unquote handles a value that is either quoted ('...' or "...", with
// backslash escapes in double quotes) or bare. A bare value ends at a '#'
// or ';' that follows whitespace, so `port = 3307  # test port` works while a
// password such as `a#b` is kept whole.
func unquote(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	switch q := v[0]; q {
	case '"', '\'':
		end := -1
		for i := 1; i < len(v); i++ {
			if q == '"' && v[i] == '\\' {
				i++
				continue
			}
			if v[i] == q {
				end = i
				break
			}
		}
		if end < 0 {
			return "", fmt.Errorf("unterminated quoted value %s", v)
		}
		rest := strings.TrimSpace(v[end+1:])
		if rest != "" && rest[0] != '#' && rest[0] != ';' {
			return "", fmt.Errorf("unexpected text %q after quoted value", rest)
		}
		if q == '\'' {
			return v[1:end], nil
		}
		s, err := strconv.Unquote(v[:end+1])
		if err != nil {
			return "", fmt.Errorf("bad quoted value %s: %v", v[:end+1], err)
		}
		return s, nil
	}
	for i := 1; i < len(v); i++ {
		if (v[i] == '#' || v[i] == ';') && (v[i-1] == ' ' || v[i-1] == '\t') {
			return strings.TrimSpace(v[:i]), nil
		}
	}
	return v, nil
}

type stringValue string

func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }
func (s *stringValue) String() string {
	if s == nil {
		return ""
	}
	return string(*s)
}

type portValue int

func (p *portValue) Set(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("invalid port %q (0 to 65535)", v)
	}
	*p = portValue(n)
	return nil
}
func (p *portValue) String() string {
	if p == nil {
		return "0"
	}
	return strconv.Itoa(int(*p))
}

type uint32Value uint32

func (u *uint32Value) Set(v string) error {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return fmt.Errorf("invalid unsigned 32-bit integer %q", v)
	}
	*u = uint32Value(n)
	return nil
}
func (u *uint32Value) String() string {
	if u == nil {
		return "0"
	}
	return strconv.FormatUint(uint64(*u), 10)
}

type levelValue slog.Level

func (l *levelValue) Set(v string) error {
	lvl, err := ParseLevel(v)
	if err != nil {
		return err
	}
	*l = levelValue(lvl)
	return nil
}
func (l *levelValue) String() string {
	if l == nil {
		return "info"
	}
	return strings.ToLower(slog.Level(*l).String())
}

// ParseLevel accepts debug, info, warn (or warning) and error, in any case.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("invalid log level %q (debug, info, warn or error)", s)
}

type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("invalid duration %q (use e.g. 30s, 10m, 1h)", s)
	}
	if d < 0 {
		return fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	*v = durationValue(d)
	return nil
}

type boolValue bool

func (b *boolValue) IsBoolFlag() bool { return true }
func (b *boolValue) Set(v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "1", "on", "true", "yes":
		*b = true
	case "0", "off", "false", "no":
		*b = false
	default:
		return fmt.Errorf("invalid boolean %q (ON or OFF)", v)
	}
	return nil
}
func (b *boolValue) String() string {
	if b == nil || !*b {
		return "false"
	}
	return "true"
}

type int64Value int64

func (v *int64Value) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("invalid integer %q", s)
	}
	*v = int64Value(n)
	return nil
}
func (v *int64Value) String() string {
	if v == nil {
		return "0"
	}
	return strconv.FormatInt(int64(*v), 10)
}

// ReplicaFilters returns the --replicate-* options given, by CHANGE REPLICATION FILTER kind.
func (o *Options) ReplicaFilters() map[string][]string {
	out := map[string][]string{}
	for kind, v := range map[string][]string{
		"REPLICATE_DO_DB": o.ReplicateDoDB, "REPLICATE_IGNORE_DB": o.ReplicateIgnoreDB,
		"REPLICATE_DO_TABLE": o.ReplicateDoTable, "REPLICATE_IGNORE_TABLE": o.ReplicateIgnoreTable,
		"REPLICATE_WILD_DO_TABLE": o.ReplicateWildDoTable, "REPLICATE_WILD_IGNORE_TABLE": o.ReplicateWildIgnoreTable,
		"REPLICATE_REWRITE_DB": o.ReplicateRewriteDB,
	} {
		if len(v) > 0 {
			out[kind] = v
		}
	}
	return out
}

// listValue collects a repeatable option.
type listValue []string

func (l *listValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return errors.New("empty value")
	}
	*l = append(*l, s)
	return nil
}
func (l *listValue) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

// InCluster reports whether the options make the node a cluster member.
func (o *Options) InCluster() bool { return o.ClusterID != "" || o.ClusterAddr != "" }

func (o *Options) validateCluster() error {
	if !o.InCluster() {
		return nil
	}
	switch {
	case o.ClusterID == "" || o.ClusterAddr == "":
		return errors.New("a cluster member needs both --cluster-id and --cluster-addr")
	case o.ClusterReplPassword == "":
		return errors.New("a cluster member needs --cluster-repl-password (the same on every member)")
	case o.SkipLogBin:
		return errors.New("a cluster member needs its binary log: drop --skip-log-bin")
	case o.ClusterMode != "lossless" && o.ClusterMode != "async":
		return fmt.Errorf("--cluster-mode %q: want lossless or async", o.ClusterMode)
	case o.ClusterLease < 50*time.Millisecond:
		return fmt.Errorf("--cluster-lease %s is too short (minimum 50ms)", o.ClusterLease)
	case o.ClusterLeaseMargin < 0 || o.ClusterCooldown < 0 || o.ClusterAcks < 0:
		return errors.New("--cluster-lease-margin, --cluster-cooldown and --cluster-acks must not be negative")
	}
	if _, _, err := net.SplitHostPort(o.ClusterAddr); err != nil {
		return fmt.Errorf("--cluster-addr %q: %v", o.ClusterAddr, err)
	}
	return nil
}
