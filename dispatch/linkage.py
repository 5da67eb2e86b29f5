"""同圈联动 (same-circle joint response): an urgent case calls the nearest on-duty staff of the
same squad (联合执法圈), who can join it from their phone.

The squad is the parent circle of the case's grid. "On duty and nearby" is read from
grids.LatestPosition: the flag the phone sends with each position and a fix no older than
FRESH_MINUTES, so a phone that went quiet is not called. The call is logged on the case (a note
entry whose data says whom it called), and each person called gets a live message on their own
channel group ``dispatch.staff.<id>`` — the same ``case.updated`` message as every log entry,
plus a ``linkage`` block, so the existing /ws/live/ consumer carries it unchanged.
"""

from dataclasses import dataclass
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.measure import D
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from cockpit.errors import ApplicationError
from events import services as event_services
from events.live import entry_payload
from events.models import Case, CaseLog, Category
from events.workflow import FIELD_ROLES
from grids.models import LatestPosition, Node

DEFAULT_RADIUS_M = 3000
DEFAULT_LIMIT = 3
FRESH_MINUTES = 15  # a fix older than this does not count as "on duty here"
CALL_KIND = "linkage_call"
CALL_VISIBLE_HOURS = 24  # how long a call keeps the case open to the people it called


@dataclass
class Called:
    user_id: int
    name: str
    distance_m: int


def case_squad(*, case: Case) -> Node | None:
    """The squad circle (联合执法圈) of the case: its grid's parent."""
    grid = case.grid
    if grid is None or grid.parent_id is None:
        return None
    squad = Node.objects.filter(id=grid.parent_id).first()
    return squad if squad is not None and squad.kind == Node.Kind.SQUAD else None


def in_squad(*, user, squad: Node | None) -> bool:
    """Whether the user's own circle lies inside the squad (its grids, or the squad itself)."""
    if squad is None or not user.is_active or user.scope_id is None:
        return False
    return user.scope.path.startswith(squad.path)


def staff_nearby(
    *, case: Case, squad: Node, radius_m: int, limit: int, exclude: set[int]
) -> list[Called]:
    """The nearest on-duty field staff of the squad within ``radius_m`` of the case."""
    point = case.location
    if point is None and case.grid_id:
        point = case.grid.boundary.centroid if case.grid.boundary else None
    if point is None:
        return []
    rows = (
        LatestPosition.objects.filter(
            on_duty=True,
            recorded_at__gte=timezone.now() - timedelta(minutes=FRESH_MINUTES),
            staff__is_active=True,
            staff__role__in=FIELD_ROLES,
            staff__scope__path__startswith=squad.path,
            point__distance_lte=(point, D(m=radius_m)),
        )
        .exclude(staff_id__in=exclude)
        .annotate(distance=Distance("point", point))
        .select_related("staff")
        .order_by("distance")[:limit]
    )
    return [
        Called(user_id=r.staff_id, name=str(r.staff), distance_m=round(r.distance.m)) for r in rows
    ]


def _push_calls(entry_id: int, called: list[Called], caller: str) -> None:
    """After commit: a case.updated message with a ``linkage`` block to each person called.
    A failure is logged by the caller's logger only; the phone also polls its open calls."""
    try:
        entry = CaseLog.objects.select_related("case", "case__category", "actor").get(id=entry_id)
        payload = entry_payload(entry)
        layer = get_channel_layer()

        async def send_all():
            for person in called:
                message = {
                    **payload,
                    "linkage": {
                        "kind": CALL_KIND,
                        "for_user": person.user_id,
                        "distance_m": person.distance_m,
                        "caller": caller,
                        "case_id": entry.case_id,
                        "number": entry.case.number,
                    },
                }
                await layer.group_send(f"dispatch.staff.{person.user_id}", message)

        async_to_sync(send_all)()
    except Exception:  # the log entry is the record; the phones catch up through open_calls_for
        import logging

        logging.getLogger(__name__).warning("linkage push failed", exc_info=True)


