"""Writes of the dispatch side: route a new case, dispatch it to a unit, escalate the overdue.

Every change to a case goes through events.services (transition, note, merge), so the case's
log stays the one record of what happened; this module adds who holds the case (Assignment).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.gis.measure import D
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from cockpit.errors import ApplicationError
from dispatch.models import Assignment, Department, DutyRota, Plan, Role, Team
from dispatch.rules import Decision, RoutingConfig, decide
from events import services as case_services
from events.models import Case, CaseLog
from grids.models import Node

log = logging.getLogger(__name__)

# Sources whose cases are never merged as duplicates: an order is deliberate, and a module's
# case (a hazard, an alarm) carries its own identity.
NO_DEDUP_SOURCES = frozenset({Case.Source.ORDER, Case.Source.MODULE})


def _duplicate_of(case: Case) -> Case | None:
    """The oldest open case of the same category near this one, reported shortly before."""
    if case.location is None or case.source in NO_DEDUP_SOURCES:
        return None
    window = timedelta(minutes=settings.DEDUP_WINDOW_MINUTES)
    return (
        Case.objects.filter(
            category_id=case.category_id,
            status__in=Case.OPEN_STATUSES,
            reported_at__gte=case.reported_at - window,
            reported_at__lte=case.reported_at,
            # the index narrows by degrees (a superset: 1° ≥ 90 km at this latitude), then the
            # exact spheroid distance decides
            location__dwithin=(case.location, settings.DEDUP_DISTANCE_M / 90_000),
            location__distance_lte=(case.location, D(m=settings.DEDUP_DISTANCE_M)),
        )
        .exclude(id=case.id)
        .exclude(source__in=NO_DEDUP_SOURCES)
        .order_by("reported_at", "id")
        .only("id", "number")
        .first()
    )


def case_route(*, case_id: int, config: RoutingConfig | None = None) -> dict | None:
    """Route one case: deduplicate, grade, decide, dispatch (or recommend), record why.

    Idempotent: the case is claimed by locking its row while it is still un-routed (FOR UPDATE
    SKIP LOCKED), and routed_at is set in the same transaction as everything else, so a retry
    after a crash starts again from nothing and a second delivery of the task finds the case
    already routed and does nothing. A case another worker is routing at this moment is
    skipped (None), not waited for; should that worker fail, its transaction rolls back and the
    sweeper finds the case again. The routing decision, routed_at and the merge or the note are
    one UPDATE of the case row."""
    now = timezone.now()
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("category", "grid")
            .filter(id=case_id, routed_at__isnull=True)
            .first()
        )
        if case is None:
            return None
        if case.status != Case.Status.REPORTED:  # an operator got there first
            case_services.case_note(
                case_id=case.id,
                action="route",
                note=_("已由坐席员处理，未自动分拨"),
                updates={"routed_at": now},
            )
            return {}

        twin = _duplicate_of(case)
        if twin is not None:
            routing = {
                "at": now.isoformat(),
                "duplicate_of": twin.number,
                "reasons": [
                    _("与 %(n)s 同类、相距 %(m)s 米内、%(w)s 分钟内上报：视为重复，并入该事件")
                    % {
                        "n": twin.number,
                        "m": settings.DEDUP_DISTANCE_M,
                        "w": settings.DEDUP_WINDOW_MINUTES,
                    }
                ],
                "dispatched": False,
            }
            case_services.case_merge(
                case_id=case.id,
                into_id=twin.id,
                reason=_("重复上报，已并入 %(n)s 一并处理") % {"n": twin.number},
                updates={"routing": routing, "routed_at": now},
            )
            return routing

        d = decide(case, now=now, config=config)
        routing = {**d.as_json(), "at": now.isoformat(), "duplicate_of": None}
        updates = {"routing": routing, "routed_at": now}
        if d.grade != case.grade:
            updates["grade"] = d.grade
        auto = d.mode == "auto" and d.kind != "none"
        routing["dispatched"] = auto
        case_services.case_note(
            case_id=case.id,
            action="route" if auto else "recommend",
            note="；".join(d.reasons),
            data={"rule": routing["rule"], "target": routing["target"], "mode": d.mode},
            updates=updates,
        )
        if auto:
            _apply(case_id=case.id, decision=d, actor=None, note=_("按规则自动派遣"))
            if d.grade == 1:  # "135": the circle is called at once, not after someone reads it
                from dispatch.linkage import case_call_if_urgent

                case_call_if_urgent(case_id=case.id)
        return routing


ROUTE_BATCH = 50


def route_pending() -> int:
    """Route every case still un-routed, oldest first, in batches (the route_pending task, woken
    by events.services.routing_wake). The routing table is read once per batch. Each case is its
    own transaction; a case that fails is logged and left to the sweeper, and one that another
    worker holds is skipped. Returns how many cases this call routed."""
    from events.services import routing_wake_clear

    routed = 0
    stuck: set[int] = set()  # failed, or held by another worker: not looked at again here
    while True:
        routing_wake_clear()  # before the look: see events.services.routing_wake
        pending = (
            Case.objects.filter(routed_at__isnull=True, status=Case.Status.REPORTED)
            .order_by("reported_at", "id")
            .values_list("id", flat=True)
        )
        ids = [i for i in pending[: ROUTE_BATCH + len(stuck)] if i not in stuck][:ROUTE_BATCH]
        if not ids:
            return routed
        config = RoutingConfig.load()
        for case_id in ids:
            try:
                done = case_route(case_id=case_id, config=config) is not None
            except Exception:
                log.exception("routing case %s failed; the sweeper will try it again", case_id)
                done = False
            if done:
                routed += 1
            else:
                stuck.add(case_id)


def _apply(*, case_id: int, decision: Decision, actor, note: str) -> CaseLog:
    return case_dispatch(
        case_id=case_id,
        actor=actor,
        department=decision.department,
        team=decision.team,
        user=decision.user,
        plan=decision.plan,
        note=note,
    )


def _resolve(model, value):
    """An id or an instance → the instance (or a field error)."""
    if value is None or isinstance(value, model):
        return value
    found = model.objects.filter(id=value).first()
    if found is None:
        name = model._meta.model_name
        raise ApplicationError(
            _("没有这个%(what)s。") % {"what": model._meta.verbose_name},
            fields={name: [_("不存在：%(v)s") % {"v": value}]},
        )
    return found


@transaction.atomic
def case_dispatch(
    *,
    case_id: int,
    actor=None,
    department: Department | int | None = None,
    team: Team | int | None = None,
    user: User | int | None = None,
    plan: Plan | int | None = None,
    note: str = "",
    client_action_id: str | None = None,
) -> CaseLog:
    """Hand a case to a unit (or a plan's units). Registers it first if it is only reported;
    a second call re-dispatches: the previous assignments end, their history stays."""
    if client_action_id:
        done = case_services.action_done(case_id, client_action_id)
        if done is not None:
            return done
    department = _resolve(Department, department)
    team = _resolve(Team, team)
    user = _resolve(User, user)
    plan = _resolve(Plan, plan)
    if plan is not None and not (department or team or user):
        lead = plan.units.filter(role=Role.LEAD).first() or plan.units.first()
        if lead is None:
            raise ApplicationError(
                _("预案没有配置力量。"), fields={"plan": [_("预案没有配置力量。")]}
            )
        department, team = lead.department, lead.team
    if not (department or team or user):
        raise ApplicationError(
            _("请选择派往的部门、队伍或人员。"),
            fields={"department": [_("请选择派往的部门、队伍或人员。")]},
        )
    if user is not None and (not user.is_active or user.role in User.THREE_ADMINS):
        raise ApplicationError(_("此人员不能接收事件。"), fields={"user": [_("不能接收事件。")]})
    if team is not None and department is None:
        department = team.department
    handler = user or (team.lead if team is not None else None)

    case = Case.objects.select_for_update().only("id", "status").get(id=case_id)
    if case.status == Case.Status.REPORTED:
        case_services.case_transition(
            case_id=case_id, action="register", actor=actor, note=_("立案")
        )
    now = timezone.now()
    Assignment.objects.filter(case_id=case_id, active=True).update(active=False, ended_at=now)
    rows = [
        Assignment(
            case_id=case_id,
            department=department,
            team=team,
            user=user,
            role=Role.LEAD,
            plan=plan,
            created_at=now,
        )
    ]
    if plan is not None:
        for unit in plan.units.select_related("department", "team"):
            if unit.department_id == getattr(department, "id", None) and unit.team_id == getattr(
                team, "id", None
            ):
                continue
            rows.append(
                Assignment(
                    case_id=case_id,
                    department=unit.department or (unit.team.department if unit.team else None),
                    team=unit.team,
                    user=unit.team.lead if unit.team else None,
                    role=Role.ASSIST,
                    plan=plan,
                    created_at=now,
                )
            )
    Assignment.objects.bulk_create(rows)
    notify = sorted(
        {r.user.id for r in rows if r.user is not None} | ({handler.id} if handler else set())
    )
    return case_services.case_transition(
        case_id=case_id,
        action="dispatch",
        actor=actor,
        actor_label="" if actor else _("系统"),
        note=note,
        client_action_id=client_action_id,
        updates={"handler": handler},
        data={
            "department": _ref(department),
            "team": _ref(team),
            "user": _ref(user),
            "handler": _ref(handler),
            "plan": _ref(plan),
            "assists": [_ref(r.team or r.department) for r in rows[1:]],
            "notify": notify,
        },
    )


def _ref(obj) -> dict | None:
    if obj is None:
        return None
    name = (obj.display_name or obj.username) if isinstance(obj, User) else str(obj)
    return {"id": obj.id, "name": name or str(obj)}


# --- escalation -------------------------------------------------------------------------------

# The step a case is waiting on, by status, and the deadline field that times it.
STEP_DUE = {
    Case.Status.REPORTED: "register_due",
    Case.Status.DISPATCHED: "accept_due",
    Case.Status.ACCEPTED: "arrive_due",
    Case.Status.ON_SITE: "resolve_due",
    Case.Status.REWORK: "resolve_due",
}
LEVELS = {1: _("队长"), 2: _("片区长"), 3: _("值班指挥长")}


def _current_due(case: Case) -> datetime | None:
    field = STEP_DUE.get(case.status)
    due = getattr(case, field) if field else None
    if due is None and case.status in (Case.Status.ACCEPTED, Case.Status.DISPATCHED):
        due = case.resolve_due
    return due


def duty_commander(at: datetime) -> User | None:
    for shift in DutyRota.objects.filter(
        date__gte=(at - timedelta(days=1)).date(), date__lte=at.date()
    ).select_related("commander"):
        begin, end = shift.interval()
        if begin <= at < end:
            return shift.commander
    return (
        User.objects.filter(role=User.Role.COMMANDER, is_active=True, scope__kind=Node.Kind.TOWN)
        .order_by("id")
        .first()
    )


def escalation_target(case: Case, level: int, at: datetime) -> User | None:
    if level == 1:
        lead = (
            Assignment.objects.filter(case=case, active=True, role=Role.LEAD)
            .select_related("team__lead")
            .first()
        )
        return lead.team.lead if lead and lead.team and lead.team.lead_id else None
    if level == 2:
        ids = [int(i) for i in case.node_path.strip("/").split("/") if i]
        area = Node.objects.filter(id__in=ids, kind=Node.Kind.AREA).select_related("leader").first()
        return area.leader if area else None
    return duty_commander(at)


def escalate_overdue(*, now: datetime | None = None) -> int:
    """Escalate every open case whose current step is overdue: one level per
    ESCALATION_STEP_MINUTES past the deadline (team lead → area leader → duty commander),
    skipping a level nobody holds. Each escalation is logged and pushed to its target."""
    now = now or timezone.now()
    step = timedelta(minutes=settings.ESCALATION_STEP_MINUTES)
    candidates = Case.objects.filter(status__in=list(STEP_DUE), escalation_level__lt=3).filter(
        _overdue_q(now)
    )
    done = 0
    for case in candidates.only(
        "id", "status", "node_path", "escalation_level", *set(STEP_DUE.values())
    ).iterator():
        due = _current_due(case)
        if due is None or due > now:
            continue
        wanted = min(3, 1 + int((now - due) / step))
        if wanted <= case.escalation_level:
            continue
        level, target = wanted, None
        for lv in range(case.escalation_level + 1, wanted + 1):
            target = escalation_target(case, lv, now)
            if target is not None:
                level = lv
                break
        if target is None:
            level = wanted
        with transaction.atomic():
            locked = Case.objects.select_for_update().get(id=case.id)
            if locked.escalation_level >= level:
                continue
            overdue_min = int((now - due).total_seconds() // 60)
            case_services.case_note(
                case_id=case.id,
                action="escalate",
                note=_("“%(s)s”已超时 %(m)s 分钟，升级至%(l)s%(who)s")
                % {
                    "s": locked.get_status_display(),
                    "m": overdue_min,
                    "l": LEVELS[level],
                    "who": f"（{target.display_name or target.username}）" if target else "",
                },
                data={
                    "level": level,
                    "to": _ref(target),
                    "overdue_minutes": overdue_min,
                    "notify": [target.id] if target else [],
                },
                updates={"escalation_level": level},
            )
        done += 1
    return done


def _overdue_q(now: datetime) -> Q:
    """Cases whose current step (or their resolution) is past due: the escalation's candidates."""
    q = Q()
    for status, field in STEP_DUE.items():
        q |= Q(status=status, **{f"{field}__lte": now})
    q |= Q(status__in=[Case.Status.DISPATCHED, Case.Status.ACCEPTED], resolve_due__lte=now)
    return q
