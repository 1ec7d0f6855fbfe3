#!/usr/bin/env bash
# Migration from MariaDB by replication, end to end: a MariaDB 10.11 primary
# (../shared/anchors/mariadb-pair.sh start-primary, durable settings, row-format binlog) and a
# RelayDB replica of it by file and position (from bin.000001:4, so the prepare's DDL comes
# through replication too). sysbench oltp_write_only runs on MariaDB for DURATION seconds at 8
# threads, with an ALTER TABLE and a CREATE/DROP TABLE in the middle of it. Then the script
# waits until RelayDB has MariaDB's last GTID (domain 0 maps to 6d617269-6164-8000-8000-
# 000000000000, README "Replicating from MariaDB"), compares every sbtest table row by row
# (an md5 of each ordered table on both sides), and moves the writes: STOP REPLICA, RESET
# REPLICA ALL on RelayDB, and oltp_write_only for CUTOVER seconds against RelayDB.
#
# usage: bench/mariadb-migrate.sh [--duration S] [--table-size N] [--cutover S]
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && git rev-parse --show-toplevel)
SHARED_DIR=${SHARED_DIR:-$ROOT/../shared}
DURATION=${DURATION:-30}
TABLE_SIZE=${TABLE_SIZE:-10000}
CUTOVER=${CUTOVER:-10}
while [ $# -gt 0 ]; do
  case $1 in
  --duration) DURATION=$2; shift ;;
  --table-size) TABLE_SIZE=$2; shift ;;
  --cutover) CUTOVER=$2; shift ;;
  -h | --help) sed -n '2,/^set -Eeuo/{/^set/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
