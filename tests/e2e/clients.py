"""Clients for tests that talk to the real servers: a logged-in HTTP session (requests) and
websocket connections (the ``websockets`` library) carrying that session's cookie."""

import io
import json
import time

import redis
import requests
from django.conf import settings
from PIL import Image
from websockets.sync.client import connect

from tests.town import PASSWORD


def login(base_url: str, username: str, password: str = PASSWORD) -> requests.Session:
    """A requests session logged in through the login API; later writes carry the CSRF token."""
    session = requests.Session()
    response = session.post(
        base_url + "/accounts/api/login",
        json={"username": username, "password": password},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    session.headers["X-CSRFToken"] = response.json()["csrf_token"]
    session.headers["Referer"] = base_url + "/"
    session.base_url = base_url
    return session


def ws_url(base_url: str, path: str) -> str:
    return base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + path


def ws_connect(
    base_url: str, path: str, session: requests.Session | None = None, timeout: float = 10
):
    """A websocket to the server, as the session's user (or anonymous)."""
    headers = {}
    if session is not None:
        headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    # The server accepts sockets from its own pages only (AllowedHostsOriginValidator).
    return connect(
        ws_url(base_url, path),
        additional_headers=headers,
        origin=base_url,
        open_timeout=timeout,
        proxy=None,
    )


def recv_json(ws, timeout: float = 5.0) -> dict:
    return json.loads(ws.recv(timeout=timeout))


def recv_until(ws, predicate, timeout: float = 10.0) -> tuple[dict, list[dict]]:
    """Read messages until one matches; returns it and every message read before it."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no matching message within {timeout}s; got {seen}")
        try:
            message = recv_json(ws, timeout=left)
        except TimeoutError:
            raise AssertionError(f"no matching message within {timeout}s; got {seen}")
        if predicate(message):
            return message, seen
        seen.append(message)


def drain(ws, quiet: float = 0.5) -> list[dict]:
    """Every message that arrives until the socket has been quiet for ``quiet`` seconds."""
    out = []
    while True:
        try:
            out.append(recv_json(ws, timeout=quiet))
        except TimeoutError:
            return out


def handshake(ws) -> tuple[dict, list[dict]]:
    """hello, then the catch-up entries up to "ready"."""
    hello = recv_json(ws)
    assert hello["type"] == "hello", hello
    _ready, entries = recv_until(ws, lambda m: m["type"] == "ready")
    return hello, entries


def jpeg(color=(200, 80, 40), size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


def reset_rate_limits(redis_url: str | None = None) -> None:
    """Forget the resident endpoints' per-IP counters of this test run (every test posts from
    127.0.0.1, and the hourly window would otherwise carry over between runs)."""
    client = redis.Redis.from_url(redis_url or settings.REDIS_URL)
    for key in client.scan_iter(match=f"cockpit{settings.TEST_RUN_ID}:*rl:*", count=1000):
        client.delete(key)


def taxonomy():
    """The shipped categories and deadline policies (a transactional test's flush removes the
    rows the migration made, so tests that commit load them again; loading is idempotent)."""
    from events.taxonomy import taxonomy_load

    taxonomy_load()
