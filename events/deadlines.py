"""Deadlines counted on the working calendar (standards.md §1.6): natural minutes, working hours,
working days. Working hours and the holiday/make-up-day table are configuration, not code."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from cockpit import localcache
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
        # Read on every report: one plain query (the ORM's own cost was most of it).
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT date, is_workday FROM {CalendarDay._meta.db_table} "
                "WHERE date >= %s AND date <= %s",
                [start, start + timedelta(days=days)],
            )
            self.overrides = dict(cursor.fetchall())

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


_POLICY_FIELDS = [f.attname for f in DeadlinePolicy._meta.concrete_fields]
_POLICY_SQL = (
    "SELECT {cols} FROM {table} WHERE step = ANY(%s) "
    "AND (category_id = %s OR category_id IS NULL) AND (grade = %s OR grade IS NULL)"
).format(
    cols=", ".join(
        connection.ops.quote_name(f.column) for f in DeadlinePolicy._meta.concrete_fields
    ),
    table=DeadlinePolicy._meta.db_table,
)


def policies_for(
    *, category: Category | None, grade: int | None, steps: tuple[str, ...] | list[str]
) -> dict[str, DeadlinePolicy | None]:
    """The most specific policy of each step (see policy_for), all steps in one query: every
    row of the category or of none, for the grade or for none."""
    with connection.cursor() as cursor:
        cursor.execute(_POLICY_SQL, [list(steps), category.id if category else None, grade])
        rows = [DeadlinePolicy.from_db(connection.alias, _POLICY_FIELDS, r) for r in cursor]
    best: dict[str, DeadlinePolicy | None] = dict.fromkeys(steps)
    for policy in sorted(rows, key=_rank, reverse=True):
        if best.get(policy.step) is None:
            best[policy.step] = policy
    return best


def policy_for(*, category: Category | None, grade: int | None, step: str) -> DeadlinePolicy | None:
    """The most specific policy: category + grade, then category, then the default row."""
    return policies_for(category=category, grade=grade, steps=(step,))[step]


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
    category_id = category.id if category else None
    if policies is None:
        found = policies_for(category=category, grade=grade, steps=steps)
    else:
        missing = [s for s in steps if (category_id, grade, s) not in policies]
        if missing:
            for step, policy in policies_for(category=category, grade=grade, steps=missing).items():
                policies[(category_id, grade, step)] = policy
        found = {s: policies[(category_id, grade, s)] for s in steps}
    plan = {}
    for step in steps:
        policy = found[step]
        if policy is None:
            continue
        if calendar is None and policy.unit != DeadlinePolicy.Unit.MINUTES:
            calendar = Calendar(start.astimezone(TZ).date())  # only when a policy counts on it
        plan[step] = due_at(policy, start, calendar)
    return plan


def calendar_cached(now: datetime) -> Calendar:
    """The working calendar from the town's today on (per process, cockpit.localcache)."""
    today = now.astimezone(TZ).date()
    return localcache.get(("calendar", today), lambda: Calendar(today))


def policies_cached() -> dict:
    """The shared {(category_id, grade, step): policy} memo of deadlines_plan (per process,
    cockpit.localcache; filled as reports ask, cleared when a policy is saved)."""
    return localcache.get(("policy",), dict)


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
