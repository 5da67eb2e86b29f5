"""The five-colour map (五色图): per grid one of red/orange/yellow/blue/green from its sites'
codes and its open safety cases, with the eight scenes as dimensions; served by
grid_risk_levels() and as GeoJSON within the user's scope. Also: the nightly set-based recompute
agrees with the per-site one."""

from django.utils import timezone

from events.services import Reporter, case_report
from safetycode.models import Site
from safetycode.scoring import scores_recompute
from safetycode.selectors import grid_risk, grid_risk_levels
from tests.safetycode.conftest import IN_G1, IN_G2, IN_G3, IN_G4, make_site


def sites(at, codes, scene="shop", start=1):
    made = []
    for i, code in enumerate(codes):
        attributes = {"capacity": 300} if scene == "crowded" else None
        s = make_site(
            name=f"场所{start + i}", at=at, n=start + i, scene=scene, attributes=attributes
        )
        Site.objects.filter(id=s.id).update(code=code)
        made.append(s)
    return made


def test_each_grid_gets_one_of_five_levels_from_its_sites_and_cases(town, categories):
    # points = 100 × (3 × red + 1 × yellow) / max(sites, 20) + 1 × open safety cases;
    # red ≥ 30, orange ≥ 20, yellow ≥ 10, blue > 0 (the default scoring model)
    sites(IN_G1, ["red"] * 4, start=1)  # 60 → red (重大)
    sites(IN_G2, ["red", "yellow", "green"], start=10)  # 20 → orange (较大)
    sites(IN_G3, ["yellow", "green"], scene="crowded", start=20)
    sites(IN_G3, ["yellow"], start=25)  # G3: 10 → yellow (一般)
    sites(IN_G4, ["green", "green"], start=30)
    case_report(
        source="worker",
        category=categories["L0008"],
        description="消防通道堆物",
        lng=IN_G4[0],
        lat=IN_G4[1],
        reporter=Reporter(user=town.zhao),
    )  # 1 → blue (低)

    levels = grid_risk_levels()
    assert levels == {
        town.g1.id: "red",
        town.g2.id: "orange",
        town.g3.id: "yellow",
        town.g4.id: "blue",
    }

    by_id = {g["id"]: g for g in grid_risk()}
    g3 = by_id[town.g3.id]
    assert set(g3["scenes"]) == {
        "shop",
        "key_place",
        "rental",
        "hazchem",
        "labour",
        "construction",
        "crowded",
        "office",
    }
    assert g3["scenes"]["crowded"] == {
        "red": 0,
        "yellow": 1,
        "green": 1,
        "points": 5.0,
        "level": "blue",
    }
    assert g3["scenes"]["office"]["level"] == "green" and g3["points"] == 10.0
    assert by_id[town.g4.id]["cases"] == 1


def test_a_grid_with_nothing_notable_is_green_and_a_scope_sees_only_its_grids(town, api):
    sites(IN_G1, ["yellow"], start=1)
    assert grid_risk_levels(user=town.wang) == {town.g1.id: "blue"}
    assert set(grid_risk_levels(user=town.sun)) == {town.g1.id, town.g2.id}
    assert grid_risk_levels()[town.g2.id] == "green"

    fc = api(town.sun).get("/api/safety/grid-risk.geojson").json()
    assert fc["type"] == "FeatureCollection"
    props = {f["properties"]["name"]: f["properties"] for f in fc["features"]}
    assert set(props) == {"A-01", "A-02"}
    assert props["A-01"]["level"] == "blue" and props["A-01"]["level_label"] == "低风险"
    assert fc["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_the_nightly_set_based_run_agrees_with_the_per_site_recompute(town):
    a = make_site(name="甲", n=1)
    b = make_site(name="乙", n=2, scene="construction", attributes={"permit_no": "施-001"})
    before = {s.id: (s.score, s.code, s.factors) for s in Site.objects.all()}
    Site.objects.update(score=0, code="red", factors=[], scored_at=None)
    assert scores_recompute() == 2
    after = {s.id: (s.score, s.code, s.factors) for s in Site.objects.all()}
    assert after == before
    assert a.id in after and b.id in after
    assert all(s.scored_at <= timezone.now() for s in Site.objects.all())


def test_the_pages_render_for_staff(town, api):
    make_site()
    client = api()
    client.force_login(town.sun)
    for url in (
        "/safety/",
        "/safety/risk",
        "/safety/import",
        f"/safety/grids/{town.g1.id}/qr-sheet",
    ):
        r = client.get(url)
        assert r.status_code == 200, url
    assert "<svg" in client.get(f"/safety/grids/{town.g1.id}/qr-sheet").content.decode()
    site = Site.objects.get()
    png = client.get(f"/safety/sites/{site.id}/qr.png")
    assert png["Content-Type"] == "image/png" and png.content[:4] == b"\x89PNG"
    assert client.get(f"/safety/sites/{site.id}/qr.svg").content.lstrip().startswith(b"<?xml")
    assert client.get(f"/safety/grids/{town.g3.id}/qr-sheet").status_code == 404  # outside A1
    anon = api()
    assert anon.get("/safety/").status_code == 302
