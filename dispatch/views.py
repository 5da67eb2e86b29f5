"""The operator console (坐席): the queue and the case page. Server-rendered; the live parts
(new cases, timeline, actions) are small ES modules in static/dispatch/ that talk to the case
APIs and the websocket feed. Reads go through the events and grids selectors."""

import json
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Max
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from accounts.selectors import user_can
from cockpit.errors import ApplicationError
from dispatch import selectors as dispatch_selectors
from dispatch.models import Department, Plan, Team
from dispatch.selectors import queue_filters
from events import selectors as case_selectors
from events.deadlines import case_timers
from events.models import Case, CaseLog
from events.workflow import TRANSITIONS, action_label, actions_for
from grids.models import Node
from grids.selectors import grids_for

PAGE_SIZE = 100
# Lifecycle buttons of the case page, in the order a case meets them; the page shows those the
# user may take now and the live feed re-asks after every step (static/dispatch/case.js).
BUTTON_ACTIONS = ("register", "reject", "verify", "rework", "close", "park", "unpark", "merge")
ACTION_KEYS = {"register": "r", "verify": "v", "close": "c"}
STATUS_LABELS = dict(Case.Status.choices)
TIMER_RANK = {"critical": 3, "warning": 2, "green": 1, "none": 0}

# Canned answers to the reporter (答复模板); the operator edits before sending.
REPLY_TEMPLATES = [
    _("您好，您反映的问题已收到，我们已安排网格员尽快到现场处理，感谢您的监督。"),
    _("您好，经现场核实，问题已处理完毕，欢迎您继续监督并对处理结果进行评价。"),
    _("您好，您反映的问题不属于本镇职责范围，我们已转交相关部门处理。"),
    _("您好，该问题需要协调多个部门，处理时间较长，我们会持续跟进并及时告知进展。"),
]


