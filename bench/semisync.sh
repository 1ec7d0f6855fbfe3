#!/usr/bin/env bash
# Semi-synchronous replication's cost: sysbench oltp_write_only at 1 and 8 threads on a primary
# with one replica, asynchronous and then semi-synchronous, on RelayDB (lossless AFTER_SYNC, its
# default) and on the MariaDB pair (../shared/anchors/mariadb-pair.sh: AFTER_SYNC, and its own
# default AFTER_COMMIT) in one run. Prints tps, the semi-sync / async ratio per server, RelayDB
# over MariaDB at the same wait point, and the average time a commit waited for the replica's
# ack (tx_wait_time / tx_waits over the run). The RelayDB replica runs with
# rpl_semi_sync_replica_ack_durability = --ack-durability (WRITE, its default: ack once the relay
# log is written, as MariaDB's replica does with its default sync_relay_log; or FSYNC: fsync the
# relay log before each ack); the report names it and the replica's own share of the ack wait.
#
# usage: bench/semisync.sh [--duration S] [--table-size N] [--only relaydb|mariadb] [--ack-durability WRITE|FSYNC]
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && git rev-parse --show-toplevel)
SHARED_DIR=${SHARED_DIR:-$ROOT/../shared}
DURATION=${DURATION:-30}
TABLE_SIZE=${TABLE_SIZE:-100000}
ONLY=${ONLY:-}
ACK_DURABILITY=${ACK_DURABILITY:-WRITE}
while [ $# -gt 0 ]; do
  case $1 in
  --duration) DURATION=$2; shift ;;
  --table-size) TABLE_SIZE=$2; shift ;;
  --only) ONLY=$2; shift ;;
  --ack-durability) ACK_DURABILITY=$2; shift ;;
  -h | --help) sed -n '2,/^set -Eeuo/{/^set/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
OUT=$ROOT/bench/out/$(date +%Y%m%d-%H%M%S)-semisync
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/relaydb-semi.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  BASE=$WORK/mariadb "$SHARED_DIR/anchors/mariadb-pair.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

(cd "$ROOT" && go build -o "$WORK/relaydb" ./cmd/relaydb)

sb() { # port user pass command...
  local port=$1 user=$2 pass=$3
  shift 3
  sysbench oltp_write_only --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$port" \
    --mysql-user="$user" --mysql-password="$pass" --mysql-db=sbtest --tables=4 --table-size="$TABLE_SIZE" "$@"
}
q() { mariadb -N -B -h127.0.0.1 -P"$1" -u"$2" ${3:+-p"$3"} -e "$4"; }
stat() { q "$1" "$2" "$3" "SHOW GLOBAL STATUS LIKE '$4'" | awk '{print $2}'; }

declare -A TPS WAIT RWAIT
# run NAME PORT USER PASS THREADS PREFIX: one measured run; PREFIX is the semi-sync status
# variables' prefix (Rpl_semi_sync_source_ or Rpl_semi_sync_master_).
run() {
  local name=$1 port=$2 user=$3 pass=$4 threads=$5 prefix=$6 w0 n0 w1 n1
  w0=$(stat "$port" "$user" "$pass" "${prefix}tx_wait_time"); n0=$(stat "$port" "$user" "$pass" "${prefix}tx_waits")
  sb "$port" "$user" "$pass" --threads="$threads" --time="$DURATION" --report-interval=0 run >"$OUT/$name-$threads.log" 2>&1
  w1=$(stat "$port" "$user" "$pass" "${prefix}tx_wait_time"); n1=$(stat "$port" "$user" "$pass" "${prefix}tx_waits")
  TPS[$name-$threads]=$(sed -n 's/^ *transactions: *[0-9]* *(\([0-9.]*\) per sec.).*/\1/p' "$OUT/$name-$threads.log")
  WAIT[$name-$threads]=$(awk -v w=$((w1 - w0)) -v n=$((n1 - n0)) 'BEGIN{if (n > 0) printf "%.0f", w/n; else print "-"}')
  log "$name, $threads threads: ${TPS[$name-$threads]} tps, average ack wait ${WAIT[$name-$threads]} us"
}

