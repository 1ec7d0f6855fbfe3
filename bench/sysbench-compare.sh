#!/usr/bin/env bash
# Runs the same sysbench 1.0 workloads against a single RelayDB node and against MariaDB 10.11
# alone (../shared/anchors/mariadb-pair.sh start-primary) in one invocation, and prints a table of
# figures and ratios (RelayDB / MariaDB). Absolute figures move a lot between runs on shared
# machines; only the ratios of one run mean something.
#
# usage:
#   bench/sysbench-compare.sh [compare] [options]   the comparison (default)
#   bench/sysbench-compare.sh checksum [options]    RelayDB only: prepare, oltp_read_write, per-table
#                                                   checksum, restart relaydb, checksum again, compare
#                                                   (exit 1 on MISMATCH)
#   bench/sysbench-compare.sh share FILE.pprof...   share of CPU in internal/storage and Pebble
#
# exit status: 0 all runs finished, 1 checksum MISMATCH, 2 a run failed (sysbench exited non-zero or
# relaydb died), other: could not start (build failed, server did not come up, prepare failed).
#
# options (each also settable through the environment variable in brackets):
#   --tables N          [TABLES]        tables (4)
#   --table-size N      [TABLE_SIZE]    rows per table (100000)
#   --duration S        [DURATION]      seconds per workload (60)
#   --workloads LIST    [WORKLOADS]     comma list of workload:threads; default
#                                       oltp_point_select:1,oltp_point_select:8,oltp_read_only:8,
#                                       oltp_write_only:1,oltp_write_only:8,oltp_read_write:8
#   --only TARGET       [ONLY]          relaydb or mariadb: run one side only
#   --profile LIST      [PROFILE]       CPU-profile RelayDB during these runs: comma list of
#                                       workload or workload:threads, or "all"; profiles go to
#                                       bench/profiles/<workload>_<threads>t.pprof [PROFILE_DIR]
#   --profile-seconds S [PROFILE_SECONDS] profile length (default: the run less a few seconds)
#   --checksum          [CHECKSUM=1]    after oltp_read_write, run the checksum/restart check too
#   --kill              [CHECKSUM_SIGNAL=KILL] restart with kill -9 instead of SIGTERM
# other environment:
#   SHARED_DIR      folder holding anchors/mariadb-pair.sh (default: <repo>/../shared)
#   RELAYDB_BIN     use this relaydb binary instead of building ./cmd/relaydb
#   RELAYDB_ARGS    extra flags for `relaydb server`
#   SYSBENCH_ARGS   extra flags for every sysbench call (e.g. --db-ps-mode=disable)
#   OUT_DIR         where sysbench and server logs go (default bench/out/<date-time>)
#   KEEP=1          keep the temporary data folders of both servers
#
# How the storage share is computed (the `share` sub-command, also printed after each profile):
# `go tool pprof -traces` prints every sampled stack with its CPU time. A sample counts as
# "storage, cumulative" if any frame of its stack is a function of
# github.com/relaydb/relaydb/internal/storage or github.com/cockroachdb/pebble (any major version),
# and as "storage, flat" if its innermost frame is. Cumulative is the CPU spent in storage calls
# including what they call (allocation, syscalls, GC assists charged to them); flat is the CPU spent
# in storage code itself. By hand, the cumulative figure is what
#   go tool pprof -top -nodefraction=0 -nodecount=1000000 \
#     -focus='^github.com/(relaydb/relaydb/internal/storage|cockroachdb/pebble)' FILE.pprof
# reports as "Showing nodes accounting for X, Y% of Z total" (Y is the share; without
# -nodefraction=0 pprof drops small nodes and Y comes out too low). SHARE_RE=REGEXP measures the share
# of other packages the same way.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && git rev-parse --show-toplevel)
SHARED_DIR=${SHARED_DIR:-$ROOT/../shared}
PAIR=$SHARED_DIR/anchors/mariadb-pair.sh

