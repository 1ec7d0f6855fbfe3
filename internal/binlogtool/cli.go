package binlogtool

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/relaydb/relaydb/internal/gtid"
)

const usage = `Usage: relaydb binlog [options] FILE...

Prints the events of binlog files. Comments start with '#'; everything else is SQL that
re-executes the selected transactions:  relaydb binlog FILE... | mariadb -h HOST -u USER
Options may come before or after the files. Datetimes are 'YYYY-MM-DD HH:MM:SS' in local time.

`

// Run is the `relaydb binlog` command: it parses args, prints to stdout and reports problems on
// stderr. The exit status is 0 when everything selected was printed as SQL, 1 when a file could
// not be read or a transaction could only be printed as comments, 2 for bad usage.
func Run(args []string, stdout, stderr io.Writer) int {
	opts, files, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "relaydb binlog: %v\n", err)
		return 2
	}
	res, err := Print(stdout, files, opts)
	code := 0
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "relaydb binlog: warning: %s\n", w)
	}
	for _, u := range res.Unreplayable {
		fmt.Fprintf(stderr, "relaydb binlog: %s\n", u)
		code = 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "relaydb binlog: %v\n", err)
		code = 1
	}
	return code
}

// parseArgs reads mysqlbinlog's option names. Go's flag package stops at the first file name;
// parsing resumes after each one so that options may follow the files, as mysqlbinlog allows.
func parseArgs(args []string, stderr io.Writer) (Options, []string, error) {
	var opts Options
	var startDT, stopDT, include, exclude string
	fs := flag.NewFlagSet("relaydb binlog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.BoolVar(&opts.Verbose, "verbose", false, "also print row events as commented pseudo-SQL (### lines)")
	fs.BoolVar(&opts.Verbose, "v", false, "shorthand for --verbose")
	fs.BoolVar(&opts.SkipGTIDs, "skip-gtids", false, "do not print SET @@SESSION.GTID_NEXT statements")
	fs.Int64Var(&opts.StartPosition, "start-position", 0, "skip transactions starting before this offset of the first file")
	fs.Int64Var(&opts.StopPosition, "stop-position", 0, "stop at the first event at or after this offset of the last file")
	fs.StringVar(&startDT, "start-datetime", "", "skip transactions older than this time")
	fs.StringVar(&stopDT, "stop-datetime", "", "stop at the first transaction at or after this time")
	fs.StringVar(&include, "include-gtids", "", "print only transactions whose GTID is in this set")
	fs.StringVar(&exclude, "exclude-gtids", "", "leave out transactions whose GTID is in this set")

	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return opts, nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		files = append(files, rest[0])
		args = rest[1:]
	}
	if len(files) == 0 {
		fs.Usage()
		return opts, nil, errors.New("no binlog file given")
	}
	if opts.StartPosition < 0 || opts.StopPosition < 0 {
		return opts, nil, errors.New("positions cannot be negative")
	}
	var err error
	if opts.StartDatetime, err = parseDatetime("--start-datetime", startDT); err != nil {
		return opts, nil, err
	}
	if opts.StopDatetime, err = parseDatetime("--stop-datetime", stopDT); err != nil {
		return opts, nil, err
	}
	if opts.IncludeGTIDs, err = parseGTIDs("--include-gtids", include); err != nil {
		return opts, nil, err
	}
	if opts.ExcludeGTIDs, err = parseGTIDs("--exclude-gtids", exclude); err != nil {
		return opts, nil, err
	}
	return opts, files, nil
}

// parseDatetime reads a datetime in local time, as mysqlbinlog does.
func parseDatetime(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%s=%q: want 'YYYY-MM-DD HH:MM:SS'", name, s)
}

func parseGTIDs(name, s string) (*gtid.Set, error) {
	if s == "" {
		return nil, nil
	}
	set, err := gtid.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &set, nil
}
