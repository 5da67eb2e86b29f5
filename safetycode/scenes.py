"""The eight site scenes (DOMAIN.md, 智慧平安) and what each one carries: its own attributes
(validated here, so a bad import row or API body is refused field by field) and the default
checklist shipped by migration 0002 (admins edit the items afterwards; nothing reads these
defaults at run time)."""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

SHOP = "shop"
KEY_PLACE = "key_place"
RENTAL = "rental"
HAZCHEM = "hazchem"
LABOUR = "labour"
CONSTRUCTION = "construction"
CROWDED = "crowded"
OFFICE = "office"

# code → (Chinese label, English label): the labels also accepted by the importer.
SCENES: dict[str, tuple[str, str]] = {
    SHOP: ("沿街商铺", "Street shop"),
    KEY_PLACE: ("重点治安场所", "Key public-security place"),
    RENTAL: ("出租房屋", "Rental housing"),
    HAZCHEM: ("危化品生产经营单位", "Hazardous-chemical producer"),
    LABOUR: ("劳动密集型企业", "Labour-intensive enterprise"),
    CONSTRUCTION: ("建筑工地", "Construction site"),
    CROWDED: ("人员密集场所", "Crowded place"),
    OFFICE: ("一般及办公企业", "General / office enterprise"),
}

SCENE_CHOICES = [
    (SHOP, gettext_lazy("沿街商铺")),
    (KEY_PLACE, gettext_lazy("重点治安场所")),
    (RENTAL, gettext_lazy("出租房屋")),
    (HAZCHEM, gettext_lazy("危化品生产经营单位")),
    (LABOUR, gettext_lazy("劳动密集型企业")),
    (CONSTRUCTION, gettext_lazy("建筑工地")),
    (CROWDED, gettext_lazy("人员密集场所")),
    (OFFICE, gettext_lazy("一般及办公企业")),
]

# Short column heads for the five-colour table, in SCENE_CHOICES order.
SCENE_SHORT = {
    SHOP: gettext_lazy("商铺"),
    KEY_PLACE: gettext_lazy("治安"),
    RENTAL: gettext_lazy("出租"),
    HAZCHEM: gettext_lazy("危化"),
    LABOUR: gettext_lazy("劳密"),
    CONSTRUCTION: gettext_lazy("工地"),
    CROWDED: gettext_lazy("密集"),
    OFFICE: gettext_lazy("办公"),
}

# Scenes whose sites are people's homes rather than organisations: no credit code required.
CREDIT_CODE_OPTIONAL = {RENTAL}


@dataclass(frozen=True)
class Attr:
    key: str
    kind: str  # "int", "str" or "bool"
    required: bool = False
    minimum: int = 0


# The scene's own attributes (场景属性). Unknown keys are refused: a typo must not vanish.
ATTRIBUTES: dict[str, list[Attr]] = {
    SHOP: [Attr("area_m2", "int"), Attr("business", "str"), Attr("uses_gas", "bool")],
    KEY_PLACE: [Attr("kind", "str", required=True), Attr("security_staff", "int")],
    RENTAL: [Attr("rooms", "int", required=True, minimum=1), Attr("tenants", "int")],
    HAZCHEM: [
        Attr("licence_no", "str", required=True),
        Attr("chemicals", "str"),
        Attr("storage_t", "int"),
    ],
    LABOUR: [Attr("workers", "int", required=True, minimum=1), Attr("dormitory", "bool")],
    CONSTRUCTION: [Attr("permit_no", "str", required=True), Attr("workers", "int")],
    CROWDED: [Attr("capacity", "int", required=True, minimum=1), Attr("kind", "str")],
    OFFICE: [Attr("employees", "int")],
}


def scene_resolve(value: str) -> str | None:
    """A scene code from its code or its Chinese or English label; None if unknown."""
    value = (value or "").strip()
    if value in SCENES:
        return value
    for code, (zh, en) in SCENES.items():
        if value == zh or value.lower() == en.lower():
            return code
    return None


