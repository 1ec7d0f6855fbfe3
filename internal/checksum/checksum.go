package checksum

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/relaydb/relaydb/internal/sqlrows"
)

// Defaults for the zero values of Options.
const (
	DefaultChunkSize   = 1000
	DefaultWaitTimeout = 60 * time.Second
	DefaultSyncAge     = 5 * time.Second
	DefaultMaxRowDiffs = 100
)

// Options say which servers and tables to check, and how.
type Options struct {
	// Primary is the primary's address, host:port.
	Primary string
	// Replicas are the replicas' addresses, host:port. Empty: the replicas SHOW REPLICAS lists
	// on the primary, which works only for replicas that report their port (report_port).
	Replicas []string
	// User and Password are used on every server. The user needs SELECT and RELOAD (FLUSH
	// TABLES WITH READ LOCK) on the primary, and SELECT and the right to STOP and START REPLICA
	// on the replicas.
	User, Password string
	// Databases to check; empty means every database but the system schemas.
	Databases []string
	// Tables to check, as db.table; empty means every table of Databases.
	Tables []string
	// ChunkSize is how many rows of the primary one chunk covers (DefaultChunkSize if 0).
	ChunkSize int
	// WaitTimeout bounds the wait for each replica to reach a sync point (and for the
	// primary's global read lock); DefaultWaitTimeout if 0.
	WaitTimeout time.Duration
	// SyncAge is how long one sync point serves chunks before a new one is taken
	// (DefaultSyncAge if 0; a negative value takes a new sync point for every chunk).
	SyncAge time.Duration
	// MaxRowDiffs is how many differing rows of one table are listed (DefaultMaxRowDiffs if
	// 0); the others are counted.
	MaxRowDiffs int
	// Progress, if set, is called with each table's report as soon as the table is done.
	Progress func(TableReport)
	// Log, if set, receives a debug record for every sync point (how long each step took).
	Log *slog.Logger
}

// Kind says how a row differs.
type Kind int

const (
	OnlyOnPrimary Kind = iota // the replica lacks the row
	OnlyOnReplica             // the primary lacks the row
	Changed                   // both have the key, with different values
)

// ColumnDiff is one column of a Changed row, as SQL literals.
type ColumnDiff struct {
	Column, Primary, Replica string
}

// RowDiff is one row that differs between the primary and one replica.
type RowDiff struct {
	Replica         string // the replica's address
	Database, Table string
	// Key names the row: its primary key ("id=5"), or for a table without one every column
	// ("(k=2, v=NULL)").
	Key     string
	Kind    Kind
	Columns []ColumnDiff // for Changed rows: the columns that differ
	Copies  int          // for tables without a primary key: how many more copies one side has
}

func (d RowDiff) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s.%s %s: ", d.Replica, d.Database, d.Table, d.Key)
	switch d.Kind {
	case OnlyOnPrimary:
		b.WriteString("only on the primary")
	case OnlyOnReplica:
		b.WriteString("only on the replica")
	case Changed:
		b.WriteString("different values: ")
		for i, c := range d.Columns {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s: primary %s, replica %s", c.Column, c.Primary, c.Replica)
		}
	}
	if d.Copies > 1 {
		fmt.Fprintf(&b, " (%d copies)", d.Copies)
	}
	return b.String()
}

// Problem is a table one replica could not be compared on: missing, or with other columns.
type Problem struct {
	Replica string
	Message string
}

// TableReport is the outcome for one table.
type TableReport struct {
	Database, Table string
	NoPrimaryKey    bool  // checked as one chunk
	Chunks          int   // chunks walked
	Rows            int64 // rows of the primary in those chunks
	// DiffChunks counts chunks that differ on at least one replica; DiffChunksOn by replica.
	DiffChunks   int
	DiffChunksOn map[string]int
	DiffRows     int       // differing rows found, on all replicas
	Diffs        []RowDiff // the first MaxRowDiffs of them
	Problems     []Problem
}

// Differs reports whether any replica differs from the primary on this table.
func (t TableReport) Differs() bool { return t.DiffRows > 0 || len(t.Problems) > 0 }

// Report is the outcome of a run.
type Report struct {
	Primary    string
	Replicas   []string
	Tables     []TableReport
	SyncPoints int      // how many times the primary and the replicas were brought to one point
	Notes      []string // things worth knowing that are not differences (errant transactions)
}

// Differs reports whether any replica differs from the primary.
func (r Report) Differs() bool {
	for _, t := range r.Tables {
		if t.Differs() {
			return true
		}
	}
	return false
}

