"""A lean keep-alive HTTP/1.1 client for the load phases: one socket per client thread, the
request built once as bytes, the answer read by its Content-Length.

Why not requests: the bench's clients share the two cores with the servers they measure, and
requests spends about 1 ms of CPU per call on this machine (preparing, urllib3, cookie jars).
Measured on 2026-11-23: a bare Django view doing one INSERT under the same gunicorn answered
392 requests/s to 12 requests clients and 877/s to 12 of these. The figures are the servers',
not the load generator's, so the generator is kept out of their way.
"""

import json
import socket
from urllib.parse import urlsplit


class HttpError(Exception):
    pass


class KeepAlive:
    def __init__(self, base_url: str, headers: dict | None = None, timeout: float = 60):
        u = urlsplit(base_url)
        self.host, self.port, self.timeout = u.hostname, u.port or 80, timeout
        self.headers = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        self.sock: socket.socket | None = None
        self.buf = b""

    def _connect(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.buf = b""
        return self.sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def post_json(self, path: str, payload) -> tuple[int, bytes]:
        body = json.dumps(payload).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\n{head}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        try:
            return self._exchange(request)
        except (OSError, HttpError):
            self.close()  # the server closed a kept-alive socket: once more on a new one
            return self._exchange(request)

    def _exchange(self, request: bytes) -> tuple[int, bytes]:
        sock = self._connect()
        sock.sendall(request)
        while b"\r\n\r\n" not in self.buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise HttpError("connection closed")
            self.buf += chunk
        head, _sep, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {
            k.strip().lower(): v.strip() for k, _s, v in (x.partition(":") for x in lines[1:])
        }
        if "content-length" not in fields:
            raise HttpError(f"{status} without Content-Length")
        n = int(fields["content-length"])
        while len(rest) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise HttpError("connection closed")
            rest += chunk
        self.buf = rest[n:]
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, rest[:n]
