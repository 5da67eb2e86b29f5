"""Intake over HTTP against the production serving setup (granian WSGI + daphne + a worker).

- resident reports (POST /api/report, 随手拍 without photo) and grid-worker reports
  (POST /api/cases/, session + CSRF), one report per request, closed loop with as many clients as
  the web server has threads: reports/s, as a share of the raw single-row INSERT rate (target ≥ 15 %);
- webhook batches (POST /api/intake/iot/ with {"reports": [100 items]}, X-Api-Key): rows/s, as a
  share of the raw batched INSERT rate (target ≥ 25 %);
- report-to-push latency at a steady 50 reports/s: a town-wide operator's websocket on /ws/live/
  receives each new case's first log entry; latency = push received − request sent (p99 < 250 ms).
"""

import itertools
import json
import math
import re
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench import Row
from bench.http import HttpError, KeepAlive

TITLE = "intake over HTTP: resident/worker single reports, webhook batches, push latency"
BATCH = 100
PUSH_RATE = 50  # reports per second in the latency phase
LATENCY_TARGET_MS = 250
WARMUP = 2.0
MARK = re.compile(r"#(\d+)#")


class Load:
    """Closed loop: ``clients`` threads each send the next request as soon as the last one is
    answered. Only answers that arrive within the measured window count."""

    def __init__(self, ctx, *, clients: int, session, request):
        self.ctx, self.clients, self.session, self.request = ctx, clients, session, request
        self.done: list[tuple[float, int]] = []  # (answered at, units done)
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.seq = itertools.count()

    def _client(self) -> None:
        s = self.session()
        while not self.stop.is_set():
            i = next(self.seq)
            try:
                units, error = self.request(s, i)
            except (requests.RequestException, OSError, HttpError) as exc:
                units, error = 0, repr(exc)[:160]
            self.done.append((time.perf_counter(), units))
            if error:
                self.errors.append(error)

    def run(self) -> tuple[float, int, int]:
        """(units per second in the window, requests answered in it, errors in total)."""
        threads = [threading.Thread(target=self._client, daemon=True) for _ in range(self.clients)]
        for t in threads:
            t.start()
        time.sleep(WARMUP)
        start = time.perf_counter()
        time.sleep(self.ctx.duration)
        end = time.perf_counter()
        self.stop.set()
        for t in threads:
            t.join(timeout=60)
        window = [u for at, u in self.done if start <= at < end]
        return sum(window) / (end - start), len(window), len(self.errors)


def _report_body(ctx, i: int, **extra) -> dict:
    lng, lat = ctx.points[i % len(ctx.points)]
    code = ctx.category_codes[i % len(ctx.category_codes)]
    return {"category": code, "lng": lng, "lat": lat, **extra}