def attributes_clean(*, scene: str, raw: dict | None) -> tuple[dict, list[str]]:
    """(clean attributes, messages). Values from a spreadsheet arrive as text, so numbers and
    booleans are parsed here."""
    raw = dict(raw or {})
    spec = {a.key: a for a in ATTRIBUTES.get(scene, [])}
    clean: dict = {}
    errors: list[str] = []
    for key in raw:
        if key not in spec:
            errors.append(_("场景属性“%(k)s”不适用于该场景。") % {"k": key})
    for attr in spec.values():
        value = raw.get(attr.key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if attr.required:
                errors.append(_("缺少场景属性“%(k)s”。") % {"k": attr.key})
            continue
        if attr.kind == "int":
            try:
                number = int(float(str(value).strip()))
            except ValueError:
                errors.append(_("场景属性“%(k)s”应为整数。") % {"k": attr.key})
                continue
            if number < attr.minimum:
                errors.append(
                    _("场景属性“%(k)s”不能小于 %(n)d。") % {"k": attr.key, "n": attr.minimum}
                )
                continue
            clean[attr.key] = number
        elif attr.kind == "bool":
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "是", "有", "y"}:
                clean[attr.key] = True
            elif text in {"0", "false", "no", "否", "无", "n"}:
                clean[attr.key] = False
            else:
                errors.append(_("场景属性“%(k)s”应为 是/否。") % {"k": attr.key})
        else:
            text = str(value).strip()
            if len(text) > 200:
                errors.append(_("场景属性“%(k)s”不能超过 200 个字。") % {"k": attr.key})
                continue
            clean[attr.key] = text
    return clean, errors


# Default checklists: (item code, question, English, weight, hazard level of a "no").
# Every question is phrased so that "yes" (是) is the safe answer; hazard answers are "no".
COMMON = [
    ("fire_ext", "灭火器配置齐全且在有效期内", "Extinguishers present and in date", 3, "general"),
    ("exits", "安全出口、疏散通道畅通", "Exits and escape routes clear", 4, "major"),
    ("wiring", "电气线路无私拉乱接", "No improvised wiring", 3, "general"),
]
CHECKLISTS: dict[str, list[tuple[str, str, str, int, str]]] = {
    SHOP: COMMON
    + [("gas", "燃气使用规范，装有报警器", "Gas used safely, alarm fitted", 3, "major")],
    KEY_PLACE: COMMON
    + [
        ("register", "从业人员登记完整", "Staff register complete", 2, "general"),
        ("cctv", "视频监控正常运行", "CCTV working", 2, "general"),
    ],
    RENTAL: COMMON
    + [
        ("ebike", "电动自行车未在楼道内停放充电", "No e-bikes charged indoors", 4, "major"),
        ("tenants", "租客信息已登记", "Tenants registered", 2, "general"),
    ],
    HAZCHEM: COMMON
    + [
        ("storage", "危化品分类存放、标识清楚", "Chemicals stored apart and labelled", 5, "major"),
        ("licence", "许可证件在有效期内", "Licence valid", 5, "major"),
        ("drill", "每季度开展应急演练", "Quarterly emergency drill", 2, "general"),
    ],
    LABOUR: COMMON
    + [
        ("dorm", "员工宿舍与生产区分隔", "Dormitory separated from production", 4, "major"),
        ("training", "员工安全培训有记录", "Safety training recorded", 2, "general"),
    ],
    CONSTRUCTION: [
        ("helmet", "作业人员佩戴安全帽", "Workers wear helmets", 3, "general"),
        ("scaffold", "脚手架、临边防护到位", "Scaffolds and edges protected", 5, "major"),
        ("dust", "扬尘防治措施落实", "Dust control in place", 2, "general"),
        ("crane", "起重机械检验合格", "Cranes inspected", 5, "major"),
    ],
    CROWDED: COMMON
    + [
        ("capacity", "人数未超过核定容量", "Within rated capacity", 4, "major"),
        ("lights", "应急照明、疏散指示正常", "Emergency lights and signs work", 3, "general"),
    ],
    OFFICE: COMMON + [("drill", "每年开展消防演练", "Annual fire drill", 2, "general")],
}
