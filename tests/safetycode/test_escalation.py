"""An overdue hazard becomes a case in the events app (through case_report, source "module",
category 安全隐患 L0008, external id "hazard-<id>"), once; and it counts against the code."""

from datetime import timedelta

from django.utils import timezone

from events.models import Case, CaseLog
from safetycode.models import Hazard
from safetycode.services import hazards_escalate, inspection_submit
from tests.safetycode.conftest import all_yes, make_site


def test_an_overdue_hazard_opens_one_case_and_turns_the_code_yellow(town, categories):
    site = make_site()
    result = inspection_submit(
        site=site, inspector=town.wang, answers={**all_yes(site), "fire_ext": "no"}
    )
    [hazard] = result.opened
    assert hazards_escalate() == []  # not overdue yet
    Hazard.objects.filter(id=hazard.id).update(due_at=timezone.now() - timedelta(minutes=5))

    [case_id] = hazards_escalate()

    case = Case.objects.get(id=case_id)
    assert case.source == "module" and case.external_id == f"hazard-{hazard.id}"
    assert case.category.code == "L0008" and case.grid_id == town.g1.id
    assert case.node_path == town.g1.path and case.status == "reported"
    assert site.name in case.description and "灭火器" in case.description
    assert case.extra["safety_site"] == site.id
    assert CaseLog.objects.filter(case=case, action="report").count() == 1
    assert Hazard.objects.get(id=hazard.id).case_id == case.id
    # Idempotent: a second sweep opens nothing new.
    assert hazards_escalate() == []
    assert Case.objects.filter(external_id__startswith="hazard-").count() == 1
    site.refresh_from_db()
    overdue = next(f for f in site.factors if f["key"] == "overdue")
    assert overdue["n"] == 1 and overdue["rule"] == "yellow" and site.code == "yellow"
    # The module's own case is not counted again as a "case near the site".
    assert "cases" not in {f["key"] for f in site.factors}


def test_a_hazard_rectified_in_time_never_becomes_a_case(town, categories):
    site = make_site()
    result = inspection_submit(
        site=site, inspector=town.wang, answers={**all_yes(site), "gas": "no"}
    )
    inspection_submit(site=site, inspector=town.wang, answers=all_yes(site))
    Hazard.objects.filter(id=result.opened[0].id).update(due_at=timezone.now() - timedelta(days=1))
    assert hazards_escalate() == []
    assert not Case.objects.exists()


def test_other_cases_near_the_site_count_as_a_factor(town, categories):
    from events.services import Reporter, case_report

    site = make_site()
    case_report(
        source="resident",
        category=categories["L0008"],
        description="店门口堆放液化气罐",
        lng=site.location.x + 0.0001,
        lat=site.location.y,
        reporter=Reporter(label="市民"),
    )
    from safetycode.scoring import scores_recompute

    # A city-appearance case (garbage) at the same door says nothing about the site's safety.
    case_report(
        source="resident",
        category=categories["06010"],
        description="门口垃圾",
        lng=site.location.x,
        lat=site.location.y,
        reporter=Reporter(label="市民"),
    )
    scores_recompute(site_ids=[site.id])
    site.refresh_from_db()
    factor = next(f for f in site.factors if f["key"] == "cases")
    assert factor["n"] == 1 and factor["points"] == 5