TABLES=${TABLES:-4}
TABLE_SIZE=${TABLE_SIZE:-100000}
DURATION=${DURATION:-60}
DEFAULT_WORKLOADS=oltp_point_select:1,oltp_point_select:8,oltp_read_only:8,oltp_write_only:1,oltp_write_only:8,oltp_read_write:8
WORKLOADS=${WORKLOADS:-$DEFAULT_WORKLOADS}
ONLY=${ONLY:-}
PROFILE=${PROFILE:-}
PROFILE_SECONDS=${PROFILE_SECONDS:-}
PROFILE_DIR=${PROFILE_DIR:-$ROOT/bench/profiles}
CHECKSUM=${CHECKSUM:-0}
CHECKSUM_SIGNAL=${CHECKSUM_SIGNAL:-TERM}
RELAYDB_BIN=${RELAYDB_BIN:-}
RELAY_VER=
RELAYDB_ARGS=${RELAYDB_ARGS:-}
SYSBENCH_ARGS=${SYSBENCH_ARGS:-}
OUT_DIR=${OUT_DIR:-$ROOT/bench/out/$(date +%Y%m%d-%H%M%S)}
KEEP=${KEEP:-0}
# Function names of the storage packages (package path, then "." or "/" and more).
STORAGE_RE=${SHARE_RE:-'^github[.]com/(relaydb/relaydb/internal/storage|cockroachdb/pebble(/v[0-9]+)?)[./]'}

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,/^set -Eeuo/{/^set/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

# --- CPU profile share ---------------------------------------------------------------------------

# share FILE: prints the share of CPU samples that are in storage (see the header).
share() {
  local f=$1
  go tool pprof -traces "$f" 2>/dev/null | awk -v re="$STORAGE_RE" -v label="${SHARE_RE:-internal/storage + pebble}" '
    function unit(v) { # pprof prints 10ms, 1.20s, 500us, 3ns, 1min
      if (v ~ /min$/) return v * 60e9
      if (v ~ /ms$/) return v * 1e6
      if (v ~ /us$/) return v * 1e3
      if (v ~ /ns$/) return v * 1
      if (v ~ /s$/)  return v * 1e9
      return v
    }
    function flush() {
      if (inside && !first) { total += val; if (any) cum += val; if (leaf) flat += val }
      inside = 0; any = 0; leaf = 0; first = 0; val = 0
    }
    /^-+\+-+$/ { flush(); inside = 1; first = 1; next }
    !inside { next }
    {
      # The first line of a sample is "<value> <function>"; the next lines are callers.
      # Label lines ("key:value" before the stack) have no function after a value.
      line = $0
      if (first && match(line, /^ *[0-9.]+(ns|us|ms|s|min|)? +/)) {
        split(line, a, " "); val = unit(a[1]); fn = a[2]; first = 0
        if (fn ~ re) { any = 1; leaf = 1 }
        next
      }
      if (!first) { n = split(line, a, " "); if (n >= 1 && a[1] ~ re) any = 1 }
    }
    END {
      flush()
      if (total == 0) { print "  storage share: no samples"; exit }
      printf "  storage share (%s): cumulative %.1f%%, flat %.1f%% of %.2fs CPU\n", label, 100*cum/total, 100*flat/total, total/1e9
    }'
}

# --- servers -------------------------------------------------------------------------------------

WORK=
RPID=
RPORT=
RSTARTS=0
RDEAD=0
RDEAD_WHY=DEAD
PPROF_ADDR=
MPORT=
MARIADB_UP=0
SBPID=
PROFPID=

free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
      { ! command -v ss >/dev/null || [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ]; }; then
      echo "$p"
      return
    fi
  done
  die "no free port found"
}

# sql TARGET STATEMENT: runs one statement with the mariadb client, tab-separated, no headers.
sql() {
  case $1 in
  relaydb) mariadb -h127.0.0.1 -P"$RPORT" -uroot -N -B -e "$2" ;;
  mariadb) mariadb -h127.0.0.1 -P"$MPORT" -usb -psb -N -B -e "$2" ;;
  esac
}

