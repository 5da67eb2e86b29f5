"""The dispatch APIs as the console uses them: dispatch and re-dispatch with field-level errors
and role checks, the recommendation, the commander's orders, answer templates and replies."""

import pytest
from rest_framework.test import APIClient

from dispatch.models import AnswerTemplate, Assignment, Department, Order, Plan, PlanUnit, Team
from events import services
from events.models import Case, CaseLog
from tests.town import centre

IN_G1 = centre(0, 0)
IN_G3 = centre(0, 1)


@pytest.fixture(autouse=True)
def fast(settings):
    settings.WHITENOISE_USE_FINDERS = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def report(categories, point=IN_G1, code="06010", **kwargs) -> Case:
    return services.case_report(
        source="resident",
        category=categories[code],
        description="人行道上堆了垃圾",
        address="文一西路 1 号",
        lng=point[0],
        lat=point[1],
        reporter=services.Reporter(phone="13812345678", label="市民"),
        **kwargs,
    ).case


@pytest.fixture
def units(town):
    city = Department.objects.create(code="CG", name="城管中队")
    police = Department.objects.create(code="GA", name="派出所")
    team = Team.objects.create(department=city, code="CG-1", name="一组", lead=town.liu)
    return {"city": city, "police": police, "team": team}


def test_an_unknown_department_is_refused_with_a_field_message(town, categories, units):
    case = report(categories)
    r = as_user(town.li).post(
        f"/api/cases/{case.id}/dispatch", {"department": 99999}, format="json"
    )
    assert r.status_code == 400
    assert "department" in r.json()["fields"] and "99999" in r.json()["fields"]["department"][0]
    assert Case.objects.get(id=case.id).status == "reported"  # nothing written
    assert not Assignment.objects.filter(case=case).exists()


def test_dispatch_with_no_target_names_the_missing_field(town, categories, units):
    case = report(categories)
    r = as_user(town.li).post(f"/api/cases/{case.id}/dispatch", {"note": "快"}, format="json")
    assert r.status_code == 400 and "department" in r.json()["fields"]


def test_a_grid_worker_may_not_dispatch_even_a_case_of_his_own_grid(town, categories, units):
    case = report(categories)
    r = as_user(town.wang).post(
        f"/api/cases/{case.id}/dispatch", {"department": units["city"].id}, format="json"
    )
    assert r.status_code == 403
    assert Case.objects.get(id=case.id).status == "reported"


def test_a_case_outside_the_users_scope_is_not_found(town, categories, units):
    case = report(categories, point=IN_G3)
    r = as_user(town.sun).get(f"/api/cases/{case.id}/recommendation")
    assert r.status_code == 404


def test_an_operator_dispatches_to_a_team_and_redispatches_to_a_department(town, categories, units):
    case = report(categories)
    li = as_user(town.li)
    r = li.post(
        f"/api/cases/{case.id}/dispatch",
        {"team": units["team"].id, "note": "请尽快处理"},
        format="json",
    )
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["case"]["status"] == "dispatched"
    assert body["case"]["handler"]["id"] == town.liu.id  # the team's lead
    actions = list(CaseLog.objects.filter(case=case).values_list("action", flat=True))
    assert actions[-2:] == ["register", "dispatch"]  # registered on the way

    r = li.post(f"/api/cases/{case.id}/dispatch", {"department": units["police"].id}, format="json")
    assert r.status_code == 200
    rows = list(Assignment.objects.filter(case=case).order_by("id"))
    assert [(a.team_id, a.department_id, a.active) for a in rows] == [
        (units["team"].id, units["city"].id, False),
        (None, units["police"].id, True),
    ]


def test_dispatch_as_recommended_falls_back_to_the_grids_own_worker(town, categories, units):
    case = report(categories)
    r = as_user(town.li).get(f"/api/cases/{case.id}/recommendation")
    assert r.status_code == 200
    body = r.json()
    assert body["recommendation"]["ids"] == {"user": town.wang.id}
    assert body["recommendation"]["reasons"] and "A-01" in body["recommendation"]["reasons"][0]
    assert [w["id"] for w in body["candidates"]["grid_workers"]] == [town.wang.id]
    assert {d["code"] for d in body["candidates"]["departments"]} == {"CG", "GA"}

    r = as_user(town.li).post(f"/api/cases/{case.id}/dispatch", {"suggested": True}, format="json")
    assert r.status_code == 200
    assert Case.objects.get(id=case.id).handler_id == town.wang.id


def test_a_plan_calls_its_lead_and_assisting_units(town, categories, units):
    plan = Plan.objects.create(name="火灾联动", mode="recommend")
    PlanUnit.objects.create(plan=plan, department=units["city"], role="lead")
    PlanUnit.objects.create(plan=plan, department=units["police"], role="assist", sort=1)
    case = report(categories)
    r = as_user(town.chen).post(f"/api/cases/{case.id}/dispatch", {"plan": plan.id}, format="json")
    assert r.status_code == 200, r.json()
    active = Assignment.objects.filter(case=case, active=True)
    assert sorted((a.role, a.department_id) for a in active) == [
        ("assist", units["police"].id),
        ("lead", units["city"].id),
    ]


