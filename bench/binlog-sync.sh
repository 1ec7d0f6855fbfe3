#!/usr/bin/env bash
# The binary log's cost: sysbench oltp_write_only at 1, 8 and 32 threads against one RelayDB build
# with sync_binlog=1 (every commit group fsynced before it is acknowledged; the default) and with
# sync_binlog=0 (no fsync on the commit path), and against MariaDB (mariadb-pair.sh start-primary,
# durable) in the same invocation. Prints tps, the sync_binlog=1 / sync_binlog=0 ratio (the goal:
# at least 0.90) and transactions per binlog fsync (group commit size) from the server's
# Binlog_commits / Binlog_group_commits status counters.
#
# usage: bench/binlog-sync.sh [--duration S] [--threads LIST] [--table-size N]
#   environment as for bench/sysbench-compare.sh (SHARED_DIR, SYSBENCH_ARGS, KEEP, ...)
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && git rev-parse --show-toplevel)
DURATION=${DURATION:-30}
THREADS=${THREADS:-1,8,32}
TABLE_SIZE=${TABLE_SIZE:-100000}
while [ $# -gt 0 ]; do
  case $1 in
  --duration) DURATION=$2; shift ;;
  --threads) THREADS=$2; shift ;;
  --table-size) TABLE_SIZE=$2; shift ;;
  -h | --help) sed -n '2,/^set -Eeuo/{/^set/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
WORKLOADS=$(echo "$THREADS" | tr ',' '\n' | sed 's/^/oltp_write_only:/' | paste -sd,)
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$ROOT/bench/out/$STAMP-binlog-sync
mkdir -p "$OUT"
BIN=$(mktemp -d /tmp/relaydb-binlog-bench.XXXXXX)
trap 'rm -rf "$BIN"' EXIT
VER=$(git -C "$ROOT" rev-parse --short HEAD)
git -C "$ROOT" diff --quiet HEAD -- || VER+="+dirty"
(cd "$ROOT" && go build -o "$BIN/relaydb" ./cmd/relaydb)

run() { # NAME RELAYDB_ARGS [sysbench-compare options]
  local name=$1 args=$2
  shift 2
  RELAYDB_BIN=$BIN/relaydb RELAYDB_ARGS=$args OUT_DIR=$OUT/$name \
    "$ROOT/bench/sysbench-compare.sh" compare --workloads "$WORKLOADS" --duration "$DURATION" \
    --table-size "$TABLE_SIZE" "$@" >"$OUT/$name.md"
}
run sync1 "--sync-binlog=1"
run sync0 "--sync-binlog=0" --only relaydb

field() { # FILE THREADS COLUMN
  awk -F'|' -v n="$2" -v c="$3" '$2 ~ /oltp_write_only/ && $3+0 == n {gsub(/^ +| +$/, "", $c); print $c}' "$1"
}
num() { echo "${1//,/}" | tr -d '*'; }
{
  echo
  echo "## Binary log cost: sysbench oltp_write_only, sync_binlog=1 vs 0 ($(date +%F))"
  echo
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); RelayDB $VER; 4 tables x $TABLE_SIZE rows; $DURATION s per run"
  echo
  echo "| threads | MariaDB tps | RelayDB sync_binlog=1 tps | RelayDB sync_binlog=0 tps | sync 1 / sync 0 | RelayDB / MariaDB (sync 1) | commits per binlog fsync (sync 1) |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for n in ${THREADS//,/ }; do
    m=$(field "$OUT/sync1.md" "$n" 5)
    r1=$(field "$OUT/sync1.md" "$n" 6)
    r0=$(field "$OUT/sync0.md" "$n" 6)
    g=$(field "$OUT/sync1.md" "$n" 11)
    q=$(awk -v a="$(num "$r1")" -v b="$(num "$r0")" 'BEGIN{if (b > 0) printf "%.2f", a/b; else print "-"}')
    qm=$(awk -v a="$(num "$r1")" -v b="$(num "$m")" 'BEGIN{if (b > 0) printf "%.2f", a/b; else print "-"}')
    echo "| $n | $m | $r1 | $r0 | $q | $qm | $g |"
  done
  echo
  echo "full reports: $OUT/sync1.md (with MariaDB), $OUT/sync0.md"
} | tee "$OUT/summary.md"
