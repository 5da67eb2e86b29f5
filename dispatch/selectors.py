"""Reads for the console, the dispatch APIs and the exports: the queue's filters, the units a case
may be sent to, the routing recommendation, answer templates and a user's own exports. The
scope check for cases stays in events.selectors; this module only narrows what it returns."""

from collections.abc import Mapping

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from cockpit.errors import ApplicationError
from dispatch.models import (
    AnswerTemplate,
    Assignment,
    CategoryDispatch,
    Department,
    Export,
    Plan,
    Team,
)
from events.models import Case
from events.workflow import TRANSITIONS

QUEUE_FILTERS = ("status", "source", "category", "grid", "overdue", "q")
FIELD_ROLES = (User.Role.GRID_WORKER, User.Role.GRID_LEADER)


def queue_filters(raw: Mapping, *, strict: bool = False) -> tuple[dict, dict]:
    """The queue's filters (status, source, category, grid, overdue, q) as (selector kwargs for
    events.selectors.case_search_for, values for the filter form). The page drops values it does
    not know; an export (``strict``) refuses them with field messages instead, so a file never
    silently holds more rows than the operator asked for."""
    errors: dict[str, list[str]] = {}
    status = str(raw.get("status") or "open")
    form = {
        "status": status,
        "source": str(raw.get("source") or ""),
        "category": str(raw.get("category") or "").strip()[:16],
        "grid": str(raw.get("grid") or ""),
        "overdue": str(raw.get("overdue") or "").lower() in ("1", "true", "on", "yes"),
        "q": str(raw.get("q") or "").strip()[:100],
    }
    query: dict = {}
    if status == "open":
        query["status"] = list(Case.OPEN_STATUSES)
    elif status in Case.Status.values:
        query["status"] = [status]
    else:
        if status != "all":
            errors["status"] = [_("未知的状态：%(s)s") % {"s": status}]
        form["status"] = "all"
    if form["source"] in Case.Source.values:
        query["source"] = [form["source"]]
    else:
        if form["source"]:
            errors["source"] = [_("未知的来源：%(s)s") % {"s": form["source"]}]
        form["source"] = ""
    if form["category"]:
        query["category"] = form["category"]
    if form["grid"].isdigit():
        query["grid"] = int(form["grid"])
    else:
        if form["grid"]:
            errors["grid"] = [_("网格须为编号。")]
        form["grid"] = ""
    if form["overdue"]:
        query["overdue"] = True
    if form["q"]:
        query["q"] = form["q"]
    if strict and errors:
        raise ApplicationError(_("提交的内容有误，请检查标出的字段。"), fields=errors)
    return query, form


# --- units ------------------------------------------------------------------------------------


def _covers(path_field: str, node_path: str) -> Q:
    """Rows whose node (``path_field``) is the case's node or one of its ancestors, or none."""
    ancestors = []
    parts = [p for p in (node_path or "").strip("/").split("/") if p]
    for i in range(1, len(parts) + 1):
        ancestors.append("/" + "/".join(parts[:i]) + "/")
    return Q(**{f"{path_field}__isnull": True}) | Q(**{f"{path_field}__in": ancestors})


def departments_for_case(*, case: Case) -> QuerySet[Department]:
    """Active departments working where the case is (no scope = the whole town)."""
    return (
        Department.objects.filter(active=True)
        .filter(Q(scope__isnull=True) | _covers("scope__path", case.node_path))
        .order_by("code")
    )


def teams_for_case(*, case: Case) -> QuerySet[Team]:
    return (
        Team.objects.filter(department__active=True)
        .filter(Q(node__isnull=True) | _covers("node__path", case.node_path))
        .select_related("department", "lead")
        .order_by("department__code", "code")
    )


def grid_workers_for_case(*, case: Case) -> QuerySet[User]:
    """The grid workers (and the grid leader) of the case's own grid."""
    if case.grid_id is None:
        return User.objects.none()
    return User.objects.filter(
        scope_id=case.grid_id, is_active=True, role__in=FIELD_ROLES
    ).order_by("role", "id")


def department_get(*, id) -> Department:
    found = Department.objects.filter(id=id, active=True).first() if _int(id) else None
    if found is None:
        raise ApplicationError(
            _("没有这个部门。"), fields={"department": [_("没有这个部门：%(id)s") % {"id": id}]}
        )
    return found


def team_get(*, id) -> Team:
    found = (
        Team.objects.filter(id=id, department__active=True).select_related("department").first()
        if _int(id)
        else None
    )
    if found is None:
        raise ApplicationError(
            _("没有这个队伍。"), fields={"team": [_("没有这个队伍：%(id)s") % {"id": id}]}
        )
    return found


def staff_get(*, id) -> User:
    """A person a case can be handed to: an active staff member, never one of the 三员."""
    found = (
        User.objects.filter(id=id, is_active=True).exclude(role__in=User.THREE_ADMINS).first()
        if _int(id)
        else None
    )
    if found is None:
        raise ApplicationError(
            _("没有这个人员。"), fields={"user": [_("没有这个人员：%(id)s") % {"id": id}]}
        )
    return found


def plan_get(*, id) -> Plan:
    found = Plan.objects.filter(id=id, active=True).first() if _int(id) else None
    if found is None:
        raise ApplicationError(
            _("没有这个预案。"), fields={"plan": [_("没有这个预案：%(id)s") % {"id": id}]}
        )
    return found


def _int(value) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True


