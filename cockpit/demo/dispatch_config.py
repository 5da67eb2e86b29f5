"""Demo step: the routing table a town starts with, so `make run` routes reports at once.

- every category gets a default department (by its 大类), in "recommend only" mode;
- 市容环境 and 街面秩序 matters go to the grid's own worker automatically;
- 110 / public-security scenes go to the police station automatically;
- fire, smoke, gas and drowning alarms start the fire plan (消防 leads, police and emergency assist);
- the night shift (22:00–06:00) of 街面秩序 is recommended to the enforcement squad;
- 110 and 119 reports are at least 紧急 / 特急;
- a duty commander on every day of the next month.
"""

from datetime import time, timedelta

from accounts.models import User
from cockpit.demo.steps import DemoContext
from dispatch.models import (
    AnswerTemplate,
    CategoryDispatch,
    Department,
    DutyRota,
    GradeRule,
    Plan,
    PlanUnit,
    RoutingRule,
)
from events.models import Category

# 大类 → department code (cockpit/demo/people.py BRIGADE + OFFICES)
MAJOR_DEPARTMENT = {
    "市政公用设施": "jsb", "市政公用设施类": "jsb", "交通设施": "traffic", "交通设施类": "traffic",
    "市容环卫设施": "cgb", "市容环卫设施类": "cgb", "园林绿化设施": "cgb", "园林绿化设施类": "cgb",
    "其他管理部件": "cgb", "其他管理部件类": "cgb", "市容环境类": "enforce", "宣传广告类": "enforce",
    "施工管理类": "jsb", "街面秩序类": "enforce", "其他事项类": "cgb", "应急处置": "emergency",
    "平安综治": "police", "智慧防控": "emergency", "民生服务": "sqfw", "经济服务": "scjg",
    "其他": "cgb",
}  # fmt: skip
FIRE_SCENES = ("L0001", "L0002", "L0003", "L0004")


def dispatch_config_build(ctx: DemoContext) -> str:
    if RoutingRule.objects.exists():
        return "routing table already configured"
    dept = {d.code: d for d in Department.objects.all()}
    fallback = dept.get("cgb") or next(iter(dept.values()))
    defaults = [
        CategoryDispatch(
            category=c, department=dept.get(MAJOR_DEPARTMENT.get(c.major_name, ""), fallback)
        )
        for c in Category.objects.filter(active=True)
    ]
    CategoryDispatch.objects.bulk_create(defaults, ignore_conflicts=True)

    street = RoutingRule.objects.create(
        name="市容与街面秩序 → 事发网格网格员", order=20, mode="auto", target="grid_worker",
        note="网格员先到场核实，处置不了再回退由执法中队接手。",
    )  # fmt: skip
    street.categories.set(Category.objects.filter(major_name__in=["市容环境类", "街面秩序类"]))
    night = RoutingRule.objects.create(
        name="夜间街面秩序 → 综合行政执法中队", order=10, mode="recommend", target="department",
        department=dept.get("enforce", fallback), major_name="街面秩序类",
        time_from=time(22), time_to=time(6),
    )  # fmt: skip
    police = RoutingRule.objects.create(
        name="110 联动与治安 → 派出所", order=30, mode="auto", target="department",
        department=dept.get("police", fallback), sources=["110"],
    )  # fmt: skip
    security = RoutingRule.objects.create(
        name="治安事件 → 派出所", order=31, mode="auto", target="department",
        department=dept.get("police", fallback),
    )  # fmt: skip
    security.categories.set(Category.objects.filter(code__in=["L0006", "L0009"]))

    plan = Plan.objects.create(name="火警与落水预案（135）", min_grade=1, mode="auto",
                               note="消防救援站主办，派出所与应急管理中队协办。")  # fmt: skip
    plan.categories.set(Category.objects.filter(code__in=FIRE_SCENES))
    PlanUnit.objects.create(plan=plan, department=dept.get("xfjy", fallback), role="lead", sort=0)
    PlanUnit.objects.create(
        plan=plan, department=dept.get("police", fallback), role="assist", sort=1
    )
    PlanUnit.objects.create(
        plan=plan, department=dept.get("emergency", fallback), role="assist", sort=2
    )
    GradeRule.objects.create(name="119 报警一律特急", order=1, source="119", grade=1)
    GradeRule.objects.create(name="110 报警至少紧急", order=2, source="110", grade=2)

    commanders = list(User.objects.filter(role=User.Role.COMMANDER, is_active=True).order_by("id"))
    if commanders:
        today = ctx.now.date()
        DutyRota.objects.bulk_create(
            [
                DutyRota(date=today + timedelta(days=i), shift="full",
                         commander=commanders[i % len(commanders)])
                for i in range(-1, 31)
            ],
            ignore_conflicts=True,
        )  # fmt: skip
    templates = _answer_templates()
    rules = [night, street, police, security]
    return (
        f"{len(defaults)} category defaults, {len(rules)} routing rules, 1 plan, 2 grade rules, "
        f"duty rota, {templates} answer templates"
    )


def _answer_templates() -> int:
    """Canned replies: sent by themselves on 立案 and 办结, offered to the operator otherwise."""
    rows = [
        ("register", True, "已受理", "您反映的问题（{number}）已受理立案，我们会尽快安排处置。"),
        ("dispatch", False, "已派遣", "已派工作人员前往{address}处置，请耐心等待。"),
        ("close", True, "已办结", "您反映的{category}问题已处置完毕，感谢您的监督，欢迎评价。"),
        ("", False, "不予立案", "经核实，该问题不属于本镇受理范围，建议您拨打 12345 反映。"),
    ]
    for action, auto, name, text in rows:
        AnswerTemplate.objects.get_or_create(
            name=name, defaults={"action": action, "auto_send": auto, "text": text}
        )
    return len(rows)
