#!/usr/bin/env bash
# Replication lag under load, RelayDB and MariaDB side by side in one run: a primary and one
# replica of each (MariaDB: ../shared/anchors/mariadb-pair.sh start, durable settings, its
# default single-threaded applier), sysbench oltp_write_only at 8 threads on the primary for
# DURATION seconds, while bench/replag writes a heartbeat row on the primary every 50 ms and
# reads it on the replica. Prints lag p50/p99/max during the load, the time the replica needed
# after the load to apply the last heartbeat, and the primary's tps.
#
# With --replicas 2, RelayDB runs a primary and two replicas (lag is measured on the first) and
# the primary is also measured alone first, to print its throughput with replicas attached as a
# ratio of its throughput with none; and last with the replicas receiving but not applying (the
# cost of the dumps themselves, without two more servers' apply work on the same cores).
#
# With --chain, RelayDB runs a chain of three (primary → replica → replica) and the lag is
# measured on the last one (MariaDB still runs its pair).
#
# usage: bench/replication-lag.sh [--duration S] [--table-size N] [--only relaydb|mariadb] [--replicas 1|2] [--chain]
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && git rev-parse --show-toplevel)
SHARED_DIR=${SHARED_DIR:-$ROOT/../shared}
DURATION=${DURATION:-60}
TABLE_SIZE=${TABLE_SIZE:-100000}
ONLY=${ONLY:-}
REPLICAS=${REPLICAS:-1}
CHAIN=${CHAIN:-}
while [ $# -gt 0 ]; do
  case $1 in
  --duration) DURATION=$2; shift ;;
  --table-size) TABLE_SIZE=$2; shift ;;
  --only) ONLY=$2; shift ;;
  --replicas) REPLICAS=$2; shift ;;
  --chain) CHAIN=1; REPLICAS=2 ;;
  -h | --help) sed -n '2,/^set -Eeuo/{/^set/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
OUT=$ROOT/bench/out/$(date +%Y%m%d-%H%M%S)-replication-lag
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/relaydb-lag.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  BASE=$WORK/mariadb "$SHARED_DIR/anchors/mariadb-pair.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

(cd "$ROOT" && go build -o "$WORK/relaydb" ./cmd/relaydb && go build -o "$WORK/replag" ./bench/replag)

sb() { # port user pass command...
  local port=$1 user=$2 pass=$3
  shift 3
  sysbench oltp_write_only --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$port" \
    --mysql-user="$user" --mysql-password="$pass" --mysql-db=sbtest --tables=4 --table-size="$TABLE_SIZE" "$@"
}

measure() { # name primary_port replica_port user pass
  local name=$1 pp=$2 rp=$3 user=$4 pass=$5 dsnp dsnr
  dsnp="$user:$pass@tcp(127.0.0.1:$pp)/"
  dsnr="$user:$pass@tcp(127.0.0.1:$rp)/"
  log "$name: prepare"
  sb "$pp" "$user" "$pass" --threads=4 prepare >"$OUT/$name-prepare.log" 2>&1
  # Let the replica apply the prepare before measuring.
  "$WORK/replag" -primary "$dsnp" -replica "$dsnr" -duration 1s >/dev/null
  log "$name: oltp_write_only, 8 threads, $DURATION s, measuring lag"
  "$WORK/replag" -primary "$dsnp" -replica "$dsnr" -duration "${DURATION}s" >"$OUT/$name-lag.txt" &
  local lagpid=$!
  sb "$pp" "$user" "$pass" --threads=8 --time="$DURATION" --report-interval=0 run >"$OUT/$name-run.log" 2>&1
  wait "$lagpid"
  TPS[$name]=$(sed -n 's/^ *transactions: *[0-9]* *(\([0-9.]*\) per sec.).*/\1/p' "$OUT/$name-run.log")
  LAG[$name]=$(cat "$OUT/$name-lag.txt")
  log "$name: tps ${TPS[$name]}; ${LAG[$name]}"
}
declare -A TPS LAG