build_relaydb() {
  if [ -n "$RELAYDB_BIN" ]; then
    [ -x "$RELAYDB_BIN" ] || die "RELAYDB_BIN=$RELAYDB_BIN is not an executable"
    return
  fi
  log "building relaydb from $ROOT"
  # Read now: other commits may land while the benchmark runs.
  RELAY_VER=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)
  git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || RELAY_VER+="+dirty"
  if ! (cd "$ROOT" && go build -o "$WORK/relaydb" ./cmd/relaydb) >"$OUT_DIR/build.log" 2>&1; then
    cat "$OUT_DIR/build.log" >&2
    die "go build ./cmd/relaydb failed (to measure MariaDB alone: --only mariadb)"
  fi
  RELAYDB_BIN=$WORK/relaydb
}

start_relaydb() {
  RSTARTS=$((RSTARTS + 1))
  local lf=$OUT_DIR/relaydb-$RSTARTS.log
  local args=(server --datadir="$WORK/relaydb-data" --host=127.0.0.1 --port="$RPORT" --server-id=1)
  [ -n "$PPROF_ADDR" ] && args+=(--pprof-addr="$PPROF_ADDR")
  # shellcheck disable=SC2206 # RELAYDB_ARGS is a list of flags, split on purpose
  [ -n "$RELAYDB_ARGS" ] && args+=($RELAYDB_ARGS)
  log "starting relaydb ${args[*]}"
  "$RELAYDB_BIN" "${args[@]}" >"$lf" 2>&1 &
  RPID=$!
  RDEAD=0
  for _ in $(seq 600); do
    if ! kill -0 "$RPID" 2>/dev/null; then
      tail -20 "$lf" >&2
      log "error: relaydb exited during start-up; see $lf"
      RPID=
      return 1
    fi
    if grep -q 'ready for connections' "$lf" && sql relaydb 'SELECT 1' >/dev/null 2>&1; then
      return
    fi
    sleep 0.2
  done
  log "error: relaydb was not ready for connections after 120 s; see $lf"
  return 1
}

# stop_relaydb [SIGNAL]: TERM waits up to 60 s for a clean exit, then kills.
stop_relaydb() {
  local sig=${1:-TERM}
  [ -n "$RPID" ] || return 0
  if kill -0 "$RPID" 2>/dev/null; then
    kill -s "$sig" "$RPID" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$RPID" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$RPID" 2>/dev/null; then
      log "relaydb did not exit within 60 s of SIG$sig; killing it"
      kill -9 "$RPID" 2>/dev/null || true
    fi
  fi
  wait "$RPID" 2>/dev/null || true
  RPID=
}

start_mariadb() {
  [ -f "$PAIR" ] || die "$PAIR not found (set SHARED_DIR)"
  MPORT=$(free_port)
  log "starting MariaDB (mariadb-pair.sh start-primary) on port $MPORT"
  BASE=$WORK/mariadb PRIMARY_PORT=$MPORT bash "$PAIR" start-primary >&2
  MARIADB_UP=1
}

mariadb_pid() { cat "$WORK/mariadb/primary/pid" 2>/dev/null || true; }

stop_mariadb() {
  [ "$MARIADB_UP" = 1 ] || return 0
  local pid
  pid=$(mariadb_pid)
  BASE=$WORK/mariadb PRIMARY_PORT=$MPORT bash "$PAIR" stop || true
  if [ -n "$pid" ]; then
    for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  cp "$WORK/mariadb/primary/log" "$OUT_DIR/mariadb.log" 2>/dev/null || true
  MARIADB_UP=0
}

# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local p
  for p in $SBPID $PROFPID; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  stop_relaydb TERM || true
  stop_mariadb || true
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    if [ "$KEEP" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  fi
  exit "$rc"
}

# hwm PID: peak resident set size in MiB (VmHWM), or "-".
hwm() {
  local kb
  kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)
  if [ -n "$kb" ]; then echo $((kb / 1024)); else echo -; fi
}

