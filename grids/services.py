"""Every write to the territory: the command tree, grid outlines, staff positions.

The grid and community import (GeoJSON / Shapefile / KML) is its own module, grids.imports.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Polygon
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cockpit.errors import ApplicationError
from grids.coords import to_storage_point
from grids.models import Community, Node, StaffPosition

PARENT_KIND = {
    Node.Kind.AREA: Node.Kind.TOWN,
    Node.Kind.STATION: Node.Kind.AREA,
    Node.Kind.SQUAD: Node.Kind.STATION,
    Node.Kind.GRID: Node.Kind.SQUAD,
}
COMMUNITY_CODE_LENGTH = 12  # 统计用区划代码: 6 county + 3 town + 3 community (standards.md §1.4)
# A phone's clock may run a little ahead; anything further ahead is a bad timestamp, not a report.
POSITION_CLOCK_SKEW = timedelta(minutes=5)
PRUNE_BATCH = 10_000


def grid_code_error(code: str) -> str | None:
    """Why ``code`` is not a valid grid code (settings.GRID_CODE_LENGTH digits), or None."""
    length = settings.GRID_CODE_LENGTH
    if not code or not code.isascii() or not code.isdigit() or len(code) != length:
        return _(
            "网格编码应为 %(n)d 位数字（区县 6 + 街道 3 + 社区 3 + 网格顺序码），收到“%(code)s”。"
        ) % {
            "n": length,
            "code": code,
        }
    return None


def community_code_error(code: str) -> str | None:
    """Why ``code`` is not a valid community code (12 digits), or None."""
    if not code or not code.isascii() or not code.isdigit() or len(code) != COMMUNITY_CODE_LENGTH:
        return _("社区编码应为 %(n)d 位数字（统计用区划代码），收到“%(code)s”。") % {
            "n": COMMUNITY_CODE_LENGTH,
            "code": code,
        }
    return None


def as_multipolygon(geom: GEOSGeometry | None) -> MultiPolygon | None:
    if geom is None:
        return None
    if isinstance(geom, Polygon):
        return MultiPolygon(geom, srid=geom.srid)
    if isinstance(geom, MultiPolygon):
        return geom
    raise ApplicationError(
        _("边界必须是面（多边形）。"), fields={"boundary": [_("边界必须是面（多边形）。")]}
    )


def boundary_check(geom: GEOSGeometry | None) -> MultiPolygon | None:
    """The boundary as it is stored: a valid MultiPolygon in the storage SRID."""
    geom = as_multipolygon(geom)
    if geom is None:
        return None
    if geom.srid is None:
        geom.srid = settings.STORAGE_SRID
    elif geom.srid != settings.STORAGE_SRID:
        geom = geom.transform(settings.STORAGE_SRID, clone=True)
    if not geom.valid:
        raise ApplicationError(
            _("边界图形无效：%(reason)s") % {"reason": geom.valid_reason},
            fields={"boundary": [geom.valid_reason]},
        )
    return geom


# Kept for callers of the first version.
_as_multi = as_multipolygon


@transaction.atomic
def node_create(
    *,
    kind: str,
    code: str,
    name: str,
    parent: Node | None = None,
    boundary: Polygon | MultiPolygon | None = None,
    community: Community | None = None,
) -> Node:
    """Add a circle to the command tree; its path is the parent's path plus its own id."""
    expected = PARENT_KIND.get(kind)
    if expected is None and parent is not None:
        raise ApplicationError(
            _("镇街是指挥树的根，不能有上级。"), fields={"parent": [_("镇街不能有上级。")]}
        )
    if expected is not None and (parent is None or parent.kind != expected):
        raise ApplicationError(
            _("上级类型不对。"),
            fields={
                "parent": [
                    _("%(kind)s的上级应为%(parent)s。")
                    % {"kind": Node.Kind(kind).label, "parent": Node.Kind(expected).label}
                ]
            },
        )
    if kind == Node.Kind.GRID and (error := grid_code_error(code)):
        raise ApplicationError(error, fields={"code": [error]})
    if Node.objects.filter(code=code).exists():
        raise ApplicationError(
            _("编码已被使用。"), fields={"code": [_("编码“%(code)s”已被使用。") % {"code": code}]}
        )
    node = Node.objects.create(
        kind=kind,
        code=code,
        name=name,
        parent=parent,
        boundary=boundary_check(boundary),
        community=community,
    )
    node.path = f"{parent.path if parent else '/'}{node.id}/"
    node.save(update_fields=["path"])
    return node