def assignments_of(*, case: Case) -> QuerySet[Assignment]:
    return Assignment.objects.filter(case_id=case.id).select_related(
        "department", "team", "user", "plan"
    )


# --- the recommendation -----------------------------------------------------------------------


def _ref(obj) -> dict | None:
    return None if obj is None else {"id": obj.id, "name": str(getattr(obj, "name", "") or obj)}


def recommendation_for(*, case: Case) -> dict:
    """What the console suggests for "dispatch as recommended": the router's decision when it
    has run (case.routing), else the category's default department, else the case's grid
    worker. ``target`` holds the ids the dispatch API takes; ``reasons`` says why, in words."""
    routing = case.routing if isinstance(case.routing, dict) else {}
    target = routing.get("target") if isinstance(routing.get("target"), dict) else None
    plan = routing.get("plan") if isinstance(routing.get("plan"), dict) else None
    ids = {}
    for key in ("department", "team", "user"):
        ref = (target or {}).get(key)
        if isinstance(ref, dict) and ref.get("id"):
            ids[key] = ref["id"]
    if plan and plan.get("id"):
        ids["plan"] = plan["id"]
    # What the router said even when it found no one ("no rule matched…"): shown first.
    routed_reasons = [str(r) for r in routing.get("reasons") or []]
    if ids:
        rule = routing.get("rule") if isinstance(routing.get("rule"), dict) else {}
        return {
            "source": "routing",
            "mode": routing.get("mode") or "recommend",
            "rule": rule,
            "reasons": routed_reasons,
            "target": target or {},
            "plan": plan,
            "ids": ids,
            "label": _target_label(target, plan),
            "dispatched": bool(routing.get("dispatched")),
        }
    default = (
        CategoryDispatch.objects.filter(category_id=case.category_id, department__active=True)
        .select_related("department")
        .first()
    )
    if default is not None:
        dept = _ref(default.department)
        return {
            "source": "category_default",
            "mode": default.mode,
            "rule": {"kind": "category_default", "name": _("类别默认部门")},
            "reasons": routed_reasons
            + [
                _("“%(c)s”类事件默认由%(d)s处置。")
                % {"c": case.category.name, "d": default.department.name}
            ],
            "target": {"kind": "department", "department": dept, "team": None, "user": None},
            "plan": None,
            "ids": {"department": default.department_id},
            "label": default.department.name,
            "dispatched": False,
        }
    worker = grid_workers_for_case(case=case).first()
    if worker is not None:
        return {
            "source": "grid_worker",
            "mode": "recommend",
            "rule": {"kind": "none", "name": _("网格员兜底")},
            "reasons": routed_reasons
            + [
                _("没有命中的分拨规则，建议交由事件所在网格“%(g)s”的网格员处置。")
                % {"g": case.grid.name}
            ],
            "target": {
                "kind": "grid_worker",
                "department": None,
                "team": None,
                "user": {"id": worker.id, "name": str(worker)},
            },
            "plan": None,
            "ids": {"user": worker.id},
            "label": str(worker),
            "dispatched": False,
        }
    return {
        "source": "none",
        "mode": "recommend",
        "rule": {"kind": "none", "name": ""},
        "reasons": routed_reasons + [_("没有可推荐的处置单位，请手动选择。")],
        "target": {},
        "plan": None,
        "ids": {},
        "label": "",
        "dispatched": False,
    }


def _target_label(target: dict | None, plan: dict | None) -> str:
    parts = []
    if plan and plan.get("name"):
        parts.append(_("预案：%(p)s") % {"p": plan["name"]})
    for key in ("user", "team", "department"):
        ref = (target or {}).get(key)
        if isinstance(ref, dict) and ref.get("name"):
            parts.append(str(ref["name"]))
            break
    return " · ".join(parts)


# --- answer templates --------------------------------------------------------------------------


def actions_into(status: str) -> list[str]:
    """The lifecycle actions that leave a case in ``status`` (registered ← register, …)."""
    return [name for name, t in TRANSITIONS.items() if t.target == status]


def answer_templates(*, status: str | None = None, action: str | None = None):
    """Active templates for a state: those whose trigger action leads to ``status`` (or is
    ``action``), and the manual ones (no trigger), which fit any state."""
    qs = AnswerTemplate.objects.filter(active=True)
    wanted: list[str] = []
    if status:
        wanted += actions_into(status)
    if action:
        wanted.append(action)
    if status or action:
        qs = qs.filter(Q(action="") | Q(action__in=wanted))
    return qs.order_by("sort", "id")


def answer_template_get(*, id) -> AnswerTemplate:
    found = AnswerTemplate.objects.filter(id=id, active=True).first() if _int(id) else None
    if found is None:
        raise ApplicationError(
            _("没有这个答复模板。"),
            fields={"template": [_("没有这个答复模板：%(id)s") % {"id": id}]},
        )
    return found


def answer_render(*, template: AnswerTemplate, case: Case) -> str:
    """The template's words with {number}, {category} and {address} filled in; any other
    brace is left as written (a template is typed by an admin, not code)."""
    text = template.text
    values = {
        "number": case.number,
        "category": case.category.name,
        "address": case.address or "",
    }
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


# --- exports -----------------------------------------------------------------------------------


def export_get_for(*, user, id) -> Export:
    """One export, only for the user who asked for it (404 for anyone else, like a case)."""
    found = Export.objects.filter(id=id, user_id=user.id).first() if user.is_authenticated else None
    if found is None:
        raise ApplicationError(_("导出不存在或无权查看。"), status_code=404)
    return found
