"""The console pages: who may open them, what the queue lists under its filters, and what the
case page shows an operator (the suggested handler and why, the map data, the timeline)."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dispatch.models import AnswerTemplate
from events import services
from events.models import Case
from tests.town import centre

IN_G1 = centre(0, 0)
IN_G3 = centre(0, 1)


@pytest.fixture(autouse=True)
def fast(settings):
    settings.WHITENOISE_USE_FINDERS = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def report(categories, point=IN_G1, source="resident", description="路边垃圾堆积") -> Case:
    return services.case_report(
        source=source,
        category=categories["06010"],
        description=description,
        address="文一西路 8 号",
        lng=point[0],
        lat=point[1],
        reporter=services.Reporter(label="市民"),
    ).case


def test_the_queue_and_the_case_page_open_for_an_operator(town, categories):
    case = report(categories)
    li = page_client(town.li)
    r = li.get("/console/")
    assert r.status_code == 200
    html = r.content.decode()
    assert case.number in html and 'data-export="xlsx"' in html
    assert "<kbd>j</kbd>" in html and "按推荐派遣" in html  # the shortcuts are shown

    r = li.get(f"/console/cases/{case.id}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert case.number in html and "路边垃圾堆积" in html
    # The suggestion and its reason: no rule fired, so the grid's own worker.
    assert "王网格" in html and "A-01" in html and 'id="dispatch-suggested"' in html
    assert 'data-action="register"' in html and "vendor/maplibre-gl/dist/maplibre-gl.js" in html
    map_data = json.loads(json.dumps(r.context["map_data"]))  # what json_script puts in the page
    assert map_data["point"]["lng"] == pytest.approx(IN_G1[0])
    own = [f for f in map_data["grids"]["features"] if f["properties"]["own"]]
    assert [f["properties"]["name"] for f in own] == ["A-01"]


def test_a_grid_worker_is_refused_the_console(town, categories):
    case = report(categories)
    wang = page_client(town.wang)
    assert wang.get("/console/").status_code == 403
    assert wang.get(f"/console/cases/{case.id}/").status_code == 403
    anonymous = Client().get("/console/")
    assert anonymous.status_code == 302 and "/accounts/login" in anonymous["Location"]


def test_an_area_leader_sees_only_the_cases_of_his_area(town, categories):
    mine = report(categories, IN_G1)
    other = report(categories, IN_G3)
    sun = page_client(town.sun)
    html = sun.get("/console/").content.decode()
    assert mine.number in html and other.number not in html
    assert sun.get(f"/console/cases/{other.id}/").status_code == 404
    # He watches, he does not dispatch: no dispatch form for him.
    assert 'id="dispatch-form"' not in sun.get(f"/console/cases/{mine.id}/").content.decode()


def test_the_queue_filters_by_status_source_grid_and_overdue(town, categories):
    resident = report(categories, IN_G1, description="居民上报")
    worker = report(categories, IN_G3, source="worker", description="网格员上报")
    late = report(categories, IN_G1, description="已超时")
    Case.objects.filter(id=late.id).update(register_due=timezone.now() - timedelta(hours=1))
    Case.objects.filter(id=resident.id).update(register_due=timezone.now() + timedelta(hours=1))
    Case.objects.filter(id=worker.id).update(register_due=timezone.now() + timedelta(hours=1))
    services.case_transition(case_id=worker.id, action="register", actor=town.li)
    li = page_client(town.li)

    def numbers(query: str) -> set[str]:
        rows = li.get("/console/" + query).context["rows"]
        return {row["case"].number for row in rows}

    assert numbers("") == {resident.number, worker.number, late.number}
    assert numbers("?status=registered") == {worker.number}
    assert numbers("?source=worker") == {worker.number}
    assert numbers(f"?grid={town.g1.id}") == {resident.number, late.number}
    assert numbers("?overdue=1") == {late.number}
    # the overdue case's timer is red, the others green
    rows = {r["case"].id: r["timer"]["state"] for r in li.get("/console/").context["rows"]}
    assert rows[late.id] == "critical" and rows[resident.id] == "green"
    # A filter value the page does not know is dropped, not an error.
    assert li.get("/console/?status=bogus&grid=x").status_code == 200


def test_the_case_page_offers_the_reply_templates_of_its_state(town, categories):
    AnswerTemplate.objects.create(name="已立案答复", action="register", text="{number} 已立案")
    AnswerTemplate.objects.create(name="结案答复", action="close", text="已办结")
    case = report(categories)
    services.case_transition(case_id=case.id, action="register", actor=town.li)
    html = page_client(town.li).get(f"/console/cases/{case.id}/").content.decode()
    assert "已立案答复" in html and f"{case.number} 已立案" in html
    assert "结案答复" not in html


def test_only_the_commander_gets_the_order_dialog(town, categories):
    assert 'id="order-dialog"' in page_client(town.chen).get("/console/").content.decode()
    assert 'id="order-dialog"' not in page_client(town.li).get("/console/").content.decode()