def test_the_commander_orders_a_unit_and_it_becomes_a_dispatched_case(town, categories, units):
    r = as_user(town.chen).post(
        "/api/orders",
        {
            "team": units["team"].id,
            "text": "今晚 20 点前清理文一西路占道经营",
            "lng": IN_G1[0],
            "lat": IN_G1[1],
        },  # fmt: skip
        format="json",
    )
    assert r.status_code == 201, r.json()
    order = Order.objects.get()
    case = order.case
    assert case.source == "order" and case.status == "dispatched"
    assert case.handler_id == town.liu.id and order.issued_by_id == town.chen.id
    assert r.json()["case"]["number"] == case.number


def test_an_operator_may_not_issue_orders_and_an_order_needs_a_unit(town, categories, units):
    r = as_user(town.li).post(
        "/api/orders", {"department": units["city"].id, "text": "x"}, format="json"
    )
    assert r.status_code == 403
    r = as_user(town.chen).post("/api/orders", {"text": "没有接收方"}, format="json")
    assert r.status_code == 400 and "department" in r.json()["fields"]
    r = as_user(town.chen).post(
        "/api/orders", {"department": 424242, "text": "未知部门"}, format="json"
    )
    assert r.status_code == 400 and "department" in r.json()["fields"]
    assert not Order.objects.exists() and not Case.objects.filter(source="order").exists()


def test_answer_templates_by_state_and_a_reply_the_reporter_can_read(town, categories):
    on_register = AnswerTemplate.objects.create(
        name="已立案", action="register", text="您反映的{category}问题（{number}）已立案。"
    )
    manual = AnswerTemplate.objects.create(name="通用", action="", text="感谢您的监督。")
    AnswerTemplate.objects.create(name="结案", action="close", text="已办结。")
    case = report(categories)
    li = as_user(town.li)
    r = li.get("/api/answer-templates", {"status": "registered"})
    assert r.status_code == 200
    assert [t["id"] for t in r.json()["results"]] == [on_register.id, manual.id]
    assert li.get("/api/answer-templates", {"status": "nope"}).status_code == 400

    r = li.post(f"/api/cases/{case.id}/reply", {"template": on_register.id}, format="json")
    assert r.status_code == 200, r.json()
    entry = CaseLog.objects.filter(case=case, action="reply").get()
    assert entry.note == f"您反映的{case.category.name}问题（{case.number}）已立案。"
    assert entry.actor_id == town.li.id
    # The reporter sees it on the tracking page.
    track = APIClient().get(f"/api/track/{case.tracking_token}")
    assert entry.note in str(track.json())

    r = li.post(f"/api/cases/{case.id}/reply", {"template": 777}, format="json")
    assert r.status_code == 400 and "template" in r.json()["fields"]
    r = li.post(f"/api/cases/{case.id}/reply", {"text": "  "}, format="json")
    assert r.status_code == 400 and "text" in r.json()["fields"]
    r = as_user(town.zhao).post(f"/api/cases/{case.id}/reply", {"text": "hi"}, format="json")
    assert r.status_code == 404  # not his grid


def test_an_automatic_template_answers_the_reporter_when_the_case_is_registered(
    town, categories, django_capture_on_commit_callbacks
):
    from dispatch.replies import auto_cache_clear

    AnswerTemplate.objects.create(
        name="自动立案", action="register", auto_send=True, text="{number} 已立案，我们会尽快处理。"
    )
    auto_cache_clear()
    case = report(categories)
    with django_capture_on_commit_callbacks(execute=True):
        r = as_user(town.li).post(f"/api/cases/{case.id}/actions/register", {}, format="json")
    assert r.status_code == 200
    replies = list(CaseLog.objects.filter(case=case, action="reply"))
    assert [e.note for e in replies] == [f"{case.number} 已立案，我们会尽快处理。"]
    assert replies[0].data["auto"] is True


def test_errors_come_in_english_when_the_client_asks_for_it(town, categories, units):
    case = report(categories)
    r = as_user(town.li).post(
        f"/api/cases/{case.id}/dispatch",
        {"department": 99999},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert r.status_code == 400
    assert r.json()["fields"]["department"] == ["No such department: 99999"]


def test_the_recommendation_is_the_routers_rule_and_its_reasons(town, categories, units):
    from dispatch.models import RoutingRule
    from dispatch.services import case_route

    rule = RoutingRule.objects.create(
        name="垃圾归城管", order=1, mode="recommend", target="department", department=units["city"]
    )
    rule.categories.add(categories["06010"])
    case = report(categories)
    case_route(case_id=case.id)
    body = as_user(town.li).get(f"/api/cases/{case.id}/recommendation").json()
    rec = body["recommendation"]
    assert rec["source"] == "routing" and rec["ids"] == {"department": units["city"].id}
    assert rec["rule"]["name"] == "垃圾归城管" and "垃圾归城管" in rec["reasons"][0]
    html = _console_case_html(town.li, case)
    assert "垃圾归城管" in html and "城管中队" in html

    r = as_user(town.li).post(f"/api/cases/{case.id}/dispatch", {"suggested": True}, format="json")
    assert r.status_code == 200
    assert Assignment.objects.get(case=case, active=True).department_id == units["city"].id


def test_when_no_rule_fires_the_routers_words_stay_beside_the_fallback(town, categories):
    from dispatch.services import case_route

    case = report(categories)
    case_route(case_id=case.id)
    rec = as_user(town.li).get(f"/api/cases/{case.id}/recommendation").json()["recommendation"]
    assert rec["source"] == "grid_worker" and rec["ids"] == {"user": town.wang.id}
    assert len(rec["reasons"]) == 2 and "A-01" in rec["reasons"][-1]


def _console_case_html(user, case) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.get(f"/console/cases/{case.id}/").content.decode()
