"""Per-process caches of the small, rarely edited tables every report reads: categories, the
town circle, deadline policies and the working calendar. Reading them from the database cost
four round trips per report; from here they cost a dict lookup.

An entry lives ``LOCAL_CACHE_SECONDS`` (settings, default 30). A save or delete of such a row
in this process clears its namespace at once (signals, wired in events.apps); other processes
(the other web workers, the Celery worker) see an admin's change within the TTL. Set the TTL to
0 to switch the caches off.
"""

import threading
import time

from django.conf import settings

_store: dict[tuple, tuple[float, object]] = {}
_lock = threading.Lock()


def get(key: tuple, load):
    """The cached value of ``key`` (a tuple whose first item is its namespace), or ``load()``."""
    ttl = getattr(settings, "LOCAL_CACHE_SECONDS", 30)
    if ttl <= 0:
        return load()
    now = time.monotonic()
    hit = _store.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = load()
    with _lock:
        _store[key] = (now + ttl, value)
    return value


def clear(namespace: str | None = None) -> None:
    """Forget every entry of ``namespace`` (or everything)."""
    with _lock:
        for key in [k for k in _store if namespace is None or k[0] == namespace]:
            _store.pop(key, None)
