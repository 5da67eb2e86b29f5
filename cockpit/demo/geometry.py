"""Plane geometry for the demo town: the outline, the grid seeds, the grid cells and their grouping.

Shapes are drawn in local metres around the town centre (so distances and areas mean something)
and turned into lon/lat (the storage SRID) point by point. The cells come from PostGIS
(ST_VoronoiPolygons clipped to the outline), which makes neighbouring cells share their edges
exactly: the grids tile the town with no gap and no overlap.
"""

import math
import random
from collections import defaultdict, deque
from dataclasses import dataclass, field

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Polygon
from django.db import connection

M_PER_DEG_LAT = 110_574.0


def m_per_deg_lon(lat: float) -> float:
    return 111_320.0 * math.cos(math.radians(lat))


@dataclass
class Frame:
    """Local metres (x east, y north) around a centre, to and from lon/lat."""

    lon0: float
    lat0: float

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        return (
            round(self.lon0 + x / m_per_deg_lon(self.lat0), 7),
            round(self.lat0 + y / M_PER_DEG_LAT, 7),
        )

    def to_xy(self, lon: float, lat: float) -> tuple[float, float]:
        return ((lon - self.lon0) * m_per_deg_lon(self.lat0), (lat - self.lat0) * M_PER_DEG_LAT)


def _shoelace(points: list[tuple[float, float]]) -> float:
    return (
        abs(
            sum(
                x1 * y2 - x2 * y1
                for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True)
            )
        )
        / 2
    )


def town_outline(
    rng: random.Random, *, area_km2: float, vertices: int = 96
) -> list[tuple[float, float]]:
    """An irregular, star-shaped outline in metres with the given area.

    A radius that wobbles with a few low harmonics (the big bays and lobes of a town drawn along
    rivers and ring roads) and some small ones (a ragged edge). Star-shaped around the centre and
    then stretched and turned, so the ring never crosses itself.
    """
    waves = [
        (k, rng.uniform(0.05, 0.13) / math.sqrt(k - 1), rng.uniform(0, 2 * math.pi))
        for k in range(2, 6)
    ]
    waves += [(k, rng.uniform(0.008, 0.02), rng.uniform(0, 2 * math.pi)) for k in range(7, 14)]
    aspect, turn = rng.uniform(1.15, 1.35), rng.uniform(-0.5, 0.5)
    ring = []
    for i in range(vertices):
        t = 2 * math.pi * i / vertices
        r = 1 + sum(a * math.cos(k * t + phase) for k, a, phase in waves)
        x, y = r * math.cos(t) * aspect, r * math.sin(t) / aspect
        ring.append(
            (x * math.cos(turn) - y * math.sin(turn), x * math.sin(turn) + y * math.cos(turn))
        )
    scale = math.sqrt(area_km2 * 1e6 / _shoelace(ring))
    return [(x * scale, y * scale) for x, y in ring]


def _inside(x: float, y: float, ring: list[tuple[float, float]]) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def grid_seeds(
    rng: random.Random, ring: list[tuple[float, float]], *, count: int, core: tuple[float, float]
) -> list[tuple[float, float]]:
    """Seed points for the grids: Mitchell's best-candidate sampling (evenly spread, not a lattice),
    denser towards ``core`` (the built-up side, where grids are small) than at the rural edge."""
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    reach = max(math.hypot(x - core[0], y - core[1]) for x, y in ring)

    def spacing(x: float, y: float) -> float:
        return 0.6 + 0.8 * math.hypot(x - core[0], y - core[1]) / reach

    seeds: list[tuple[float, float]] = []
    while len(seeds) < count:
        best, best_score = None, -1.0
        for _ in range(24):
            x, y = rng.uniform(min(xs), max(xs)), rng.uniform(min(ys), max(ys))
            if not _inside(x, y, ring):
                continue
            near = min((math.hypot(x - sx, y - sy) for sx, sy in seeds), default=1.0)
            score = near / spacing(x, y)
            if score > best_score:
                best, best_score = (x, y), score
        if best is not None:
            seeds.append(best)
    return seeds


def ring_wkt(ring: list[tuple[float, float]]) -> str:
    closed = ring + ring[:1]
    return "POLYGON((" + ",".join(f"{x:.7f} {y:.7f}" for x, y in closed) + "))"


