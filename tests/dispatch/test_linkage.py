"""同圈联动: the handler of an urgent case calls the nearest on-duty staff of the same squad;
those called get a live message on their own channel and may join; nobody else may."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch import linkage
from events import services
from events.models import Case, CaseLog
from grids.models import LatestPosition
from grids.services import position_record
from tests.town import centre

IN_G1 = centre(0, 0)
NEAR_G1 = (IN_G1[0] + 0.004, IN_G1[1])  # ≈ 385 m east: inside G2, the same squad
IN_G3 = (IN_G1[0], IN_G1[1] - 0.002)  # ≈ 220 m south of the case, but squad Q2


@pytest.fixture(autouse=True)
def fast(settings):
    settings.WHITENOISE_USE_FINDERS = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user=user)
    return c


def urgent_case(town, categories) -> Case:
    case = services.case_report(
        source="worker",
        category=categories["06010"],
        description="燃气管道泄漏，现场有刺激性气味",
        lng=IN_G1[0],
        lat=IN_G1[1],
        grade=1,
        reporter=services.Reporter(user=town.wang),
    ).case
    services.case_transition(case_id=case.id, action="register", actor=town.li)
    services.case_transition(
        case_id=case.id, action="dispatch", actor=town.li, updates={"handler": town.wang}
    )
    return case


def on_duty(user, point, *, on=True, minutes_ago=0):
    position_record(
        staff=user,
        lng=point[0],
        lat=point[1],
        on_duty=on,
        recorded_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_the_call_reaches_the_nearest_on_duty_member_of_the_same_squad_only(
    town, categories, django_capture_on_commit_callbacks
):
    case = urgent_case(town, categories)
    on_duty(town.liu, NEAR_G1)  # grid leader of G2, squad Q1: called
    on_duty(town.zhao, IN_G3)  # nearer, but squad Q2: never called
    on_duty(town.wang, IN_G1)  # the handler himself: not called
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"dispatch.staff.{town.liu.id}", channel)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client(town.wang).post(
                f"/m/api/cases/{case.id}/call-nearby", {"client_action_id": "call-1"}, format="json"
            )
        assert response.status_code == 200, response.content
        called = response.json()["called"]
        assert [p["user_id"] for p in called] == [town.liu.id]
        assert 300 < called[0]["distance_m"] < 450
        message = None
        for _ in range(5):  # the entry's own push may come to the group too; ours carries linkage
            got = async_to_sync(layer.receive)(channel)
            if got.get("linkage"):
                message = got
                break
        assert message is not None
        assert message["type"] == "case.updated" and message["case"]["id"] == case.id
        assert message["linkage"]["for_user"] == town.liu.id
    finally:
        async_to_sync(layer.group_discard)(f"dispatch.staff.{town.liu.id}", channel)
    # the call is on the case's record, saying whom it called
    entry = CaseLog.objects.get(case=case, client_action_id="call-1")
    assert entry.data["called"][0]["user_id"] == town.liu.id
    assert "刘网格长" in entry.note
    # sending the same call again (a lost answer) calls nobody twice
    again = client(town.wang).post(
        f"/m/api/cases/{case.id}/call-nearby", {"client_action_id": "call-1"}, format="json"
    )
    assert again.status_code == 200
    assert CaseLog.objects.filter(case=case, data__kind=linkage.CALL_KIND).count() == 1


def test_off_duty_or_silent_phones_are_not_called(town, categories):
    case = urgent_case(town, categories)
    on_duty(town.liu, NEAR_G1, on=False)
    entry, called = linkage.case_call_nearby(case_id=case.id, actor=town.wang)
    assert called == [] and "没有在岗人员" in entry.note
    LatestPosition.objects.filter(staff=town.liu).delete()
    on_duty(town.liu, NEAR_G1, minutes_ago=linkage.FRESH_MINUTES + 5)  # on duty, but quiet since
    _, called = linkage.case_call_nearby(case_id=case.id, actor=town.wang)
    assert called == []
    on_duty(town.liu, NEAR_G1)
    _, called = linkage.case_call_nearby(case_id=case.id, actor=town.wang, radius_m=200)
    assert called == []  # outside the radius
    _, called = linkage.case_call_nearby(case_id=case.id, actor=town.wang, radius_m=1000)
    assert [p.user_id for p in called] == [town.liu.id]


def test_only_the_handler_or_the_centre_may_call(town, categories):
    case = urgent_case(town, categories)
    assert client(town.sun).post(f"/m/api/cases/{case.id}/call-nearby").status_code == 403
    assert client(town.zhao).post(f"/m/api/cases/{case.id}/call-nearby").status_code == 404
    assert client(town.li).post(f"/m/api/cases/{case.id}/call-nearby").status_code == 200


def test_a_squad_member_joins_once_and_sees_the_case_another_squad_may_not(town, categories):
    case = urgent_case(town, categories)
    on_duty(town.liu, NEAR_G1)
    linkage.case_call_nearby(case_id=case.id, actor=town.wang)
    liu = client(town.liu)
    # called: the phone lists the call and may open the case's joint view
    inbox = liu.get("/m/api/inbox").json()
    assert [c["case"]["id"] for c in inbox["calls"]] == [case.id]
    assert liu.get(f"/m/api/cases/{case.id}/joint").status_code == 200
    first = liu.post(
        f"/api/cases/{case.id}/actions/join", {"client_action_id": "j-1"}, format="json"
    )
    assert first.status_code == 200, first.content
    assert first.json()["entry"]["action"] == "join"
    again = liu.post(
        f"/api/cases/{case.id}/actions/join", {"client_action_id": "j-2"}, format="json"
    )
    assert again.status_code == 200
    assert CaseLog.objects.filter(case=case, action="join").count() == 1
    assert Case.objects.get(id=case.id).extra.get("joint_at")  # the "135" joint response is met
    assert liu.get("/m/api/inbox").json()["calls"][0]["joined"] is True
    # another squad: the same 404 as for a case that does not exist, and nothing logged
    zhao = client(town.zhao)
    assert zhao.post(f"/api/cases/{case.id}/actions/join", format="json").status_code == 404
    assert zhao.get(f"/m/api/cases/{case.id}/joint").status_code == 404
    assert CaseLog.objects.filter(case=case, action="join").count() == 1


def test_field_case_page_refuses_another_grids_case(town, categories):
    case = urgent_case(town, categories)
    from django.test import Client

    zhao = Client()
    zhao.force_login(town.zhao)
    page = zhao.get(f"/m/cases/{case.id}/")
    assert page.status_code == 404
    assert "无权查看" in page.content.decode()
    wang = Client()
    wang.force_login(town.wang)
    assert wang.get(f"/m/cases/{case.id}/").status_code == 200
    sw = wang.get("/m/sw.js")
    assert sw.status_code == 200 and sw["Service-Worker-Allowed"] == "/m/"
    manifest = wang.get("/m/manifest.webmanifest").json()
    assert manifest["scope"] == "/m/" and manifest["display"] == "standalone"


def test_an_emergency_calls_its_circle_once_by_itself_other_grades_do_not(town, categories):
    case = urgent_case(town, categories)
    on_duty(town.liu, NEAR_G1)
    entry = linkage.case_call_if_urgent(case_id=case.id)
    assert entry is not None and entry.data["called"][0]["user_id"] == town.liu.id
    assert linkage.case_call_if_urgent(case_id=case.id) is None  # once per case
    Case.objects.filter(id=case.id).update(grade=3)
    other = urgent_case(town, categories)
    Case.objects.filter(id=other.id).update(grade=3)
    assert linkage.case_call_if_urgent(case_id=other.id) is None