# peak_rss TARGET PID: the highest VmHWM seen, in MiB. VmHWM starts again when a server restarts
# (--checksum), so the readings taken after each run count too.
peak_rss() {
  local k
  {
    hwm "$2"
    for k in "${!RSS[@]}"; do [[ $k == "$1|"* ]] && echo "${RSS[$k]}"; done
  } | grep -E '^[0-9]+$' | sort -n | tail -1 || true
}

# --- sysbench ------------------------------------------------------------------------------------

# sb TARGET WORKLOAD THREADS COMMAND [flags...]: runs sysbench, bounded in time (SB_TIMEOUT s).
sb() {
  local t=$1 w=$2 n=$3 c=$4 port user pass
  shift 4
  if [ "$t" = relaydb ]; then port=$RPORT user=root pass=; else port=$MPORT user=sb pass=sb; fi
  # In the background, so that a signal to this script is handled at once (bash runs traps only
  # between foreground commands, and timeout keeps terminal signals from its child).
  # shellcheck disable=SC2086 # SYSBENCH_ARGS is a list of flags
  timeout --kill-after=10 "$SB_TIMEOUT" sysbench "$w" --db-driver=mysql \
    --mysql-host=127.0.0.1 --mysql-port="$port" --mysql-user="$user" --mysql-password="$pass" \
    --mysql-db=sbtest --tables="$TABLES" --table-size="$TABLE_SIZE" --threads="$n" \
    $SYSBENCH_ARGS "$@" "$c" &
  SBPID=$!
  local rc=0
  wait "$SBPID" || rc=$?
  SBPID=
  return "$rc"
}

prepare() { # TARGET
  local t=$1 n=$((TABLES < 4 ? TABLES : 4)) t0 rc=0
  sql "$t" 'CREATE DATABASE IF NOT EXISTS sbtest' || return 1
  log "$t: preparing $TABLES tables x $TABLE_SIZE rows"
  t0=$(date +%s)
  SB_TIMEOUT=3600 sb "$t" oltp_read_write "$n" prepare >"$OUT_DIR/$t-prepare.log" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    tail -20 "$OUT_DIR/$t-prepare.log" >&2
    log "error: $t: sysbench prepare failed (exit $rc); see $OUT_DIR/$t-prepare.log"
    return 1
  fi
  PREP_SECS[$t]=$(($(date +%s) - t0))
  log "$t: prepared in ${PREP_SECS[$t]} s"
}

wants_profile() { # WORKLOAD THREADS
  local item
  [ -n "$PROFILE" ] || return 1
  [ "$PROFILE" = all ] && return 0
  IFS=, read -ra items <<<"$PROFILE"
  for item in "${items[@]}"; do
    [ "$item" = "$1" ] || [ "$item" = "$1:$2" ] && return 0
  done
  return 1
}

# Results, keyed "target|workload|threads".
declare -A FIG ERRS IGN CODES RSS LOAD GROUP
declare -A PREP_SECS

