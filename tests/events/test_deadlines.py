"""Deadlines (standards.md §1.6, §5): natural minutes, working hours and working days counted on
the working calendar (weekends, public holidays, 调休 make-up days); the most specific policy
wins; grade 1 follows the "135" rule from the moment of the report."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from events import deadlines, services
from events.models import CalendarDay, Case, DeadlinePolicy
from tests.events.conftest import IN_G1

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def due(amount: int, unit: str, start: str) -> str:
    policy = DeadlinePolicy(step="resolve", amount=amount, unit=unit)
    return deadlines.due_at(policy, at(start)).astimezone(TZ).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    "amount, unit, start, expected",
    [
        # natural minutes run through nights, weekends and holidays
        (30, "minutes", "2026-10-01 23:50", "2026-10-02 00:20"),
        # working hours (08:30–12:00, 13:30–17:30): lunch, evenings and weekends do not count
        (1, "work_hours", "2026-03-04 11:30", "2026-03-04 14:00"),
        (1, "work_hours", "2026-03-04 07:00", "2026-03-04 09:30"),
        (2, "work_hours", "2026-03-06 16:30", "2026-03-09 09:30"),  # Friday → Monday
        (1, "work_hours", "2026-03-07 10:00", "2026-03-09 09:30"),  # reported on a Saturday
        # working days: one day is 7.5 working hours
        (1, "work_days", "2026-03-04 10:00", "2026-03-05 10:00"),
        (5, "work_days", "2026-03-06 10:00", "2026-03-13 10:00"),
        # holidays: 国庆 1–7 October 2026 are off …
        (2, "work_hours", "2026-09-30 16:30", "2026-10-08 09:30"),
        (1, "work_days", "2026-09-30 10:00", "2026-10-08 10:00"),
        # … and Saturday 10 October is a 调休 working day
        (1, "work_days", "2026-10-09 10:00", "2026-10-10 10:00"),
        # Sunday 20 September 2026 is a 调休 working day too
        (1, "work_hours", "2026-09-20 09:00", "2026-09-20 10:00"),
        # 春节: 15–23 February off, Saturday 28 February worked
        (1, "work_days", "2026-02-13 10:00", "2026-02-14 10:00"),
        (1, "work_days", "2026-02-14 10:00", "2026-02-24 10:00"),
    ],
)
def test_due_times_on_the_working_calendar(categories, amount, unit, start, expected):
    assert due(amount, unit, start) == expected


def test_a_calendar_day_entered_by_an_admin_counts_at_once(categories):
    # A town-wide day off (e.g. a typhoon) on Wednesday 4 March 2026.
    assert due(1, "work_days", "2026-03-03 10:00") == "2026-03-04 10:00"
    CalendarDay.objects.create(date=at("2026-03-04 00:00").date(), is_workday=False, note="台风")
    assert due(1, "work_days", "2026-03-03 10:00") == "2026-03-05 10:00"


def test_working_hours_are_configuration(categories, settings):
    settings.WORK_HOURS = "09:00-17:00"
    assert due(1, "work_hours", "2026-03-04 16:30") == "2026-03-05 09:30"
    assert due(1, "work_days", "2026-03-04 09:00") == "2026-03-04 17:00"  # end of day


def step_policy(category, grade, step="resolve"):
    p = deadlines.policy_for(category=category, grade=grade, step=step)
    return (p.amount, p.unit) if p else None


def test_the_most_specific_policy_wins(categories):
    garbage = categories["06010"]  # 暴露垃圾: category row "resolve 4 working hours"
    noise = categories["06028"]  # no category row: the default
    assert step_policy(noise, 3) == (5, "work_days")  # default
    assert step_policy(garbage, 3) == (4, "work_hours")  # category beats default
    DeadlinePolicy.objects.create(category=garbage, grade=3, step="resolve", amount=2,
                                  unit="work_hours")  # fmt: skip
    assert step_policy(garbage, 3) == (2, "work_hours")  # category + grade beats category
    assert step_policy(garbage, 2) == (4, "work_hours")  # … only for its own grade
    assert step_policy(noise, 2) == (480, "minutes")  # grade 2 default (紧急)
    DeadlinePolicy.objects.filter(category__isnull=True, grade__isnull=True, step="resolve").update(
        amount=3
    )
    assert step_policy(noise, 3) == (3, "work_days")  # edits in the admin apply at once


def test_135_outranks_a_categorys_everyday_limit(categories):
    barbecue = categories["06029"]  # 露天烧烤: "arrive within 60 minutes"
    assert step_policy(barbecue, 3, "arrive") == (60, "minutes")
    assert step_policy(barbecue, 1, "arrive") == (3, "minutes")  # a fire is not a barbecue


def test_135_for_a_grade_one_report_counted_from_the_report(town, categories, api):
    case = services.case_report(
        source="119",
        category=categories["L0001"],
        description="厂房冒烟",
        lng=IN_G1[0],
        lat=IN_G1[1],
        external_id="119-1",
    ).case
    assert case.grade == 1
    t0 = case.reported_at
    assert case.register_due - t0 == timedelta(minutes=1)  # acknowledged in 1
    assert case.accept_due - t0 == timedelta(minutes=1)
    assert case.arrive_due - t0 == timedelta(minutes=3)  # first responder on site in 3
    joint = datetime.fromisoformat(case.extra["joint_due"])
    assert joint - t0 == timedelta(minutes=5)  # joint response in 5

    # Dispatching does not restart the 135 clock; it sets the fire's resolve limit (4 h).
    services.case_transition(case_id=case.id, action="register", actor=town.li)
    services.case_transition(
        case_id=case.id, action="dispatch", actor=town.li, updates={"handler": town.wang}
    )
    case.refresh_from_db()
    assert case.accept_due - t0 == timedelta(minutes=1)
    assert case.arrive_due - t0 == timedelta(minutes=3)
    assert case.resolve_due - case.dispatched_at == timedelta(minutes=240)

    # The joint response is met by the first 同圈联动 entry; the timers say so.
    services.case_note(case_id=case.id, action="join", actor=town.chen, note="派出所、应急站到场")
    case.refresh_from_db()
    timers = {t["step"]: t for t in deadlines.case_timers(case, case.reported_at)}
    assert set(timers) == {"register", "accept", "arrive", "resolve", "joint"}
    assert timers["joint"]["state"] in ("met", "missed") and timers["joint"]["done"] is not None
    detail = api(town.li).get(f"/api/cases/{case.id}/").json()
    assert {d["step"] for d in detail["deadlines"]} >= {"register", "accept", "arrive", "joint"}


def test_135_runs_at_night_and_on_holidays(categories):
    plan = deadlines.deadlines_plan(
        category=categories["L0001"],
        grade=1,
        steps=deadlines.report_steps(1),
        start=at("2026-10-03 03:00"),  # a holiday, at three in the morning
    )
    assert {k: (v.astimezone(TZ) - at("2026-10-03 03:00")) for k, v in plan.items()} == {
        "register": timedelta(minutes=1),
        "accept": timedelta(minutes=1),
        "arrive": timedelta(minutes=3),
        "joint": timedelta(minutes=5),
    }


def test_an_ordinary_report_gets_its_register_deadline_and_the_rest_at_dispatch(town, categories):
    case = services.case_report(
        source="resident", category=categories["06010"], lng=IN_G1[0], lat=IN_G1[1],
        description="垃圾",
    ).case  # fmt: skip
    assert case.register_due is not None
    assert case.accept_due is None and case.arrive_due is None and case.resolve_due is None
    services.case_transition(case_id=case.id, action="register", actor=town.li)
    services.case_transition(
        case_id=case.id, action="dispatch", actor=town.li, updates={"handler": town.wang}
    )
    case = Case.objects.get(id=case.id)
    start = case.dispatched_at
    calendar = deadlines.Calendar(start.astimezone(TZ).date())
    assert case.accept_due == deadlines.add_working_minutes(start, 60, calendar)
    assert case.resolve_due == deadlines.add_working_minutes(start, 4 * 60, calendar)


@pytest.mark.parametrize(
    "minutes_left, state",
    [
        (50, "green"),
        (16, "green"),
        (15, "warning"),
        (1, "warning"),
        (0, "critical"),
        (-5, "critical"),
    ],
)
def test_timers_turn_from_green_to_warning_to_critical(minutes_left, state):
    started = at("2026-03-04 09:00")
    due_time = started + timedelta(minutes=60)
    now = due_time - timedelta(minutes=minutes_left)
    assert deadlines.timer_state(started=started, due=due_time, now=now) == state
