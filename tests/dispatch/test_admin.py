"""The dispatch admin as a district admin uses it: every list opens, the routing table is
reordered and switched in its list, a plan gets its units inline, and dispatch history cannot
be edited by hand. Other staff do not get in."""

import pytest
from django.test import Client

from dispatch.models import Assignment, Department, Plan, RoutingRule
from events import services
from tests.town import centre


@pytest.fixture(autouse=True)
def fast(settings):
    settings.WHITENOISE_USE_FINDERS = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


MODELS = (
    "department", "team", "routingrule", "categorydispatch", "graderule", "plan", "dutyrota",
    "order", "answertemplate", "assignment",
)  # fmt: skip


def test_every_dispatch_list_opens_for_the_district_admin(town):
    admin = page_client(town.admin)
    for model in MODELS:
        r = admin.get(f"/admin/dispatch/{model}/")
        assert r.status_code == 200, model
        r = admin.get(f"/admin/dispatch/{model}/add/")
        expected = 403 if model in ("assignment", "order") else 200
        assert r.status_code == expected, model


def test_routing_rules_are_reordered_and_switched_in_the_list(town):
    city = Department.objects.create(code="CG", name="城管中队")
    first = RoutingRule.objects.create(
        name="占道经营", order=10, target="department", department=city
    )
    second = RoutingRule.objects.create(name="夜间噪音", order=20, target="grid_worker")
    admin = page_client(town.admin)
    form = {
        "form-TOTAL_FORMS": "2", "form-INITIAL_FORMS": "2", "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(first.id), "form-0-order": "30", "form-0-active": "on", "form-0-mode": "auto",
        "form-1-id": str(second.id), "form-1-order": "5", "form-1-mode": "recommend",
        "_save": "保存",
    }  # fmt: skip
    r = admin.post("/admin/dispatch/routingrule/", form)
    assert r.status_code == 302, r.content.decode()[:2000]
    assert list(RoutingRule.objects.values_list("name", "order", "active", "mode")) == [
        ("夜间噪音", 5, False, "recommend"),
        ("占道经营", 30, True, "auto"),
    ]
    html = admin.get("/admin/dispatch/routingrule/").content.decode()
    assert html.index("夜间噪音") < html.index("占道经营")  # the list shows the order tried


def test_a_plan_is_saved_with_its_units_inline(town):
    city = Department.objects.create(code="CG", name="城管中队")
    police = Department.objects.create(code="GA", name="派出所")
    admin = page_client(town.admin)
    data = {
        "name": "燃气泄漏联动", "order": "10", "active": "on", "min_grade": "1", "mode": "auto",
        "note": "",
        "units-TOTAL_FORMS": "2", "units-INITIAL_FORMS": "0", "units-MIN_NUM_FORMS": "0",
        "units-MAX_NUM_FORMS": "1000",
        "units-0-role": "lead", "units-0-department": str(city.id), "units-0-sort": "0",
        "units-1-role": "assist", "units-1-department": str(police.id), "units-1-sort": "1",
    }  # fmt: skip
    r = admin.post("/admin/dispatch/plan/add/", data)
    assert r.status_code == 302, r.content.decode()[:3000]
    plan = Plan.objects.get(name="燃气泄漏联动")
    assert [(u.role, u.department_id) for u in plan.units.all()] == [
        ("lead", city.id),
        ("assist", police.id),
    ]


def test_dispatch_history_is_read_only_and_other_staff_stay_out(town, categories):
    city = Department.objects.create(code="CG", name="城管中队")
    case = services.case_report(
        source="resident",
        category=categories["06010"],
        description="垃圾",
        lng=centre(0, 0)[0],
        lat=centre(0, 0)[1],
    ).case
    from dispatch.services import case_dispatch

    case_dispatch(case_id=case.id, actor=town.li, department=city)
    assignment = Assignment.objects.get(case=case)
    admin = page_client(town.admin)
    r = admin.get(f"/admin/dispatch/assignment/{assignment.id}/change/")
    assert r.status_code == 200 and 'name="department"' not in r.content.decode()
    r = admin.post(f"/admin/dispatch/assignment/{assignment.id}/delete/", {"post": "yes"})
    assert r.status_code == 403 and Assignment.objects.filter(id=assignment.id).exists()

    for user in (town.li, town.wang):
        r = page_client(user).get("/admin/dispatch/routingrule/")
        assert r.status_code in (302, 403)