// Totals sums the tables' chunks, rows, differing chunks and differing rows.
func (r Report) Totals() (chunks int, rows int64, diffChunks, diffRows int) {
	for _, t := range r.Tables {
		chunks += t.Chunks
		rows += t.Rows
		diffChunks += t.DiffChunks
		diffRows += t.DiffRows
	}
	return
}

// Run checks that every replica holds the primary's data, table by table and chunk by chunk,
// and names the rows that differ. An error means the check could not be completed (a server
// unreachable, a replica's applier stopped with an error, a replica too slow to reach a sync
// point): the report then covers the tables done so far.
func Run(ctx context.Context, opts Options) (rep Report, err error) {
	if opts.ChunkSize == 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	if opts.ChunkSize < 1 {
		return Report{}, errors.New("chunk size must be at least 1")
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = DefaultWaitTimeout
	}
	if opts.SyncAge == 0 {
		opts.SyncAge = DefaultSyncAge
	}
	if opts.MaxRowDiffs <= 0 {
		opts.MaxRowDiffs = DefaultMaxRowDiffs
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	seen := map[string]bool{opts.Primary: true}
	for _, a := range opts.Replicas {
		if seen[a] {
			return Report{}, fmt.Errorf("%s is named twice (as the primary or as a replica)", a)
		}
		seen[a] = true
	}
	rep = Report{Primary: opts.Primary}
	c := &checker{opts: opts, notes: map[string]bool{}}
	defer c.close()
	if c.primary, err = c.connect(ctx, opts.Primary); err != nil {
		return rep, err
	}
	if err := c.primary.db.QueryRowContext(ctx, "SELECT @@server_uuid").Scan(&c.primaryUUID); err != nil {
		return rep, fmt.Errorf("primary %s: %w", opts.Primary, err)
	}
	addrs := opts.Replicas
	if len(addrs) == 0 {
		if addrs, err = discoverReplicas(ctx, c.primary); err != nil {
			return rep, err
		}
	}
	for _, a := range addrs {
		r, err := c.connect(ctx, a)
		if err != nil {
			return rep, err
		}
		c.replicas = append(c.replicas, r)
		rep.Replicas = append(rep.Replicas, a)
		if _, err := c.replicaState(ctx, r); err != nil {
			return rep, err
		}
	}
	tables, err := listTables(ctx, c.primary.db, opts.Databases, opts.Tables)
	if err != nil {
		return rep, fmt.Errorf("primary %s: %w", opts.Primary, err)
	}
	defer func() {
		rep.SyncPoints = c.syncPoints
		rep.Notes = c.noteList
	}()
	for _, t := range tables {
		tr, err := c.checkTable(ctx, t)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", t, err)
		}
		rep.Tables = append(rep.Tables, tr)
		if opts.Progress != nil {
			opts.Progress(tr)
		}
	}
	return rep, nil
}

// endpoint is one server.
type endpoint struct {
	addr string
	db   *sql.DB
}

// connect opens a pool to addr and checks that the server answers.
func (c *checker) connect(ctx context.Context, addr string) (*endpoint, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w (want host:port)", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("address %q: bad port", addr)
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = c.opts.User, c.opts.Password, "tcp", net.JoinHostPort(host, port)
	cfg.Timeout = 10 * time.Second
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	db := sql.OpenDB(connector)
	c.pools = append(c.pools, db)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %w", addr, err)
	}
	return &endpoint{addr: addr, db: db}, nil
}

// discoverReplicas lists the replicas connected to the primary that report a usable address.
func discoverReplicas(ctx context.Context, p *endpoint) ([]string, error) {
	rows, err := p.db.QueryContext(ctx, "SHOW REPLICAS")
	if err != nil {
		return nil, fmt.Errorf("SHOW REPLICAS on %s: %w", p.addr, err)
	}
	defer rows.Close()
	var addrs, unusable []string
	for rows.Next() {
		m, err := sqlrows.Map(rows)
		if err != nil {
			return nil, fmt.Errorf("SHOW REPLICAS on %s: %w", p.addr, err)
		}
		host, port := m["Host"], m["Port"]
		if host == "" || port == "" || port == "0" {
			unusable = append(unusable, "server_id "+m["Server_Id"])
			continue
		}
		addrs = append(addrs, net.JoinHostPort(host, port))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(unusable) > 0 {
		return nil, fmt.Errorf("replicas of %s that do not report their address (%s): name every replica with --replica host:port", p.addr, strings.Join(unusable, ", "))
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no replica is connected to %s: name the replicas with --replica host:port", p.addr)
	}
	return addrs, nil
}