wait_ready() { for _ in $(seq 100); do mariadb -h127.0.0.1 -P"$1" -uroot -e 'SELECT 1' >/dev/null 2>&1 && return; sleep 0.2; done; }
if [ "$ONLY" != mariadb ]; then
  P1=$((20000 + RANDOM % 20000))
  P2=$((P1 + 1))
  "$WORK/relaydb" server --datadir "$WORK/p" --port $P1 --server-id 1 >"$OUT/relaydb-primary.log" 2>&1 &
  PIDS+=($!)
  "$WORK/relaydb" server --datadir "$WORK/r" --port $P2 --server-id 2 >"$OUT/relaydb-replica.log" 2>&1 &
  PIDS+=($!)
  wait_ready $P1
  wait_ready $P2
  q $P1 root "" "CREATE USER repl IDENTIFIED WITH mysql_native_password BY 'pw'; GRANT REPLICATION SLAVE ON *.* TO repl; CREATE DATABASE sbtest"
  q $P2 root "" "SET GLOBAL rpl_semi_sync_replica_enabled = 1, GLOBAL rpl_semi_sync_replica_ack_durability = '$ACK_DURABILITY'; CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=$P1,
      SOURCE_USER='repl', SOURCE_PASSWORD='pw', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1; START REPLICA"
  log "relaydb: prepare"
  sb $P1 root "" --threads=4 prepare >"$OUT/relaydb-prepare.log" 2>&1
  for t in 1 8; do
    q $P1 root "" "SET GLOBAL rpl_semi_sync_source_enabled = 0"
    run relaydb-async $P1 root "" $t Rpl_semi_sync_source_
    q $P1 root "" "SET GLOBAL rpl_semi_sync_source_enabled = 1, GLOBAL rpl_semi_sync_source_wait_point = 'AFTER_SYNC'"
    a0=$(stat $P2 root "" Rpl_semi_sync_replica_ack_time); m0=$(stat $P2 root "" Rpl_semi_sync_replica_acks)
    run relaydb-AFTER_SYNC $P1 root "" $t Rpl_semi_sync_source_
    a1=$(stat $P2 root "" Rpl_semi_sync_replica_ack_time); m1=$(stat $P2 root "" Rpl_semi_sync_replica_acks)
    RWAIT[$t]=$(awk -v w=$((a1 - a0)) -v n=$((m1 - m0)) 'BEGIN{if (n > 0) printf "%.0f", w/n; else print "-"}')
    log "relaydb replica ($(stat $P2 root "" Rpl_semi_sync_replica_ack_durability)): $((m1 - m0)) acks, ${RWAIT[$t]} us from reading the event to sending its ack"
  done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
fi
if [ "$ONLY" != relaydb ]; then
  export BASE=$WORK/mariadb PRIMARY_PORT=$((40000 + RANDOM % 10000)) REPLICA_PORT
  REPLICA_PORT=$((PRIMARY_PORT + 1))
  pair() { "$SHARED_DIR/anchors/mariadb-pair.sh" "$@" >>"$OUT/mariadb-pair.log" 2>&1; }
  pair start
  log "mariadb: prepare"
  sb "$PRIMARY_PORT" sb sb --threads=4 prepare >"$OUT/mariadb-prepare.log" 2>&1
  for t in 1 8; do
    pair semisync off
    run mariadb-async "$PRIMARY_PORT" sb sb $t Rpl_semi_sync_master_
    for wp in AFTER_SYNC AFTER_COMMIT; do
      pair semisync on $wp
      run mariadb-$wp "$PRIMARY_PORT" sb sb $t Rpl_semi_sync_master_
    done
  done
  pair stop || true
fi

ratio() { awk -v a="${TPS[$1]:-0}" -v b="${TPS[$2]:-0}" 'BEGIN{if (a > 0 && b > 0) printf "%.2f", a/b; else print "-"}'; }
{
  echo
  echo "## Semi-sync: oltp_write_only, primary and one replica, $DURATION s per run ($(date +%F))"
  echo
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); RelayDB $(git -C "$ROOT" rev-parse --short HEAD); 4 x $TABLE_SIZE rows; both durable (sync_binlog=1)"
  echo "- RelayDB replica: rpl_semi_sync_replica_ack_durability = $ACK_DURABILITY; its own share of the ack wait (event read to ack sent): ${RWAIT[1]:--} us at 1 thread, ${RWAIT[8]:--} us at 8"
  echo
  echo "| threads | RelayDB async | RelayDB AFTER_SYNC | ratio | ack wait | MariaDB async | MariaDB AFTER_SYNC | ratio | ack wait | MariaDB AFTER_COMMIT | ratio | ack wait | RelayDB / MariaDB (AFTER_SYNC) |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for t in 1 8; do
    echo "| $t | ${TPS[relaydb-async-$t]:-} | ${TPS[relaydb-AFTER_SYNC-$t]:-} | $(ratio relaydb-AFTER_SYNC-$t relaydb-async-$t) | ${WAIT[relaydb-AFTER_SYNC-$t]:-} us | ${TPS[mariadb-async-$t]:-} | ${TPS[mariadb-AFTER_SYNC-$t]:-} | $(ratio mariadb-AFTER_SYNC-$t mariadb-async-$t) | ${WAIT[mariadb-AFTER_SYNC-$t]:-} us | ${TPS[mariadb-AFTER_COMMIT-$t]:-} | $(ratio mariadb-AFTER_COMMIT-$t mariadb-async-$t) | ${WAIT[mariadb-AFTER_COMMIT-$t]:-} us | $(ratio relaydb-AFTER_SYNC-$t mariadb-AFTER_SYNC-$t) |"
  done
  echo
  echo "logs: $OUT"
} | tee "$OUT/report.md"
