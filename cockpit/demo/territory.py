"""Step "territory": the town outline, 125 grids tiling it, and the five-circle tree above them.

Grids are grouped bottom-up so that every circle is one connected patch: areas are cut from the
grids, stations from each area, squads from each station and communities (社区) from each squad,
each cut along a Hilbert curve through the grid centres and repaired until every group is
connected (geometry.split_contiguous). Boundaries of the higher circles and of the communities
are the union of their grids, computed in PostGIS.
"""

import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.db import connection

from cockpit.demo import geometry as geo
from cockpit.demo.names import COMMUNITY_STEMS
from cockpit.demo.steps import DemoContext
from grids.models import Community, Node
from grids.services import node_create

# DOMAIN.md: 38 km², 6 areas (风险防控圈), 12 stations (应急管理圈), 30 squads (联合执法圈),
# 125 grids (网格圈) in 43 communities.
TOWN_AREA_KM2 = 38.0
N_AREAS, N_STATIONS, N_SQUADS, N_GRIDS, N_COMMUNITIES = 6, 12, 30, 125, 43


@dataclass
class TownPlan:
    """What later steps need to know about the drawing: the local metric frame, the outline in
    metres, and the built-up core (denser grids, more addresses)."""

    frame: geo.Frame
    ring: list[tuple[float, float]]
    core: tuple[float, float]
    reach: float

    def density(self, x: float, y: float) -> float:
        """Relative density of buildings at (x, y): highest at the core, a fifth of it at the edge."""
        spacing = 0.6 + 0.8 * math.hypot(x - self.core[0], y - self.core[1]) / self.reach
        return 1 / (spacing * spacing)


def _allocate(total: int, sizes: list[int], minimum: int) -> list[int]:
    """``total`` children over parents of the given sizes: ``minimum`` each, the rest one by one
    to the parents with the most grids per child."""
    counts = [minimum] * len(sizes)
    for _ in range(total - minimum * len(sizes)):
        best = max(range(len(sizes)), key=lambda i: (sizes[i] / counts[i], -i))
        counts[best] += 1
    return counts


