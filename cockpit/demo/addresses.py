"""Step "addresses": the address library (地址库), about 20,000 standard addresses.

Points are scattered in each grid by PostGIS (ST_GeneratePoints with a seed, so they are
repeatable and inside the grid by construction), more of them where the town is built up. The
town is crossed by a lattice of named roads; each point takes the nearest road, a door number
from its position along that road (odd numbers on the north/west side, even on the other, one
number per 40 m), and a building number within that door: "三墩镇兰里路88号3幢".
"""

from collections import defaultdict

from django.conf import settings
from django.db import connection
from psycopg2.extras import execute_values

from cockpit.demo.names import ROAD_STEMS
from cockpit.demo.steps import DemoContext
from cockpit.demo.territory import TownPlan
from grids.models import Address

N_ADDRESSES = 20_000
DOOR_SPACING_M = 40  # one door number per 40 m of frontage on each side of a road
ROAD_SPACING_M = (650, 750)  # east–west roads, north–south roads


def _counts(weights: list[float], total: int) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainder), at least 20 each."""
    floor = 20
    rest = total - floor * len(weights)
    raw = [w / sum(weights) * rest for w in weights]
    counts = [floor + int(r) for r in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (-(raw[i] - int(raw[i])), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _roads(rng, plan: TownPlan) -> list[tuple[str, str, float]]:
    """(name, "ew" | "ns", offset in metres) for a lattice of roads across the town, gently jittered."""
    xs, ys = [p[0] for p in plan.ring], [p[1] for p in plan.ring]
    ew = [
        min(ys) + ROAD_SPACING_M[0] * (j + 0.5)
        for j in range(int((max(ys) - min(ys)) // ROAD_SPACING_M[0]) + 1)
    ]
    ns = [
        min(xs) + ROAD_SPACING_M[1] * (i + 0.5)
        for i in range(int((max(xs) - min(xs)) // ROAD_SPACING_M[1]) + 1)
    ]
    stems = rng.sample(ROAD_STEMS, len(ew) + len(ns))
    roads = [(f"{stems[j]}路", "ew", y + rng.uniform(-120, 120)) for j, y in enumerate(ew)]
    roads += [
        (f"{stems[len(ew) + i]}路", "ns", x + rng.uniform(-120, 120)) for i, x in enumerate(ns)
    ]
    return roads


def addresses_build(ctx: DemoContext) -> str:
    rng = ctx.rng_for("addresses")
    plan: TownPlan = ctx.extra["plan"]
    frame = plan.frame
    # Planar m² per square degree at the town's latitude: the grids are small enough for this.
    m2_per_deg2 = (
        frame.to_xy(frame.lon0 + 1, frame.lat0 + 1)[0]
        * frame.to_xy(frame.lon0 + 1, frame.lat0 + 1)[1]
    )
    weights = []
    for grid in ctx.grids:
        x, y = frame.to_xy(*grid.boundary.centroid.coords)
        weights.append(grid.boundary.area * m2_per_deg2 * plan.density(x, y))
    counts = _counts(weights, N_ADDRESSES)
    ctx.extra["address_counts"] = {g.id: n for g, n in zip(ctx.grids, counts, strict=True)}

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.id, ST_X(d.geom), ST_Y(d.geom)
            FROM unnest(%s::bigint[], %s::int[], %s::int[]) AS t(id, n, seed)
            JOIN grids_node g ON g.id = t.id,
            LATERAL ST_Dump(ST_GeneratePoints(g.boundary, t.n, t.seed)) AS d
            ORDER BY t.id, d.path[1]
            """,
            [[g.id for g in ctx.grids], counts, [rng.randrange(1, 2**31 - 1) for _ in ctx.grids]],
        )
        points = cursor.fetchall()

    roads = _roads(rng, plan)
    x_west = min(p[0] for p in plan.ring)
    y_north = max(p[1] for p in plan.ring)
    # door (road, number) → [(along, grid id, lon, lat)]
    doors: dict[tuple[str, int], list[tuple[float, int, float, float]]] = defaultdict(list)
    for grid_id, lon, lat in points:
        x, y = frame.to_xy(lon, lat)
        name, axis, offset = min(roads, key=lambda r: abs((y if r[1] == "ew" else x) - r[2]))
        if axis == "ew":  # numbered from the west end; odd numbers on the north side
            along, first_side = x - x_west, y > offset
        else:  # numbered from the north end; odd numbers on the west side
            along, first_side = y_north - y, x < offset
        number = 2 * int(along // DOOR_SPACING_M) + (1 if first_side else 2)
        doors[(name, number)].append((along, grid_id, lon, lat))

    grid_code = {g.id: g.code for g in ctx.grids}
    seq: dict[int, int] = defaultdict(int)
    rows = []
    for (road, number), buildings in sorted(doors.items()):
        for b, (_along, grid_id, lon, lat) in enumerate(sorted(buildings), start=1):
            seq[grid_id] += 1
            code = f"{grid_code[grid_id]}{seq[grid_id]:05d}"
            rows.append(
                (code, f"{settings.TOWN_NAME}{road}{number}号{b}幢", f"{b}幢", lon, lat, grid_id)
            )
    # Plain numbers into ST_MakePoint: building 20,000 GEOS points for bulk_create costs seconds.
    with connection.cursor() as cursor:
        execute_values(
            cursor.cursor,
            f"INSERT INTO {Address._meta.db_table} (code, text, building, point, grid_id) VALUES %s",
            rows,
            template=f"(%s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), {settings.STORAGE_SRID}), %s)",
            page_size=5000,
        )
    return f"{len(rows)} 标准地址 addresses on {len(roads)} roads, {len(doors)} door numbers"
