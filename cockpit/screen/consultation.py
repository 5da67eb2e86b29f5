"""每日会商: the morning consultation. The 08:00 beat task builds yesterday's record (indices and
their change, the riskiest grids, overdue cases, open orders); commanders then record orders
against it, and each order becomes a case of source "order" dispatched to its unit.
"""

import io
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from cockpit.errors import ApplicationError
from cockpit.models import (
    CaseDaily,
    CaseDayGrid,
    CaseOpen,
    Consultation,
    ConsultationOrder,
    IndexValue,
)
from cockpit.screen.indices import GRADE_WEIGHT, indices_store
from cockpit.screen.rollups import NOT_COUNTED, rollups_settle
from cockpit.screen.selectors import TZ, day_bounds

RISKY_GRIDS = 10
OVERDUE_LIST = 50
# Riskiest grids: grade-weighted cases of the last 7 days + this many points per overdue case
# + the five-colour level's points (docs/indices.md).
OVERDUE_POINTS = 5
LEVEL_POINTS = {"red": 40, "orange": 25, "yellow": 15, "blue": 5, "green": 0}
LEVEL_LABELS = {"red": "红", "orange": "橙", "yellow": "黄", "blue": "蓝", "green": "绿"}
ORDER_ROLES = (User.Role.COMMANDER, User.Role.DISTRICT_ADMIN)


def _riskiest_grids(*, day: date, at: datetime) -> list[dict]:
    from cockpit.screen.selectors import _names, grid_levels

    grids = _names("grid_path")
    week = (
        CaseDayGrid.objects.filter(day__gt=day - timedelta(days=7), day__lte=day)
        .exclude(status__in=NOT_COUNTED)
        .values_list("node_path", "grade")
        .annotate(n=Sum("n"))
    )
    weighted: dict[str, int] = {}
    counted: dict[str, int] = {}
    for path, grade, n in week:
        weighted[path] = weighted.get(path, 0) + n * GRADE_WEIGHT.get(grade, 1)
        counted[path] = counted.get(path, 0) + n
    late = dict(
        CaseOpen.objects.filter(due_at__lt=at, grid_id__isnull=False)
        .values_list("grid_id")
        .annotate(n=Count("case_id"))
    )
    # The five-colour levels as a town-wide commander sees them (green until the module lands).
    commander = User.objects.filter(
        role=User.Role.COMMANDER, is_active=True, scope__kind="town"
    ).first()
    levels = grid_levels(user=commander) if commander else {}
    rows = []
    for path, (grid_id, name) in grids.items():
        level = levels.get(grid_id, "green")
        score = weighted.get(path, 0) + OVERDUE_POINTS * late.get(grid_id, 0)
        score += LEVEL_POINTS.get(level, 0)
        rows.append(
            {
                "id": grid_id,
                "name": name,
                "score": score,
                "week_cases": counted.get(path, 0),
                "overdue": late.get(grid_id, 0),
                "level": level,
                "level_label": LEVEL_LABELS.get(level, level),
            }
        )
    rows.sort(key=lambda r: (-r["score"], r["name"]))
    return [r for r in rows if r["score"] > 0][:RISKY_GRIDS]


def _overdue_cases(*, at: datetime) -> list[dict]:
    from events.models import Case

    rows = list(
        CaseOpen.objects.filter(due_at__lt=at)
        .order_by("due_at")
        .values_list("case_id", "due_at")[:OVERDUE_LIST]
    )
    cases = Case.objects.filter(id__in=[r[0] for r in rows]).select_related(
        "category", "grid", "handler"
    )
    by_id = {c.id: c for c in cases}
    out = []
    for case_id, due in rows:
        c = by_id.get(case_id)
        if c is None:
            continue
        out.append(
            {
                "id": c.id,
                "number": c.number,
                "category": c.category.name,
                "grid": c.grid.name if c.grid_id else "",
                "status": c.get_status_display(),
                "handler": str(c.handler) if c.handler_id else "",
                "due_at": due.astimezone(TZ).strftime("%Y-%m-%d %H:%M"),
                "hours_late": round((at - due).total_seconds() / 3600, 1),
            }
        )
    return out


