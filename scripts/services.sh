#!/usr/bin/env bash
# Start project-local PostgreSQL (PostGIS) and Redis under var/, on their own ports, unless
# DATABASE_URL / REDIS_URL point elsewhere. Idempotent: a second call finds them running.
#   scripts/services.sh start | stop | stop-redis | start-redis
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VAR="$ROOT/var"
PG_PORT=${LOCAL_PG_PORT:-55432}
REDIS_PORT=${LOCAL_REDIS_PORT:-56379}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
mkdir -p "$VAR"

as_pg() {  # initdb refuses to run as root: the cluster belongs to the postgres user
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_pg() {
  [ -n "${DATABASE_URL:-}" ] && return 0
  if [ ! -f "$VAR/pg/PG_VERSION" ]; then
    echo ">> initdb var/pg (port $PG_PORT)"
    mkdir -p "$VAR/pg" "$VAR/pg-run"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$VAR/pg" "$VAR/pg-run"
    chmod 700 "$VAR/pg"
    as_pg "$PGBIN/initdb" -D "$VAR/pg" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$VAR/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$VAR/pg-run'
max_connections = 200
shared_buffers = 512MB
fsync = on
synchronous_commit = on
CONF
  fi
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$VAR/pg-run"
  if ! as_pg "$PGBIN/pg_ctl" -D "$VAR/pg" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$VAR/pg" -l "$VAR/pg-run/pg.log" -w -t 60 start >/dev/null
  fi
  psql_() { "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
  # Write-heavy tuning (docs/deployment.md, "PostgreSQL"): checkpoints by time rather than every
  # GB of WAL, and full-page images compressed. Applied on every start, so older clusters get it.
  psql_ -c "ALTER SYSTEM SET max_wal_size = '4GB'" -c "ALTER SYSTEM SET checkpoint_timeout = '15min'" \
    -c "ALTER SYSTEM SET wal_compression = 'lz4'" -c "SELECT pg_reload_conf()" >/dev/null
  if [ -z "$(psql_ -c "select 1 from pg_roles where rolname='cockpit'")" ]; then
    psql_ -c "create role cockpit login superuser"
  fi
  if [ -z "$(psql_ -c "select 1 from pg_database where datname='cockpit'")" ]; then
    psql_ -c "create database cockpit owner cockpit"
  fi
  psql_ -d cockpit -c "create extension if not exists postgis"
}

start_redis() {
  [ -n "${REDIS_URL:-}" ] && return 0
  mkdir -p "$VAR/redis"
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$VAR/redis" \
      --save 60 1000 --appendonly no --pidfile "$VAR/redis/redis.pid" --logfile "$VAR/redis/redis.log"
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
}

stop_all() {
  [ -f "$VAR/pg/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$VAR/pg" -m fast stop >/dev/null || true
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-start}" in
  start) start_pg; start_redis ;;
  start-redis) start_redis ;;
  stop) stop_all ;;
  *) echo "usage: $0 start|stop|start-redis" >&2; exit 2 ;;
esac
