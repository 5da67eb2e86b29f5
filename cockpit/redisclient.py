"""Redis for the hot paths that talk to it directly (the rate limiter, the routing wake-up, the
live push). Keys carry the same prefix as the cache, so test runs and the bench stay apart from
a ``make run`` on the same Redis.

``exchange`` sends a list of commands in one round trip on the calling thread's own connection
and reads their replies: a pipeline without redis-py's per-command machinery (pool checkout,
retry wrappers, response callbacks), which cost ~60 µs of CPU a command, more than Redis itself
spends on it; the 随手拍 path sends three such round trips. Replies come raw (bytes, ints,
lists); an error reply is raised once all replies are read (or, with ``raise_errors=False``,
returned as its ResponseError). A connection error is raised after the connection is dropped,
so the next call opens a fresh one.
"""

import os
import threading

import redis
from django.conf import settings

TIMEOUT = 2.0
_local = threading.local()


def key(name: str) -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{name}"


def _connection(url: str, timeout: float) -> redis.connection.AbstractConnection:
    conns = _local.__dict__.setdefault("conns", {})
    found = conns.get(url)
    if found is not None and found[0] == os.getpid():
        return found[1]
    pool = redis.ConnectionPool.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=TIMEOUT
    )
    conn = pool.connection_class(**pool.connection_kwargs)
    conns[url] = (os.getpid(), conn)
    return conn


def exchange(
    commands: list[tuple],
    *,
    url: str | None = None,
    timeout: float = TIMEOUT,
    raise_errors: bool = True,
) -> list:
    """The replies of ``commands`` (tuples of command name and arguments), sent in one round
    trip to ``url`` (REDIS_URL by default)."""
    if not commands:
        return []
    conn = _connection(url or settings.REDIS_URL, timeout)
    try:
        conn.send_packed_command(conn.pack_commands(commands), check_health=False)
        replies = []
        for _command in commands:
            try:
                replies.append(conn.read_response())
            except redis.exceptions.ResponseError as exc:
                replies.append(exc)
    except BaseException:
        conn.disconnect()
        raise
    if raise_errors:
        for reply in replies:
            if isinstance(reply, redis.exceptions.ResponseError):
                raise reply
    return replies
