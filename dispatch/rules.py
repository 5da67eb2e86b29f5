"""The routing decision, as a pure read: which grade, which unit, which rule and why.

``decide`` never writes. The routing task (dispatch.services.case_route) applies a decision; the
simulate command (``manage.py simulate_routing``) replays a day through it without dispatching,
so an admin can try a change of rules before switching it on.

Order of precedence, first match wins:
1. a plan (预案) for the case's category at or above its grade → several units at once;
2. the routing rules in their admin order: every non-empty condition must hold (category, 大类,
   grade, source, area, time window, weekday) and the target must have someone to receive it;
3. the category's default department;
4. nothing: the case waits for an operator, with that said.
"""

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from accounts import selectors as accounts_selectors
from accounts.models import User
from dispatch.models import CategoryDispatch, GradeRule, Mode, Plan, PlanUnit, RoutingRule
from events.models import Case, Category

TZ = ZoneInfo(settings.TIME_ZONE)
GRADE_LABELS = dict(Category.Grade.choices)


@dataclass
class Decision:
    grade: int
    grade_reason: str
    kind: str = "none"  # plan | rule | category_default | none
    mode: str = Mode.RECOMMEND
    rule_id: int | None = None
    rule_name: str = ""
    target: str = ""  # department | team | user | grid_worker
    department: object | None = None
    team: object | None = None
    user: object | None = None
    plan: Plan | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def handler(self):
        """The person who receives the case: the user, or the team's lead."""
        if self.user is not None:
            return self.user
        if self.team is not None:
            return self.team.lead
        return None

    def as_json(self) -> dict:
        def ref(obj):
            return None if obj is None else {"id": obj.id, "name": str(obj)}

        units = []
        if self.plan is not None:
            for u in self.plan.units.all():
                units.append({"role": u.role, "department": ref(u.department), "team": ref(u.team)})
        return {
            "mode": self.mode,
            "rule": {"id": self.rule_id, "name": self.rule_name, "kind": self.kind},
            "reasons": self.reasons,
            "target": {
                "kind": self.target,
                "department": ref(self.department),
                "team": ref(self.team),
                "user": ref(self.user),
            },
            "plan": None
            if self.plan is None
            else {"id": self.plan.id, "name": self.plan.name, "units": units},
            "grade": {"value": self.grade, "reason": self.grade_reason},
        }


@dataclass
class RoutingConfig:
    """The routing table as one read: grade rules, plans (with categories and units), rules (with
    categories and targets) and category defaults, in a handful of queries. ``decide`` loads it
    for one case; the route_pending task loads it once per batch of cases, so a change in the
    admin applies from the next batch (at most a few seconds later)."""

    grade_rules: list
    plans: list
    rules: list
    defaults: dict  # category id → CategoryDispatch

    @classmethod
    def load(cls) -> "RoutingConfig":
        units = Prefetch("units", queryset=PlanUnit.objects.select_related("department", "team"))
        plans = list(
            Plan.objects.filter(active=True)
            .prefetch_related("categories", units)
            .order_by("order", "id")
        )
        for plan in plans:
            plan.category_ids = {c.id for c in plan.categories.all()}
        rules = list(
            RoutingRule.objects.filter(active=True)
            .select_related("node", "department", "team__lead", "team__department", "user")
            .prefetch_related("categories")
        )
        for rule in rules:
            rule.category_ids = {c.id for c in rule.categories.all()}
        defaults = {d.category_id: d for d in CategoryDispatch.objects.select_related("department")}
        return cls(
            grade_rules=list(GradeRule.objects.filter(active=True)),
            plans=plans,
            rules=rules,
            defaults=defaults,
        )


def grade_decide(case: Case, *, rules: list[GradeRule] | None = None) -> tuple[int, str]:
    """A grade rule only makes a case more urgent (a smaller number), never less."""
    grade = case.grade or case.category.default_grade
    reason = _("类别默认等级：%(g)s") % {"g": GRADE_LABELS.get(grade, grade)}
    for rule in rules if rules is not None else GradeRule.objects.filter(active=True):
        if rule.source and rule.source != case.source:
            continue
        if rule.category_id and rule.category_id != case.category_id:
            continue
        if rule.grade < grade:
            grade = rule.grade
            reason = _("定级规则“%(r)s”：%(g)s") % {
                "r": rule.name,
                "g": GRADE_LABELS.get(grade, grade),
            }
        break
    return grade, reason


def grid_workers(case: Case) -> list[User]:
    """The case's own grid workers, then the grid's leader."""
    workers = accounts_selectors.grid_workers(grid_id=case.grid_id)
    if not workers and case.grid_id and case.grid.leader_id:
        workers = [case.grid.leader]
    return workers