run_one() { # TARGET WORKLOAD THREADS
  local t=$1 w=$2 n=$3 key="$1|$2|$3" lf="$OUT_DIR/$1-$2-$3.log" rc=0 pf="" lead secs
  if [ "$t" = relaydb ] && [ "$RDEAD" = 1 ]; then
    FIG[$key]=$RDEAD_WHY ERRS[$key]=- IGN[$key]=- RSS[$key]=-
    FAILED=$((FAILED + 1))
    return
  fi
  if [ "$t" = relaydb ] && wants_profile "$w" "$n"; then
    mkdir -p "$PROFILE_DIR"
    pf=$PROFILE_DIR/${w}_${n}t.pprof
    lead=$((DURATION / 6 < 5 ? DURATION / 6 : 5))
    secs=${PROFILE_SECONDS:-$((DURATION - lead - 2 > 1 ? DURATION - lead - 2 : 1))}
    (sleep "$lead"; curl -sS --max-time $((secs + 30)) -o "$pf" \
      "http://$PPROF_ADDR/debug/pprof/profile?seconds=$secs" 2>"$pf.err" || true) &
    PROFPID=$!
  fi
  log "$t: $w, $n thread(s), ${DURATION} s"
  local gc0=
  [ "$t" = relaydb ] && gc0=$(binlog_counters)
  SB_TIMEOUT=$((DURATION + 120)) sb "$t" "$w" "$n" run --time="$DURATION" --report-interval=0 >"$lf" 2>&1 || rc=$?
  if [ -n "$PROFPID" ]; then wait "$PROFPID" || true; PROFPID=; fi

  local v
  if [[ $w == oltp_point_select ]]; then
    v=$(sed -n 's/^ *queries: *[0-9]* *(\([0-9.]*\) per sec.).*/\1/p' "$lf")
  else
    v=$(sed -n 's/^ *transactions: *[0-9]* *(\([0-9.]*\) per sec.).*/\1/p' "$lf")
  fi
  FIG[$key]=${v:-FAIL}
  LOAD[$key]=$(cut -d' ' -f1 /proc/loadavg)
  [ "$rc" != 0 ] && FAILED=$((FAILED + 1))
  [ "$rc" != 0 ] && [ -n "$v" ] && FIG[$key]="$v*"
  # A non-ignored error ends the thread that got it: count those threads.
  ERRS[$key]=$(grep -c "function failed" "$lf" || true)
  [ "$rc" != 0 ] && [ "${ERRS[$key]}" = 0 ] && ERRS[$key]="exit $rc"
  IGN[$key]=$(sed -n 's/^ *ignored errors: *\([0-9]*\).*/\1/p' "$lf")
  IGN[$key]=${IGN[$key]:--}
  CODES[$key]=$(grep -oE 'returned error [0-9]+|MySQL error: [0-9]+' "$lf" | grep -oE '[0-9]+$' |
    sort | uniq -c | awk '{printf "%s%sx%s", sep, $2, $1; sep=" "}' || true)
  if [ "$t" = relaydb ]; then
    GROUP[$key]=$(group_commit "$gc0" "$(binlog_counters)")
    RSS[$key]=$(hwm "$RPID")
    if ! kill -0 "$RPID" 2>/dev/null; then
      RDEAD=1
      log "relaydb died during $w/$n; last lines of its log:"
      tail -20 "$OUT_DIR/relaydb-$RSTARTS.log" >&2 || true
    fi
  else
    RSS[$key]=$(hwm "$(mariadb_pid)")
  fi
  log "$t: $w/$n -> ${FIG[$key]} (errors ${ERRS[$key]}, ignored ${IGN[$key]})"
  if [ "$rc" != 0 ]; then
    grep -m5 FATAL "$lf" >&2 || true
  fi

  if [ -n "$pf" ]; then
    if [ -s "$pf" ]; then
      PROFILES+=("$pf")
    else
      log "profile $pf failed: $(cat "$pf.err" 2>/dev/null)"
    fi
    rm -f "$pf.err"
  fi
}

# binlog_counters: "commits fsyncs" of RelayDB's binlog (status Binlog_commits and
# Binlog_group_commits); empty without a binlog.
binlog_counters() {
  sql relaydb "SHOW GLOBAL STATUS LIKE 'Binlog%commits'" 2>/dev/null |
    awk '$1=="Binlog_commits"{c=$2} $1=="Binlog_group_commits"{g=$2} END{if (c!="") print c, g}'
}

# group_commit BEFORE AFTER: transactions per binlog fsync during a run ("-" without fsyncs).
group_commit() {
  [ -n "$1" ] && [ -n "$2" ] || { echo -; return; }
  awk -v a="$1" -v b="$2" 'BEGIN{split(a, x, " "); split(b, y, " "); c=y[1]-x[1]; f=y[2]-x[2];
    if (f > 0) printf "%.2f (%d/%d)", c/f, c, f; else printf "- (%d/0)", c}'
}

