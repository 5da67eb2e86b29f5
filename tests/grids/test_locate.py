"""Locating a point in the small town (grids.selectors.grid_locate and /api/grids/locate).

    x: 120.07      120.08      120.09
  30.34 ┌───────────┬───────────┐
        │ G1 A-01   │ G2 A-02   │
  30.33 ├───────────┼───────────┤
        │ G3 B-01   │ G4 B-02   │
  30.32 └───────────┴───────────┘

A point on a shared edge belongs to exactly one grid, the same every time (the lowest code);
a point one metre to either side of an edge belongs to that side; outside the town, to none.
"""

import math

import pytest
from django.contrib.gis.geos import Point
from rest_framework.test import APIClient

from grids.coords import wgs84_to_gcj02
from grids.selectors import grid_locate, node_chain, town_contains
from tests.town import STEP, X0, Y0

MID_Y = Y0 - STEP / 2  # halfway down the top row
EDGE_X = X0 + STEP  # the edge G1 | G2 (and G3 | G4)
EDGE_Y = Y0 - STEP  # the edge G1 / G3 (and G2 / G4)
ONE_M_LAT = 1 / 110_574
ONE_M_LNG = 1 / (111_320 * math.cos(math.radians(MID_Y)))


@pytest.fixture(autouse=True)
def quick(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.WHITENOISE_USE_FINDERS = False


def at(lng: float, lat: float) -> str | None:
    grid = grid_locate(point=Point(lng, lat, srid=4326))
    return grid.name if grid else None


def test_a_point_on_a_shared_edge_gets_one_grid_and_always_the_same(town):
    assert {at(EDGE_X, MID_Y) for _ in range(5)} == {"A-01"}  # G1 | G2: the lower code
    assert {at(X0 + STEP / 2, EDGE_Y) for _ in range(5)} == {"A-01"}  # G1 / G3
    assert at(EDGE_X, Y0 - 1.5 * STEP) == "B-01"  # G3 | G4
    # The corner all four share.
    assert at(EDGE_X, EDGE_Y) == "A-01"


@pytest.mark.parametrize(
    "lng,lat,grid",
    [
        (EDGE_X - ONE_M_LNG, MID_Y, "A-01"),
        (EDGE_X + ONE_M_LNG, MID_Y, "A-02"),
        (X0 + STEP / 2, EDGE_Y + ONE_M_LAT, "A-01"),
        (X0 + STEP / 2, EDGE_Y - ONE_M_LAT, "B-01"),
        (EDGE_X + ONE_M_LNG, EDGE_Y - ONE_M_LAT, "B-02"),  # a metre off the four-way corner
        (X0 + ONE_M_LNG, MID_Y, "A-01"),  # a metre inside the town's west edge
        (X0 + 2 * STEP - ONE_M_LNG, Y0 - 2 * STEP + ONE_M_LAT, "B-02"),  # south-east corner
    ],
)
def test_a_point_a_metre_inside_an_edge_gets_its_own_side(town, lng, lat, grid):
    assert at(lng, lat) == grid


@pytest.mark.parametrize(
    "lng,lat",
    [
        (X0 - ONE_M_LNG, MID_Y),  # a metre west of the town
        (X0 + STEP / 2, Y0 + ONE_M_LAT),  # a metre north
        (X0 + 2 * STEP + ONE_M_LNG, Y0 - 1.5 * STEP),  # a metre east
        (121.47, 31.23),  # Shanghai
    ],
)
def test_outside_the_town_no_grid(town, lng, lat):
    assert at(lng, lat) is None
    assert not town_contains(point=Point(lng, lat, srid=4326))


def test_a_point_on_the_town_boundary_is_in_the_town(town):
    assert town_contains(point=Point(X0, MID_Y, srid=4326))
    assert at(X0, MID_Y) == "A-01"


def test_the_chain_runs_from_the_town_down_to_the_grid(town):
    grid = grid_locate(point=Point(EDGE_X + ONE_M_LNG, MID_Y, srid=4326))
    assert [n.code for n in node_chain(node=grid)] == [
        "330106109",
        "A1",
        "S1",
        "Q1",
        "330106109001002",
    ]


# --- the API ---------------------------------------------------------------------------------


@pytest.fixture
def li(town) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=town.li)
    return client


