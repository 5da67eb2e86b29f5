"""Routing decisions and their effects, in the database: first matching rule wins and says why,
grid-worker targets, plans call several units, recommend-only waits for the operator,
duplicates merge, a case is routed once, overdue steps escalate up the chain, and the simulate
command replays a day without dispatching."""

from datetime import time, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from dispatch.models import (
    Assignment,
    CategoryDispatch,
    Department,
    DutyRota,
    GradeRule,
    Plan,
    PlanUnit,
    RoutingRule,
    Team,
)
from dispatch.services import case_dispatch, case_route, escalate_overdue
from events import services
from events.models import Case, CaseLog
from tests.town import centre

pytestmark = pytest.mark.django_db

IN_G1 = centre(0, 0)
IN_G3 = centre(0, 1)


@pytest.fixture
def units(town):
    police = Department.objects.create(code="police", name="派出所")
    chengguan = Department.objects.create(code="cg", name="综合执法队")
    fire = Department.objects.create(code="fire", name="消防救援站")
    team = Team.objects.create(
        code="cg-1", name="一中队执法组", department=chengguan, lead=town.liu
    )
    return {"police": police, "cg": chengguan, "fire": fire, "team": team}


def report(category, point=IN_G1, source=Case.Source.RESIDENT, **kw) -> Case:
    lng, lat = point
    return services.case_report(
        source=source, category=category, lng=lng, lat=lat, description="测试", **kw
    ).case


def test_first_matching_rule_wins_and_says_why(town, categories, units):
    garbage = categories["06010"]
    RoutingRule.objects.create(
        name="夜间城管", order=5, target="department", department=units["police"],
        mode="auto", time_from=time(22), time_to=time(6),
    )  # fmt: skip
    rule = RoutingRule.objects.create(
        name="垃圾→网格员", order=10, target="grid_worker", mode="auto"
    )
    rule.categories.add(garbage)
    RoutingRule.objects.create(
        name="兜底", order=20, target="department", department=units["cg"], mode="auto"
    )
    case = report(garbage)
    case.reported_at = case.reported_at.replace(hour=3)  # 11:00 Asia/Shanghai: not night
    Case.objects.filter(id=case.id).update(reported_at=case.reported_at)

    routing = case_route(case_id=case.id)

    case.refresh_from_db()
    assert routing["rule"]["name"] == "垃圾→网格员"
    assert any("垃圾" in r or garbage.name in r for r in routing["reasons"])
    assert case.status == Case.Status.DISPATCHED and case.handler == town.wang
    assert case.accept_due is not None and case.resolve_due is not None
    actions = list(CaseLog.objects.filter(case=case).values_list("action", flat=True))
    assert actions == ["report", "route", "register", "dispatch"]
    lead = Assignment.objects.get(case=case, active=True)
    assert lead.user == town.wang and lead.role == "lead"


def test_a_case_is_routed_once_even_if_the_task_runs_twice(town, categories, units):
    RoutingRule.objects.create(
        name="全部", target="department", department=units["cg"], mode="auto"
    )
    case = report(categories["06010"])
    assert case_route(case_id=case.id) is not None
    assert case_route(case_id=case.id) is None
    assert CaseLog.objects.filter(case=case, action="dispatch").count() == 1
    assert Assignment.objects.filter(case=case).count() == 1


@pytest.fixture
def no_wake():
    """The session's Celery worker (started by an earlier test) is not woken for this test's
    cases: the wake-up flag is held, so routing_wake sends nothing and only the test routes."""
    from cockpit import redisclient

    flag = redisclient.key(services.ROUTE_WAKE_FLAG)
    redisclient.exchange([("SET", flag, 1, "EX", 60)])
    yield
    redisclient.exchange([("DEL", flag)])


