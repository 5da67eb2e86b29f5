"""Coordinates at the edges: WGS84 (GPS, browsers, WeChat's default) and GCJ-02 (高德/腾讯 maps,
``wx.getLocation({type: 'gcj02'})``). Everything is stored in settings.STORAGE_SRID (4326, WGS84);
GCJ-02 is converted here and nowhere else (standards.md §3).

The forward formula is the standard one (Krasovsky 1940 ellipsoid). The common one-step inverse
(2p − f(p)) is off by 1–2 m, enough to put a point on a grid edge into the neighbour, so the inverse
here iterates w ← w − (f(w) − target) until the step is below 1e-9° (about 0.1 mm).
"""

import math

from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils.translation import gettext as _

from cockpit.errors import ApplicationError

A = 6378245.0  # Krasovsky 1940 semi-major axis
EE = 0.00669342162296594323  # its first eccentricity squared
PI = math.pi

WGS84 = "wgs84"
GCJ02 = "gcj02"
CRS_CHOICES = (WGS84, GCJ02)

INVERSE_TOLERANCE_DEG = 1e-9
INVERSE_MAX_ITERATIONS = 30


def out_of_china(lng: float, lat: float) -> bool:
    """GCJ-02 only offsets points inside this box; outside it the two systems are the same."""
    return not (73.66 < lng < 135.05 and 3.86 < lat < 53.55)


def _transform_lat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * PI) + 20.0 * math.sin(2.0 * x * PI)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * PI) + 40.0 * math.sin(y / 3.0 * PI)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * PI) + 320.0 * math.sin(y * PI / 30.0)) * 2.0 / 3.0
    return r


def _transform_lng(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * PI) + 20.0 * math.sin(2.0 * x * PI)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * PI) + 40.0 * math.sin(x / 3.0 * PI)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * PI) + 300.0 * math.sin(x / 30.0 * PI)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """WGS84 → GCJ-02 (the obfuscation Chinese public maps apply); identity outside China."""
    if out_of_china(lng, lat):
        return lng, lat
    dlat = _transform_lat(lng - 105.0, lat - 35.0)
    dlng = _transform_lng(lng - 105.0, lat - 35.0)
    rad = lat / 180.0 * PI
    m = 1.0 - EE * math.sin(rad) ** 2
    sm = math.sqrt(m)
    dlat = dlat * 180.0 / ((A * (1.0 - EE)) / (m * sm) * PI)
    dlng = dlng * 180.0 / (A / sm * math.cos(rad) * PI)
    return lng + dlng, lat + dlat


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    """GCJ-02 → WGS84, the exact inverse of wgs84_to_gcj02 (to < 1e-9°)."""
    if out_of_china(lng, lat):
        return lng, lat
    # The offset varies slowly (metres per kilometre), so fixed-point iteration converges in a
    # handful of steps; start from the one-step inverse.
    g_lng, g_lat = wgs84_to_gcj02(lng, lat)
    w_lng, w_lat = 2 * lng - g_lng, 2 * lat - g_lat
    for _i in range(INVERSE_MAX_ITERATIONS):
        g_lng, g_lat = wgs84_to_gcj02(w_lng, w_lat)
        d_lng, d_lat = g_lng - lng, g_lat - lat
        w_lng, w_lat = w_lng - d_lng, w_lat - d_lat
        if abs(d_lng) < INVERSE_TOLERANCE_DEG and abs(d_lat) < INVERSE_TOLERANCE_DEG:
            break
    return w_lng, w_lat


def _check_range(lng: float, lat: float) -> tuple[float, float]:
    errors: dict[str, list[str]] = {}
    try:
        lng = float(lng)
    except (TypeError, ValueError):
        errors["lng"] = [_("经度必须是数字。")]
    try:
        lat = float(lat)
    except (TypeError, ValueError):
        errors["lat"] = [_("纬度必须是数字。")]
    if "lng" not in errors and not (math.isfinite(lng) and -180.0 <= lng <= 180.0):
        errors["lng"] = [_("经度必须在 -180 到 180 之间。")]
    if "lat" not in errors and not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        errors["lat"] = [_("纬度必须在 -90 到 90 之间。")]
    if errors:
        raise ApplicationError(_("坐标不正确。"), fields=errors)
    return lng, lat


def to_storage_lnglat(lng: float, lat: float, crs: str = WGS84) -> tuple[float, float]:
    """(lng, lat) as stored (settings.STORAGE_SRID, WGS84) from edge coordinates, without
    building a geometry (intake hands the numbers to SQL).

    Raises ApplicationError (fields lng / lat / crs) for coordinates out of range or an unknown
    coordinate system, so an API can answer 400 with the standard body.
    """
    crs = (crs or WGS84).strip().lower()
    if crs not in CRS_CHOICES:
        raise ApplicationError(
            _("坐标系不正确。"), fields={"crs": [_("坐标系只能是 wgs84 或 gcj02。")]}
        )
    lng, lat = _check_range(lng, lat)
    if crs == GCJ02:
        lng, lat = gcj02_to_wgs84(lng, lat)
    return lng, lat


def to_storage_point(lng: float, lat: float, crs: str = WGS84) -> Point:
    """to_storage_lnglat as a Point in settings.STORAGE_SRID."""
    return Point(*to_storage_lnglat(lng, lat, crs), srid=settings.STORAGE_SRID)
