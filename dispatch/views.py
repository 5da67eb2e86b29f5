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
from events import selectors as case_selectors
from events.deadlines import case_timers
from events.models import Case, CaseLog
from events.workflow import actions_for
from grids.models import Node

PAGE_SIZE = 100
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
    """The queue's filters from the query string: (for the selector, for the form). Unknown
    values are dropped rather than failing the page."""
    get = request.GET
    status = get.get("status", "open")
    form = {"status": status, "source": get.get("source", ""), "category": get.get("category", "").strip()[:16],
            "grid": get.get("grid", ""), "overdue": get.get("overdue") == "1", "q": get.get("q", "").strip()[:100]}  # fmt: skip
    query: dict = {}
    if status == "open":
        query["status"] = list(Case.OPEN_STATUSES)
    elif status in Case.Status.values:
        query["status"] = [status]
    else:
        form["status"] = "all"
    if form["source"] in Case.Source.values:
        query["source"] = [form["source"]]
    else:
        form["source"] = ""
    if form["category"]:
        query["category"] = form["category"]
    if form["grid"].isdigit():
        query["grid"] = int(form["grid"])
    else:
        form["grid"] = ""
    if form["overdue"]:
        query["overdue"] = True
    if form["q"]:
        query["q"] = form["q"]
    return query, form


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
    photos_by_entry: dict[int, list] = {}
    for a in attachments:
        photos_by_entry.setdefault(a.log_id, []).append(a)
    timeline = [{"entry": e, "photos": photos_by_entry.get(e.id, [])} for e in entries]
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
        "actions": actions_for(user, case, pending_extension=pending is not None),
        "pending_extension": pending,
        "reply_templates": [str(t) for t in REPLY_TEMPLATES],
        "last_seq": entries[-1].id if entries else 0,
        "can_dispatch": user_can(user, "case.dispatch"),
        "location": {"lng": case.location.x, "lat": case.location.y} if case.location else None,
    }
    return render(request, "dispatch/case.html", context)
