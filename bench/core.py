"""The bench's world: its own database, its own servers, the figures everything is compared with.

``Context.create()`` must run before Django is imported anywhere else in the process: it points
DATABASE_URL at the bench database and sets the run id that keeps the bench's Celery queue,
channel prefix and cache keys apart from a ``make run`` on the same Redis.
"""

import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import Row

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RUN_ID = "bench"
BENCH_DB = "cockpit_bench"
LOG_DIR = ROOT / "var" / "bench"
PASSWORD = "Bench#2026pw"  # only ever in the throwaway bench database
# The resident endpoints limit reports per client IP and phone; every bench client is 127.0.0.1.
UNLIMITED = "1000000000/3600"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _base_database_url() -> str:
    """The server the project uses: DATABASE_URL, else the project-local cluster (the default of
    cockpit/settings.py, which cannot be imported here: it must read the bench's DATABASE_URL)."""
    port = os.environ.get("LOCAL_PG_PORT", "55432")
    return os.environ.get("DATABASE_URL", f"postgis://cockpit@127.0.0.1:{port}/cockpit")


def bench_database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    parts = urlsplit(_base_database_url())
    return urlunsplit(parts._replace(path="/" + BENCH_DB))


def _psycopg_kwargs(url: str) -> dict:
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "password": parts.password or None,
        "dbname": parts.path.lstrip("/"),
    }


RUN_LOCK = 0x62656E63  # advisory lock key ("benc"): one bench run at a time per server


def _run_lock(url: str, log):
    """Hold a session advisory lock (on the server's postgres database) for the whole run: two
    runs at once would empty each other's case tables and reset each other's users."""
    import psycopg2

    conn = psycopg2.connect(**{**_psycopg_kwargs(url), "dbname": "postgres"})
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", [RUN_LOCK])
        if not cur.fetchone()[0]:
            log("another bench run is using the bench database; waiting for it to finish")
            cur.execute("SELECT pg_advisory_lock(%s)", [RUN_LOCK])
    return conn  # closing it (or exiting) releases the lock


def _database_ensure(url: str, *, fresh: bool) -> None:
    import psycopg2
    from psycopg2 import sql

    kwargs = _psycopg_kwargs(url)
    name = kwargs["dbname"]
    admin = psycopg2.connect(**{**kwargs, "dbname": "postgres"})
    admin.autocommit = True
    with admin.cursor() as cur:
        if fresh:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()
    conn = psycopg2.connect(**kwargs)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.close()


# --- processes ----------------------------------------------------------------------------------


class Proc:
    """A server process of the bench's own, logging to var/bench/<name>.log."""

    def __init__(self, name: str, cmd: list[str], env: dict, port: int | None = None):
        self.name, self.cmd, self.env, self.port = name, cmd, env, port
        self.url = f"http://127.0.0.1:{port}" if port else ""
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, ready, timeout: float = 60) -> "Proc":
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            if ready(self):
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not start; see {self.log_path}:\n{self.output()}")

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _port_open(proc: Proc) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", proc.port), timeout=0.3):
            return True
    except OSError:
        return False


def _http_ready(proc: Proc) -> bool:
    import requests

    try:
        requests.get(proc.url + "/healthz", timeout=2)  # any answer (even 503) means it serves
        return True
    except requests.RequestException:
        return False


# --- the context ----------------------------------------------------------------------------------


