package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/relaydb/relaydb/internal/dump"
)

// runDump is `relaydb dump`: a consistent logical dump of a running server (internal/dump).
func runDump(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("relaydb dump", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.String("host", "127.0.0.1", "server address")
	port := fs.Int("port", 3306, "server port")
	user := fs.String("user", "root", "user (needs SELECT, RELOAD and REPLICATION CLIENT)")
	password := fs.String("password", "", "password (or the MYSQL_PWD environment variable)")
	databases := fs.String("databases", "", "comma-separated databases to dump (default: all but the system schemas)")
	sourceData := fs.Int("source-data", 2, "1: write CHANGE REPLICATION SOURCE TO with the binlog file and position; 2: the same as a comment; 0: neither")
	gtidPurged := fs.String("set-gtid-purged", "AUTO", "AUTO, ON or OFF: load with sql_log_bin=0 and end with SET GLOBAL gtid_purged (for SOURCE_AUTO_POSITION=1)")
	out := fs.String("result-file", "", "write to this file instead of standard output")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: relaydb dump [options] > dump.sql\n\n"+
			"Writes every table, view and trigger as SQL, read in one snapshot taken under a brief\n"+
			"FLUSH TABLES WITH READ LOCK, with the binlog position and gtid_executed it matches.\n"+
			"Load it with: mariadb -h HOST -P PORT -u root < dump.sql\n\nOptions:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *password == "" {
		*password = os.Getenv("MYSQL_PWD")
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net = *user, *password, "tcp"
	cfg.Addr = net.JoinHostPort(*host, strconv.Itoa(*port))
	cfg.Timeout = 10 * time.Second
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "relaydb dump: %v\n", err)
		return 2
	}
	db := sql.OpenDB(connector)
	defer db.Close()

	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "relaydb dump: %v\n", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	opts := dump.Options{SourceData: *sourceData, GTIDPurged: *gtidPurged}
	if *databases != "" {
		opts.Databases = strings.Split(*databases, ",")
	}
	pos, stats, err := dump.Run(context.Background(), db, opts, w)
	if err != nil {
		fmt.Fprintf(stderr, "relaydb dump: %v\n", err)
		return 1
	}
	if f, ok := w.(*os.File); ok && f != os.Stdout {
		if err := f.Sync(); err != nil {
			fmt.Fprintf(stderr, "relaydb dump: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "relaydb dump: %d tables (%d rows), %d views, %d triggers from %d databases at %s:%d, gtid_executed '%s'\n",
		stats.Tables, stats.Rows, stats.Views, stats.Triggers, stats.Databases, pos.File, pos.Pos, pos.Executed)
	return 0
}
