"""The shipped taxonomy: GB/T 47678.5-2026 codes (5 digits, 大类 2 + 小类 3), the legacy GB/T
30428.2 4-digit codes as aliases, the town's own scenes, and for every category a default grade
and a deadline for every step. Loading is idempotent and never overwrites what admins tuned."""

import importlib
import re

import pytest

from cockpit.errors import ApplicationError
from events import services, taxonomy_data
from events.deadlines import policy_for
from events.models import CalendarDay, Category, DeadlinePolicy
from events.taxonomy import taxonomy_load
from events.templatetags.category_icons import PATHS, category_icon

# The town's own scenes (issue 3) → where the shipped taxonomy puts each one.
TOWN_SCENES = {
    "illegal parking": ("matter", "09009", "机动车乱停放"),
    "shop-front trading": ("matter", "09005", "店外经营"),
    "muck dumping": ("matter", "06011", "积存垃圾渣土"),
    "garbage piles": ("matter", "06010", "暴露垃圾"),
    "e-bike rider without helmet": ("scene", "L0011", "电动自行车骑乘未戴头盔"),
    "river floating waste": ("matter", "06025", "水域不洁"),
    "fire alarm": ("scene", "L0001", "火警"),
    "dispute": ("scene", "L0007", "矛盾纠纷"),
    "public-security incident": ("scene", "L0006", "治安事件"),
    "safety hazard": ("scene", "L0008", "安全隐患"),
    "elder-care alarm": ("scene", "L0013", "长者看护告警"),
    "enterprise demand": ("scene", "L0015", "企业诉求"),
}


def test_standard_codes_are_five_digits_under_their_major_class(categories):
    standard = Category.objects.filter(standard_ref="GB/T 47678.5-2026")
    assert standard.count() > 100
    for c in standard:
        assert re.fullmatch(r"\d{5}", c.code), c.code
        assert not c.is_local_extension
        major_name, _en = taxonomy_data.MAJORS[(c.kind, c.code[:2])]
        assert c.major_name == major_name
    # 部件 and 事项 share codes 01001–05009; the 事项 is the 部件's "异常" (standards.md §1.1).
    cover = Category.objects.get(kind="component", code="01001")
    fault = Category.objects.get(kind="matter", code="01001")
    assert (cover.name, fault.name) == ("供水井盖", "供水井盖异常")
    assert Category.objects.get(kind="matter", code="06010").major_name == "市容环境类"
    assert Category.objects.get(kind="matter", code="09009").major_name == "街面秩序类"


@pytest.mark.parametrize(
    "legacy, code, name",
    [("0101", "01001", "供水井盖"), ("0118", "01037", "路灯"), ("0603", "01069", "水域附属设施"),
     ("0305", "03005", "垃圾箱"), ("0406", "04006", "雕塑")],
)  # fmt: skip
def test_legacy_30428_codes_resolve_to_the_new_component(categories, legacy, code, name):
    found = services.category_resolve(code=legacy)
    assert (found.kind, found.code, found.name, found.legacy_code) == (
        "component",
        code,
        name,
        legacy,
    )


def test_a_shared_code_resolves_to_the_matter_unless_the_kind_is_asked(categories):
    assert services.category_resolve(code="01037").kind == "matter"
    assert services.category_resolve(code="01037", kind="component").name == "路灯"
    assert services.category_resolve(code=" 06010 ").name == "暴露垃圾"


def test_an_unknown_or_inactive_code_is_a_field_error(categories):
    with pytest.raises(ApplicationError) as err:
        services.category_resolve(code="9999")
    assert "category" in err.value.fields
    Category.objects.filter(code="06010").update(active=False)
    with pytest.raises(ApplicationError):
        services.category_resolve(code="06010")


@pytest.mark.parametrize("scene", sorted(TOWN_SCENES))
def test_every_town_scene_is_there_with_a_grade_and_a_deadline_for_every_step(categories, scene):
    kind, code, name = TOWN_SCENES[scene]
    c = Category.objects.get(kind=kind, code=code)
    assert c.name == name and c.active and c.name_en
    assert c.default_grade in (1, 2, 3)
    assert c.is_local_extension == (kind == "scene")
    for step in ("register", "accept", "arrive", "resolve"):
        policy = policy_for(category=c, grade=c.default_grade, step=step)
        assert policy is not None and policy.amount > 0, (scene, step)