def node_unions_refresh(*, node_ids: list[int]) -> int:
    """Redraw the outline of areas, stations and squads as the union of the grids under them.

    Higher circles keep that union for drawing and quick rejects (the town keeps its own,
    administrative boundary). One UPDATE; returns the number of circles redrawn.
    """
    if not node_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE grids_node n SET boundary = (
                SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(g.boundary)), 3))
                FROM grids_node g
                WHERE g.kind = 'grid' AND g.boundary IS NOT NULL AND g.path LIKE n.path || '%%'
            ), updated_at = now()
            WHERE n.id = ANY(%s) AND n.kind IN ('area', 'station', 'squad')
            """,
            [list(node_ids)],
        )
        return cursor.rowcount


@transaction.atomic
def position_record(
    *,
    staff,
    lng: float,
    lat: float,
    crs: str = "wgs84",
    accuracy_m: float | None = None,
    recorded_at: datetime | None = None,
    on_duty: bool = True,
) -> StaffPosition:
    """A field worker reports where they are (力量上图).

    Appends to the history, moves the latest position forward (never back: a phone that was
    offline may deliver old fixes late) and drops this person's history older than
    settings.POSITION_HISTORY_DAYS.
    """
    point = to_storage_point(lng, lat, crs)
    now = timezone.now()
    if accuracy_m is not None and not (0 <= accuracy_m < 100_000):
        raise ApplicationError(
            _("定位精度不正确。"), fields={"accuracy": [_("精度应为 0 到 100000 米之间的数。")]}
        )
    recorded_at = recorded_at or now
    if timezone.is_naive(recorded_at):
        recorded_at = timezone.make_aware(recorded_at)
    if recorded_at > now + POSITION_CLOCK_SKEW:
        raise ApplicationError(
            _("定位时间不能晚于现在。"), fields={"recorded_at": [_("定位时间不能晚于现在。")]}
        )
    cutoff = now - timedelta(days=settings.POSITION_HISTORY_DAYS)
    if recorded_at < cutoff:
        raise ApplicationError(
            _("定位时间太早，超出了保存期限。"),
            fields={
                "recorded_at": [
                    _("只接受 %(n)d 天内的定位。") % {"n": settings.POSITION_HISTORY_DAYS}
                ]
            },
        )

    position = StaffPosition.objects.create(
        staff=staff,
        point=point,
        src_crs=(crs or "wgs84").lower(),
        accuracy_m=accuracy_m,
        recorded_at=recorded_at,
    )
    with connection.cursor() as cursor:
        # One statement, safe when two reports of the same person race: the row only moves to a
        # newer fix.
        cursor.execute(
            """
            INSERT INTO grids_latestposition (staff_id, point, accuracy_m, recorded_at, on_duty)
            VALUES (%s, ST_SetSRID(ST_MakePoint(%s, %s), %s), %s, %s, %s)
            ON CONFLICT (staff_id) DO UPDATE
               SET point = EXCLUDED.point, accuracy_m = EXCLUDED.accuracy_m,
                   recorded_at = EXCLUDED.recorded_at, on_duty = EXCLUDED.on_duty
             WHERE grids_latestposition.recorded_at <= EXCLUDED.recorded_at
            """,
            [staff.pk, point.x, point.y, settings.STORAGE_SRID, accuracy_m, recorded_at, on_duty],
        )
        # Cheap per report: a range probe on (staff_id, recorded_at) that usually finds nothing.
        cursor.execute(
            "DELETE FROM grids_staffposition WHERE staff_id = %s AND recorded_at < %s",
            [staff.pk, cutoff],
        )
    return position


def positions_prune(*, older_than_days: int | None = None) -> int:
    """Delete position history older than the retention for everybody (the nightly sweep for
    people who stopped reporting). Deletes in batches so no statement holds locks for long."""
    days = settings.POSITION_HISTORY_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                DELETE FROM grids_staffposition WHERE id IN (
                    SELECT id FROM grids_staffposition WHERE recorded_at < %s LIMIT %s
                )
                """,
                [cutoff, PRUNE_BATCH],
            )
            deleted = cursor.rowcount
        total += deleted
        if deleted < PRUNE_BATCH:
            return total