def _open_orders() -> list[dict]:
    from dispatch.models import Order
    from events.models import Case

    orders = (
        Order.objects.filter(
            Q(case__isnull=True) | Q(case__status__in=Case.OPEN_STATUSES + (Case.Status.PARKED,))
        )
        .select_related("issued_by", "department", "team", "user", "case")
        .order_by("-issued_at")[:50]
    )
    return [
        {
            "id": o.id,
            "issued_at": o.issued_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M"),
            "issued_by": str(o.issued_by),
            "to": str(o.user or o.team or o.department),
            "text": o.text[:200],
            "case": o.case.number if o.case_id else "",
            "status": o.case.get_status_display() if o.case_id else "",
            "due_at": o.due_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if o.due_at else "",
        }
        for o in orders
    ]


def consultation_build(*, day: date | None = None, at: datetime | None = None) -> Consultation:
    """Build (or rebuild) the consultation of ``day`` (default: yesterday), measured at ``at``."""
    day = day or (timezone.localdate() - timedelta(days=1))
    at = at or timezone.now()
    rollups_settle()  # the counters read below, with every case so far
    _start, end = day_bounds(day)
    measured = min(at, end)
    current = indices_store(day=day, at=measured)
    previous = {v.key: v for v in IndexValue.objects.filter(day=day - timedelta(days=1))} or {
        v.key: v for v in indices_store(day=day - timedelta(days=1))
    }
    from cockpit.screen.indices import definitions_ensure

    names = {d.key: d.name for d in definitions_ensure()}
    indices = []
    for v in current:
        before = previous.get(v.key)
        indices.append(
            {
                "key": v.key,
                "name": names.get(v.key, v.key),
                "value": v.value,
                "previous": before.value if before else None,
                "change": round(v.value - before.value, 1) if before else None,
                "parts": v.parts,
            }
        )
    totals = CaseDaily.objects.filter(day=day).exclude(status__in=NOT_COUNTED).aggregate(n=Sum("n"))
    data = {
        "day": day.isoformat(),
        "measured_at": at.astimezone(TZ).strftime("%Y-%m-%d %H:%M"),
        "cases_reported": totals["n"] or 0,
        "indices": indices,
        "riskiest_grids": _riskiest_grids(day=day, at=at),
        "overdue_cases": _overdue_cases(at=at),
        "open_orders": _open_orders(),
    }
    record, _created = Consultation.objects.update_or_create(
        day=day, defaults={"built_at": at, "data": data}
    )
    return record


def consultation_get(*, day: date | None = None) -> Consultation | None:
    if day is None:
        return Consultation.objects.order_by("-day").first()
    return Consultation.objects.filter(day=day).first()