def case_call_nearby(
    *,
    case_id: int,
    actor,
    radius_m: int = DEFAULT_RADIUS_M,
    limit: int = DEFAULT_LIMIT,
    client_action_id: str | None = None,
) -> tuple[CaseLog, list[Called]]:
    """Call the nearest on-duty staff of the case's squad; log whom, push to each of them.

    Returns the log entry and the people called (possibly none: the entry says so, and the
    caller sees "附近没有在岗人员")."""
    if client_action_id:
        done = CaseLog.objects.filter(client_action_id=client_action_id, case_id=case_id).first()
        if done is not None:
            people = [Called(**p) for p in (done.data or {}).get("called", [])]
            return done, people
    case = Case.objects.select_related("grid", "category", "handler").filter(id=case_id).first()
    if case is None:
        raise ApplicationError(_("事件不存在。"), status_code=404)
    if not case.is_open:
        raise ApplicationError(_("事件已办结，不能呼叫同圈联动。"), status_code=409)
    squad = case_squad(case=case)
    if squad is None:
        raise ApplicationError(
            _("该事件不在任何中队的网格内，无法呼叫同圈联动。"),
            fields={"case": [_("事件没有所属网格。")]},
            status_code=409,
        )
    radius_m = max(100, min(int(radius_m), 20_000))
    limit = max(1, min(int(limit), 20))
    exclude = {actor.id} if actor is not None else set()
    if case.handler_id:
        exclude.add(case.handler_id)
    called = staff_nearby(case=case, squad=squad, radius_m=radius_m, limit=limit, exclude=exclude)
    names = "、".join(f"{p.name}（约 {p.distance_m} 米）" for p in called)
    note = (
        _("同圈联动呼叫：%(names)s") % {"names": names}
        if called
        else _("同圈联动呼叫：%(r)d 米内没有在岗人员。") % {"r": radius_m}
    )
    with transaction.atomic():
        holder: dict = {}
        # Registered before the entry's own push, so a called person who also sees the case
        # through their circle gets this richer message first (the socket drops the repeat).
        transaction.on_commit(
            lambda: (
                _push_calls(holder["id"], called, str(actor) if actor else "") if called else None
            )
        )
        entry = event_services.case_note(
            case_id=case.id,
            action="note",
            actor=actor,
            note=note,
            data={
                "kind": CALL_KIND,
                "squad": squad.id,
                "radius_m": radius_m,
                "called": [p.__dict__ for p in called],
            },
            client_action_id=client_action_id,
        )
        holder["id"] = entry.id
    return entry, called


def case_joinable_by(*, case: Case, user) -> bool:
    """Who may join: field staff whose circle lies in the case's squad."""
    if user.role not in FIELD_ROLES:
        return False
    return in_squad(user=user, squad=case_squad(case=case))


def case_join(*, case_id: int, actor: User, client_action_id: str | None = None) -> CaseLog:
    """The called person joins the case (同圈联动); joining twice answers with the first entry."""
    case = Case.objects.select_related("grid").filter(id=case_id).first()
    if case is None or not case_joinable_by(case=case, user=actor):
        # The same answer as for a case that does not exist: nothing to probe.
        raise ApplicationError(_("事件不存在或无权加入。"), status_code=404)
    if not case.is_open:
        raise ApplicationError(_("事件已办结，无需加入。"), status_code=409)
    earlier = CaseLog.objects.filter(case_id=case.id, action="join", actor=actor).first()
    if earlier is not None:
        return earlier
    return event_services.case_note(
        case_id=case.id,
        action="join",
        actor=actor,
        note=_("%(name)s 加入同圈联动") % {"name": str(actor)},
        data={"squad": case.grid.parent_id},
        client_action_id=client_action_id,
    )


def open_calls_for(*, user) -> list[CaseLog]:
    """The recent calls that named this user, on cases still open: what the phone shows as
    "同圈呼叫" even if the live push was missed."""
    since = timezone.now() - timedelta(hours=CALL_VISIBLE_HOURS)
    entries = (
        CaseLog.objects.filter(
            action="note",
            at__gte=since,
            data__kind=CALL_KIND,
            data__called__contains=[{"user_id": user.id}],
            case__status__in=Case.OPEN_STATUSES,
        )
        .select_related("case", "case__category", "actor")
        .order_by("-id")
    )
    joined = set(
        CaseLog.objects.filter(action="join", actor=user, at__gte=since).values_list(
            "case_id", flat=True
        )
    )
    seen: set[int] = set()
    out = []
    for e in entries:
        if e.case_id in seen:
            continue
        seen.add(e.case_id)
        e.joined = e.case_id in joined
        out.append(e)
    return out


def case_called_or_joined(*, case_id: int, user) -> bool:
    """Whether the user was called to or joined the case lately: they may see its summary."""
    since = timezone.now() - timedelta(hours=CALL_VISIBLE_HOURS)
    return (
        CaseLog.objects.filter(case_id=case_id, action="join", actor=user).exists()
        or CaseLog.objects.filter(
            case_id=case_id,
            action="note",
            at__gte=since,
            data__kind=CALL_KIND,
            data__called__contains=[{"user_id": user.id}],
        ).exists()
    )


def case_call_if_urgent(*, case_id: int, actor=None) -> CaseLog | None:
    """For the routing engine after a dispatch: a grade-1 (特急) case calls its circle at once
    (the "135" joint response), once per case; other grades call nobody."""
    case = Case.objects.filter(id=case_id).only("id", "grade", "status").first()
    if case is None or case.grade != Category.Grade.EMERGENCY or not case.is_open:
        return None
    if CaseLog.objects.filter(case_id=case_id, action="note", data__kind=CALL_KIND).exists():
        return None
    try:
        entry, _called = case_call_nearby(
            case_id=case_id, actor=actor, client_action_id=f"auto-call-{case_id}"
        )
    except ApplicationError:
        return None  # no squad: nobody to call, the centre handles it
    return entry