@pytest.mark.django_db(transaction=True)
def test_a_case_another_worker_is_routing_is_skipped_not_waited_for(
    town, categories, units, no_wake
):
    """Two workers woken together: the one that finds the row locked moves on at once; the
    case is routed once, by whoever comes next."""
    import threading

    from django.db import connection, transaction

    case = report(categories["06010"])
    locked, release, done = threading.Event(), threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                Case.objects.select_for_update().get(id=case.id)
                locked.set()
                release.wait(10)
        finally:
            connection.close()
            done.set()

    threading.Thread(target=other_worker, daemon=True).start()
    assert locked.wait(10)
    started = timezone.now()
    assert case_route(case_id=case.id) is None  # skipped
    assert (timezone.now() - started).total_seconds() < 2  # not waited for
    release.set()
    assert done.wait(10)
    # The holder let go without routing: the next wake-up routes it (this one; None only if a
    # task left over from an earlier test got there first), and only once.
    case_route(case_id=case.id)
    assert case_route(case_id=case.id) is None
    case.refresh_from_db()
    assert case.routed_at is not None
    assert CaseLog.objects.filter(case=case, action__in=("route", "recommend")).count() == 1


def test_recommend_only_waits_for_the_operator_with_the_suggestion(town, categories, units):
    rule = RoutingRule.objects.create(
        name="推荐执法队", target="team", team=units["team"], mode="recommend"
    )
    case = report(categories["06010"])
    routing = case_route(case_id=case.id)
    case.refresh_from_db()
    assert case.status == Case.Status.REPORTED and case.handler is None
    assert routing["dispatched"] is False
    assert routing["target"]["team"]["id"] == units["team"].id
    assert case.routing["rule"]["id"] == rule.id
    # the operator takes the suggestion in one click
    case_dispatch(case_id=case.id, actor=town.li, team=units["team"], note="采纳推荐")
    case.refresh_from_db()
    assert case.status == Case.Status.DISPATCHED and case.handler == town.liu


def test_no_rule_falls_back_to_the_categorys_department_then_to_the_operator(
    town, categories, units
):
    garbage, other = categories["06010"], categories["01001"]
    CategoryDispatch.objects.create(category=garbage, department=units["cg"], mode="auto")
    a = report(garbage)
    b = report(other, point=IN_G3)
    case_route(case_id=a.id)
    routing_b = case_route(case_id=b.id)
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == Case.Status.DISPATCHED
    assert Assignment.objects.get(case=a).department == units["cg"]
    assert b.status == Case.Status.REPORTED
    assert routing_b["rule"]["kind"] == "none" and "坐席员" in routing_b["reasons"][-1]


def test_a_grid_worker_rule_skips_a_grid_without_workers(town, categories, units):
    RoutingRule.objects.create(name="网格员", order=1, target="grid_worker", mode="auto")
    RoutingRule.objects.create(
        name="执法队", order=2, target="department", department=units["cg"], mode="auto"
    )
    case = report(categories["06010"], point=centre(1, 1))  # G4 has no worker nor leader
    routing = case_route(case_id=case.id)
    assert routing["rule"]["name"] == "执法队"
    assert "无网格员" in routing["reasons"][0]


def test_a_plan_calls_several_units_at_once(town, categories, units):
    fire_cat = next(c for c in categories.values() if c.default_grade == 1)
    plan = Plan.objects.create(name="火警预案", min_grade=1, mode="auto")
    plan.categories.add(fire_cat)
    PlanUnit.objects.create(plan=plan, department=units["fire"], role="lead")
    PlanUnit.objects.create(plan=plan, team=units["team"], role="assist")
    PlanUnit.objects.create(plan=plan, department=units["police"], role="assist")
    case = report(fire_cat, source=Case.Source.FIRE, external_id="119-1")
    routing = case_route(case_id=case.id)
    assert routing["rule"]["kind"] == "plan" and len(routing["plan"]["units"]) == 3
    rows = Assignment.objects.filter(case=case, active=True)
    assert {(r.role, r.department_id) for r in rows} == {
        ("lead", units["fire"].id),
        ("assist", units["cg"].id),
        ("assist", units["police"].id),
    }
    entry = CaseLog.objects.get(case=case, action="dispatch")
    assert town.liu.id in entry.data["notify"]  # the assisting team's lead is told


def test_a_grade_rule_raises_urgency_and_the_reason_is_recorded(town, categories, units):
    GradeRule.objects.create(name="110 一律紧急", source="110", grade=2)
    case = report(categories["06010"], source=Case.Source.POLICE, external_id="110-9")
    assert case.grade == 3
    routing = case_route(case_id=case.id)
    case.refresh_from_db()
    assert case.grade == 2 and "110 一律紧急" in routing["grade"]["reason"]


