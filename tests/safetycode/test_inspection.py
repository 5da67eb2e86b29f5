"""Inspections by staff through the field API: the checklist, findings that become hazards with a
level and a deadline and turn the code yellow or red with its explanation, re-inspection that
closes them; scope and PII masking."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import AuditLog
from safetycode.models import Hazard, Inspection
from safetycode.services import checklist_for, inspection_submit
from tests.safetycode.conftest import all_yes, make_site


def inspect(client, site, answers, **extra):
    return client.post(
        f"/api/safety/sites/{site.id}/inspections", {"answers": answers, **extra}, format="json"
    )


def test_the_field_app_gets_the_scenes_checklist(site, api, town):
    r = api(town.wang).get(f"/api/safety/sites/{site.id}/checklist")
    assert r.status_code == 200
    body = r.json()
    assert body["site"]["scene"] == "shop"
    assert [i["code"] for i in body["items"]] == ["fire_ext", "exits", "wiring", "gas"]
    assert body["items"][1]["level"] == "major" and body["answers"] == ["yes", "no", "na"]


def test_a_general_finding_turns_the_code_yellow_and_the_site_page_explains_it(site, api, town):
    wang = api(town.wang)
    r = inspect(
        wang,
        site,
        {**all_yes(site), "fire_ext": "no"},
        note="灭火器过期",
        lng=site.location.x,
        lat=site.location.y,
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["site"]["code"] == "yellow"
    [hazard] = body["hazards_opened"]
    assert hazard["level"] == "general" and hazard["item"] == "fire_ext"
    due = timezone.datetime.fromisoformat(hazard["due_at"])
    assert timedelta(days=6, hours=23) < due - timezone.now() <= timedelta(days=7)
    factor = next(f for f in body["site"]["factors"] if f["key"] == "general_open")
    assert factor == {
        "key": "general_open",
        "n": 1,
        "points": 8,
        "rule": "yellow",
        "label": "未整改一般隐患",
    }

    page = api(town.wang)
    page.force_login(town.wang)
    html = page.get(f"/safety/sites/{site.id}").content.decode()
    assert "黄码" in html and "未整改一般隐患" in html and "灭火器配置齐全且在有效期内" in html


def test_a_major_finding_turns_it_red_and_a_re_inspection_closes_the_hazards(site, api, town):
    wang = api(town.wang)
    r = inspect(wang, site, {**all_yes(site), "exits": "no", "wiring": "no"})
    assert r.json()["site"]["code"] == "red"
    assert {h["level"] for h in r.json()["hazards_opened"]} == {"major", "general"}

    r = inspect(wang, site, all_yes(site))
    assert r.status_code == 201
    assert sorted(h["item"] for h in r.json()["hazards_closed"]) == ["exits", "wiring"]
    assert r.json()["site"]["code"] == "green"
    assert Hazard.objects.filter(site=site, status="rectified").count() == 2
    closed = Hazard.objects.filter(site=site).first()
    assert closed.closed_by_id == r.json()["id"] and closed.closed_at is not None


def test_a_hazard_found_again_counts_as_recurring(site, town):
    answers = {**all_yes(site), "fire_ext": "no"}
    inspection_submit(site=site, inspector=town.wang, answers=answers)
    inspection_submit(site=site, inspector=town.wang, answers=all_yes(site))
    result = inspection_submit(site=site, inspector=town.wang, answers=answers)
    keys = {f["key"]: f for f in result.site.factors}
    assert keys["recurring"]["n"] == 1 and result.site.code == "yellow"


def test_scope_masking_and_the_audited_reveal(site, api, town):
    assert api(town.zhao).get(f"/api/safety/sites/{site.id}").status_code == 404
    assert inspect(api(town.zhao), site, all_yes(site)).status_code == 404
    card = api(town.wang).get(f"/api/safety/sites/{site.id}").json()
    assert (
        card["owner"] == "张**" and card["phone"] == "138****5678" and card["may_reveal"] is False
    )
    assert api(town.wang).post(f"/api/safety/sites/{site.id}/reveal").status_code == 403
    r = api(town.li).post(f"/api/safety/sites/{site.id}/reveal")
    assert r.json() == {"owner": "张三丰", "phone": "13812345678"}
    assert AuditLog.objects.filter(event="pii.reveal", success=True, user=town.li).count() == 2


def test_bad_answers_are_refused_and_nothing_is_written(site, api, town):
    r = inspect(api(town.wang), site, {"fire_ext": "yes", "bogus": "no"})
    assert r.status_code == 400
    assert "answers" in r.json()["fields"] and "answers.exits" in r.json()["fields"]
    assert Inspection.objects.count() == 0


def test_a_hazchem_site_needs_its_licence_number(town):
    import pytest

    from cockpit.errors import ApplicationError

    with pytest.raises(ApplicationError) as exc:
        make_site(scene="hazchem", attributes={"chemicals": "甲醇"})
    assert "attributes" in exc.value.fields
    site = make_site(scene="hazchem", attributes={"licence_no": "浙杭危化经字001"}, n=2)
    assert [i.code for i in checklist_for(scene="hazchem")][-3:] == ["storage", "licence", "drill"]
    # Stale self-check and inspection plus the scene's base risk make a never-checked
    # hazardous-chemicals site yellow; each factor says so.
    assert site.code == "yellow"
    assert {f["key"] for f in site.factors} >= {
        "scene_base",
        "selfcheck_stale",
        "inspection_stale",
        "score_yellow",
    }


def test_a_checklist_items_weight_scales_the_points_its_hazard_costs(site, api, town):
    from safetycode.models import ChecklistItem

    # An admin makes the extinguisher item weigh double the standard (3 → 6).
    ChecklistItem.objects.filter(scene="shop", code="fire_ext").update(weight=6)
    r = inspect(api(town.wang), site, {**all_yes(site), "fire_ext": "no"})
    assert r.status_code == 201, r.json()
    factor = next(f for f in r.json()["site"]["factors"] if f["key"] == "general_open")
    assert factor["n"] == 1 and factor["points"] == 16  # 8 points × 6 / 3
