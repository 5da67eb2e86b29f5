"""The baselines: what the database alone does on this machine, measured in the same run.

Intake figures are quoted as a share of these, so a slow machine (or one shared with other work)
moves both sides and the ratio stays meaningful. Each runs for a fixed time, not a fixed count.
"""

import random
import time

from psycopg2.extras import execute_values

from bench import Row

SECONDS = 4.0
BATCH = 100
RAW_TABLE = "bench_raw"
POINT = "ST_SetSRID(ST_MakePoint(%s, %s), 4326)"


def _raw_table(conn) -> None:
    """A plain table with a geometry column and its GiST index (a case row has both)."""
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        cur.execute(
            f"""CREATE TABLE {RAW_TABLE} (
                  id bigserial PRIMARY KEY,
                  at timestamptz NOT NULL DEFAULT now(),
                  note text NOT NULL,
                  geom geometry(Point, 4326))"""
        )
        cur.execute(f"CREATE INDEX {RAW_TABLE}_geom ON {RAW_TABLE} USING gist (geom)")


def _points(ctx, n: int) -> list[tuple[float, float]]:
    pts = ctx.points or [(120.09, 30.33)]
    return [pts[i % len(pts)] for i in range(n)]


def insert_single(ctx) -> Row:
    """Single-row INSERTs, one connection, autocommit: one commit (one WAL flush) per row."""
    conn = ctx.pg()
    _raw_table(conn)
    pts = _points(ctx, 4096)
    sql = f"INSERT INTO {RAW_TABLE} (note, geom) VALUES (%s, {POINT})"
    n = 0
    with conn.cursor() as cur:
        start = time.perf_counter()
        while time.perf_counter() - start < SECONDS:
            x, y = pts[n % len(pts)]
            cur.execute(sql, (f"raw report {n}", x, y))
            n += 1
        elapsed = time.perf_counter() - start
    conn.close()
    return Row("raw single-row INSERT", n / elapsed, "rows/s", note=f"{n} rows, autocommit")


def insert_batch(ctx) -> Row:
    """execute_values pages of 100 rows, one commit per page."""
    conn = ctx.pg()
    _raw_table(conn)
    pts = _points(ctx, 4096)
    sql = f"INSERT INTO {RAW_TABLE} (note, geom) VALUES %s"
    template = f"(%s, {POINT})"
    n = 0
    with conn.cursor() as cur:
        start = time.perf_counter()
        while time.perf_counter() - start < SECONDS:
            rows = [(f"raw report {n + i}", *pts[(n + i) % len(pts)]) for i in range(BATCH)]
            execute_values(cur, sql, rows, template=template, page_size=BATCH)
            n += BATCH
        elapsed = time.perf_counter() - start
    conn.close()
    return Row(
        f"raw batched INSERT ({BATCH}/batch)",
        n / elapsed,
        "rows/s",
        note=f"{n} rows, execute_values",
    )


def _town_box(ctx) -> tuple[float, float, float, float]:
    from django.contrib.gis.db.models import Extent

    from grids.models import Node

    return Node.objects.filter(kind=Node.Kind.GRID).aggregate(e=Extent("boundary"))["e"]


def _random_points(ctx, n: int) -> list[tuple[float, float]]:
    """Points anywhere in the town's bounding box: most in a grid, some outside every grid."""
    x0, y0, x1, y1 = _town_box(ctx)
    rng = random.Random(7)
    return [(rng.uniform(x0, x1), rng.uniform(y0, y1)) for _ in range(n)]


def locate_orm(ctx) -> Row:
    """grids.selectors.grid_locate: the path every report with a place takes."""
    from django.contrib.gis.geos import Point

    from grids.selectors import grid_locate

    pts = _random_points(ctx, 4096)
    n = found = 0
    start = time.perf_counter()
    while time.perf_counter() - start < SECONDS * 0.75:
        x, y = pts[n % len(pts)]
        found += grid_locate(point=Point(x, y, srid=4326)) is not None
        n += 1
    elapsed = time.perf_counter() - start
    return Row(
        "locate point → grid (grid_locate, ORM)",
        n / elapsed,
        "points/s",
        note=f"{n} points, {found / n:.0%} in a grid",
    )


def locate_sql(ctx) -> Row:
    """The same query as grid_locate in raw SQL (partial GiST index on grid boundaries)."""
    from grids.models import Node

    pts = _random_points(ctx, 4096)
    sql = (
        f'SELECT id FROM "{Node._meta.db_table}" WHERE kind = %s '
        f"AND ST_Covers(boundary, {POINT}) ORDER BY code LIMIT 1"
    )
    conn = ctx.pg()
    n = 0
    with conn.cursor() as cur:
        start = time.perf_counter()
        while time.perf_counter() - start < SECONDS * 0.75:
            x, y = pts[n % len(pts)]
            cur.execute(sql, ("grid", x, y))
            cur.fetchone()
            n += 1
        elapsed = time.perf_counter() - start
    conn.close()
    return Row("locate point → grid (indexed SQL)", n / elapsed, "points/s", note=f"{n} points")


MEASURE = {
    "insert_single": insert_single,
    "insert_batch": insert_batch,
    "locate_orm": locate_orm,
    "locate_sql": locate_sql,
}
