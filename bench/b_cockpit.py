"""The cockpit at a year's scale: 1,000,000 cases over 365 days and 11,000 site points
(bench/gen_cases.py). Every big-screen data endpoint is timed over HTTP against the production
serving setup (granian), p95 of sequential requests, target < 50 ms; the z14 vector tile
(uncached, straight from ST_AsMVT) target < 20 ms. Beside each, the naive raw SQL that would
answer the same question from events_case, timed in the same run on the same data.
"""

import math
import statistics
import time

from bench import Row

TITLE = "cockpit big screen: endpoints and z14 tiles at 1M cases (rollups vs naive SQL)"
REQUESTS = 120
ENDPOINT_TARGET_MS = 50
TILE_TARGET_MS = 20

# endpoint → the naive query on events_case that answers the same panel without rollups
NAIVE = {
    "summary": (
        "SELECT source, category_id, status, count(*) FROM events_case "
        "WHERE reported_at >= date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai') "
        "AT TIME ZONE 'Asia/Shanghai' GROUP BY 1, 2, 3; "
        "SELECT count(*), count(*) FILTER (WHERE LEAST(register_due, resolve_due) < now()) "
        "FROM events_case WHERE status NOT IN ('closed', 'rejected', 'merged', 'parked'); "
        "SELECT status, count(*) FROM events_case WHERE reported_at >= now() - interval '7 days' "
        "GROUP BY 1"
    ),
    "indices": (
        "SELECT date_trunc('day', reported_at), category_id, source, grade, count(*) "
        "FROM events_case WHERE reported_at >= now() - interval '58 days' GROUP BY 1, 2, 3, 4"
    ),
    "grids": (
        "SELECT grid_id, count(*) FILTER (WHERE status NOT IN ('closed','rejected','merged')), "
        "count(*) FILTER (WHERE reported_at >= now() - interval '7 days') "
        "FROM events_case GROUP BY 1"
    ),
    "cases": (
        "SELECT id, ST_X(location), ST_Y(location), grade, status FROM events_case "
        "WHERE status NOT IN ('closed','rejected','merged','parked') "
        "AND reported_at >= now() - interval '72 hours' ORDER BY reported_at DESC LIMIT 3000"
    ),
    "heat": (
        "SELECT floor(ST_X(location) / 0.002), floor(ST_Y(location) / 0.002), count(*) "
        "FROM events_case WHERE reported_at >= now() - interval '7 days' GROUP BY 1, 2"
    ),
    "ticker": "SELECT id FROM events_case ORDER BY reported_at DESC LIMIT 20",
}
NAIVE_GRID = (
    "SELECT status, count(*) FROM events_case WHERE grid_id = %(grid)s GROUP BY 1; "
    "SELECT count(*) FROM events_case WHERE grid_id = %(grid)s "
    "AND reported_at >= now() - interval '7 days'"
)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _tiles_z14() -> list[tuple[int, int, int]]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(boundary) e FROM grids_node WHERE kind = 'grid') s"
        )
        w, s, e, n = cur.fetchone()

    def tile(lng, lat, z=14):
        k = 2**z
        x = int((lng + 180) / 360 * k)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * k)
        return z, x, y

    (_, x0, y1), (_, x1, y0) = tile(w, s), tile(e, n)
    return [(14, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def run(ctx) -> list[Row]:
    from django.core.cache import cache
    from django.db import connection

    from bench.gen_cases import generate
    from cockpit.models import IndexValue
    from cockpit.screen.indices import indices_trend
    from cockpit.screen.tiles import tile_render, tile_version
    from grids.models import Node

    IndexValue.objects.all().delete()  # values of an earlier run's data
    made = generate(log=ctx.log)
    ctx.log("indices: 30 days stored (the consultation task's work, done once)")
    indices_trend(days=30)
    session = ctx.login("operator")
    base = ctx.web().url
    pg = ctx.pg()
    rows = [
        Row(
            "cockpit data: cases generated",
            made["cases"],
            "cases",
            note=f"{made['sites']} site points; {made['seconds']:.0f} s incl. rollup rebuild",
        )
    ]
    grid = Node.objects.filter(kind=Node.Kind.GRID).order_by("code").first()

    def naive_ms(sql: str, params=None) -> float:
        cur = pg.cursor()

        def q():
            for part in sql.split("; "):
                cur.execute(part, params or {})
                cur.fetchall()

        q()  # warm
        return p95(timed(q, 15))

    endpoints = [(name, f"/api/screen/{name}", NAIVE[name]) for name in NAIVE]
    endpoints.append(("grid drill-down", f"/api/screen/grids/{grid.id}", NAIVE_GRID))
    for name, path, sql in endpoints:
        session.get(base + path, timeout=30).raise_for_status()  # warm
        samples = timed(
            lambda p=path: session.get(base + p, timeout=30).raise_for_status(), REQUESTS
        )
        value = p95(samples)
        naive = naive_ms(sql, {"grid": grid.id})
        rows.append(
            Row(
                f"cockpit {name}: GET {path} p95",
                value,
                "ms",
                baseline=f"naive SQL on events_case p95 {naive:.1f} ms",
                ratio=value / naive if naive else None,
                target=f"< {ENDPOINT_TARGET_MS} ms",
                ok=value < ENDPOINT_TARGET_MS,
                note=f"median {statistics.median(samples):.1f} ms over {REQUESTS} HTTP requests",
            )
        )

    tiles = _tiles_z14()
    render = []
    for z, x, y in tiles:
        t = time.perf_counter()
        tile_render(z=z, x=x, y=y)
        render.append((time.perf_counter() - t) * 1000)
    http = []
    for z, x, y in tiles:
        cache.delete(f"cockpit:tile:{tile_version()}:{z}/{x}/{y}")
        t = time.perf_counter()
        session.get(f"{base}/api/tiles/{z}/{x}/{y}.pbf", timeout=30).raise_for_status()
        http.append((time.perf_counter() - t) * 1000)
    rows.append(
        Row(
            "cockpit z14 tile ST_AsMVT (uncached) p95",
            p95(render),
            "ms",
            baseline=f"{len(tiles)} tiles over the town",
            target=f"< {TILE_TARGET_MS} ms",
            ok=p95(render) < TILE_TARGET_MS,
            note="layers town, communities, grids, addresses",
        )
    )
    rows.append(
        Row(
            "cockpit GET tiles/14/x/y.pbf (uncached) p95",
            p95(http),
            "ms",
            target=f"< {TILE_TARGET_MS} ms",
            ok=p95(http) < TILE_TARGET_MS,
            note=f"median {statistics.median(http):.1f} ms; then cached 300 s",
        )
    )
    # Leave the cases table as the other benchmarks expect it (TRUNCATE empties the rollups).
    with connection.cursor() as cur:
        cur.execute("TRUNCATE events_case, events_caselog CASCADE")  # the log: events.guards
    pg.close()
    return rows
