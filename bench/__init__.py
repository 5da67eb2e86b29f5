"""Benchmarks: ``make bench`` (``python -m bench [--only NAME] [--duration S] [--markdown]``).

One run measures the baselines and everything built on them against a database of its own
(``cockpit_bench`` on the same server, migrated, with the demo town's territory only), with its
own granian (HTTP), daphne (websockets) and Celery worker started on free ports, and prints ONE
table. The demo town's data and a running ``make run`` are never touched: the bench's queue,
channel prefix and cache keys carry the run id ``bench`` (``COCKPIT_TEST_RUN_ID``).

Adding a benchmark (the registry)
---------------------------------
Drop a module ``bench/b_<name>.py`` that defines::

    def run(ctx: bench.core.Context) -> list[bench.Row]:
        ...

Modules run in name order; ``--only <name>`` (repeatable, comma-separated; a prefix of the part
after ``b_`` matches) selects some of them. Optional module attributes: ``TITLE`` (shown in
``--list``). What ``ctx`` offers (see bench.core.Context):

- ``ctx.database_url`` — the bench database (Django in this process is already set up on it);
  ``ctx.pg()`` — a fresh psycopg2 connection to it (autocommit), for raw SQL.
- ``ctx.baseline(key)`` — a baseline Row, measured once per run on first use: ``"insert_single"``
  (raw single-row INSERT, rows/s), ``"insert_batch"`` (raw batched INSERT, rows/s),
  ``"locate_orm"`` / ``"locate_sql"`` (points located in grids, points/s).
  ``ctx.ratio_row(...)`` builds a Row that compares a value with a baseline and a target.
- ``ctx.web()``, ``ctx.ws()``, ``ctx.worker()`` — the production serving setup (granian WSGI
  WSGI, daphne ASGI for websockets, a Celery worker), started once on first use and stopped at
  the end of the run; ``.url`` is the base URL. ``ctx.queue_drain()`` waits for the worker.
- ``ctx.points`` (WGS84 lng/lat inside grids), ``ctx.category_codes``, ``ctx.login(role)`` (a
  logged-in ``requests.Session`` for ``"operator"`` — town-wide — or ``"worker"`` — one grid),
  ``ctx.source_key(source)`` (a fresh webhook key), ``ctx.duration`` (seconds per measured phase),
  ``ctx.log(msg)`` (progress on stderr).

Rows
----
``Row(name, value, unit, baseline="", ratio=None, target="", ok=None, note="")``: ``ratio`` is
value / baseline as a fraction; ``ok`` is True/False when there is a target, None otherwise.
A module that raises is reported as one failed row and the run goes on; the exit status is 1
only when a benchmark crashed (an unmet target is a figure, not an error; ``--strict`` makes it
one).
"""

from dataclasses import dataclass


@dataclass
class Row:
    name: str
    value: float | None
    unit: str
    baseline: str = ""  # what the value is compared with, in words ("raw single INSERT 812/s")
    ratio: float | None = None  # value / baseline
    target: str = ""  # "≥ 15 %", "< 250 ms"
    ok: bool | None = None  # None when there is no target
    note: str = ""
