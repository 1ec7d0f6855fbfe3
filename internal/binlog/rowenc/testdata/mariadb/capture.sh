#!/usr/bin/env bash
# Regenerates types.binlog: runs types.sql on a throwaway MariaDB server
# (binlog_format=ROW, binlog_row_image=FULL, binlog_row_metadata=FULL) and
# keeps the binary log it wrote. Needs mariadb-server and mariadb-client.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
d=$(mktemp -d)
trap 'kill "$(cat "$d/pid" 2>/dev/null)" 2>/dev/null || true; sleep 1; rm -rf "$d"' EXIT
mariadb-install-db --no-defaults --datadir="$d/data" --user="$(id -un)" \
  --auth-root-authentication-method=normal >/dev/null 2>&1
mariadbd --no-defaults --datadir="$d/data" --socket="$d/sock" --pid-file="$d/pid" \
  --skip-networking --user="$(id -un)" --server-id=1 --log-bin="$d/data/bin" \
  --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL \
  --innodb-buffer-pool-size=32M --sql-mode=NO_ENGINE_SUBSTITUTION >"$d/log" 2>&1 &
for _ in $(seq 100); do
  mariadb -uroot -S "$d/sock" -e 'SELECT 1' >/dev/null 2>&1 && break
  sleep 0.2
done
mariadb -uroot -S "$d/sock" --default-character-set=utf8mb4 <"$here/types.sql"
mariadb -uroot -S "$d/sock" -e 'FLUSH BINARY LOGS'
cp "$d/data/bin.000001" "$here/types.binlog"
mariadb --version >"$here/VERSION"
