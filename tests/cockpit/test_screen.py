"""The screen's data: rollups kept exact by the trigger through every kind of change, the JSON
endpoints' figures, scope (an area leader sees their area, a grid worker no cockpit), the grid
drill-down, the case card and the vector tiles."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from cockpit.models import CaseClosure, CaseDaily, CaseDayGrid, CaseOpen, HeatCell
from cockpit.screen.rollups import rollups_rebuild, rollups_settle, trigger_set
from events import services
from events.models import Case
from tests.town import centre

IN_G1, IN_G2, IN_G3 = centre(0, 0), centre(1, 0), centre(0, 1)


@pytest.fixture(autouse=True)
def own_cache(settings):
    """A private cache per test (the screen caches names for a minute; each test has new ids)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": uuid.uuid4().hex,
        }
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.WHITENOISE_USE_FINDERS = False


def report(categories, code="06010", point=IN_G1, source="worker", **kw) -> Case:
    return services.case_report(
        source=source,
        category=categories[code],
        description="测试事件",
        lng=point[0],
        lat=point[1],
        reporter=services.Reporter(label="测试"),
        **kw,
    ).case


def walk(case, town, *steps):
    for action in steps:
        updates = {"handler": town.wang} if action == "dispatch" else None
        note = "理由" if action in ("reject", "return", "rework", "park") else ""
        services.case_transition(
            case_id=case.id, action=action, actor=town.li, updates=updates, note=note
        )


def rollup_by_status(model=CaseDaily) -> dict:
    rollups_settle()  # as every reader does: new cases' counts are queued until then
    out = {}
    for status, n in model.objects.values_list("status", "n"):
        out[status] = out.get(status, 0) + n
    return {k: v for k, v in out.items() if v}


def truth_by_status() -> dict:
    out = {}
    for status in Case.objects.values_list("status", flat=True):
        out[status] = out.get(status, 0) + 1
    return out


def snapshot() -> list:
    rollups_settle()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT day, node_path, source, category_id, status, grade, n FROM cockpit_casedaily "
            "WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5, 6"
        )
        daily = cursor.fetchall()
    opened = sorted(CaseOpen.objects.values_list("case_id", "status", "due_at", "node_path"))
    closed = sorted(CaseClosure.objects.values_list("case_id", "day", "minutes"))
    heat = sorted(HeatCell.objects.filter(n__gt=0).values_list("day", "cx", "cy", "n"))
    grid = sorted(
        CaseDayGrid.objects.filter(n__gt=0).values_list("day", "node_path", "status", "grade", "n")
    )
    return [daily, opened, closed, heat, grid]


def test_the_rollups_follow_every_change_and_equal_a_rebuild_from_scratch(town, categories):
    a, b, c, d = (report(categories) for _ in range(4))
    e = report(categories, "L0005", point=IN_G3, source="110")
    walk(a, town, "register", "dispatch", "accept", "arrive", "resolve", "verify", "close")
    walk(b, town, "reject")
    walk(c, town, "register", "dispatch", "accept")
    walk(d, town, "register", "dispatch", "return")
    # edits that move a case between rollup rows: grade, place, day
    Case.objects.filter(id=e.id).update(grade=1)
    Case.objects.filter(id=c.id).update(
        node_path=town.g2.path, grid=town.g2, reported_at=timezone.now() - timedelta(days=2)
    )

    assert (
        rollup_by_status()
        == truth_by_status()
        == {
            "closed": 1,
            "rejected": 1,
            "accepted": 1,
            "returned": 1,
            "reported": 1,
        }
    )
    assert rollup_by_status(CaseDayGrid) == truth_by_status()
    assert set(CaseOpen.objects.values_list("case_id", flat=True)) == {c.id, d.id, e.id}
    assert CaseOpen.objects.get(case_id=e.id).grade == 1
    closure = CaseClosure.objects.get()
    assert closure.case_id == a.id and closure.minutes >= 0
    live = snapshot()
    # What the trigger kept equals the set-based rebuild (what a bulk load relies on).
    rollups_rebuild()
    assert snapshot() == live


def test_a_paused_trigger_leaves_the_rollups_to_the_rebuild(town, categories):
    trigger_set(enabled=False)
    try:
        report(categories)
    finally:
        trigger_set(enabled=True)
    assert CaseDaily.objects.count() == 0
    rollups_rebuild()
    assert rollup_by_status() == {"reported": 1}


def test_the_summary_counts_today_by_source_category_status_overdue_and_closure(
    client, town, categories
):
    a = report(categories, source="resident")
    report(categories, source="resident")
    late = report(categories, "09009", source="video_ai")
    report(categories, "L0005", source="110", point=IN_G3)
    walk(a, town, "register", "dispatch", "accept", "arrive", "resolve", "verify", "close")
    Case.objects.filter(id=late.id).update(register_due=timezone.now() - timedelta(minutes=1))

    client.force_login(town.li)
    r = client.get("/api/screen/summary")
    assert r.status_code == 200
    s = r.json()
    assert s["total_today"] == 4
    assert {x["key"]: x["n"] for x in s["by_source"]} == {"resident": 2, "video_ai": 1, "110": 1}
    assert {x["name"]: x["n"] for x in s["by_category"]} == {
        "暴露垃圾": 2,
        "机动车乱停放": 1,
        "交通事故": 1,
    }
    assert {x["key"]: x["n"] for x in s["by_status"]} == {"closed": 1, "reported": 3}
    assert s["open_now"] == 3 and s["overdue_now"] == 1
    assert s["closure"]["today"]["closed"] == 1 and s["closure"]["today"]["rate"] == 0.25
    assert s["closure"]["today"]["median_minutes"] is not None
    assert s["closure"]["week"]["reported"] == 4

    # An area leader's screen shows their area only (G1, G2): not the 110 case in G3.
    client.force_login(town.sun)
    s = client.get("/api/screen/summary").json()
    assert s["total_today"] == 3 and "110" not in {x["key"] for x in s["by_source"]}