def console_required(view):
    """Seat operators, commanders, district admins and area leaders (capability cockpit.view);
    anyone else logged in gets the 403 page, anonymous users the login page."""

    @login_required
    @never_cache
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not user_can(request.user, "cockpit.view"):
            return render(request, "dispatch/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def case_timer(case: Case, now) -> dict:
    """The clock the queue shows: the most urgent running deadline (state and due time)."""
    running = [
        t
        for t in case_timers(case, now)
        if t["done"] is None and t["due"] is not None and t["state"] != "none"
    ]
    if not running:
        return {"state": "none", "step": "", "label": "", "due": None, "started": None}
    worst = max(running, key=lambda t: (TIMER_RANK[t["state"]], -t["due"].timestamp()))
    return {
        "state": worst["state"],
        "step": worst["step"],
        "label": worst["label"],
        "due": worst["due"],
        "started": worst["started"],
    }


def _filters(request) -> tuple[dict, dict]:
    """The queue's filters from the query string (dispatch.selectors.queue_filters): unknown
    values are dropped rather than failing the page."""
    return queue_filters(request.GET)


def _row(case: Case, now) -> dict:
    return {"case": case, "timer": case_timer(case, now)}


@console_required
def console_queue(request):
    user = request.user
    query, form = _filters(request)
    now = timezone.now()
    cases = case_selectors.case_search_for(user=user, **query)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [_row(c, now) for c in page.object_list]
    # Counts per status under the same filters except the status itself.
    count_query = {k: v for k, v in query.items() if k != "status"}
    counts = dict(
        case_selectors.case_search_for(user=user, **count_query)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    open_total = sum(n for s, n in counts.items() if s in Case.OPEN_STATUSES)
    grids = list(
        Node.objects.filter(kind=Node.Kind.GRID)
        .filter(_scope_q(user))
        .order_by("code")
        .values("id", "code", "name")
    )
    context = {
        "rows": rows,
        "page": page,
        "form": form,
        "counts": [
            {"status": s, "label": label, "n": counts.get(s, 0)} for s, label in Case.Status.choices
        ],
        "open_total": open_total,
        "all_total": sum(counts.values()),
        "statuses": Case.Status.choices,
        "sources": Case.Source.choices,
        "grids": grids,
        "grid_names": {g["id"]: g["name"] for g in grids},
        "last_seq": CaseLog.objects.aggregate(m=Max("id"))["m"] or 0,
        "now": now,
        "is_live_page": page.number == 1,
        "console_page": "queue",
        "can_dispatch": user_can(user, "case.dispatch"),
        "can_order": user_can(user, "order.issue"),
        "order_departments": Department.objects.filter(active=True).order_by("code")
        if user_can(user, "order.issue")
        else [],
        "order_teams": Team.objects.filter(department__active=True)
        .select_related("department")
        .order_by("department__code", "code")
        if user_can(user, "order.issue")
        else [],
    }
    return render(request, "dispatch/queue.html", context)


def _scope_q(user):
    from accounts.selectors import scope_q

    return scope_q(user=user, path_field="path")


def _routing_rows(routing: dict) -> list[tuple[str, str]]:
    """The routing explanation as label/value rows, for any shape the router records."""
    labels = {
        "rule": _("命中规则"), "rule_name": _("命中规则"), "rule_id": _("规则编号"), "reason": _("理由"), "why": _("理由"),
        "handler": _("处置人"), "handler_name": _("处置人"), "team": _("队伍"), "department": _("部门"),
        "grid": _("网格"), "grade": _("等级"), "duplicate_of": _("疑似重复"), "merged_into": _("并入"),
        "at": _("时间"), "mode": _("方式"), "matched": _("匹配条件"), "conditions": _("匹配条件"),
    }  # fmt: skip
    rows = []
    for key, value in (routing or {}).items():
        if isinstance(value, dict):
            text = value.get("name") or value.get("label") or json.dumps(value, ensure_ascii=False)
        elif isinstance(value, list):
            text = "；".join(
                str(v.get("name") or v.get("label") or v) if isinstance(v, dict) else str(v)
                for v in value
            )
        else:
            text = str(value)
        rows.append((str(labels.get(key, key)), text))
    return rows


@console_required
def console_case(request, id: int):
    user = request.user
    try:
        case = case_selectors.case_get_for(user=user, id=id)
    except ApplicationError as exc:
        return render(request, "dispatch/not_found.html", {"message": exc.message}, status=404)
    now = timezone.now()
    entries = list(case_selectors.case_log(case=case))
    attachments = list(case_selectors.case_attachments(case=case))
    pending = case_selectors.extension_pending(case=case)
    timers = case_timers(case, now)
    actions = actions_for(user, case, pending_extension=pending is not None)
    routing = case.routing if isinstance(case.routing, dict) else {}
    photos_by_entry: dict[int, list] = {}
    for a in attachments:
        photos_by_entry.setdefault(a.log_id, []).append(a)
    timeline = [
        {
            "entry": e,
            "label": action_label(e.action),
            "to_label": STATUS_LABELS.get(e.to_status, e.to_status),
            "photos": photos_by_entry.get(e.id, []),
        }
        for e in entries
    ]
    context = {
        "case": case,
        "timeline": timeline,
        "photos": attachments,
        "timers": timers,
        "timer": case_timer(case, now),
        "routing_rows": _routing_rows(case.routing if isinstance(case.routing, dict) else {}),
        "routing_json": json.dumps(case.routing, ensure_ascii=False, indent=1)
        if case.routing
        else "",
        "actions": actions,
        "pending_extension": pending,
        "reply_templates": _reply_templates(case),
        "last_seq": entries[-1].id if entries else 0,
        "can_dispatch": user_can(user, "case.dispatch"),
        "location": {"lng": case.location.x, "lat": case.location.y} if case.location else None,
        "recommendation": dispatch_selectors.recommendation_for(case=case),
        "routing": routing,
        "assignments": list(dispatch_selectors.assignments_of(case=case)),
        "departments": list(dispatch_selectors.departments_for_case(case=case)),
        "teams": list(dispatch_selectors.teams_for_case(case=case)),
        "grid_workers": list(dispatch_selectors.grid_workers_for_case(case=case)),
        "plans": list(Plan.objects.filter(active=True).order_by("order", "id")),
        "map_data": _map_data(user, case),
        "console_page": "case",
        "can_reply": "reply" in actions,
        "action_buttons": [
            {
                "name": a,
                "label": action_label(a),
                "key": ACTION_KEYS.get(a, ""),
                "needs_note": TRANSITIONS[a].needs_note,
                "on": a in actions,
            }
            for a in BUTTON_ACTIONS
        ],
    }
    return render(request, "dispatch/case.html", context)


def _reply_templates(case: Case) -> list[dict]:
    """答复模板 for the case's state (admin-edited), then the built-in canned answers."""
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "text": dispatch_selectors.answer_render(template=t, case=case),
        }
        for t in dispatch_selectors.answer_templates(status=case.status)
    ]
    rows += [{"id": "", "name": str(t)[:18] + "…", "text": str(t)} for t in REPLY_TEMPLATES]
    return rows


def _map_data(user, case: Case) -> dict:
    """Our own geometry for the case map: the case's grid and its neighbours in the same squad
    (simplified GeoJSON from grids.selectors) and the case's point. No basemap tiles."""
    features = []
    if case.grid_id:
        grids = grids_for(user=user).filter(parent_id=case.grid.parent_id)
        for g in grids:
            if g.geojson:
                features.append(
                    {
                        "type": "Feature",
                        "geometry": json.loads(g.geojson),
                        "properties": {"id": g.id, "name": g.name, "own": g.id == case.grid_id},
                    }
                )
    point = {"lng": case.location.x, "lat": case.location.y} if case.location is not None else None
    return {"grids": {"type": "FeatureCollection", "features": features}, "point": point}