def _err_body(status: int, body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    m = re.search(r"<title>(.*?)</title>", text, re.S)
    return f"{status} {(m.group(1) if m else text).strip()[:100]}"


def _err(r) -> str:
    """A refused request in a few words (the title of an HTML error page, or the JSON body)."""
    text = r.text
    m = re.search(r"<title>(.*?)</title>", text, re.S)
    return f"{r.status_code} {(m.group(1) if m else text).strip()[:100]}"


def _note(errors: int, answered: int, first: list[str], extra: str = "") -> str:
    parts = [extra] if extra else []
    if errors:
        parts.append(f"{errors} errors, first: {first[0]}")
    return "; ".join(parts)


def resident_single(ctx) -> Row:
    base = ctx.web().url

    def request(s, i):
        body = _report_body(ctx, i, description=f"压测 随手拍 {i}")
        status, answer = s.post_json("/api/report", body)
        return (1, "") if status == 201 else (0, _err_body(status, answer))

    clients = ctx.web_workers * ctx.web_threads
    load = Load(ctx, clients=clients, session=lambda: KeepAlive(base), request=request)
    ctx.baseline_before("insert_single")
    rate, answered, errors = load.run()
    note = _note(errors, answered, load.errors, f"{clients} clients, {answered} answered")
    return ctx.ratio_row(
        "resident report POST /api/report",
        rate,
        "reports/s",
        baseline="insert_single",
        minimum=0.15,
        note=note,
    )


def worker_single(ctx) -> Row:
    logged_in = ctx.login("worker")
    me = logged_in.get(ctx.web().url + "/accounts/api/me", timeout=10)
    if me.status_code != 200:
        raise RuntimeError(f"the bench worker's session does not work: {_err(me)}")

    cookie = "; ".join(f"{c.name}={c.value}" for c in logged_in.cookies)
    headers = {"Cookie": cookie, "X-CSRFToken": logged_in.headers["X-CSRFToken"]}

    def session():
        return KeepAlive(ctx.web().url, headers=headers)

    def request(s, i):
        body = _report_body(ctx, i, source="worker", description=f"压测 巡查上报 {i}")
        status, answer = s.post_json("/api/cases/", body)
        return (1, "") if status == 201 else (0, _err_body(status, answer))

    clients = ctx.web_workers * ctx.web_threads
    load = Load(ctx, clients=clients, session=session, request=request)
    ctx.baseline_before("insert_single")
    rate, answered, errors = load.run()
    note = _note(errors, answered, load.errors, f"{clients} clients, {answered} answered")
    return ctx.ratio_row(
        "grid-worker report POST /api/cases/",
        rate,
        "reports/s",
        baseline="insert_single",
        minimum=0.15,
        note=note,
    )


def webhook_batch(ctx) -> Row:
    key = ctx.source_key("iot")
    stamp = int(time.time())

    def session():
        return KeepAlive(ctx.web().url, headers={"X-Api-Key": key})

    def request(s, i):
        items = [
            _report_body(
                ctx,
                i * BATCH + j,
                event_id=f"bench-{stamp}-{i}-{j}",
                sensor_id=f"S{j % 37}",
                alarm_type="water_level",
                value=1.5,
                unit="m",
                description="压测 物联感知",
            )
            for j in range(BATCH)
        ]
        status, answer = s.post_json("/api/intake/iot/", {"reports": items})
        if status != 200:
            return 0, _err_body(status, answer)
        body = json.loads(answer)
        return body["created"], (f"{body['error']} items refused" if body["error"] else "")

    clients = ctx.web_workers + 1
    load = Load(ctx, clients=clients, session=session, request=request)
    ctx.baseline_before("insert_batch")
    rate, answered, errors = load.run()
    note = _note(errors, answered, load.errors, f"{clients} clients, {answered} batches of {BATCH}")
    return ctx.ratio_row(
        "webhook batch POST /api/intake/iot/",
        rate,
        "rows/s",
        baseline="insert_batch",
        minimum=0.25,
        note=note,
    )


def push_latency(ctx) -> list[Row]:
    """Steady PUSH_RATE resident reports/s; the operator's /ws/live/ socket times each push."""
    from websockets.sync.client import connect

    ws, web = ctx.ws(), ctx.web()
    operator = ctx.login("operator")
    cookie = "; ".join(f"{c.name}={c.value}" for c in operator.cookies)
    conn = connect(
        f"ws://127.0.0.1:{ws.port}/ws/live/",
        origin=f"http://127.0.0.1:{ws.port}",
        additional_headers={"Cookie": cookie},
        open_timeout=15,
        max_size=None,
    )
    while True:  # hello, then ready: from here on every push is live
        first = conn.recv(timeout=15)
        if '"ready"' in first:
            break

    sent: dict[int, float] = {}
    received: dict[int, float] = {}
    failed: list[str] = []
    stop = threading.Event()

    def receive():
        import json

        while not stop.is_set():
            try:
                raw = conn.recv(timeout=0.5)
            except TimeoutError:
                continue
            except Exception:  # closed
                return
            at = time.perf_counter()
            msg = json.loads(raw)
            entry = msg.get("entry") or {}
            if msg.get("type") == "case.updated" and entry.get("action") == "report":
                m = MARK.search(entry.get("note", ""))
                if m:
                    received.setdefault(int(m.group(1)), at)

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    local = threading.local()
    url = web.url + "/api/report"

    def send(i: int):
        s = getattr(local, "s", None) or requests.Session()
        local.s = s
        body = _report_body(ctx, i + 7, description=f"压测 推送时延 #{i}#")
        sent[i] = time.perf_counter()
        try:
            r = s.post(url, json=body, timeout=30)
            if r.status_code != 201:
                failed.append(_err(r))
        except requests.RequestException as exc:
            failed.append(repr(exc)[:100])

    total = int(PUSH_RATE * (ctx.duration + WARMUP))
    lag = 0.0
    with ThreadPoolExecutor(max_workers=32) as pool:
        t0 = time.perf_counter()
        for i in range(total):
            due = t0 + i / PUSH_RATE
            now = time.perf_counter()
            if due > now:
                time.sleep(due - now)
            else:
                lag = max(lag, now - due)
            pool.submit(send, i)
        sending = time.perf_counter() - t0
    grace = time.perf_counter() + 5
    while len(received) < len(sent) - len(failed) and time.perf_counter() < grace:
        time.sleep(0.05)
    stop.set()
    receiver.join(timeout=5)
    conn.close()

    warm = int(PUSH_RATE * WARMUP)  # the first seconds warm the servers up; not counted
    measured = [i for i in sent if i >= warm]
    lat = sorted((received[i] - sent[i]) * 1000 for i in measured if i in received)
    missing = len(measured) - len(lat)
    if not lat:
        return [Row("report → push latency", None, "ms", ok=False, note="no push received")]
    p50 = statistics.median(lat)
    p99 = lat[max(0, math.ceil(0.99 * len(lat)) - 1)]
    achieved = total / sending
    note = f"{len(lat)} pushes at {achieved:.0f} reports/s, max {lat[-1]:.0f} ms"
    if missing:
        note += f", {missing} pushes missing"
    if failed:
        note += f", {len(failed)} requests failed: {failed[0]}"
    if lag > 0.1:
        note += f", sender fell {lag * 1000:.0f} ms behind"
    return [
        Row("report → push latency p50", p50, "ms", note=f"{PUSH_RATE} reports/s"),
        Row(
            "report → push latency p99",
            p99,
            "ms",
            target=f"< {LATENCY_TARGET_MS} ms",
            ok=p99 < LATENCY_TARGET_MS and not missing,
            note=note,
        ),
    ]


def routing_drain(ctx) -> Row:
    """The worker is started only now: the throughput phases above measured the request path
    alone and left their cases un-routed (with the route_pending wake-ups queued). How fast one
    worker (2 processes) routes them during one phase: cases whose routed_at was set."""
    sql = "SELECT count(*) FROM events_case WHERE routed_at IS NULL AND status = 'reported'"
    conn = ctx.pg()
    with conn.cursor() as cur:
        cur.execute(sql)
        before = cur.fetchone()[0]
        ctx.worker()
        start = time.perf_counter()
        left = before
        while left and time.perf_counter() - start < ctx.duration:
            time.sleep(0.25)
            cur.execute(sql)
            left = cur.fetchone()[0]
        elapsed = time.perf_counter() - start
        if left:  # the bench's own backlog: set aside, so the latency phase runs on a calm worker
            # (rollup trigger paused for this session: 16,000 row-trigger upserts would load the
            # database during the latency phase; the bench's rollups are not read)
            cur.execute("SELECT set_config('cockpit.rollups_paused', 'on', false)")
            cur.execute("UPDATE events_case SET routed_at = now() WHERE routed_at IS NULL")
            # That UPDATE dirtied every page of the backlog's rows and indexes (~40,000 rows at
            # 14 indexes): written out now, not by the background writer while the latency
            # phase's commits wait for their WAL flushes on the same disk.
            cur.execute("CHECKPOINT")
    conn.close()
    if not before:
        return Row("routing drain (Celery worker)", None, "cases/s", note="nothing was queued")
    note = f"{before - left} of {before} un-routed cases in {elapsed:.1f} s"
    if left:
        note += f", {left} set aside un-routed"
    return Row(
        "routing drain (Celery worker, route_pending)",
        (before - left) / elapsed,
        "cases/s",
        note=note,
    )


def run(ctx):
    rows = []
    # Throughput first, without a worker: these measure the request path alone (on two shared
    # cores a busy worker would be measured too). Then the worker drains what they queued, and
    # the latency phase runs with it, as production does.
    phases = (resident_single, worker_single, webhook_batch, routing_drain, push_latency)
    for phase in phases:
        ctx.log(f"  {phase.__name__}")
        out = phase(ctx)
        rows += out if isinstance(out, list) else [out]
    return rows