def _in_window(rule: RoutingRule, local: datetime) -> bool:
    if rule.time_from is None:
        return True
    t = local.time()
    if rule.time_from <= rule.time_to:
        return rule.time_from <= t < rule.time_to
    return t >= rule.time_from or t < rule.time_to  # overnight window


def _rule_match(rule: RoutingRule, case: Case, grade: int, local: datetime) -> list[str] | None:
    """The conditions that held, as sentences; None when one fails."""
    held = []
    category_ids = getattr(rule, "category_ids", None)
    if category_ids is None:
        category_ids = {c.id for c in rule.categories.all()}
    if category_ids:
        if case.category_id not in category_ids:
            return None
        held.append(_("类别为“%(c)s”") % {"c": case.category.name})
    if rule.major_name:
        if case.category.major_name != rule.major_name:
            return None
        held.append(_("大类为“%(m)s”") % {"m": rule.major_name})
    if rule.grades:
        if grade not in rule.grades:
            return None
        held.append(_("等级为%(g)s") % {"g": GRADE_LABELS.get(grade, grade)})
    if rule.sources:
        if case.source not in rule.sources:
            return None
        held.append(_("来源为“%(s)s”") % {"s": case.get_source_display()})
    if rule.node_id:
        if not case.node_path.startswith(rule.node.path):
            return None
        held.append(_("位于“%(n)s”") % {"n": rule.node.name})
    if rule.time_from is not None:
        if not _in_window(rule, local):
            return None
        held.append(
            _("时间在 %(a)s–%(b)s")
            % {"a": rule.time_from.strftime("%H:%M"), "b": rule.time_to.strftime("%H:%M")}
        )
    if rule.weekdays:
        if local.isoweekday() not in rule.weekdays:
            return None
        held.append(_("星期符合"))
    return held or [_("无限定条件")]


def decide(
    case: Case, *, now: datetime | None = None, config: RoutingConfig | None = None
) -> Decision:
    """Which grade, which unit, which rule — and why, in words an operator reads."""
    config = config or RoutingConfig.load()
    local = (case.reported_at or now).astimezone(TZ)
    grade, grade_reason = grade_decide(case, rules=config.grade_rules)
    d = Decision(grade=grade, grade_reason=grade_reason)

    for plan in config.plans:
        if plan.min_grade < grade or case.category_id not in plan.category_ids:
            continue
        units = list(plan.units.all())
        lead = next((u for u in units if u.role == "lead"), None) or (units[0] if units else None)
        if lead is None:
            d.reasons.append(_("预案“%(p)s”没有配置力量，跳过") % {"p": plan.name})
            continue
        d.kind, d.mode, d.plan = "plan", plan.mode, plan
        d.rule_id, d.rule_name = plan.id, plan.name
        d.department, d.team = lead.department, lead.team
        d.target = "team" if lead.team_id else "department"
        d.reasons.append(
            _("启动预案“%(p)s”：类别“%(c)s”，等级%(g)s")
            % {"p": plan.name, "c": case.category.name, "g": GRADE_LABELS.get(grade, grade)}
        )
        return d

    for rule in config.rules:
        held = _rule_match(rule, case, grade, local)
        if held is None:
            continue
        if rule.target == RoutingRule.Target.GRID_WORKER:
            workers = grid_workers(case)
            if not workers:
                d.reasons.append(
                    _("规则“%(r)s”命中，但事件所在网格无网格员，跳过") % {"r": rule.name}
                )
                continue
            d.user = workers[0]
        elif rule.target == RoutingRule.Target.TEAM:
            d.team = rule.team
            d.department = rule.team.department
        elif rule.target == RoutingRule.Target.DEPARTMENT:
            d.department = rule.department
        else:
            d.user = rule.user
        d.kind, d.mode, d.target = "rule", rule.mode, rule.target
        d.rule_id, d.rule_name = rule.id, rule.name
        d.reasons.append(_("命中规则“%(r)s”：%(h)s") % {"r": rule.name, "h": "，".join(held)})
        if rule.note:
            d.reasons.append(rule.note)
        return d

    default = config.defaults.get(case.category_id)
    if default is not None:
        d.kind, d.mode, d.target = "category_default", default.mode, "department"
        d.department = default.department
        d.rule_name = str(_("类别默认部门"))
        d.reasons.append(
            _("没有规则命中，按类别“%(c)s”的默认部门：%(d)s")
            % {"c": case.category.name, "d": default.department.name}
        )
        return d

    d.reasons.append(_("没有规则命中，也没有默认部门：等待坐席员派遣"))
    return d