def consultation_xlsx(*, consultation: Consultation) -> bytes:
    """The consultation as a workbook: one sheet per section, headers in Chinese."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    data = consultation.data
    wb = Workbook()
    ws = wb.active
    ws.title = _("平安指数")
    ws.append([_("每日会商"), data.get("day"), _("生成时间"), data.get("measured_at")])
    ws.append([_("昨日事件数"), data.get("cases_reported", 0)])
    ws.append([])
    ws.append([_("指数"), _("昨日"), _("前日"), _("变化"), _("事件数"), _("超期")])
    for item in data.get("indices", []):
        parts = item.get("parts", {})
        ws.append(
            [
                item["name"],
                item["value"],
                item.get("previous"),
                item.get("change"),
                parts.get("count"),
                parts.get("overdue"),
            ]
        )
    sections = [
        (
            _("风险网格"),
            [_("网格"), _("风险分"), _("近7日事件"), _("超期"), _("五色等级")],
            [
                [
                    g["name"],
                    g["score"],
                    g["week_cases"],
                    g["overdue"],
                    g.get("level_label", g["level"]),
                ]
                for g in data.get("riskiest_grids", [])
            ],
        ),
        (
            _("超期事件"),
            [_("编号"), _("类别"), _("网格"), _("状态"), _("处置人"), _("时限"), _("超期小时")],
            [
                [
                    c["number"],
                    c["category"],
                    c["grid"],
                    c["status"],
                    c["handler"],
                    c["due_at"],
                    c["hours_late"],
                ]
                for c in data.get("overdue_cases", [])
            ],
        ),
        (
            _("在办指令"),
            [_("发令时间"), _("发令人"), _("接收"), _("内容"), _("事件"), _("状态")],
            [
                [o["issued_at"], o["issued_by"], o["to"], o["text"], o["case"], o["status"]]
                for o in data.get("open_orders", [])
            ],
        ),
    ]
    for title, header, rows in sections:
        sheet = wb.create_sheet(title)
        sheet.append(header)
        for row in rows:
            sheet.append(row)
    for sheet in wb.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def consultation_order_issue(
    *,
    consultation: Consultation,
    user,
    text: str,
    department_id: int | None = None,
    team_id: int | None = None,
    user_id: int | None = None,
    due_at: datetime | None = None,
    category_code: str = "L0099",
) -> ConsultationOrder:
    """Record a commander's order: a dispatch.Order and a case of source "order" registered and
    dispatched straight to the unit (指令直达), so it is timed and supervised like any case."""
    from dispatch.models import Assignment, Department, Order, Team
    from events.services import Reporter, case_report, case_transition, category_resolve

    if getattr(user, "role", None) not in ORDER_ROLES:
        raise ApplicationError(_("只有指挥长可以下达指令。"), status_code=403)
    errors: dict[str, list[str]] = {}
    text = (text or "").strip()
    if not text:
        errors["text"] = [_("请填写指令内容。")]
    elif len(text) > 2000:
        errors["text"] = [_("指令内容不能超过 2000 字。")]
    chosen = [v for v in (department_id, team_id, user_id) if v]
    department = team = person = None
    if len(chosen) != 1:
        errors["to"] = [_("请选择一个接收单位或人员。")]
    elif department_id:
        department = Department.objects.filter(id=department_id, active=True).first()
        if department is None:
            errors["to"] = [_("没有这个部门。")]
    elif team_id:
        team = Team.objects.filter(id=team_id).select_related("department", "lead").first()
        if team is None:
            errors["to"] = [_("没有这个队伍。")]
    else:
        person = User.objects.filter(id=user_id, is_active=True).first()
        if person is None:
            errors["to"] = [_("没有这个人员。")]
    if due_at is not None and due_at <= timezone.now():
        errors["due_at"] = [_("完成时限须晚于现在。")]
    if errors:
        raise ApplicationError(_("指令有误，请检查标出的字段。"), fields=errors)
    category = category_resolve(code=category_code)
    recipient = person or team or department
    now = timezone.now()
    with transaction.atomic():
        result = case_report(
            source="order",
            category=category,
            title=(_("指挥长指令：") + text)[:128],
            description=text,
            address=_("指挥中心每日会商（%(day)s）→ %(to)s")
            % {"day": consultation.day.isoformat(), "to": str(recipient)},
            reporter=Reporter(user=user),
            extra={"consultation_day": consultation.day.isoformat()},
        )
        case = result.case
        order = Order.objects.create(
            issued_by=user,
            issued_at=now,
            department=department or (team.department if team else None),
            team=team,
            user=person,
            text=text,
            due_at=due_at,
            case=case,
        )
        case_transition(case_id=case.id, action="register", actor=user, note=_("指挥长指令"))
        handler = person or (team.lead if team else None)
        updates = {"handler": handler} if handler else {}
        if due_at is not None:
            updates["resolve_due"] = due_at
        case_transition(
            case_id=case.id,
            action="dispatch",
            actor=user,
            note=_("指令直达：%(to)s") % {"to": str(recipient)},
            updates=updates,
        )
        Assignment.objects.create(
            case=case,
            department=order.department,
            team=team,
            user=person,
            role="lead",
            created_at=now,
        )
        link = ConsultationOrder.objects.create(
            consultation=consultation, order=order, created_by=user
        )
    return link