wait_ready() { for _ in $(seq 100); do mariadb -h127.0.0.1 -P"$1" -uroot -e 'SELECT 1' >/dev/null 2>&1 && return; sleep 0.2; done; }
if [ "$ONLY" != mariadb ]; then
  P1=$((20000 + RANDOM % 20000))
  "$WORK/relaydb" server --datadir "$WORK/p" --port $P1 --server-id 1 >"$OUT/relaydb-primary.log" 2>&1 &
  PIDS+=($!)
  wait_ready $P1
  mariadb -h127.0.0.1 -P$P1 -uroot -e "CREATE USER repl IDENTIFIED WITH mysql_native_password BY 'pw';
    GRANT REPLICATION SLAVE ON *.* TO repl; CREATE DATABASE sbtest"
  if [ "$REPLICAS" -ge 2 ] && [ -z "$CHAIN" ]; then
    # The primary alone first, on the data the replicas will then copy.
    log "relaydb: prepare, and the primary alone"
    sb $P1 root "" --threads=4 prepare >"$OUT/relaydb-alone-prepare.log" 2>&1
    sb $P1 root "" --threads=8 --time="$DURATION" --report-interval=0 run >"$OUT/relaydb-alone-run.log" 2>&1
    ALONE=$(sed -n 's/^ *transactions: *[0-9]* *(\([0-9.]*\) per sec.).*/\1/p' "$OUT/relaydb-alone-run.log")
    sb $P1 root "" cleanup >/dev/null 2>&1
    log "relaydb: primary alone: $ALONE tps"
  fi
  for i in $(seq 1 "$REPLICAS"); do
    port=$((P1 + i))
    "$WORK/relaydb" server --datadir "$WORK/r$i" --port $port --server-id $((i + 1)) >"$OUT/relaydb-replica$i.log" 2>&1 &
    PIDS+=($!)
    wait_ready $port
    src=$P1
    if [ -n "$CHAIN" ]; then
      src=$((port - 1)) # each replica's source is the node before it
      mariadb -h127.0.0.1 -P$port -uroot -e "CREATE USER repl IDENTIFIED WITH mysql_native_password BY 'pw'; GRANT REPLICATION SLAVE ON *.* TO repl"
    fi
    mariadb -h127.0.0.1 -P$port -uroot -e "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=$src,
      SOURCE_USER='repl', SOURCE_PASSWORD='pw', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1; START REPLICA"
  done
  lagport=$((P1 + 1))
  [ -n "$CHAIN" ] && lagport=$((P1 + REPLICAS))
  measure relaydb $P1 $lagport root ""
  if [ "$REPLICAS" -ge 2 ] && [ -z "$CHAIN" ]; then
    # The dump side's own cost: the replicas receive everything but apply nothing, so the
    # primary shares the cores with sysbench and the receivers only.
    for i in $(seq 1 "$REPLICAS"); do mariadb -h127.0.0.1 -P$((P1 + i)) -uroot -e "STOP REPLICA SQL_THREAD"; done
    log "relaydb: primary with $REPLICAS replicas receiving, appliers stopped"
    sb $P1 root "" --threads=8 --time="$DURATION" --report-interval=0 run >"$OUT/relaydb-receiving-run.log" 2>&1
    RECEIVING=$(sed -n 's/^ *transactions: *[0-9]* *(\([0-9.]*\) per sec.).*/\1/p' "$OUT/relaydb-receiving-run.log")
    log "relaydb: primary with replicas receiving only: $RECEIVING tps"
  fi
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
fi
if [ "$ONLY" != relaydb ]; then
  export BASE=$WORK/mariadb PRIMARY_PORT=$((40000 + RANDOM % 10000)) REPLICA_PORT
  REPLICA_PORT=$((PRIMARY_PORT + 1))
  "$SHARED_DIR/anchors/mariadb-pair.sh" start >"$OUT/mariadb-pair.log" 2>&1
  measure mariadb "$PRIMARY_PORT" "$REPLICA_PORT" sb sb
  "$SHARED_DIR/anchors/mariadb-pair.sh" stop >/dev/null 2>&1 || true
fi

{
  echo
  shape="$REPLICAS replica(s)"
  [ -n "$CHAIN" ] && shape="a chain of $((REPLICAS + 1)) (lag on the last)"
  echo "## Replication lag: oltp_write_only, 8 threads, $DURATION s, RelayDB with $shape, MariaDB with one replica ($(date +%F))"
  echo
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); RelayDB $(git -C "$ROOT" rev-parse --short HEAD); 4 x $TABLE_SIZE rows; heartbeat every 50 ms"
  echo
  echo "| server | primary tps | lag p50 | lag p99 | lag max | caught up after the load |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  for n in relaydb mariadb; do
    [ -n "${LAG[$n]:-}" ] || continue
    l=${LAG[$n]}
    get() { echo "$l" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    echo "| $n | ${TPS[$n]} | $(get lag_p50) | $(get lag_p99) | $(get lag_max) | $(get caught_up_after) |"
  done
  if [ -n "${ALONE:-}" ]; then
    echo
    echo "RelayDB primary: ${ALONE} tps alone, ${TPS[relaydb]:-?} tps with $REPLICAS replicas attached (ratio $(awk -v a="${TPS[relaydb]:-0}" -v b="$ALONE" 'BEGIN{if (b > 0) printf "%.2f", a/b; else print "-"}')), ${RECEIVING:-?} tps with them receiving but not applying (ratio $(awk -v a="${RECEIVING:-0}" -v b="$ALONE" 'BEGIN{if (b > 0) printf "%.2f", a/b; else print "-"}'))"
  fi
  echo
  echo "logs: $OUT"
} | tee "$OUT/report.md"
