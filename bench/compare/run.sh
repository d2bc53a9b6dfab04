#!/usr/bin/env bash
# Runs the side-by-side comparison: starts a private PostgreSQL on loopback
# for SpiceDB's PostgreSQL datastore, runs the compare program, stops the
# server and removes its data. Arguments are passed to the program, e.g.
#   bench/compare/run.sh -size 100k -rounds 3
set -euo pipefail
cd "$(dirname "$0")"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$PGBIN" ]; then
  echo "PostgreSQL not found; installing Debian's postgresql" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

PORT=${COMPARE_PG_PORT:-55432}
DATA=$(mktemp -d /tmp/compare-pg.XXXXXX)
chmod 755 "$DATA"
# initdb refuses to run as root; run the server as the postgres user then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$DATA"
as_pg "$PGBIN/initdb" -D "$DATA/db" -U postgres --auth=trust >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$DATA/db" -l "$DATA/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=on -c max_connections=200" start >/dev/null
cleanup() { as_pg "$PGBIN/pg_ctl" -D "$DATA/db" -m fast stop >/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
"$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres spicedb

export COMPARE_POSTGRES="postgres://postgres@127.0.0.1:$PORT/spicedb?sslmode=disable"
GOFLAGS=-mod=mod go run . "$@"
