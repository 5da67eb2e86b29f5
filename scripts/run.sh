#!/usr/bin/env bash
# The whole stack in the foreground: HTTP (granian, WSGI), websockets (daphne, ASGI),
# a Celery worker and Celery beat. Ctrl-C stops all of them.
set -uo pipefail
cd "$(dirname "$0")/.."
HOST=${HOST:-0.0.0.0}
PORT=${PORT:-8000}
WS_PORT=${WS_PORT:-8001}
export WS_PORT
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-*}
V=.venv/bin
pids=()
cleanup() { trap - INT TERM EXIT; echo; echo "stopping…"; kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; }
trap cleanup INT TERM EXIT

$V/granian --interface wsgi cockpit.wsgi:application --host "$HOST" --port "$PORT" \
  --workers "${WEB_WORKERS:-3}" --blocking-threads 4 --blocking-threads-idle-timeout 600 \
  --access-log --log-level warning & pids+=($!)
$V/daphne -b "$HOST" -p "$WS_PORT" cockpit.asgi:application -v 0 & pids+=($!)
# The worker runs niced: routing and escalation can wait a moment, a request or a push cannot
# (docs/deployment.md "Background work yields").
nice -n "${WORKER_NICE:-10}" $V/celery -A cockpit worker -l warning -c "${CELERY_CONCURRENCY:-2}" & pids+=($!)
$V/celery -A cockpit beat -l warning --pidfile= -s var/celerybeat-schedule & pids+=($!)

sleep 2
$V/python manage.py demo_logins --base "http://127.0.0.1:$PORT" --ws-port "$WS_PORT" || true
echo "Ctrl-C 停止 · stops everything"
wait -n