@dataclass
class Context:
    database_url: str
    redis_url: str
    duration: float = 12.0
    web_workers: int = 3
    web_threads: int = 4
    started: list[Proc] = field(default_factory=list)
    _servers: dict = field(default_factory=dict)
    _baselines: dict = field(default_factory=dict)
    _before: dict = field(default_factory=dict)
    _logins: dict = field(default_factory=dict)
    points: list[tuple[float, float]] = field(default_factory=list)
    category_codes: list[str] = field(default_factory=list)
    users: dict = field(default_factory=dict)  # role -> username
    _lock: object = None  # the connection holding the one-run-at-a-time lock

    # --- setup ---

    @classmethod
    def create(cls, *, fresh: bool = False, duration: float = 12.0) -> "Context":
        """Point this process at the bench database, migrate it, build the territory once and
        empty the case tables, so every run starts from the same state."""
        url = bench_database_url()
        os.environ["DATABASE_URL"] = url
        os.environ["COCKPIT_TEST_RUN_ID"] = RUN_ID
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cockpit.settings")
        os.environ.setdefault("LOG_LEVEL", "ERROR")
        lock = _run_lock(url, cls.log)
        _database_ensure(url, fresh=fresh)

        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        ctx = cls(
            _lock=lock,
            database_url=url,
            redis_url=settings.REDIS_URL,
            duration=duration,
            web_workers=int(os.environ.get("WEB_WORKERS", 3)),
            web_threads=int(os.environ.get("WEB_THREADS", 4)),
        )
        ctx.log(f"bench database {urlsplit(url).path.lstrip('/')}: migrate")
        call_command("migrate", verbosity=0, interactive=False)
        ctx._territory_ensure()
        ctx._cases_clear()
        ctx._fixtures()
        return ctx

    def _territory_ensure(self) -> None:
        from django.db import transaction

        from cockpit.demo.steps import DemoContext
        from cockpit.demo.territory import territory_build
        from grids.models import Node

        if Node.objects.filter(kind=Node.Kind.TOWN).exists():
            return
        self.log("building the demo town's territory (demo_town step 'territory')")
        with transaction.atomic():
            self.log("  " + str(territory_build(DemoContext(seed=2020)) or ""))

    def _cases_clear(self) -> None:
        from django.db import connection

        from events.models import Case, CaseLog

        # The log has no constraint to its case (events.guards): CASCADE alone would keep it.
        with connection.cursor() as cur:
            cur.execute(f'TRUNCATE "{Case._meta.db_table}", "{CaseLog._meta.db_table}" CASCADE')

    def _fixtures(self) -> None:
        from django.db import connection
        from django.utils import timezone

        from accounts.models import User
        from events.models import Category
        from grids.models import Node

        town = Node.objects.get(kind=Node.Kind.TOWN)
        grid = Node.objects.filter(kind=Node.Kind.GRID).order_by("code").first()
        for role, username, scope in (
            ("operator", "bench_operator", town),
            ("grid_worker", "bench_worker", grid),
        ):
            user = User.objects.filter(username=username).first() or User(username=username)
            user.role, user.scope, user.is_active = role, scope, True
            user.display_name = f"压测{role}"
            user.set_password(PASSWORD)
            user.password_changed_at = timezone.now()
            user.save()
            self.users["worker" if role == "grid_worker" else role] = username
        # Points inside grids, a few per grid: reports land in the town like real ones do.
        with connection.cursor() as cur:
            cur.execute(
                f"""SELECT ST_X(g), ST_Y(g) FROM (
                      SELECT (ST_Dump(ST_GeneratePoints(boundary, 8, 2020))).geom AS g
                      FROM "{Node._meta.db_table}" WHERE kind = 'grid') s"""
            )
            self.points = [(round(x, 6), round(y, 6)) for x, y in cur.fetchall()]
        random.Random(2020).shuffle(self.points)
        self.category_codes = list(
            Category.objects.filter(active=True, kind="matter", code__regex=r"^\d{5}$")
            .order_by("code")
            .values_list("code", flat=True)[:10]
        )

    # --- helpers for benchmarks ---

    @staticmethod
    def log(msg: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    def pg(self):
        import psycopg2

        conn = psycopg2.connect(**_psycopg_kwargs(self.database_url))
        conn.autocommit = True
        return conn

    def child_env(self, **extra) -> dict:
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "COCKPIT_TEST_RUN_ID": RUN_ID,
                "DJANGO_SETTINGS_MODULE": "cockpit.settings",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "DEBUG": "0",
                "LOG_LEVEL": "WARNING",
                "REPORT_RATE_PER_IP": UNLIMITED,
                "REPORT_RATE_PER_PHONE": UNLIMITED,
            }
        )
        env.pop("PYTEST_XDIST_WORKER", None)
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def _start(self, key: str, make) -> Proc:
        if key not in self._servers:
            proc = make()
            self.started.append(proc)
            self._servers[key] = proc
        return self._servers[key]

    def ws(self) -> Proc:
        """daphne (ASGI) serving the websockets, as scripts/run.sh does on :8001."""

        def make():
            port = free_port()
            cmd = [str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port)]
            cmd += ["-v", "0", "cockpit.asgi:application"]
            self.log(f"starting daphne on :{port}")
            return Proc("daphne", cmd, self.child_env(), port).start(_port_open)

        return self._start("ws", make)

    def web(self) -> Proc:
        """granian (WSGI) serving HTTP, as scripts/run.sh and docker-compose do."""

        def make():
            ws_port = self.ws().port
            port = free_port()
            cmd = [str(VENV_BIN / "granian"), "--interface", "wsgi", "cockpit.wsgi:application"]
            cmd += ["--host", "127.0.0.1", "--port", str(port)]
            cmd += ["--workers", str(self.web_workers), "--blocking-threads", str(self.web_threads)]
            cmd += ["--blocking-threads-idle-timeout", "600", "--log-level", "warning"]
            self.log(
                f"starting granian -w {self.web_workers} --blocking-threads {self.web_threads}"
                f" on :{port}"
            )
            return Proc("granian", cmd, self.child_env(WS_PORT=ws_port), port).start(_http_ready)

        return self._start("web", make)

    def worker(self) -> Proc:
        """A Celery worker on the bench queue (routing of new cases)."""

        def make():
            # niced as in production (scripts/run.sh, docker-compose.yml): routing waits, a
            # request or a push does not
            cmd = ["nice", "-n", os.environ.get("WORKER_NICE", "10")]
            cmd += [str(VENV_BIN / "celery"), "-A", "cockpit", "worker", "-l", "info"]
            cmd += ["-c", os.environ.get("CELERY_CONCURRENCY", "2")]
            cmd += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
            self.log("starting celery worker")
            # The whole log: a worker draining a long queue pushes "ready." out of the tail at once.
            return Proc("celery", cmd, self.child_env()).start(
                lambda p: "ready." in p.log_path.read_text(errors="replace")
            )

        return self._start("worker", make)

    def queue_drain(self, timeout: float = 60) -> int:
        """Wait until the bench's Celery queue is empty; returns what is left (0 when drained)."""
        import redis
        from django.conf import settings

        r = redis.Redis.from_url(self.redis_url)
        deadline = time.time() + timeout
        left = r.llen(settings.CELERY_TASK_DEFAULT_QUEUE)
        while left and time.time() < deadline:
            time.sleep(0.5)
            left = r.llen(settings.CELERY_TASK_DEFAULT_QUEUE)
        return left

    def login(self, role: str):
        """A requests.Session logged in (POST /accounts/api/login) as the bench user of ``role``,
        with the CSRF header set for writes. One login per role; callers copy its cookies."""
        import requests

        if role not in self._logins:
            s = requests.Session()
            r = s.post(
                self.web().url + "/accounts/api/login",
                json={"username": self.users[role], "password": PASSWORD},
                timeout=10,
            )
            r.raise_for_status()
            s.headers["X-CSRFToken"] = r.json()["csrf_token"]
            self._logins[role] = s
        return self._logins[role]

    def source_key(self, source: str) -> str:
        from accounts.services.source_keys import source_key_issue

        _key, raw = source_key_issue(source=source, name="bench")
        return raw

    def baseline(self, key: str) -> Row:
        from bench import baselines

        if key not in self._baselines:
            self._baselines[key] = baselines.MEASURE[key](self)
        return self._baselines[key]

    def baseline_before(self, key: str) -> None:
        """Measure baseline ``key`` again right before a phase; its ratio_row then measures it
        once more right after and compares with the mean of the two. A shared machine's speed
        drifts within a run (session 6: the same code gave 318 and 621 reports/s two minutes
        apart against run-start baselines within 5 % of each other); bracketing each phase
        compares it with the database's rate at that time, not the run's first seconds."""
        from bench import baselines

        self._before[key] = baselines.MEASURE[key](self)

    def ratio_row(
        self, name: str, value: float | None, unit: str, *, baseline: str, minimum: float, note=""
    ) -> Row:
        """A Row comparing ``value`` with baseline ``baseline``; passes at ratio ≥ ``minimum``.
        After baseline_before: with the mean of the baseline measured before and after the
        phase; otherwise with the run's own baseline row."""
        from bench import baselines

        base = self.baseline(baseline)
        base_value, measured = base.value, f"{base.value:,.0f}" if base.value else ""
        before = self._before.pop(baseline, None)
        if before is not None and before.value:
            after = baselines.MEASURE[baseline](self)
            base_value = (before.value + after.value) / 2
            measured = f"{base_value:,.0f} (before {before.value:,.0f}, after {after.value:,.0f})"
        ratio = value / base_value if value is not None and base_value else None
        return Row(
            name,
            value,
            unit,
            baseline=f"{base.name} {measured} {base.unit}" if base_value else base.name,
            ratio=ratio,
            target=f"≥ {minimum:.0%}",
            ok=None if ratio is None else ratio >= minimum,
            note=note,
        )

    def stop(self) -> None:
        for proc in reversed(self.started):
            proc.stop()
        self.started.clear()
        self._servers.clear()


def machine_conditions(ctx: Context | None = None) -> dict:
    """What the figures depend on: cores, load, PostgreSQL durability settings."""
    info = {
        "cores": os.cpu_count(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": sys.version.split()[0],
    }
    if ctx is not None:
        conn = ctx.pg()
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            info["postgres"] = cur.fetchone()[0]
            cur.execute("SHOW fsync")
            fsync = cur.fetchone()[0]
            cur.execute("SHOW synchronous_commit")
            info["durability"] = f"fsync={fsync} synchronous_commit={cur.fetchone()[0]}"
        conn.close()
        info["serving"] = (
            f"granian {ctx.web_workers}x{ctx.web_threads} (WSGI), daphne, celery worker"
        )
    return info
