"""Fixed-window rate limits in Redis for the resident endpoints (no login there).

A limit is "count/seconds" in settings. One round trip per limit (INCR and EXPIRE together,
cockpit.redisclient.exchange). The limiter fails OPEN: if Redis is down a
report is taken without counting — never lose a report because of the limiter.
"""

import logging
import time

from django.conf import settings

from cockpit import redisclient

log = logging.getLogger(__name__)


def parse_limit(spec: str) -> tuple[int, int]:
    count, _, seconds = str(spec).partition("/")
    return int(count), int(seconds or 3600)


def rate_hit(*, scope: str, key: str, limit: str) -> bool:
    """Count one request of ``key`` in ``scope``; True when it is over the limit."""
    count, window = parse_limit(limit)
    if count <= 0:
        return False
    bucket = redisclient.key(f"rl:{scope}:{key}:{int(time.time() // window)}")
    try:
        used, _ok = redisclient.exchange([("INCR", bucket), ("EXPIRE", bucket, window + 1)])
    except Exception:  # Redis unreachable or misbehaving: take the request, say so in the log
        log.warning("rate limiter unavailable; request of %s not counted", scope)
        return False
    return used > count


def client_ip(request) -> str:
    """The client's address. Behind a reverse proxy, set TRUSTED_PROXY_HEADER (e.g.
    HTTP_X_REAL_IP) to the header the proxy writes; a client-sent X-Forwarded-For is not trusted."""
    header = getattr(settings, "TRUSTED_PROXY_HEADER", "")
    if header and request.META.get(header):
        return request.META[header].split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")
