"""WGS84 ↔ GCJ-02 at the edge (grids.coords): the round trip loses less than a metre anywhere in
China, the offset itself is the one every Chinese map applies, and bad input is refused by field."""

import math

import pytest

from cockpit.errors import ApplicationError
from grids.coords import gcj02_to_wgs84, to_storage_point, wgs84_to_gcj02


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    lng1, lat1, lng2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


# In the town (Sandun, its corners and centre) and across China, from the far west to the far
# north-east and the South China Sea.
POINTS = {
    "sandun centre": (120.09, 30.33),
    "sandun north-west": (120.055, 30.362),
    "sandun south-east": (120.128, 30.298),
    "beijing": (116.404, 39.915),
    "urumqi": (87.617, 43.793),
    "lhasa": (91.117, 29.647),
    "harbin": (126.535, 45.803),
    "sanya": (109.512, 18.252),
    "kunming": (102.833, 24.880),
}


@pytest.mark.parametrize("name", sorted(POINTS))
def test_wgs84_to_gcj02_and_back_lands_within_a_metre(name):
    wgs = POINTS[name]
    gcj = wgs84_to_gcj02(*wgs)
    # The obfuscation is real (hundreds of metres), so the round trip is not trivially exact.
    assert 50 < metres(wgs, gcj) < 1000, (name, metres(wgs, gcj))
    back = gcj02_to_wgs84(*gcj)
    assert metres(wgs, back) < 1.0, (name, metres(wgs, back))
    # In fact it is exact to a millimetre: the inverse iterates instead of the usual one step.
    assert metres(wgs, back) < 0.001


@pytest.mark.parametrize("name", sorted(POINTS))
def test_a_gcj02_point_read_at_the_edge_is_stored_as_its_wgs84_point(name):
    wgs = POINTS[name]
    stored = to_storage_point(*wgs84_to_gcj02(*wgs), crs="gcj02")
    assert stored.srid == 4326
    assert metres(wgs, (stored.x, stored.y)) < 1.0
    as_wgs = to_storage_point(*wgs, crs="WGS84 ")  # case and spaces do not matter
    assert (as_wgs.x, as_wgs.y) == wgs


def test_the_forward_formula_matches_the_published_reference_value():
    # The worked example of the widely used coordtransform library (Tiananmen area).
    lng, lat = wgs84_to_gcj02(116.404, 39.915)
    assert lng == pytest.approx(116.41024449916938, abs=1e-9)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)


def test_outside_china_the_two_systems_are_the_same():
    for point in [(139.6917, 35.6895), (-0.1276, 51.5072), (37.6173, 55.7558)]:
        assert wgs84_to_gcj02(*point) == point
        assert gcj02_to_wgs84(*point) == point


@pytest.mark.parametrize(
    "args,field",
    [
        ((120.09, 30.33, "bd09"), "crs"),
        ((181.0, 30.33, "wgs84"), "lng"),
        ((120.09, -91.0, "gcj02"), "lat"),
        (("east", 30.33, "wgs84"), "lng"),
        ((120.09, float("nan"), "wgs84"), "lat"),
    ],
)
def test_bad_coordinates_are_refused_naming_the_field_in_chinese(args, field):
    with pytest.raises(ApplicationError) as caught:
        to_storage_point(*args)
    assert caught.value.status_code == 400
    assert list(caught.value.fields) == [field]
    message = caught.value.fields[field][0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message
