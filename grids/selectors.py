"""Reads of the territory that other apps and the APIs use: locating a point, the command chain,
the grids a user may see, the forces layer."""

import json
from datetime import timedelta

from django.conf import settings
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON, GeoFunc
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import connection
from django.db.models import QuerySet
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.selectors import scope_q
from cockpit.errors import ApplicationError
from grids.models import LatestPosition, Node

# Grid outlines sent to a map are simplified to about a metre (1e-5°) and rounded to 6 decimals
# (0.1 m): invisible at street zoom and a fraction of the payload of a surveyed polygon.
SIMPLIFY_TOLERANCE_DEG = 1e-5
GEOJSON_PRECISION = 6


class SimplifyPreserveTopology(GeoFunc):
    """ST_SimplifyPreserveTopology: simplify without making a polygon invalid (ST_Simplify may)."""

    function = "ST_SimplifyPreserveTopology"
    output_field = GeometryField(srid=settings.STORAGE_SRID)


def _storage(point: Point) -> Point:
    if point.srid is None:
        return Point(point.x, point.y, srid=settings.STORAGE_SRID)
    if point.srid != settings.STORAGE_SRID:
        return point.transform(settings.STORAGE_SRID, clone=True)
    return point


# grid_locate runs on every case intake and every position report. Through the ORM the same
# query cost ~1 ms (building the geometry lookup and loading each row's polygon); this raw probe
# answers from the partial GiST index in ~0.2 ms and builds the Node without its boundary
# (deferred: loaded only if a caller reads it).
_LOCATE_FIELDS = [f for f in Node._meta.concrete_fields if f.name != "boundary"]
_LOCATE_SQL = (
    "SELECT {cols} FROM {table} WHERE kind = %s "
    "AND ST_Covers(boundary, ST_SetSRID(ST_MakePoint(%s, %s), %s)) "
    "ORDER BY code LIMIT 1"
).format(
    cols=", ".join(connection.ops.quote_name(f.column) for f in _LOCATE_FIELDS),
    table=connection.ops.quote_name(Node._meta.db_table),
)


def grid_locate(*, point: Point) -> Node | None:
    """The grid whose polygon covers the point, or None outside every grid.

    ``ST_Covers`` (not ``ST_Contains``) counts the boundary as inside, so a point on an edge
    shared by two grids matches both, and ordering by code picks the same one every time (the
    lowest code). The partial GiST index node_grid_boundary_gist answers the
    ``kind = 'grid' AND boundary ~ point`` probe; only the few candidates whose boxes hold the
    point get the exact test. The grid comes without its boundary (deferred) and its community
    is loaded on first use.
    """
    point = _storage(point)
    with connection.cursor() as cursor:
        cursor.execute(_LOCATE_SQL, [Node.Kind.GRID.value, point.x, point.y, point.srid])
        row = cursor.fetchone()
    if row is None:
        return None
    return Node.from_db(connection.alias, [f.attname for f in _LOCATE_FIELDS], row)


def node_chain(*, node: Node) -> list[Node]:
    """The command chain from the town down to ``node`` (inclusive), in one query over the path ids."""
    ids = node.chain_ids() or [node.id]
    # A parent's path is a prefix of its child's, so shorter path = higher circle.
    return list(Node.objects.filter(id__in=ids).order_by(Length("path")).defer("boundary"))


def town_contains(*, point: Point) -> bool:
    """Whether the point lies in the town: inside a town boundary, or — for a town drawn only as its
    grids (no town polygon loaded yet) — inside some grid."""
    point = _storage(point)
    towns = Node.objects.filter(kind=Node.Kind.TOWN, boundary__isnull=False)
    if towns.exists():
        return towns.filter(boundary__covers=point).exists()
    return Node.objects.filter(kind=Node.Kind.GRID, boundary__covers=point).exists()


def grids_for(*, user) -> QuerySet[Node]:
    """The grids the user may see, with a simplified GeoJSON outline in ``geojson`` and only the
    columns a map needs."""
    return (
        Node.objects.filter(scope_q(user=user, path_field="path"), kind=Node.Kind.GRID)
        .select_related("community")
        .only(
            "id",
            "code",
            "name",
            "path",
            "parent_id",
            "community__id",
            "community__code",
            "community__name",
        )
        .annotate(
            geojson=AsGeoJSON(
                SimplifyPreserveTopology("boundary", SIMPLIFY_TOLERANCE_DEG),
                precision=GEOJSON_PRECISION,
            )
        )
        .order_by("code")
    )


def grid_get_for(*, user, grid_id: int) -> Node:
    """One grid, only if it lies inside the user's scope; otherwise 404, the same answer as for a
    grid that does not exist, so a worker cannot probe which ids are real."""
    grid = (
        Node.objects.filter(scope_q(user=user, path_field="path"), kind=Node.Kind.GRID, id=grid_id)
        .select_related("community", "leader", "parent")
        .annotate(geojson=AsGeoJSON("boundary", precision=GEOJSON_PRECISION))
        .first()
    )
    if grid is None:
        raise ApplicationError(_("没有找到这个网格。"), status_code=404)
    return grid


def forces_latest(
    *, user, role: str | None = None, max_age: timedelta | None = None
) -> QuerySet[LatestPosition]:
    """Latest positions of the staff working inside the user's scope (force layer), newest first.

    A staff member counts as inside when their own scope node lies under the user's scope.
    """
    qs = LatestPosition.objects.filter(scope_q(user=user, path_field="staff__scope__path"))
    if role:
        qs = qs.filter(staff__role=role)
    if max_age is not None:
        qs = qs.filter(recorded_at__gte=timezone.now() - max_age)
    return (
        qs.select_related("staff")
        .only(
            "staff_id",
            "point",
            "accuracy_m",
            "recorded_at",
            "on_duty",
            "staff__id",
            "staff__username",
            "staff__display_name",
            "staff__role",
            "staff__scope_id",
        )
        .order_by("-recorded_at")
    )


def geometry_as_geojson(geom: GEOSGeometry | None) -> str | None:
    return None if geom is None else geom.json


def town_outlines_geojson() -> str:
    """Every grid's outline (simplified) as one GeoJSON FeatureCollection: the background of the
    admin's map widgets, which have no tile basemap (see grids.admin)."""
    rows = (
        Node.objects.filter(kind=Node.Kind.GRID, boundary__isnull=False)
        .annotate(
            geojson=AsGeoJSON(
                SimplifyPreserveTopology("boundary", SIMPLIFY_TOLERANCE_DEG),
                precision=GEOJSON_PRECISION,
            )
        )
        .order_by("code")
        .values_list("code", "geojson")
    )
    features = ",".join(
        f'{{"type":"Feature","properties":{{"code":{json.dumps(code)}}},"geometry":{geojson}}}'
        for code, geojson in rows
    )
    return f'{{"type":"FeatureCollection","features":[{features}]}}'