def test_a_nearby_repeat_is_merged_into_the_open_case(town, categories, units):
    first = report(categories["06010"])
    case_route(case_id=first.id)
    x, y = IN_G1
    second = report(categories["06010"], point=(x + 0.0002, y))  # ≈ 19 m east
    far = report(categories["06010"], point=(x + 0.002, y))  # ≈ 190 m east
    routing = case_route(case_id=second.id)
    case_route(case_id=far.id)
    second.refresh_from_db()
    far.refresh_from_db()
    assert routing["duplicate_of"] == first.number
    assert second.status == Case.Status.MERGED and second.merged_into == first
    # the decision, the routing time and the merge were written together
    assert second.routing["duplicate_of"] == first.number and second.routed_at is not None
    assert far.status != Case.Status.MERGED
    told = CaseLog.objects.get(case=first, action="duplicate")
    assert told.data["merged"] == second.number


def test_dispatch_refuses_an_unknown_unit_with_a_field_message(town, categories):
    from cockpit.errors import ApplicationError

    case = report(categories["06010"])
    with pytest.raises(ApplicationError) as refused:
        case_dispatch(case_id=case.id, actor=town.li, department=99999)
    assert "department" in refused.value.fields
    assert Case.objects.get(id=case.id).status == Case.Status.REPORTED  # nothing half-done


def test_overdue_steps_escalate_team_lead_then_area_leader_then_commander(town, categories, units):
    town.a1.leader = town.sun
    town.a1.save(update_fields=["leader"])
    now = timezone.now()
    DutyRota.objects.create(date=timezone.localdate(), shift="full", commander=town.chen)
    case = report(categories["06010"])
    case_dispatch(case_id=case.id, actor=town.li, team=units["team"])
    Case.objects.filter(id=case.id).update(accept_due=now - timedelta(minutes=1))

    assert escalate_overdue(now=now) == 1
    assert escalate_overdue(now=now) == 0  # once per level
    case.refresh_from_db()
    assert case.escalation_level == 1
    first = CaseLog.objects.filter(case=case, action="escalate").last()
    assert first.data["to"]["id"] == town.liu.id and town.liu.id in first.data["notify"]

    escalate_overdue(now=now + timedelta(minutes=31))
    escalate_overdue(now=now + timedelta(minutes=61))
    levels = list(
        CaseLog.objects.filter(case=case, action="escalate").values_list("data", flat=True)
    )
    assert [(d["level"], d["to"]["id"]) for d in levels] == [
        (1, town.liu.id),
        (2, town.sun.id),
        (3, town.chen.id),
    ]


def test_simulate_replays_a_day_without_dispatching(town, categories, units, capsys):
    RoutingRule.objects.create(
        name="推荐执法队", target="department", department=units["cg"], mode="recommend"
    )
    case = report(categories["06010"])
    yesterday = timezone.now() - timedelta(days=1)
    Case.objects.filter(id=case.id).update(reported_at=yesterday)
    call_command("simulate_routing", "--date", timezone.localtime(yesterday).date().isoformat())
    out = capsys.readouterr().out
    assert case.number in out and "综合执法队" in out and "推荐执法队" in out
    case.refresh_from_db()
    assert case.status == Case.Status.REPORTED and not Assignment.objects.filter(case=case)
    assert "register" in out  # the register deadline (counted from yesterday) was missed


def test_a_dispatch_action_id_already_used_on_another_case_is_refused(town, categories, units):
    from cockpit.errors import ApplicationError

    a = report(categories["06010"])
    b = report(categories["06010"], point=IN_G3)
    first = case_dispatch(case_id=a.id, actor=town.li, team=units["team"], client_action_id="x1")
    again = case_dispatch(case_id=a.id, actor=town.li, team=units["team"], client_action_id="x1")
    assert again.id == first.id  # a repeat is the same action
    with pytest.raises(ApplicationError) as refused:
        case_dispatch(case_id=b.id, actor=town.li, team=units["team"], client_action_id="x1")
    assert refused.value.status_code == 409
    assert Case.objects.get(id=b.id).status == Case.Status.REPORTED