def locate(client, lng, lat, crs=None):
    params = {"lng": lng, "lat": lat}
    if crs:
        params["crs"] = crs
    return client.get("/api/grids/locate", params)


def test_the_api_takes_gcj02_and_finds_the_grid_a_metre_past_the_edge(li, town):
    # A metre east of G1 | G2, 100 m north of G2 / G4.
    wgs = (EDGE_X + ONE_M_LNG, EDGE_Y + 100 * ONE_M_LAT)
    gcj = wgs84_to_gcj02(*wgs)
    response = locate(li, *gcj, crs="gcj02")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["grid"]["code"] == "330106109001002" and body["grid"]["name"] == "A-02"
    assert body["community"] == {
        "id": town.g2.community_id,
        "code": "330106109001",
        "name": "兰里社区",
    }
    assert [n["kind"] for n in body["chain"]] == ["town", "area", "station", "squad", "grid"]
    # The answer gives the point as stored, in WGS84, within a few centimetres of where it was.
    assert body["point"]["crs"] == "wgs84"
    assert abs(body["point"]["lng"] - wgs[0]) < 1e-6 and abs(body["point"]["lat"] - wgs[1]) < 1e-6

    # The same numbers read as WGS84 lie ~250 m further south (and ~480 m east): in G4.
    assert locate(li, *gcj).json()["grid"]["name"] == "B-02"
    assert locate(li, *gcj, crs="wgs84").json()["grid"]["name"] == "B-02"
    # And the one metre on the other side of the edge, sent in GCJ-02, is G1.
    gcj_west = wgs84_to_gcj02(EDGE_X - ONE_M_LNG, MID_Y)
    assert locate(li, *gcj_west, crs="gcj02").json()["grid"]["name"] == "A-01"


def test_the_api_says_in_chinese_when_a_point_is_in_no_grid(li, town):
    response = locate(li, X0 - ONE_M_LNG, MID_Y)
    assert response.status_code == 404
    body = response.json()
    assert body["message"] == "该位置不在本镇的任何网格内。"
    assert "lng" in body["fields"]


@pytest.mark.parametrize(
    "params,field",
    [
        ({"lng": "120.08", "lat": "30.335", "crs": "bd09"}, "crs"),
        ({"lng": "abc", "lat": "30.335"}, "lng"),
        ({"lat": "30.335"}, "lng"),
        ({"lng": "120.08", "lat": "95"}, "lat"),
    ],
)
def test_the_api_names_the_wrong_field(li, town, params, field):
    response = li.get("/api/grids/locate", params)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"message", "fields"} and field in body["fields"]


def test_the_api_answers_in_english_when_asked(li, town):
    response = li.get(
        "/api/grids/locate",
        {"lng": X0 - ONE_M_LNG, "lat": MID_Y},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 404
    assert response.json()["message"] == "The location is not inside any grid of the town."


def test_only_staff_with_a_scope_may_locate(town):
    assert locate(APIClient(), EDGE_X, MID_Y).status_code in (401, 403)


def test_the_locate_probe_reads_grid_polygons_only(town):
    """Its GiST holds grid polygons only (migration grids 0004: Django 5.2 had dropped the
    condition), so the town, area and squad polygons that also cover a point are never fetched
    and thrown away by kind; the probe's condition matches the index's."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'node_grid_boundary_gist'"
        )
        (definition,) = cursor.fetchone()
    assert definition.endswith("USING gist (boundary) WHERE ((kind)::text = 'grid'::text)")
    x, y = X0 + STEP / 2, Y0 - STEP / 2
    assert grid_locate(point=Point(x, y, srid=4326)) == town.g1
