"""One plain Redis client per process for the hot paths that talk to Redis directly (the rate
limiter, the routing wake-up). Django's cache backend builds a new client object on every call
(~0.5 ms each on the intake path); this one is built once. redis-py's pool notices a fork and
opens fresh connections in the child. Keys carry the same prefix as the cache, so test runs and
the bench stay apart from a ``make run`` on the same Redis."""

import redis
from django.conf import settings

_client: redis.Redis | None = None
TIMEOUT = 2.0


def client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
        )
    return _client


def key(name: str) -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{name}"
