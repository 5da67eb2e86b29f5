"""Open311 service definitions: the attributes an Open311 client asks for when it reports.

Every service (a category residents may pick) asks where exactly the problem is and whether it is
dangerous; a few everyday categories ask one thing more that saves the grid worker a trip or a
call. Answers are kept with the case (``extra["open311"]["attributes"]``) and written under the
description, so the operator reads them without opening anything else.

Text is bilingual ("中文 / English"): the Open311 response carries no language negotiation that
clients honour, and both readers (the town and an outside developer) must understand it.
"""

from dataclasses import dataclass, field

# Bump when an attribute below changes: discovery's changeset tells clients to fetch definitions
# again. It is a sortable W3C datetime, as the discovery document asks.
DEFINITIONS_CHANGED = "2026-11-23T00:00:00Z"

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


@dataclass(frozen=True)
class Attribute:
    code: str
    description: str
    datatype: str = "string"
    required: bool = False
    variable: bool = True
    datatype_description: str = ""
    values: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    max_length: int = 200


PLACE_DETAIL = Attribute(
    code="place_detail",
    description="具体位置（楼栋、门牌、地标） / Exact place (building, door number, landmark)",
    datatype_description="≤ 200 字 / ≤ 200 characters",
)
HAZARD = Attribute(
    code="hazard",
    description="是否影响通行或危及安全 / Does it block the way or endanger people?",
    datatype="singlevaluelist",
    required=True,
    values=(("yes", "是 / Yes"), ("no", "否 / No")),
)
EMERGENCY_NOTICE = Attribute(
    code="emergency_notice",
    description="正在发生的危险请直接拨打 110 或 119 / For a danger happening now call 110 or 119",
    variable=False,
)

# Extra questions of a few categories (code → attributes after the common ones).
EXTRA: dict[str, tuple[Attribute, ...]] = {
    "06010": (  # 暴露垃圾 exposed garbage
        Attribute(
            code="amount",
            description="垃圾量 / How much garbage",
            datatype="singlevaluelist",
            values=(
                ("bag", "几袋 / A few bags"),
                ("pile", "一堆 / A pile"),
                ("truck", "需要车辆清运 / A truckload"),
            ),
        ),
    ),
    "09009": (  # 机动车乱停放 illegal parking
        Attribute(
            code="plate",
            description="车牌号（如能看清） / Licence plate (if readable)",
            datatype_description="例 / e.g. 浙A12345",
            max_length=16,
        ),
    ),
    "06028": (  # 噪声扰民 noise
        Attribute(
            code="noise_time",
            description="什么时候有噪声 / When is it noisy",
            datatype="multivaluelist",
            values=(
                ("day", "白天 / Daytime"),
                ("evening", "傍晚 / Evening"),
                ("night", "夜间 22:00–6:00 / Night 22:00–6:00"),
            ),
        ),
    ),
    "L0007": (  # 矛盾纠纷 dispute
        Attribute(
            code="people",
            description="涉及人数 / How many people are involved",
            datatype="number",
            datatype_description="正整数 / a positive whole number",
        ),
    ),
}


def attributes_for(code: str) -> list[Attribute]:
    """The attributes of one service, in their order (``order`` is the 1-based position)."""
    return [EMERGENCY_NOTICE, PLACE_DETAIL, HAZARD, *EXTRA.get(code, ())]


def definition_payload(code: str) -> dict:
    return {
        "service_code": code,
        "attributes": [
            {
                "variable": a.variable,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": a.datatype_description or None,
                "order": i,
                "description": a.description,
                **(
                    {"values": [{"key": k, "name": n} for k, n in a.values]}
                    if a.datatype in ("singlevaluelist", "multivaluelist")
                    else {}
                ),
            }
            for i, a in enumerate(attributes_for(code), start=1)
        ],
    }


def attributes_check(*, code: str, given: dict[str, list[str]]) -> tuple[dict, list[str]]:
    """Check the client's ``attribute[...]`` answers. Returns (clean answers, problems): answers
    keyed by code (a list for multivaluelist, else one value); problems as text for the error
    list. Unknown codes are ignored, as Open311 clients may send their own."""
    clean: dict = {}
    problems: list[str] = []
    for a in attributes_for(code):
        if not a.variable:
            continue
        values = [v.strip() for v in given.get(a.code, []) if v is not None and v.strip()]
        if not values:
            if a.required:
                problems.append(f"attribute[{a.code}]: 必填 / required")
            continue
        keys = {k for k, _n in a.values}
        if a.datatype == "multivaluelist":
            bad = [v for v in values if v not in keys]
            if bad:
                problems.append(f"attribute[{a.code}]: 可选值 / allowed: {', '.join(sorted(keys))}")
                continue
            clean[a.code] = list(dict.fromkeys(values))
            continue
        value = values[0]
        if a.datatype == "singlevaluelist" and value not in keys:
            problems.append(f"attribute[{a.code}]: 可选值 / allowed: {', '.join(sorted(keys))}")
        elif a.datatype == "number":
            try:
                number = float(value)
            except ValueError:
                number = None
            if number is None or number < 0 or number > 1_000_000:
                problems.append(f"attribute[{a.code}]: 须为数字 / must be a number")
            else:
                clean[a.code] = int(number) if number.is_integer() else number
        elif len(value) > a.max_length:
            problems.append(
                f"attribute[{a.code}]: 不能超过 {a.max_length} 字 / at most {a.max_length} characters"
            )
        else:
            clean[a.code] = value
    return clean, problems


def attributes_text(*, code: str, answers: dict) -> str:
    """The answers as lines under the description: "具体位置：3 号楼门口"."""
    lines = []
    for a in attributes_for(code):
        if a.code not in answers:
            continue
        label = a.description.split(" / ")[0].split("（")[0]
        value = answers[a.code]
        names = dict(a.values)
        if isinstance(value, list):
            shown = "、".join(names.get(v, v).split(" / ")[0] for v in value)
        else:
            shown = names.get(str(value), str(value)).split(" / ")[0]
        lines.append(f"{label}：{shown}")
    return "\n".join(lines)
