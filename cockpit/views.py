import time

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from cockpit.celery import app as celery_app


def _check_database() -> dict:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT postgis_lib_version()")
        version = cursor.fetchone()[0]
    return {"ok": True, "postgis": version, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _check_redis() -> dict:
    started = time.perf_counter()
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    client.ping()
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _check_worker() -> dict:
    # A broadcast ping answered by at least one worker within a second.
    replies = celery_app.control.ping(timeout=1.0) or []
    if not replies:
        return {"ok": False, "error": "no Celery worker answered"}
    return {"ok": True, "workers": sorted(name for reply in replies for name in reply)}


@never_cache
def healthz(request):
    """Database, Redis and the Celery worker, each reported; 503 when any is down."""
    checks = {}
    for name, check in (
        ("database", _check_database),
        ("redis", _check_redis),
        ("worker", _check_worker),
    ):
        try:
            checks[name] = check()
        except Exception as exc:  # any failure is a "down" to report, never a 500
            checks[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    if not checks["redis"]["ok"]:
        checks["worker"] = {"ok": False, "error": "broker (Redis) unreachable"}
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "down", "checks": checks}, status=200 if healthy else 503
    )


def home(request):
    from cockpit.portal import TILES

    return render(request, "home.html", {"tiles": TILES})