def test_emergencies_are_grade_one_and_everyday_things_grade_three(categories):
    grade = {c.code: c.default_grade for c in Category.objects.filter(kind="scene")}
    assert grade["L0001"] == grade["L0002"] == grade["L0003"] == grade["L0004"] == 1
    assert grade["L0013"] == 2 and grade["L0006"] == 2
    assert Category.objects.get(kind="matter", code="06010").default_grade == 3
    assert Category.objects.get(kind="matter", code="09012").default_grade == 2  # fire lane


def test_machine_types_map_to_existing_categories(categories):
    tables = [
        taxonomy_data.DETECTION_TYPES,
        taxonomy_data.IOT_ALARM_TYPES,
        *taxonomy_data.ALARM_TYPES.values(),
    ]
    for table in tables:
        for type_name, (kind, code) in table.items():
            assert Category.objects.filter(kind=kind, code=code, active=True).exists(), type_name


def test_the_resident_list_is_short_and_every_entry_has_an_icon(categories):
    short = Category.objects.filter(resident_visible=True)
    assert 8 <= short.count() <= 15
    assert all(c.icon in Category.Icon.values for c in short)
    assert short.filter(code="L0099").exists()  # "其他" for what fits nowhere


def test_every_icon_name_is_drawn_and_an_unknown_one_gets_the_generic_icon():
    assert set(PATHS) == set(Category.Icon.values)
    assert 'data-icon="car"' in category_icon("car") and "<path" in category_icon("car")
    for unknown in ("", "🚗", "unicorn"):
        assert category_icon(unknown) == category_icon("") and "<circle" in category_icon("")


def test_the_migration_turns_the_shipped_emoji_into_names(categories):
    from django.apps import apps

    migration = importlib.import_module("events.migrations.0008_category_icon_names")
    garbage = Category.objects.get(kind="matter", code="06010")
    hazard = Category.objects.get(kind="scene", code="L0008")
    Category.objects.filter(id=garbage.id).update(icon="🗑️")
    Category.objects.filter(id=hazard.id).update(icon="⚠")
    Category.objects.filter(kind="matter", code="09009").update(icon="🦄")
    migration.to_names(apps, None)
    icons = dict(Category.objects.filter(icon__gt="").values_list("code", "icon"))
    assert icons["06010"] == "trash" and icons["L0008"] == "hazard"
    assert "09009" not in icons  # no name for it: blank, the generic icon
    assert set(icons.values()) <= set(Category.Icon.values)


def test_loading_again_changes_nothing_and_keeps_what_admins_tuned(categories):
    garbage = Category.objects.get(kind="matter", code="06010")
    garbage.default_grade, garbage.icon = 2, "box"
    garbage.save()
    policy = DeadlinePolicy.objects.get(category=garbage, step="resolve", grade__isnull=True)
    policy.amount = 9
    policy.save()
    counts = (Category.objects.count(), DeadlinePolicy.objects.count(), CalendarDay.objects.count())
    result = taxonomy_load()
    assert (result.categories_created, result.policies_created, result.calendar_created) == (
        0,
        0,
        0,
    )
    assert counts == (
        Category.objects.count(),
        DeadlinePolicy.objects.count(),
        CalendarDay.objects.count(),
    )
    garbage.refresh_from_db()
    policy.refresh_from_db()
    assert (garbage.default_grade, garbage.icon, policy.amount) == (2, "box", 9)
    taxonomy_load(overwrite=True)
    garbage.refresh_from_db()
    policy.refresh_from_db()
    assert (garbage.default_grade, garbage.icon, policy.amount) == (3, "trash", 4)


def test_the_load_taxonomy_command_runs(categories):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("load_taxonomy", stdout=out)
    assert "categories +0" in out.getvalue()


def test_default_departments_are_a_town_setting_not_part_of_the_taxonomy(categories):
    # The taxonomy cannot know a town's departments: the default department of a category is
    # dispatch.models.CategoryDispatch, set in the admin (the demo town fills it by 大类).
    from dispatch.models import CategoryDispatch, Department

    assert CategoryDispatch.objects.count() == 0
    department = Department.objects.create(name="城管办", code="cgb")
    garbage = Category.objects.get(kind="matter", code="06010")
    CategoryDispatch.objects.create(category=garbage, department=department)
    assert garbage.dispatch_default.department.name == "城管办"
