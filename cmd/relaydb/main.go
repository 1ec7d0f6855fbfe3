package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/relaydb/relaydb/internal/config"
	"github.com/relaydb/relaydb/internal/server"
	"github.com/relaydb/relaydb/internal/storage"
)

// testStorage backs the hidden --storage=memory option (GMS's in-memory toy),
// for tests and experiments only.
var testStorage server.OpenStorageFunc = server.OpenMemoryStorage

const usage = `relaydb: a MySQL-compatible SQL server built for replication.

Usage:
  relaydb server [options]   run a server (see 'relaydb server --help')
  relaydb up [options]       run a local highly available cluster (see 'relaydb up --help')
  relaydb arbiter [options]  run a data-less cluster voter (see 'relaydb arbiter --help')
  relaydb status [options]   show a cluster's members, roles, epoch, leases and journal
  relaydb switchover [options] hand the primary's role to another member (see 'relaydb switchover --help')
  relaydb binlog FILE...     print binlog files as replayable SQL (see 'relaydb binlog --help')
  relaydb dump [options]     dump a running server consistently, for seeding a replica (see 'relaydb dump --help')
  relaydb checksum [options] check that replicas hold the primary's data, naming differing rows (see 'relaydb checksum --help')
  relaydb clone [options]    copy a running donor's data into a stopped or new node's datadir (see 'relaydb clone --help')
  relaydb version            print the version
  relaydb help               print this help

`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "server":
		return runServer(args[1:], stdout, stderr)
	case "binlog":
		return runBinlog(args[1:], stdout, stderr)
	case "up":
		return runUp(args[1:], stdout, stderr)
	case "arbiter":
		return runArbiter(args[1:], stdout, stderr)
	case "status":
		return runStatus(args[1:], stdout, stderr)
	case "switchover":
		return runSwitchover(args[1:], stdout, stderr)
	case "dump":
		return runDump(args[1:], stdout, stderr)
	case "checksum":
		return runChecksum(args[1:], stdout, stderr)
	case "clone":
		return runClone(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "relaydb", server.Version)
		return 0
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "relaydb: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// loadOptions parses a command's options and makes its logger; code is the exit code to return
// at once when it is not -1 (help shown, or bad options).
func loadOptions(name string, args []string, stdout, stderr io.Writer) (opts config.Options, log *slog.Logger, code int) {
	opts, err := config.Load(name, args, os.Getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return opts, nil, 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return opts, nil, 2
	}
	return opts, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: opts.LogLevel})), -1
}