def voronoi_cells(
    outline: Polygon, seeds: list[tuple[float, float]], *, lat0: float
) -> list[GEOSGeometry]:
    """One cell per seed (lon/lat), in the seeds' order: the Voronoi diagram of the seeds clipped to
    the outline. The diagram is built with x scaled by cos(lat) so the cells are round on the
    ground, not stretched north–south; the scaling is undone point by point afterwards, which keeps
    shared edges identical."""
    k = math.cos(math.radians(lat0))
    points = "MULTIPOINT(" + ",".join(f"({x:.7f} {y:.7f})" for x, y in seeds) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH town AS (SELECT ST_GeomFromEWKT(%s) AS g),
                 seeds AS (SELECT (d).path[1] AS i, (d).geom AS p FROM ST_Dump(ST_GeomFromEWKT(%s)) AS d),
                 cells AS (
                     SELECT ST_Scale((ST_Dump(ST_VoronoiPolygons(
                                ST_Scale(ST_Collect(seeds.p), %s, 1), 0, ST_Scale(town.g, %s, 1)))).geom, %s, 1) AS c
                     FROM seeds, town GROUP BY town.g)
            SELECT seeds.i, ST_AsEWKB(ST_Intersection(ST_SetSRID(cells.c, 4326), town.g))
            FROM seeds JOIN cells ON ST_Intersects(ST_SetSRID(cells.c, 4326), seeds.p), town
            ORDER BY seeds.i
            """,
            [f"SRID=4326;{outline.wkt}", f"SRID=4326;{points}", k, k, 1 / k],
        )
        rows = cursor.fetchall()
    if [i for i, _ in rows] != list(range(1, len(seeds) + 1)):
        raise RuntimeError("Voronoi cells do not match the seeds one to one")
    return [GEOSGeometry(memoryview(bytes(wkb))) for _, wkb in rows]


def single_parts(cells: list[GEOSGeometry], seeds_ll: list[tuple[float, float]]) -> list[Polygon]:
    """Cells the concave outline cut into pieces keep the piece holding their seed; each stray piece
    joins the neighbour it shares the longest edge with, so every grid is one polygon."""
    from django.contrib.gis.geos import Point

    kept: list[GEOSGeometry] = []
    strays: list[GEOSGeometry] = []
    for cell, (lon, lat) in zip(cells, seeds_ll, strict=True):
        parts = (
            [cell] if cell.geom_type == "Polygon" else [g for g in cell if g.geom_type == "Polygon"]
        )
        seed = Point(lon, lat, srid=4326)
        home = next((p for p in parts if p.covers(seed)), max(parts, key=lambda p: p.area))
        kept.append(home)
        strays += [p for p in parts if p is not home]
    for stray in strays:
        shared = [
            (kept[i].intersection(stray).length, i)
            for i in range(len(kept))
            if kept[i].intersects(stray)
        ]
        length, i = max(shared)
        if length <= 0:
            raise RuntimeError("a stray piece of a grid touches no other grid")
        kept[i] = kept[i].union(stray)
    for g in kept:
        if g.geom_type != "Polygon":
            raise RuntimeError("a grid is not a single polygon")
        g.srid = 4326
    return kept


def as_multi(g: GEOSGeometry) -> MultiPolygon:
    return MultiPolygon(g, srid=g.srid) if g.geom_type == "Polygon" else g


# --- Grouping grids into contiguous circles ----------------------------------------------------


def hilbert_index(x: float, y: float, *, bits: int = 10) -> int:
    """Position of (x, y) in [0, 1)² along a Hilbert curve: nearby points get nearby numbers, so a
    run of consecutive cells is a compact patch, not a strip."""
    n = 1 << bits
    xi, yi = min(n - 1, max(0, int(x * n))), min(n - 1, max(0, int(y * n)))
    d, s = 0, n >> 1
    while s > 0:
        rx, ry = int(xi & s > 0), int(yi & s > 0)
        d += s * s * ((3 * rx) ^ ry)
        if ry == 0:
            if rx == 1:
                xi, yi = n - 1 - xi, n - 1 - yi
            xi, yi = yi, xi
        s >>= 1
    return d


def adjacency(cells: list[Polygon]) -> dict[int, set[int]]:
    """Which cells share an edge (not just a corner), computed in PostGIS over all pairs."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH c AS (SELECT i, ST_GeomFromEWKB(g) AS g FROM unnest(%s::bytea[]) WITH ORDINALITY AS t(g, i))
            SELECT a.i - 1, b.i - 1 FROM c a JOIN c b ON a.i < b.i AND ST_Intersects(a.g, b.g)
            WHERE ST_Length(ST_Intersection(a.g, b.g)) > 0
            """,
            [[bytes(c.ewkb) for c in cells]],
        )
        pairs = cursor.fetchall()
    graph: dict[int, set[int]] = defaultdict(set)
    for a, b in pairs:
        graph[a].add(b)
        graph[b].add(a)
    return graph


def _components(members: list[int], graph: dict[int, set[int]]) -> list[list[int]]:
    left, out = set(members), []
    for start in members:
        if start not in left:
            continue
        left.discard(start)
        part, queue = [start], deque([start])
        while queue:
            for n in graph[queue.popleft()]:
                if n in left:
                    left.discard(n)
                    part.append(n)
                    queue.append(n)
        out.append(part)
    return out


@dataclass
class Grouping:
    groups: list[list[int]] = field(default_factory=list)


def split_contiguous(
    members: list[int], sizes: list[int], order: dict[int, int], graph: dict[int, set[int]]
) -> list[list[int]]:
    """Cut ``members`` (a connected patch) into len(sizes) connected groups of about those sizes.

    Runs of the Hilbert order give compact groups; a group that came out in pieces keeps its
    largest piece and hands each other piece to a neighbouring group. Every hand-over lowers the
    total number of pieces, so this ends, and no group ever empties.
    """
    ordered = sorted(members, key=order.__getitem__)
    groups, start = [], 0
    for size in sizes:
        groups.append(ordered[start : start + size])
        start += size
    owner = {m: gi for gi, g in enumerate(groups) for m in g}
    while True:
        moved = False
        for gi, group in enumerate(groups):
            parts = _components(group, graph)
            if len(parts) == 1:
                continue
            parts.sort(key=lambda p: (-len(p), min(order[m] for m in p)))
            for piece in parts[1:]:
                targets = sorted(
                    {owner[n] for m in piece for n in graph[m] if n in owner and owner[n] != gi}
                )
                if not targets:
                    continue
                target = min(targets, key=lambda t: len(groups[t]))
                for m in piece:
                    owner[m] = target
                groups[target] = groups[target] + piece
                groups[gi] = [m for m in groups[gi] if owner[m] == gi]
                moved = True
                break
            if moved:
                break
        if not moved:
            return groups


def shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal whole numbers, larger ones first."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def reading_order(items: list[tuple[float, float]], *, row_height: float) -> list[int]:
    """Indexes of (x, y) points (metres) in reading order: rows north→south, west→east in a row
    (standards.md §1.4 numbers grids this way within a community)."""
    top = max(y for _, y in items)
    return sorted(
        range(len(items)), key=lambda i: (int((top - items[i][1]) // row_height), items[i][0])
    )