def test_who_may_see_the_screen(client, town, categories):
    assert client.get("/api/screen/summary").status_code == 401
    assert client.get("/screen/").status_code == 302  # to the login page
    client.force_login(town.wang)  # a grid worker: no cockpit
    r = client.get("/api/screen/summary")
    assert r.status_code == 403 and r.json()["message"] == "无权查看驾驶舱。"
    assert client.get("/screen/").status_code == 403
    assert client.get("/api/tiles/14/13654/6688.pbf").status_code == 403
    client.force_login(town.li)
    page = client.get("/screen/")
    assert page.status_code == 200 and "平安六指数" in page.content.decode()


def test_the_grid_drill_down_lists_its_open_cases_staff_and_risk(client, town, categories):
    mine = report(categories)
    report(categories, point=IN_G3)
    walk(mine, town, "register")
    client.force_login(town.li)
    g = client.get(f"/api/screen/grids/{town.g1.id}").json()
    assert g["name"] == "A-01" and g["community"] == "兰里社区"
    assert [c["id"] for c in g["cases"]] == [mine.id] and g["open"] == 1 and g["today"] == 1
    assert [s["name"] for s in g["staff"]] == ["王网格"]
    assert g["level"] in ("red", "orange", "yellow", "blue", "green")

    grids = {x["id"]: x for x in client.get("/api/screen/grids").json()["grids"]}
    assert set(grids) == {town.g1.id, town.g2.id, town.g3.id, town.g4.id}
    assert grids[town.g1.id]["open"] == 1 and grids[town.g4.id]["open"] == 0

    client.force_login(town.sun)  # area A1: G3 is not theirs
    assert client.get(f"/api/screen/grids/{town.g3.id}").status_code == 404
    assert set(x["id"] for x in client.get("/api/screen/grids").json()["grids"]) == {
        town.g1.id,
        town.g2.id,
    }


def test_the_case_card_has_its_timeline_and_the_live_layers_carry_the_case(
    client, town, categories
):
    case = report(categories)
    walk(case, town, "register", "dispatch")
    client.force_login(town.li)
    card = client.get(f"/api/screen/cases/{case.id}").json()
    assert card["number"] == case.number and card["handler"] == "王网格"
    assert [e["action"] for e in card["timeline"]] == ["report", "register", "dispatch"]
    assert card["timeline"][1]["action_label"] == "立案"

    cases = client.get("/api/screen/cases").json()
    assert [f["properties"]["id"] for f in cases["features"]] == [case.id]
    assert cases["features"][0]["geometry"]["coordinates"] == pytest.approx(list(IN_G1))
    ticker = client.get("/api/screen/ticker").json()
    assert ticker["items"][0]["id"] == case.id and ticker["last_seq"] > 0
    heat = client.get("/api/screen/heat").json()
    assert sum(f["properties"]["n"] for f in heat["features"]) == 1

    client.force_login(town.sun)
    report(categories, point=IN_G3)
    ids = [f["properties"]["id"] for f in client.get("/api/screen/cases").json()["features"]]
    assert ids == [case.id]
    client.force_login(town.zhao)  # not a cockpit role
    assert client.get(f"/api/screen/cases/{case.id}").status_code == 403


def _tile_for(lng, lat, z):
    import math

    n = 2**z
    x = int((lng + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_vector_tiles_carry_the_towns_own_layers(client, town):
    from grids.models import Address

    Address.objects.create(
        code="A1", text="兰里路1号", point=f"POINT({IN_G1[0]} {IN_G1[1]})", grid=town.g1
    )
    client.force_login(town.li)
    x, y = _tile_for(*IN_G1, 14)
    r = client.get(f"/api/tiles/14/{x}/{y}.pbf")
    assert r.status_code == 200 and r["Content-Type"] == "application/vnd.mapbox-vector-tile"
    body = r.content
    for layer in (b"town", b"grids", b"addresses"):
        assert layer in body
    assert "兰里路1号".encode() in body
    # cached, but never past an edit of the territory
    town.g1.name = "A-99"
    town.g1.save()
    assert b"A-99" in client.get(f"/api/tiles/14/{x}/{y}.pbf").content
    x, y = _tile_for(*IN_G1, 12)  # below z14: no address points
    assert b"addresses" not in client.get(f"/api/tiles/12/{x}/{y}.pbf").content
    assert client.get("/api/tiles/14/0/0.pbf").content == b""  # far away: an empty tile
    assert client.get("/api/tiles/3/9/1.pbf").status_code == 404  # x out of range


def test_truncating_the_cases_empties_the_rollups(town, categories):
    report(categories)
    rollups_settle()
    assert CaseDaily.objects.exists() and CaseOpen.objects.exists()
    report(categories)  # its count still queued
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # settle the insert's deferred checks
        cursor.execute("TRUNCATE events_case CASCADE")
    assert rollups_settle() == 0  # the queue went with the cases
    assert not CaseDaily.objects.exists() and not CaseOpen.objects.exists()
    assert not HeatCell.objects.exists()
