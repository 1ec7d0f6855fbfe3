package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/relaydb/relaydb/internal/checksum"
)

// addrList is a repeatable host:port flag.
type addrList []string

func (a *addrList) String() string { return strings.Join(*a, ",") }

func (a *addrList) Set(s string) error {
	for _, one := range strings.Split(s, ",") {
		one = strings.TrimSpace(one)
		host, port, err := net.SplitHostPort(one)
		if err != nil || host == "" {
			return fmt.Errorf("%q is not host:port", one)
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return fmt.Errorf("%q: bad port", one)
		}
		*a = append(*a, one)
	}
	return nil
}

// runChecksum is `relaydb checksum`: compare a primary's tables with its replicas'
// (internal/checksum). Exit status 0: every replica matches; 1: differences; 2: the check could
// not be done.
func runChecksum(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("relaydb checksum", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.String("host", "127.0.0.1", "the primary's address")
	port := fs.Int("port", 3306, "the primary's port")
	user := fs.String("user", "root", "user on every server (needs SELECT and RELOAD on the primary, SELECT and STOP/START REPLICA on the replicas)")
	password := fs.String("password", "", "password (or the MYSQL_PWD environment variable)")
	var replicas addrList
	fs.Var(&replicas, "replica", "a replica's host:port (repeat, or separate with commas); default: the replicas SHOW REPLICAS lists with their port")
	databases := fs.String("databases", "", "comma-separated databases to check (default: all but the system schemas)")
	tables := fs.String("tables", "", "comma-separated tables to check, as db.table")
	chunkSize := fs.Int("chunk-size", checksum.DefaultChunkSize, "rows of the primary per chunk")
	waitTimeout := fs.Duration("wait-timeout", checksum.DefaultWaitTimeout, "how long to wait for a replica to reach a sync point (and for the primary's read lock)")
	syncAge := fs.Duration("sync-age", checksum.DefaultSyncAge, "how long one sync point serves chunks before the next is taken (0: one per chunk)")
	maxRows := fs.Int("max-rows", checksum.DefaultMaxRowDiffs, "differing rows listed per table (the others are counted)")
	verbose := fs.Bool("verbose", false, "log every sync point, with how long each step took, to standard error")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: relaydb checksum [options] --replica HOST:PORT [--replica HOST:PORT ...]\n\n"+
			"Checks, while writes go on, that every replica holds the primary's data: each table is\n"+
			"compared chunk by chunk at sync points (a snapshot on the primary under a brief FLUSH\n"+
			"TABLES WITH READ LOCK, each replica brought to the same GTID set with START REPLICA\n"+
			"UNTIL SQL_AFTER_GTIDS), and the rows of differing chunks are named.\n"+
			"Exit status: 0 all match, 1 differences found, 2 the check could not be done.\n\nOptions:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "relaydb checksum: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *password == "" {
		*password = os.Getenv("MYSQL_PWD")
	}
	opts := checksum.Options{
		Primary:     net.JoinHostPort(*host, strconv.Itoa(*port)),
		Replicas:    replicas,
		User:        *user,
		Password:    *password,
		Databases:   splitList(*databases),
		Tables:      splitList(*tables),
		ChunkSize:   *chunkSize,
		WaitTimeout: *waitTimeout,
		SyncAge:     *syncAge,
		MaxRowDiffs: *maxRows,
		Progress:    func(t checksum.TableReport) { fmt.Fprintln(stdout, tableLine(t)) },
	}
	if *syncAge == 0 {
		opts.SyncAge = -1
	}
	if *verbose {
		opts.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if *chunkSize < 1 {
		fmt.Fprintln(stderr, "relaydb checksum: --chunk-size must be at least 1")
		return 2
	}

	// On SIGINT or SIGTERM the run stops, and starts again the replica appliers it held.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := checksum.Run(ctx, opts)
	printDiffs(stdout, rep)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "relaydb checksum: interrupted (%v)\n", err)
			return 2
		}
		fmt.Fprintf(stderr, "relaydb checksum: %v\n", err)
		return 2
	}
	chunks, rows, diffChunks, diffRows := rep.Totals()
	verdict := "no differences"
	if rep.Differs() {
		verdict = fmt.Sprintf("%d differing rows in %d chunks", diffRows, diffChunks)
		if n := problemCount(rep); n > 0 {
			verdict += fmt.Sprintf(", %d tables not comparable", n)
		}
	}
	fmt.Fprintf(stdout, "relaydb checksum: %d tables, %d chunks, %d rows of %s compared with %d replicas at %d sync points: %s\n",
		len(rep.Tables), chunks, rows, rep.Primary, len(rep.Replicas), rep.SyncPoints, verdict)
	if rep.Differs() {
		return 1
	}
	return 0
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// tableLine is the summary line of one table.
func tableLine(t checksum.TableReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s.%s: %d %s", t.Database, t.Table, t.Chunks, plural(t.Chunks, "chunk", "chunks"))
	if t.NoPrimaryKey {
		b.WriteString(" (no primary key: the whole table is one chunk)")
	}
	fmt.Fprintf(&b, ", %d rows, %d differing %s", t.Rows, t.DiffChunks, plural(t.DiffChunks, "chunk", "chunks"))
	if t.DiffChunks > 0 {
		var on []string
		for addr, n := range t.DiffChunksOn {
			on = append(on, fmt.Sprintf("%s: %d", addr, n))
		}
		slices.Sort(on)
		fmt.Fprintf(&b, " (%s)", strings.Join(on, ", "))
	}
	for _, p := range t.Problems {
		fmt.Fprintf(&b, "; %s: %s", p.Replica, p.Message)
	}
	return b.String()
}

// printDiffs lists the differing rows and the notes.
func printDiffs(w io.Writer, rep checksum.Report) {
	header := false
	for _, t := range rep.Tables {
		if !t.Differs() {
			continue
		}
		if !header {
			fmt.Fprintln(w, "Differences:")
			header = true
		}
		for _, p := range t.Problems {
			fmt.Fprintf(w, "%s %s.%s: %s\n", p.Replica, t.Database, t.Table, p.Message)
		}
		for _, d := range t.Diffs {
			fmt.Fprintln(w, d.String())
		}
		if more := t.DiffRows - len(t.Diffs); more > 0 {
			fmt.Fprintf(w, "… and %d more differing rows in %s.%s (--max-rows)\n", more, t.Database, t.Table)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func problemCount(rep checksum.Report) int {
	n := 0
	for _, t := range rep.Tables {
		n += len(t.Problems)
	}
	return n
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
