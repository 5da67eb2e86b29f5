"""Deadlines counted on the working calendar (standards.md §1.6): natural minutes, working hours,
working days. Working hours and the holiday/make-up-day table are configuration, not code."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q

from events.models import CalendarDay, Category, DeadlinePolicy

TZ = ZoneInfo(settings.TIME_ZONE)


def work_periods() -> list[tuple[time, time]]:
    spec = getattr(settings, "WORK_HOURS", "08:30-12:00,13:30-17:30")
    periods = []
    for part in spec.split(","):
        a, b = part.strip().split("-")
        periods.append((time.fromisoformat(a), time.fromisoformat(b)))
    return periods


def minutes_per_workday() -> int:
    return sum(
        (datetime.combine(date.min, b) - datetime.combine(date.min, a)).seconds // 60
        for a, b in work_periods()
    )


class Calendar:
    """Working days: Monday–Friday, except the rows of CalendarDay (holidays off, 调休 days on)."""

    def __init__(self, start: date, days: int = 400):
        rows = CalendarDay.objects.filter(date__gte=start, date__lte=start + timedelta(days=days))
        self.overrides = {r.date: r.is_workday for r in rows}

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        return day.weekday() < 5


def add_working_minutes(
    start: datetime, minutes: int, calendar: Calendar | None = None
) -> datetime:
    local = start.astimezone(TZ)
    calendar = calendar or Calendar(local.date())
    remaining = minutes
    day = local.date()
    cursor = local
    for _ in range(800):  # at most ~2 years of days: a policy never asks for more
        if calendar.is_workday(day):
            for a, b in work_periods():
                period_start = datetime.combine(day, a, TZ)
                period_end = datetime.combine(day, b, TZ)
                begin = max(cursor, period_start)
                if begin >= period_end:
                    continue
                available = (period_end - begin).total_seconds() / 60
                if remaining <= available:
                    return begin + timedelta(minutes=remaining)
                remaining -= available
        day += timedelta(days=1)
        cursor = datetime.combine(day, time.min, TZ)
    raise ValueError("deadline too far in the future")


def _rank(policy: DeadlinePolicy) -> int:
    """Specificity of a policy row: category + grade, then the grade-1 "135" default (an
    emergency outranks a category's everyday limit: a barbecue that sets a roof on fire is
    on site in 3 minutes, not 60), then category, then grade, then the default."""
    if policy.category_id and policy.grade:
        return 4
    if policy.grade == Category.Grade.EMERGENCY:
        return 3
    if policy.category_id:
        return 2
    return 1 if policy.grade else 0


def policy_for(*, category: Category | None, grade: int | None, step: str) -> DeadlinePolicy | None:
    """The most specific policy: category + grade, then category, then the default row."""
    candidates = DeadlinePolicy.objects.filter(step=step).filter(
        Q(category=category, grade=grade)
        | Q(category=category, grade__isnull=True)
        | Q(category__isnull=True, grade=grade)
        | Q(category__isnull=True, grade__isnull=True)
    )
    found = sorted(candidates, key=_rank, reverse=True)
    return found[0] if found else None


def due_at(policy: DeadlinePolicy, start: datetime, calendar: Calendar | None = None) -> datetime:
    if policy.unit == DeadlinePolicy.Unit.MINUTES:
        return start + timedelta(minutes=policy.amount)
    if policy.unit == DeadlinePolicy.Unit.WORK_HOURS:
        return add_working_minutes(start, policy.amount * 60, calendar)
    return add_working_minutes(start, policy.amount * minutes_per_workday(), calendar)


def deadline_for(
    *, category: Category | None, grade: int | None, step: str, start: datetime
) -> tuple[datetime | None, DeadlinePolicy | None]:
    policy = policy_for(category=category, grade=grade, step=step)
    if policy is None:
        return None, None
    return due_at(policy, start), policy


def timer_state(
    *, started: datetime | None, due: datetime | None, now: datetime, warn_fraction: float = 0.25
) -> str:
    """green → warning (the last quarter of the allowed time) → critical (past due)."""
    if due is None:
        return "none"
    if now >= due:
        return "critical"
    if started is not None:
        span = (due - started).total_seconds()
        if span > 0 and (due - now).total_seconds() <= span * warn_fraction:
            return "warning"
    return "green"


# Which steps run from the report and which from the dispatch. Grade 1 ("135") counts every
# first-response step from the moment of the report; otherwise acceptance, arrival and
# resolution count from the dispatch.
REPORT_STEPS = ("register",)
REPORT_STEPS_EMERGENCY = ("register", "accept", "arrive", "joint")
DISPATCH_STEPS = ("accept", "arrive", "resolve")
DISPATCH_STEPS_EMERGENCY = ("resolve",)
STEP_FIELDS = {
    "register": "register_due",
    "accept": "accept_due",
    "arrive": "arrive_due",
    "resolve": "resolve_due",
}


def deadlines_plan(
    *,
    category: Category | None,
    grade: int | None,
    steps: tuple[str, ...],
    start: datetime,
    calendar: Calendar | None = None,
    policies: dict | None = None,
) -> dict[str, datetime]:
    """Due times of ``steps`` counted from ``start``: {step: due}. ``policies`` is an optional
    cache {(category_id, grade, step): policy} for batch intake."""
    calendar = calendar or Calendar(start.astimezone(TZ).date())
    plan = {}
    for step in steps:
        key = (category.id if category else None, grade, step)
        if policies is not None and key in policies:
            policy = policies[key]
        else:
            policy = policy_for(category=category, grade=grade, step=step)
            if policies is not None:
                policies[key] = policy
        if policy is not None:
            plan[step] = due_at(policy, start, calendar)
    return plan


def report_steps(grade: int | None) -> tuple[str, ...]:
    return REPORT_STEPS_EMERGENCY if grade == Category.Grade.EMERGENCY else REPORT_STEPS


def dispatch_steps(grade: int | None) -> tuple[str, ...]:
    return DISPATCH_STEPS_EMERGENCY if grade == Category.Grade.EMERGENCY else DISPATCH_STEPS


def case_timers(case, now: datetime) -> list[dict]:
    """Each deadline of a case: when its clock started, when it is due, when it was met, and its
    state — green / warning / critical while running, met / missed once done, none without one."""
    from datetime import datetime as _dt

    emergency = case.grade == Category.Grade.EMERGENCY
    from_dispatch = None if emergency else case.dispatched_at
    joint_due = case.extra.get("joint_due") if isinstance(case.extra, dict) else None
    joint_at = case.extra.get("joint_at") if isinstance(case.extra, dict) else None
    rows = [
        ("register", case.reported_at, case.register_due, case.registered_at),
        (
            "accept",
            case.reported_at if emergency else from_dispatch,
            case.accept_due,
            case.accepted_at,
        ),
        (
            "arrive",
            case.reported_at if emergency else from_dispatch,
            case.arrive_due,
            case.arrived_at,
        ),
        ("resolve", case.dispatched_at, case.resolve_due, case.resolved_at),
    ]
    if joint_due:
        rows.append(
            (
                "joint",
                case.reported_at,
                _dt.fromisoformat(joint_due),
                _dt.fromisoformat(joint_at) if joint_at else None,
            )
        )
    out = []
    for step, started, due, done in rows:
        if done is not None:
            state = "none" if due is None else ("met" if done <= due else "missed")
        elif case.status in case.FINAL_STATUSES or case.status == case.Status.PARKED:
            state = "none"
        else:
            state = timer_state(started=started, due=due, now=now)
        out.append(
            {
                "step": step,
                "label": str(DeadlinePolicy.Step(step).label),
                "started": started,
                "due": due,
                "done": done,
                "state": state,
            }
        )
    return out