# checksum TARGET OUTFILE: per-table row count and CRC sum, one line per table.
checksum() {
  local t=$1 i out
  for i in $(seq "$TABLES"); do
    # SUM of CRC32s stays exact below 2^53 even where the server sums in float64 (GMS does):
    # fine up to about 2 million rows per table; printed as an integer so no digit is rounded
    # away, with BIT_XOR as a second, order-independent integer checksum.
    if ! out=$(sql "$t" "SELECT COUNT(*), CAST(SUM(CRC32(CONCAT_WS('#',id,k,c,pad))) AS UNSIGNED), BIT_XOR(CRC32(CONCAT_WS('#',id,k,c,pad))) FROM sbtest.sbtest$i" 2>&1); then
      out="error: $(tail -1 <<<"$out")"
    fi
    printf 'sbtest%s\t%s\n' "$i" "$(tr '\t\n' '  ' <<<"$out" | sed 's/ *$//')"
  done >"$2"
}

restart() { # TARGET SIGNAL
  if [ "$1" = relaydb ]; then
    stop_relaydb "$2"
    start_relaydb || { RDEAD=1; return 1; }
  else
    local pid
    pid=$(mariadb_pid)
    if [ "$2" = KILL ]; then kill -9 "$pid"; else kill "$pid"; fi
    for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    BASE=$WORK/mariadb PRIMARY_PORT=$MPORT bash "$PAIR" start-primary >&2
  fi
}

CHECK_RESULT=()
check_restart() { # TARGET
  local t=$1 a=$OUT_DIR/$1-checksum-before.txt b=$OUT_DIR/$1-checksum-after.txt
  log "$t: checksums before restart"
  checksum "$t" "$a"
  log "$t: restarting (SIG$CHECKSUM_SIGNAL)"
  if ! restart "$t" "$CHECKSUM_SIGNAL"; then
    echo "  $t: MISMATCH (did not come back after the restart)"
    CHECK_RESULT+=("$t MISMATCH (did not come back after the restart)")
    return
  fi
  log "$t: checksums after restart"
  checksum "$t" "$b"
  echo
  echo "Checksum check ($t, restart by SIG$CHECKSUM_SIGNAL): COUNT(*), exact SUM and BIT_XOR of CRC32(CONCAT_WS('#',id,k,c,pad)) per table"
  paste "$a" <(cut -f2 "$b") | awk -F'\t' '{printf "  %-9s before %-40s after %-40s %s\n", $1, $2, $3, ($2==$3 ? "MATCH" : "MISMATCH")}'
  if cmp -s "$a" "$b"; then
    echo "  $t: MATCH"
    CHECK_RESULT+=("$t MATCH")
  else
    echo "  $t: MISMATCH"
    CHECK_RESULT+=("$t MISMATCH")
  fi
}

# --- report --------------------------------------------------------------------------------------

ratio() {
  local r=${1%\*} m=${2%\*}
  if [[ $r =~ ^[0-9.]+$ && $m =~ ^[0-9.]+$ ]] && awk -v m="$m" 'BEGIN{exit !(m > 0)}'; then
    awk -v r="$r" -v m="$m" 'BEGIN{printf "%.2f", r/m}'
  else
    echo "-"
  fi
}

fmt() { # a figure with thousands grouping
  local v=${1%\*} star=
  [ "$v" != "$1" ] && star='*'
  if [[ $v =~ ^[0-9.]+$ ]]; then
    LC_ALL=C awk -v v="$v" 'BEGIN{if (v < 100) {printf "%.1f\n", v; exit}; s=sprintf("%.0f", v); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); print s}' | sed "s/$/$star/"
  else
    echo "$1"
  fi
}

