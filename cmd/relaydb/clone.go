package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dolthub/vitess/go/mysql"

	"github.com/relaydb/relaydb/internal/clone"
	"github.com/relaydb/relaydb/internal/server"
)

// cloneDamageEnv is a test hook: a staged file whose name ends with its value gets one byte
// flipped before it is verified, as a disk that corrupted the write would do.
const cloneDamageEnv = "RELAYDB_CLONE_TEST_DAMAGE"

// runClone is `relaydb clone`: copy a running donor's data into a stopped node's datadir (or a
// new one). Exit status 0: cloned and installed; 1: the clone failed (the datadir's data is
// unchanged); 2: bad options.
func runClone(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("relaydb clone", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the donor: USER:PASSWORD@HOST:PORT (the account needs BACKUP_ADMIN; the password may also come from MYSQL_PWD)")
	dataDir := fs.String("datadir", "", "the datadir to clone into: a new or empty directory, or a stopped node's datadir (its data is set aside in clone-old-*)")
	bandwidth := fs.Int64("max-bandwidth", 0, "clone_max_data_bandwidth: MiB/s read from the donor (0: unlimited)")
	logBin := fs.String("log-bin", "binlog", "the node's --log-bin (its old binary log files are set aside)")
	relayLog := fs.String("relay-log", "relay-bin", "the node's --relay-log (its old relay log files are set aside)")
	sslMode := fs.String("ssl-mode", "preferred", "TLS to the donor: preferred, required (not verified), disabled")
	quiet := fs.Bool("quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: relaydb clone --from USER:PASSWORD@HOST:PORT --datadir DIR [options]\n\n"+
			"Copies a running donor's data (a consistent checkpoint of its store and its accounts, with the\n"+
			"GTID set they hold) into DIR, verifying every file's SHA-256, for a new member or a node\n"+
			"that must be rebuilt. The node's identity (auto.cnf) and settings stay; its old data is set\n"+
			"aside, never deleted. Start the node afterwards and point it at its source with\n"+
			"SOURCE_AUTO_POSITION=1. An interrupted clone is completed by running the command again.\n\nOptions:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "relaydb clone: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	src, err := parseCloneSource(*from)
	if err != nil || *dataDir == "" {
		if err == nil {
			err = errors.New("--datadir is required")
		}
		fmt.Fprintf(stderr, "relaydb clone: %v\n", err)
		return 2
	}
	switch *sslMode {
	case "preferred":
		src.TLS = "preferred"
	case "required":
		src.TLS = "skip-verify"
	case "disabled":
		src.TLS = "false"
	default:
		fmt.Fprintf(stderr, "relaydb clone: --ssl-mode: %q is not preferred, required or disabled\n", *sslMode)
		return 2
	}
	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "relaydb clone: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		fmt.Fprintf(stderr, "relaydb clone: %v\n", err)
		return 1
	}
	release, err := server.LockDataDir(dir)
	if err != nil {
		fmt.Fprintf(stderr, "relaydb clone: %v (stop the server first, or use CLONE INSTANCE on it)\n", err)
		return 1
	}
	defer release()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	tracker := clone.NewTracker(filepath.Join(dir, "clone-status.json"))
	if err := tracker.Start(src.String(), dir); err != nil {
		fmt.Fprintf(stderr, "relaydb clone: %v\n", err)
		return 1
	}
	opts := clone.Options{
		Source: src, Dir: dir, Tracker: tracker, Logger: log,
		MaxBandwidth: func() int64 { return *bandwidth << 20 },
	}
	if suffix := os.Getenv(cloneDamageEnv); suffix != "" {
		opts.DamageStaged = func(name, path string) {
			if strings.HasSuffix(name, suffix) {
				damageFile(path)
			}
		}
	}
	var bar *progressBar
	if !*quiet {
		bar = startProgressBar(stderr, tracker)
	}
	start := time.Now()
	m, err := clone.Fetch(ctx, opts)
	var setAside string
	if err == nil {
		tracker.BeginStage(clone.StageRecovery, 0)
		setAside, err = server.InstallStagedClone(dir, clone.Layout{BinlogPrefix: *logBin, RelayLog: *relayLog}, log)
	}
	code := 0
	var se *mysql.SQLError
	if errors.As(err, &se) {
		code = se.Num
	} else if err != nil {
		code = clone.ErUnknown
	}
	tracker.Finish(code, err)
	bar.stop()
	if err != nil {
		fmt.Fprintf(stderr, "relaydb clone: %v\n", err)
		return 1
	}
	st := tracker.Snapshot()
	elapsed := time.Since(start)
	total := m.Total()
	fmt.Fprintf(stdout, "cloned %s from %s into %s in %s (%.1f MiB/s; %s resumed)\ngtid_executed: %s\n",
		formatBytes(total), src.Addr(), dir, elapsed.Round(time.Millisecond),
		float64(total-st.Resumed)/(1<<20)/elapsed.Seconds(), formatBytes(st.Resumed), m.GTIDExecuted)
	if setAside != "" {
		fmt.Fprintf(stdout, "old data set aside in %s\n", setAside)
	}
	return 0
}

// parseCloneSource parses USER:PASSWORD@HOST:PORT (the password may hold ':' and '@').
func parseCloneSource(s string) (clone.Source, error) {
	at := strings.LastIndex(s, "@")
	if s == "" || at < 0 {
		return clone.Source{}, errors.New("--from USER:PASSWORD@HOST:PORT is required")
	}
	cred, hostport := s[:at], s[at+1:]
	user, pw, hasPW := strings.Cut(cred, ":")
	if !hasPW {
		pw = os.Getenv("MYSQL_PWD")
	}
	i := strings.LastIndex(hostport, ":")
	if user == "" || i <= 0 {
		return clone.Source{}, fmt.Errorf("--from %q: want USER:PASSWORD@HOST:PORT", s)
	}
	port, err := strconv.Atoi(hostport[i+1:])
	if err != nil || port <= 0 || port > 65535 {
		return clone.Source{}, fmt.Errorf("--from %q: bad port", s)
	}
	host := strings.Trim(hostport[:i], "[]")
	return clone.Source{User: user, Password: pw, Host: host, Port: port}, nil
}

// damageFile flips one byte in the middle of the file at p (the test hook).
func damageFile(p string) {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return
	}
	b := make([]byte, 1)
	off := st.Size() / 2
	if _, err := f.ReadAt(b, off); err == nil {
		b[0] ^= 0xff
		_, _ = f.WriteAt(b, off)
	}
}