OUT=$ROOT/bench/out/$(date +%Y%m%d-%H%M%S)-mariadb-migrate
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/relaydb-migrate.XXXXXX)
export BASE=$WORK/mariadb PRIMARY_PORT=$((40000 + RANDOM % 10000))
RPORT=$((PRIMARY_PORT + 1))
RPID=
cleanup() {
  [ -n "$RPID" ] && kill "$RPID" 2>/dev/null || true
  wait 2>/dev/null || true
  "$SHARED_DIR/anchors/mariadb-pair.sh" stop >/dev/null 2>&1 || true
  sleep 1
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
maria() { mariadb -h127.0.0.1 -P"$PRIMARY_PORT" -uroot -N -B -e "$1"; }
relay() { mariadb -h127.0.0.1 -P"$RPORT" -uroot -N -B -e "$1"; }
sb() { # port user pass command...
  local port=$1 user=$2 pass=$3
  shift 3
  sysbench oltp_write_only --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$port" \
    --mysql-user="$user" --mysql-password="$pass" --mysql-db=sbtest --tables=4 --table-size="$TABLE_SIZE" "$@"
}
tps() { sed -n 's/^ *transactions: *[0-9]* *(\([0-9.]*\) per sec.).*/\1/p' "$1"; }

(cd "$ROOT" && go build -o "$WORK/relaydb" ./cmd/relaydb)
log "MariaDB primary on $PRIMARY_PORT"
"$SHARED_DIR/anchors/mariadb-pair.sh" start-primary >"$OUT/mariadb-pair.log" 2>&1
maria "SET sql_log_bin = 0; CREATE USER repl@'%' IDENTIFIED BY 'pw'; GRANT REPLICATION SLAVE ON *.* TO repl@'%'"

log "RelayDB replica on $RPORT, from bin.000001:4"
"$WORK/relaydb" server --datadir "$WORK/data" --port "$RPORT" --server-id 2 >"$OUT/relaydb.log" 2>&1 &
RPID=$!
for _ in $(seq 100); do relay 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
relay "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=$PRIMARY_PORT, SOURCE_USER='repl',
  SOURCE_PASSWORD='pw', SOURCE_AUTO_POSITION=0, SOURCE_LOG_FILE='bin.000001', SOURCE_LOG_POS=4,
  SOURCE_CONNECT_RETRY=1; START REPLICA"

log "prepare on MariaDB: 4 x $TABLE_SIZE rows"
sb "$PRIMARY_PORT" sb sb --threads=4 prepare >"$OUT/prepare.log" 2>&1
log "oltp_write_only on MariaDB: 8 threads, $DURATION s, DDL half way"
(
  sleep $((DURATION / 2))
  maria "ALTER TABLE sbtest.sbtest1 ADD COLUMN migrated TINYINT NOT NULL DEFAULT 0;
         CREATE TABLE sbtest.side (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO sbtest.side VALUES (1, 'x');
         CREATE INDEX c_1 ON sbtest.sbtest2 (c(10)); DROP TABLE sbtest.side"
) &
DDL=$!
sb "$PRIMARY_PORT" sb sb --threads=8 --time="$DURATION" --report-interval=0 run >"$OUT/mariadb-run.log" 2>&1
wait "$DDL"
MTPS=$(tps "$OUT/mariadb-run.log")
log "MariaDB: $MTPS tps"

POS=$(maria "SELECT @@gtid_binlog_pos")
WANT=$(echo "$POS" | tr ',' '\n' | awk -F- '{printf "%s6d617269-6164-8000-8000-%012x:1-%s", (NR>1?",":""), $1, $3}')
log "waiting for RelayDB to execute MariaDB's $POS ($WANT)"
start=$(date +%s.%N)
for _ in $(seq 6000); do
  [ "$(relay "SELECT GTID_SUBSET('$WANT', @@GLOBAL.gtid_executed)")" = 1 ] && break
  if relay 'SHOW REPLICA STATUS\G' | grep -qE 'Last_(IO|SQL)_Errno: [1-9]'; then
    relay 'SHOW REPLICA STATUS\G' >&2; exit 1
  fi
  sleep 0.1
done
[ "$(relay "SELECT GTID_SUBSET('$WANT', @@GLOBAL.gtid_executed)")" = 1 ] || { relay 'SHOW REPLICA STATUS\G' >&2; exit 1; }
CATCHUP=$(printf %.1f "$(echo "$(date +%s.%N) - $start" | bc)")
log "caught up ${CATCHUP}s after the load ended"

DIFF=0
for t in sbtest1 sbtest2 sbtest3 sbtest4; do
  a=$(maria "SELECT * FROM sbtest.$t ORDER BY id" | md5sum | cut -c1-32)
  b=$(relay "SELECT * FROM sbtest.$t ORDER BY id" | md5sum | cut -c1-32)
  n=$(relay "SELECT COUNT(*) FROM sbtest.$t")
  if [ "$a" = "$b" ]; then log "$t: $n rows, equal ($a)"; else log "$t: DIFFERENT (MariaDB $a, RelayDB $b)"; DIFF=1; fi
done
[ "$(relay "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='sbtest' AND table_name='side'")" = 0 ] ||
  { log "sbtest.side was dropped on MariaDB but not on RelayDB"; DIFF=1; }
[ "$DIFF" = 0 ] || exit 1

log "cutover: STOP REPLICA; RESET REPLICA ALL; writes to RelayDB for $CUTOVER s"
relay "STOP REPLICA; RESET REPLICA ALL"
relay "CREATE USER sb IDENTIFIED BY 'sb'; GRANT ALL ON *.* TO sb" 2>/dev/null || true
sb "$RPORT" root "" --threads=8 --time="$CUTOVER" --report-interval=0 run >"$OUT/relaydb-run.log" 2>&1
RTPS=$(tps "$OUT/relaydb-run.log")
log "RelayDB after the cutover: $RTPS tps"

{
  echo
  echo "## Migration from MariaDB by replication ($(date +%F))"
  echo
  echo "- machine: $(nproc) cores; RelayDB $(git -C "$ROOT" rev-parse --short HEAD); MariaDB $(maria 'SELECT VERSION()'); 4 x $TABLE_SIZE rows"
  echo "- MariaDB primary, oltp_write_only 8 threads $DURATION s with DDL half way: $MTPS tps (RelayDB replica applying meanwhile)"
  echo "- RelayDB replica caught up ${CATCHUP}s after the load; MariaDB $POS = RelayDB $WANT; 4 tables equal row by row"
  echo "- after STOP REPLICA, RESET REPLICA ALL: oltp_write_only 8 threads $CUTOVER s on RelayDB: $RTPS tps"
} | tee "$OUT/summary.md"