report() {
  local relay_ver=${RELAY_VER:-"not built here ($RELAYDB_BIN)"} maria_ver
  [ -n "$RELAYDB_BIN" ] || relay_ver="not measured"
  maria_ver=$(mariadbd --version 2>/dev/null | awk '{print $3}')
  echo
  echo "## sysbench: RelayDB vs MariaDB ($(date +%F))"
  echo
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  echo "- versions: RelayDB $relay_ver ($(go env GOVERSION 2>/dev/null)), MariaDB $maria_ver (mariadb-pair.sh start-primary), $(sysbench --version)"
  echo "- data: $TABLES tables x $TABLE_SIZE rows; $DURATION s per workload; prepare took MariaDB ${PREP_SECS[mariadb]:--} s, RelayDB ${PREP_SECS[relaydb]:--} s"
  [ -n "$SYSBENCH_ARGS" ] && echo "- extra sysbench flags: $SYSBENCH_ARGS"
  [ -n "$RELAYDB_ARGS" ] && echo "- extra relaydb flags: $RELAYDB_ARGS"
  echo
  echo "| workload | threads | metric | MariaDB | RelayDB | RelayDB/MariaDB | errors M/R | ignored errors M/R | RelayDB VmHWM MiB | RelayDB commits per binlog fsync (commits/fsyncs) |"
  echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  local item w n k m r metric notes=()
  for item in "${RUNS[@]}"; do
    w=${item%:*} n=${item#*:}
    metric=tps
    [ "$w" = oltp_point_select ] && metric=qps
    m=${FIG[mariadb|$w|$n]:-skipped} r=${FIG[relaydb|$w|$n]:-skipped}
    printf '| %s | %s | %s | %s | %s | %s | %s/%s | %s/%s | %s | %s |\n' "$w" "$n" "$metric" \
      "$(fmt "$m")" "$(fmt "$r")" "$(ratio "$r" "$m")" \
      "${ERRS[mariadb|$w|$n]:--}" "${ERRS[relaydb|$w|$n]:--}" \
      "${IGN[mariadb|$w|$n]:--}" "${IGN[relaydb|$w|$n]:--}" "${RSS[relaydb|$w|$n]:--}" "${GROUP[relaydb|$w|$n]:--}"
    for k in mariadb relaydb; do
      [ -n "${CODES[$k|$w|$n]:-}" ] && notes+=("$k $w/$n error codes: ${CODES[$k|$w|$n]}")
    done
  done
  echo
  echo "qps = queries/s, tps = transactions/s; * = sysbench exited non-zero, figure kept; errors = threads"
  echo "ended by a non-ignored error; ignored errors = 1213/1205/1020 that sysbench retried;"
  echo "DEAD = relaydb had died, NOSTART = it did not start, NOPREPARE = sysbench prepare failed."
  echo "Peak RSS (VmHWM): RelayDB ${RSS_PEAK_R:--} MiB, MariaDB ${RSS_PEAK_M:--} MiB (its buffer pool is 1 GiB)."
  # Much more load than the run's own threads means other work shared the machine.
  local loads=()
  for item in "${RUNS[@]}"; do
    w=${item%:*} n=${item#*:}
    loads+=("$w/$n ${LOAD[mariadb|$w|$n]:--}/${LOAD[relaydb|$w|$n]:--}")
  done
  local joined
  joined=$(printf '%s, ' "${loads[@]}")
  echo "1-minute load average at the end of each run, MariaDB/RelayDB (the run itself can account for"
  echo "up to about twice its threads: sysbench's and the server's): ${joined%, }."
  for k in "${notes[@]}"; do echo "- $k"; done
  for k in "${CHECK_RESULT[@]}"; do echo "checksum after restart: $k"; done
  echo "logs: $OUT_DIR"
}

print_profiles() {
  local f
  for f in "${PROFILES[@]}"; do
    echo
    echo "### CPU profile $(basename "$f" .pprof) ($f)"
    if ! go tool pprof -top -nodecount="${PROFILE_TOP:-25}" "$f" 2>&1 | sed 's/^/  /'; then
      echo "  (not a profile: $(head -c 200 "$f"))"
      continue
    fi
    share "$f"
  done
}

# --- main ----------------------------------------------------------------------------------------

# All of the top level is in main, so that bash has read the whole file before it runs anything:
# editing the script during a long run cannot change the run.
main() {
  MODE=compare
  case ${1:-} in
  compare | checksum) MODE=$1; shift ;;
  share)
    shift
    [ $# -gt 0 ] || die "usage: $0 share FILE.pprof..."
    for f in "$@"; do echo "$f:"; share "$f"; done
    exit 0
    ;;
  -h | --help | help) usage; exit 0 ;;
  esac
  while [ $# -gt 0 ]; do
    case $1 in
    --tables) TABLES=$2; shift ;;
    --table-size) TABLE_SIZE=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --workloads) WORKLOADS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --profile) PROFILE=$2; shift ;;
    --profile-seconds) PROFILE_SECONDS=$2; shift ;;
    --checksum) CHECKSUM=1 ;;
    --kill) CHECKSUM_SIGNAL=KILL ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
    shift
  done
  case $ONLY in '' | relaydb | mariadb) ;; *) die "--only takes relaydb or mariadb" ;; esac

  TARGETS=(mariadb relaydb)
  [ -n "$ONLY" ] && TARGETS=("$ONLY")
  if [ "$MODE" = checksum ]; then
    WORKLOADS=oltp_read_write:8
    CHECKSUM=1
    [ -n "$ONLY" ] || TARGETS=(relaydb)
  fi
  IFS=, read -ra RUNS <<<"$WORKLOADS"
  for item in "${RUNS[@]}"; do
    [[ $item =~ ^oltp_[a-z_]+:[0-9]+$ ]] || die "bad workload '$item' (want name:threads)"
  done
  PROFILES=()
  FAILED=0

  for c in sysbench mariadb curl timeout; do
    command -v "$c" >/dev/null || die "$c not found (apt-get install -y sysbench mariadb-server mariadb-client curl)"
  done
  for t in "${TARGETS[@]}"; do
    [ "$t" = mariadb ] && { command -v mariadbd >/dev/null || die "mariadbd not found (apt-get install -y mariadb-server)"; }
    [ "$t" = relaydb ] && [ -z "$RELAYDB_BIN" ] && { command -v go >/dev/null || die "go not found"; }
  done

  mkdir -p "$OUT_DIR"
  WORK=$(mktemp -d /tmp/relaydb-bench.XXXXXX)
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  log "logs in $OUT_DIR, data in $WORK"

  # One server at a time: on 2 cores an idle server's background work (page flushing, compaction)
  # would be charged to the other.
  # relaydb is built first, so that a build failure costs no benchmark time.
  for t in "${TARGETS[@]}"; do [ "$t" = relaydb ] && build_relaydb; done
  for t in "${TARGETS[@]}"; do
    if [ "$t" = relaydb ]; then
      RPORT=$(free_port)
      [ -n "$PROFILE" ] && PPROF_ADDR=127.0.0.1:$(free_port)
      if ! start_relaydb; then
        RDEAD=1 RDEAD_WHY=NOSTART
      elif ! prepare relaydb; then
        RDEAD=1 RDEAD_WHY=NOPREPARE
      fi
    else
      start_mariadb
      prepare mariadb || die "MariaDB: sysbench prepare failed"
    fi
    for item in "${RUNS[@]}"; do
      run_one "$t" "${item%:*}" "${item#*:}"
      if [ "$CHECKSUM" = 1 ] && [ "${item%:*}" = oltp_read_write ] && ! { [ "$t" = relaydb ] && [ "$RDEAD" = 1 ]; }; then
        check_restart "$t"
      fi
    done
    if [ "$t" = relaydb ]; then
      RSS_PEAK_R=$(peak_rss relaydb "$RPID")
      stop_relaydb TERM
    else
      RSS_PEAK_M=$(peak_rss mariadb "$(mariadb_pid)")
      stop_mariadb
    fi
  done

  if [ "$MODE" = compare ]; then
    report | tee "$OUT_DIR/report.md"
    print_profiles | tee -a "$OUT_DIR/report.md"
  else
    for k in "${CHECK_RESULT[@]}"; do echo "checksum after restart: $k"; done
  fi
  for k in "${CHECK_RESULT[@]}"; do
    [[ $k == *MISMATCH ]] && exit 1
  done
  if [ "$FAILED" -gt 0 ]; then
    log "$FAILED run(s) failed: sysbench exited non-zero or the server had died"
    exit 2
  fi
  exit 0
}

main "$@"