// progressBar draws the clone's progress on one line: bytes, percent, rate and ETA.
type progressBar struct {
	done chan struct{}
	quit chan struct{}
}

func startProgressBar(w io.Writer, t *clone.Tracker) *progressBar {
	b := &progressBar{done: make(chan struct{}), quit: make(chan struct{})}
	go func() {
		defer close(b.done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		type sample struct {
			at    time.Time
			bytes int64
		}
		var window []sample
		drawn := false
		draw := func() {
			st := t.Snapshot()
			var copyStage clone.Stage
			stage := ""
			for _, s := range st.Stages {
				if s.Name == clone.StageFileCopy {
					copyStage = s
				}
				if s.State == clone.StateInProgress {
					stage = s.Name
				}
			}
			if stage == "" {
				return
			}
			now := time.Now()
			window = append(window, sample{now, copyStage.Network})
			for len(window) > 2 && now.Sub(window[0].at) > 5*time.Second {
				window = window[1:]
			}
			rate := 0.0
			if d := now.Sub(window[0].at).Seconds(); d > 0 {
				rate = float64(window[len(window)-1].bytes-window[0].bytes) / d
			}
			fmt.Fprint(w, "\r"+progressLine(stage, copyStage.Data, copyStage.Estimate, rate))
			drawn = true
		}
		for {
			select {
			case <-tick.C:
				draw()
			case <-b.quit:
				draw()
				if drawn {
					fmt.Fprintln(w)
				}
				return
			}
		}
	}()
	return b
}

func (b *progressBar) stop() {
	if b == nil {
		return
	}
	close(b.quit)
	<-b.done
}

// progressLine renders one progress line (fixed width, so \r redraws cleanly).
func progressLine(stage string, done, total int64, rate float64) string {
	const width = 30
	frac := 0.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	if frac > 1 {
		frac = 1
	}
	filled := int(frac * width)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	eta := "--"
	if rate > 0 && total > done {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	} else if total > 0 && done >= total {
		eta = "0s"
	}
	return fmt.Sprintf("%-10s [%s] %5.1f%% %10s / %-10s %9s/s  ETA %-8s", stage, bar, frac*100,
		formatBytes(done), formatBytes(total), formatBytes(int64(rate)), eta)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
