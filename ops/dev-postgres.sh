#!/usr/bin/env bash
# A private PostgreSQL cluster for development and tests, in an ignored folder of
# the project. Idempotent.
#
#   ops/dev-postgres.sh start  [--port 55432] [--dir .data/postgres]   create if needed, start, print DATABASE_URL
#   ops/dev-postgres.sh stop   [--port …] [--dir …]                    stop it
#   ops/dev-postgres.sh status [--dir …]                               exit 0 when running
#   ops/dev-postgres.sh url    [--port …]                              print DATABASE_URL only
#
# The cluster listens on 127.0.0.1 only. Its login role `iomt` (password `iomt`)
# owns the database `iomt`, may create databases (tests use private ones) and roles (the query service's read-only
# role is created by migrations). PostgreSQL refuses to run as root: as root the
# cluster runs as the `postgres` system user.
set -euo pipefail

project=$(cd "$(dirname "$0")/.." && pwd)
command=${1:-start}
shift || true
port=${IOMT_PG_PORT:-55432}
dir=${IOMT_PG_DIR:-$project/.data/postgres}
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    *) echo "dev-postgres: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$dir" in /*) ;; *) dir="$project/$dir" ;; esac

url="postgres://iomt:iomt@127.0.0.1:$port/iomt?sslmode=disable"

bindir=""
for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -x "$candidate/initdb" ]; then bindir=$candidate; break; fi
done
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1; then bindir=$(dirname "$(command -v initdb)"); fi
if [ -z "$bindir" ]; then
  echo "dev-postgres: PostgreSQL server binaries not found; run ops/bootstrap.sh" >&2
  exit 1
fi

# As root, run the server as `postgres`; it needs to reach the data folder.
as_owner() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
  as_owner() { runuser -u postgres -- "$@"; }
  mkdir -p "$(dirname "$dir")"
  if ! runuser -u postgres -- test -x "$(dirname "$dir")" 2>/dev/null; then
    # The project folder is not traversable by `postgres` (e.g. under /root): keep
    # the cluster in /var/tmp and leave a link in the project.
    real="/var/tmp/iomt-postgres-$(echo "$dir" | cksum | cut -d' ' -f1)"
    mkdir -p "$real"
    [ -L "$dir" ] || { rm -rf "$dir"; ln -s "$real" "$dir"; }
    dir=$real
  fi
fi

running() { [ -f "$dir/PG_VERSION" ] && as_owner "$bindir/pg_ctl" -D "$dir" status >/dev/null 2>&1; }

psql_admin() { as_owner "$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

case "$command" in
  start)
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir"
      if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
      chmod 700 "$dir"
      as_owner "$bindir/initdb" -D "$dir" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --no-locale >"$dir/../initdb-$port.log" 2>&1 || {
        echo "dev-postgres: initdb failed, see $dir/../initdb-$port.log" >&2; exit 1; }
      cat >>"$dir/postgresql.conf" <<CONF
# iomt dev cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 256MB
# workers lock each subject of a batch (advisory locks): room for large batches
max_locks_per_transaction = 512
CONF
    fi
    if ! running; then
      # The server outlives this script: it must not inherit our caller's pipes
      # (a caller reading our output to EOF would otherwise wait for the server).
      (
        for fd in $(ls /proc/$BASHPID/fd); do
          if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec </dev/null >/dev/null 2>>"$dir/../dev-postgres-$port.log"
        as_owner "$bindir/pg_ctl" -D "$dir" -o "-p $port" -l "$dir/server.log" -w -t 60 start
      ) || { echo "dev-postgres: start failed, see $dir/server.log" >&2; exit 1; }
    fi
    if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'iomt'")" != "1" ]; then
      psql_admin -c "CREATE ROLE iomt LOGIN CREATEROLE CREATEDB PASSWORD 'iomt'"
    fi
    # Tests create a private database each.
    psql_admin -c "ALTER ROLE iomt CREATEDB"
    if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'iomt'")" != "1" ]; then
      psql_admin -c "CREATE DATABASE iomt OWNER iomt"
    fi
    echo "DATABASE_URL=$url"
    ;;
  stop)
    if running; then as_owner "$bindir/pg_ctl" -D "$dir" -m fast -w stop >/dev/null; fi
    ;;
  status)
    running
    ;;
  url)
    echo "DATABASE_URL=$url"
    ;;
  *)
    echo "usage: ops/dev-postgres.sh start|stop|status|url [--port N] [--dir D]" >&2
    exit 2
    ;;
esac
