"""Processes the tests start for real: a Celery worker, an ASGI server, a throwaway Redis.

Each child gets this test session's DATABASE_URL (the test database) and COCKPIT_TEST_RUN_ID
(its own Celery queue and channel-layer prefix), so parallel pytest workers never share work.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(database_url: str, redis_url: str | None = None, **extra) -> dict:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env["REDIS_URL"] = redis_url or settings.REDIS_URL
    env["COCKPIT_TEST_RUN_ID"] = settings.TEST_RUN_ID  # includes the xdist worker already
    env.pop("PYTEST_XDIST_WORKER", None)  # so the child does not append it a second time
    env["DJANGO_SETTINGS_MODULE"] = "cockpit.settings"
    env["CONN_MAX_AGE"] = "0"  # the test database is dropped at the end; hold no connections
    # Tests rebuild the town and its categories between tests (new ids for the same codes): a
    # server must not answer from what it cached of an earlier test (cockpit.localcache).
    env["LOCAL_CACHE_SECONDS"] = "0"
    env.update({k: str(v) for k, v in extra.items()})
    return env


class _Proc:
    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(
            prefix=f"{type(self).__name__}-", suffix=".log", delete=False
        )

    def _serve(self, cmd: list[str], env: dict, what: str) -> None:
        """Start an HTTP server and wait until it answers at all (a static file: healthz would
        be 503 without a Celery worker)."""
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                requests.get(self.url + "/static/cockpit/base.css", timeout=1)
                return
            except requests.RequestException:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"{what} did not start:\n" + self.output())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-5000:]


class CeleryWorker(_Proc):
    def __init__(
        self,
        database_url: str,
        redis_url: str | None = None,
        beat: bool = False,
        env: dict | None = None,
    ):
        super().__init__()
        self.database_url = database_url
        self.redis_url = redis_url
        self.beat = beat
        self.env = env or {}

    def start(self) -> None:
        cmd = [
            str(VENV_BIN / "celery"),
            "-A",
            "cockpit",
            "worker",
            "-l",
            "info",
            "-P",
            "solo",
            "--without-gossip",
            "--without-mingle",
        ]
        if self.beat:
            cmd.append("-B")
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=child_env(self.database_url, self.redis_url, **self.env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            if "ready." in self.output():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("Celery worker did not start:\n" + self.output())


class AsgiServer(_Proc):
    def __init__(self, database_url: str, redis_url: str | None = None):
        super().__init__()
        self.database_url = database_url
        self.redis_url = redis_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [
            str(VENV_BIN / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            "cockpit.asgi:application",
        ]
        env = child_env(
            self.database_url, self.redis_url, ALLOWED_HOSTS="127.0.0.1,localhost", DEBUG="0"
        )
        self._serve(cmd, env, "ASGI server")


class WsgiServer(_Proc):
    """The production HTTP server (granian, WSGI) as scripts/run.sh starts it, on the test
    database; ``env`` adds settings (FORWARDED_ALLOW_IPS …)."""

    def __init__(self, database_url: str, env: dict | None = None):
        super().__init__()
        self.database_url = database_url
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [str(VENV_BIN / "granian"), "--interface", "wsgi", "cockpit.wsgi:application"]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        cmd += ["--blocking-threads", "2", "--log-level", "warning"]
        env = child_env(
            self.database_url, ALLOWED_HOSTS="127.0.0.1,localhost", DEBUG="0", **self.env
        )
        self._serve(cmd, env, "WSGI server")


class ThrowawayRedis(_Proc):
    """A Redis of the test's own, so a fault test can stop it without touching anyone else's."""

    def __init__(self):
        super().__init__()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tempfile.mkdtemp(prefix="redis-")

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        cmd = [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            self.dir,
        ]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis did not start:\n" + self.output())
