"""Vector tiles of the town's own geography (ST_AsMVT), so the map works with no internet.

Layers: ``town`` (the town outline), ``communities``, ``grids`` (feature id = grid id, which the
screen colours by risk through feature-state) and, from zoom 14, ``addresses`` (地址库 points).
Tiles change only when the territory is edited, so they are cached for TILE_CACHE_SECONDS under
a version of the territory (``tile_version``): an edit shows at once.
"""

from django.core.cache import cache
from django.db import connection

TILE_CACHE_SECONDS = 300
ADDRESS_MIN_ZOOM = 14
MAX_ZOOM = 20

TILE_SQL = """
WITH b AS (
  SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS g3857,
         ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326) AS g4326
),
town AS (
  SELECT n.id, n.name, ST_AsMVTGeom(ST_Transform(n.boundary, 3857), b.g3857, 4096, 64, true) AS geom
    FROM grids_node n, b WHERE n.kind = 'town' AND n.boundary && b.g4326
),
communities AS (
  SELECT c.id, c.name, ST_AsMVTGeom(ST_Transform(c.boundary, 3857), b.g3857, 4096, 64, true) AS geom
    FROM grids_community c, b WHERE c.boundary && b.g4326
),
grids AS (
  SELECT n.id, n.name, n.code,
         ST_AsMVTGeom(ST_Transform(n.boundary, 3857), b.g3857, 4096, 64, true) AS geom
    FROM grids_node n, b WHERE n.kind = 'grid' AND n.boundary && b.g4326
),
addresses AS (
  SELECT a.id, a.text AS name, ST_AsMVTGeom(ST_Transform(a.point, 3857), b.g3857, 4096, 0, true) AS geom
    FROM grids_address a, b WHERE %(z)s >= %(amin)s AND a.point && b.g4326
)
SELECT (SELECT coalesce(ST_AsMVT(town, 'town', 4096, 'geom', 'id'), '') FROM town)
    || (SELECT coalesce(ST_AsMVT(communities, 'communities', 4096, 'geom', 'id'), '') FROM communities)
    || (SELECT coalesce(ST_AsMVT(grids, 'grids', 4096, 'geom', 'id'), '') FROM grids)
    || (SELECT coalesce(ST_AsMVT(addresses, 'addresses', 4096, 'geom', 'id'), '') FROM addresses)
"""


def tile_valid(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def tile_render(*, z: int, x: int, y: int) -> bytes:
    """The tile straight from PostGIS (no cache)."""
    with connection.cursor() as cursor:
        cursor.execute(TILE_SQL, {"z": z, "x": x, "y": y, "amin": ADDRESS_MIN_ZOOM})
        data = cursor.fetchone()[0]
    return bytes(data or b"")


VERSION_SQL = """
SELECT concat_ws(':', (SELECT count(*) FROM grids_node), (SELECT max(id) FROM grids_node),
       (SELECT extract(epoch FROM max(updated_at)) FROM grids_node),
       (SELECT extract(epoch FROM max(updated_at)) FROM grids_community),
       (SELECT max(id) FROM grids_address))
"""


def tile_version() -> str:
    """Changes when a node or community is edited or added, or an address added: cached tiles
    of an older territory are never served (one small query, well under a millisecond)."""
    with connection.cursor() as cursor:
        cursor.execute(VERSION_SQL)
        return cursor.fetchone()[0] or "0"


def tile_get(*, z: int, x: int, y: int) -> bytes:
    key = f"cockpit:tile:{tile_version()}:{z}/{x}/{y}"
    data = cache.get(key)
    if data is None:
        data = tile_render(z=z, x=x, y=y)
        cache.set(key, data, TILE_CACHE_SECONDS)
    return data