func runServer(args []string, stdout, stderr io.Writer) int {
	opts, log, code := loadOptions("relaydb server", args, stdout, stderr)
	if code >= 0 {
		return code
	}
	slog.SetDefault(log)
	tuneGC(log)

	if opts.MaxRelayLogSize == 0 {
		opts.MaxRelayLogSize = opts.MaxBinlogSize // max_relay_log_size = 0, as in MySQL
	}
	var redirect func(string) string
	if opts.InCluster() {
		d, err := clusterDialer(opts)
		if err != nil {
			fmt.Fprintf(stderr, "relaydb server: %v\n", err)
			return 2
		}
		redirect = d.Target
	}
	open := pebbleStorageOpener(opts)
	if opts.Storage == "memory" {
		open = testStorage
		log.Warn("serving the in-memory test storage: tables are lost when the process exits")
	}
	node, err := server.Open(server.Config{
		DataDir:          opts.DataDir,
		Host:             opts.Host,
		Port:             opts.Port,
		ServerID:         opts.ServerID,
		RootPassword:     opts.RootPassword,
		CacheSize:        int64(opts.CacheSize),
		MaxAllowedPacket: int64(opts.MaxAllowedPacket),
		Logger:           log,
		OpenStorage:      open,
		BinlogPrefix:     opts.LogBin,
		RelayLog:         opts.RelayLog,
		MaxRelayLogSize:  int64(opts.MaxRelayLogSize),
		ReplicaFilters:   opts.ReplicaFilters(),
		TLS:              server.TLSFiles{Cert: opts.SSLCert, Key: opts.SSLKey, CA: opts.SSLCA, Skip: opts.SkipSSL},
		// Autocommit statements that lose a write race are rerun, as InnoDB would wait instead.
		RetryableStatementError: storage.IsStaleWrite,
		Cluster:                 opts.InCluster(),
		Redirect:                redirect,
		UnsafeNoFence:           opts.UnsafeNoFence,
	})
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	var member interface{ Close() error }
	if opts.InCluster() {
		m, err := startClusterMember(opts, node, log)
		if err != nil {
			log.Error("cannot join the cluster", "err", err)
			_ = node.Close()
			return 1
		}
		member = m
	}

	var pprofSrv *http.Server
	if opts.PprofAddr != "" {
		pprofSrv, err = servePprof(opts.PprofAddr, log)
		if err != nil {
			log.Error("cannot start pprof", "err", err)
			_ = node.Close()
			return 1
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- node.Serve() }()

	code = 0
	select {
	case <-ctx.Done():
		log.Info("shutting down", "reason", "signal")
	case err := <-serveErr:
		if err != nil {
			log.Error("server stopped", "err", err)
			code = 1
		}
	}
	stop()
	// A shutdown must end: a handler or a commit that never returns would otherwise leave the
	// process alive but deaf (seen once in a failover test: a member re-executing itself to
	// install a clone hung in Close and never came back). Past the bound the process ends as
	// after kill -9, which the storage and the cluster are built to survive.
	finished := make(chan struct{})
	defer close(finished)
	go shutdownWatchdog(finished, node, log, shutdownBoundFromEnv())
	if member != nil {
		member.Close()
	}
	if pprofSrv != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = pprofSrv.Shutdown(shutdownCtx)
		cancel()
	}
	if os.Getenv("RELAYDB_FAILPOINT") == "shutdown:hang" {
		select {} // tests: a shutdown that never ends, for the watchdog to end it
	}
	if err := node.Close(); err != nil {
		log.Error("shutdown", "err", err)
		code = 1
	}
	if code == 0 && node.RestartRequested() {
		restartForClone(log)
		return 1
	}
	return code
}

// shutdownBound is how long the whole shutdown may take: the server's own bounded wait for
// busy connections, plus the cluster member's and the storage's closing.
const shutdownBound = 75 * time.Second

// shutdownBoundFromEnv is shutdownBound, or RELAYDB_SHUTDOWN_BOUND (a duration) for tests.
func shutdownBoundFromEnv() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("RELAYDB_SHUTDOWN_BOUND")); err == nil && d > 0 {
		return d
	}
	return shutdownBound
}

// shutdownWatchdog ends the process when the shutdown has not finished within shutdownBound:
// it writes every goroutine's stack to the datadir for diagnosis, then re-executes the server
// when a clone waits to be installed, or exits with status 1.
func shutdownWatchdog(finished <-chan struct{}, node *server.Node, log *slog.Logger, bound time.Duration) {
	select {
	case <-finished:
		return
	case <-time.After(bound):
	}
	log.Error("shutdown did not finish; ending the process as after a crash (the storage recovers from its log)",
		"waited", bound, "stacks", node.WriteGoroutineStacks("stuck-shutdown"))
	if node.RestartRequested() {
		restartForClone(log)
	}
	os.Exit(1)
}

// restartForClone re-executes the same command in this process: the node replaced its data by
// a clone of its primary (a rejoin the rewind could not do), and the start installs it. It
// returns only when the exec failed.
func restartForClone(log *slog.Logger) {
	exe, err := os.Executable()
	if err == nil {
		log.Warn("restarting to install the clone", "exe", exe)
		err = syscall.Exec(exe, os.Args, os.Environ())
	}
	log.Error("could not restart to install the clone; start the server again", "err", err)
}

func servePprof(addr string, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server", "err", err)
		}
	}()
	log.Info("serving pprof", "addr", ln.Addr().String())
	return srv, nil
}