def territory_build(ctx: DemoContext) -> str:
    rng = ctx.rng_for("territory")
    lon0, lat0 = settings.TOWN_CENTER
    frame = geo.Frame(lon0, lat0)
    ring = geo.town_outline(rng, area_km2=TOWN_AREA_KM2)
    reach = max(math.hypot(x, y) for x, y in ring)
    # The built-up side faces the city centre, south-east of Sandun.
    plan = TownPlan(frame=frame, ring=ring, core=(0.45 * reach, -0.35 * reach), reach=reach)
    ctx.extra["plan"] = plan

    seeds_xy = geo.grid_seeds(rng, ring, count=N_GRIDS, core=plan.core)
    seeds_ll = [frame.to_lonlat(x, y) for x, y in seeds_xy]
    outline_ll = [frame.to_lonlat(x, y) for x, y in ring]
    outline = Polygon(outline_ll + outline_ll[:1], srid=settings.STORAGE_SRID)
    cells = geo.single_parts(geo.voronoi_cells(outline, seeds_ll, lat0=lat0), seeds_ll)
    graph = geo.adjacency(cells)

    centres = [frame.to_xy(*c.centroid.coords) for c in cells]
    xs, ys = [c[0] for c in centres], [c[1] for c in centres]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) * 1.0001
    order = {
        i: geo.hilbert_index((x - min(xs)) / span, (y - min(ys)) / span)
        for i, (x, y) in enumerate(centres)
    }

    def centre_of(group: list[int]) -> tuple[float, float]:
        return (
            sum(centres[i][0] for i in group) / len(group),
            sum(centres[i][1] for i in group) / len(group),
        )

    def in_reading_order(groups: list[list[int]], row_height: float) -> list[list[int]]:
        return [
            groups[i]
            for i in geo.reading_order([centre_of(g) for g in groups], row_height=row_height)
        ]

    # Cut top-down: areas → stations → squads → communities, each a connected patch.
    areas = in_reading_order(
        geo.split_contiguous(list(range(N_GRIDS)), geo.shares(N_GRIDS, N_AREAS), order, graph), 2500
    )
    stations_of = [
        in_reading_order(
            geo.split_contiguous(a, geo.shares(len(a), N_STATIONS // N_AREAS), order, graph), 1500
        )
        for a in areas
    ]
    stations = [s for ss in stations_of for s in ss]
    squad_counts = _allocate(N_SQUADS, [len(s) for s in stations], 2)
    squads_of = [
        in_reading_order(geo.split_contiguous(s, geo.shares(len(s), n), order, graph), 1000)
        for s, n in zip(stations, squad_counts, strict=True)
    ]
    squads = [q for qs in squads_of for q in qs]
    community_counts = _allocate(N_COMMUNITIES, [len(q) for q in squads], 1)
    communities_of = [
        geo.split_contiguous(q, geo.shares(len(q), n), order, graph)
        for q, n in zip(squads, community_counts, strict=True)
    ]
    # Community codes run over the whole town in reading order (standards.md §1.4).
    all_communities = [c for cs in communities_of for c in cs]
    community_seq = {
        id(c): n for n, c in enumerate(in_reading_order(all_communities, 900), start=1)
    }

    stems = rng.sample(COMMUNITY_STEMS, N_COMMUNITIES)
    communities: dict[int, Community] = {}
    community_of_cell: dict[int, Community] = {}
    for group in all_communities:
        n = community_seq[id(group)]
        community = Community.objects.create(
            code=f"{settings.TOWN_CODE}{n:03d}", name=f"{stems[n - 1]}社区"
        )
        communities[n] = community
        for i in group:
            community_of_cell[i] = community
    first_stem = {
        id(g): stems[min(community_seq[id(c)] for c in all_communities if set(c) <= set(g)) - 1]
        for g in areas + stations + squads
    }

    town = node_create(
        kind=Node.Kind.TOWN, code=settings.TOWN_CODE, name=settings.TOWN_NAME, boundary=outline
    )
    area_nodes, station_nodes, squad_nodes, grid_nodes = [], [], [], []
    squad_no = 0
    for ai, area in enumerate(areas):
        area_node = node_create(
            kind=Node.Kind.AREA,
            code=f"A{ai + 1:02d}",
            name=f"{first_stem[id(area)]}片区",
            parent=town,
        )
        area_nodes.append(area_node)
        for station in stations_of[ai]:
            station_node = node_create(
                kind=Node.Kind.STATION,
                code=f"S{len(station_nodes) + 1:02d}",
                name=f"{first_stem[id(station)]}应急站",
                parent=area_node,
            )
            station_nodes.append(station_node)
            for squad in squads_of[stations.index(station)]:
                squad_no += 1
                squad_node = node_create(
                    kind=Node.Kind.SQUAD,
                    code=f"Q{squad_no:02d}",
                    name=f"{first_stem[id(squad)]}中队",
                    parent=station_node,
                )
                squad_nodes.append(squad_node)
                for group in communities_of[squads.index(squad)]:
                    community = community_of_cell[group[0]]
                    # Grids are numbered west→east, north→south within their community.
                    for k, gi in enumerate(
                        group[j]
                        for j in geo.reading_order([centres[i] for i in group], row_height=450)
                    ):
                        grid_nodes.append(
                            node_create(
                                kind=Node.Kind.GRID,
                                code=f"{community.code}{k + 1:03d}",
                                name=f"{community.name}第{k + 1}网格",
                                parent=squad_node,
                                boundary=cells[gi],
                                community=community,
                            )
                        )

    with connection.cursor() as cursor:
        # Communities and the higher circles are drawn as the union of their grids.
        cursor.execute(
            """
            UPDATE grids_community c SET boundary = u.b FROM (
                SELECT community_id, ST_Multi(ST_Union(boundary)) AS b FROM grids_node
                WHERE kind = 'grid' AND community_id = ANY(%s) GROUP BY community_id) u
            WHERE c.id = u.community_id
            """,
            [[c.id for c in communities.values()]],
        )
        cursor.execute(
            """
            UPDATE grids_node p SET boundary = (
                SELECT ST_Multi(ST_Union(g.boundary)) FROM grids_node g
                WHERE g.kind = 'grid' AND g.path LIKE p.path || '%%')
            WHERE p.id = ANY(%s)
            """,
            [[n.id for n in area_nodes + station_nodes + squad_nodes]],
        )
        # The town too: the Voronoi cells were clipped to the drawn outline, and where a cell edge
        # meets it the intersection point is rounded, leaving slivers of a few square centimetres
        # between the outline and the grids. Drawing the town as the union of its grids makes
        # "no gap, nothing outside the town" hold exactly (ST_CoveredBy), not just to a tolerance.
        cursor.execute(
            """
            UPDATE grids_node t SET boundary = (
                SELECT ST_Multi(ST_Union(g.boundary)) FROM grids_node g WHERE g.kind = 'grid')
            WHERE t.id = %s
            """,
            [town.id],
        )

    ctx.town = town
    ctx.areas, ctx.stations, ctx.squads = area_nodes, station_nodes, squad_nodes
    ctx.grids = sorted(grid_nodes, key=lambda g: g.code)
    ctx.communities = [communities[n] for n in sorted(communities)]
    town.refresh_from_db(fields=["boundary"])
    return (
        f"{len(area_nodes)} 片区 areas, {len(station_nodes)} 应急站 stations, {len(squad_nodes)} 中队 squads, "
        f"{len(grid_nodes)} 网格 grids in {len(communities)} 社区 communities"
    )
