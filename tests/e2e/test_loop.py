"""The whole closed loop through the real moving parts: a resident's report over HTTP, a real
Celery worker routing it by a rule, the handler's websocket receiving it, the handler resolving
with a photo, the centre verifying and closing, the reporter rating — and the log holding every
step in order."""

import pytest
import requests

from dispatch.models import RoutingRule
from events.models import Case, CaseLog
from tests.e2e.clients import jpeg, login, recv_until, reset_rate_limits, taxonomy, ws_connect
from tests.town import centre

pytestmark = pytest.mark.django_db(transaction=True)

IN_G1 = centre(0, 0)


def test_report_routed_pushed_handled_verified_rated(live_server_url, live_town, celery_worker):
    taxonomy()
    reset_rate_limits()
    RoutingRule.objects.create(name="垃圾→本网格网格员", target="grid_worker", mode="auto")
    wang = login(live_server_url, "wang")
    li = login(live_server_url, "li")

    with ws_connect(live_server_url, "/ws/live/", wang) as ws:
        recv_until(ws, lambda m: m["type"] == "ready")
        resident = requests.Session()
        resident.headers["Referer"] = live_server_url + "/report"
        answer = resident.post(
            live_server_url + "/api/report",
            data={"category": "06010", "description": "小区门口垃圾堆了三天", "lng": IN_G1[0],
                  "lat": IN_G1[1], "phone": "13912345678"},
            files={"photos": ("a.jpg", jpeg(), "image/jpeg")},
            timeout=10,
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
        number, tracking = answer.json()["number"], answer.json()["tracking_url"]
        case = Case.objects.get(number=number)

        pushed, _ = recv_until(
            ws,
            lambda m: (
                m["type"] == "case.updated"
                and m["case"]["id"] == case.id
                and m["entry"]["action"] == "dispatch"
            ),
            timeout=15,
        )
        assert pushed["case"]["status"] == "dispatched"

    def act(session, action, **kw):
        r = session.post(
            f"{live_server_url}/api/cases/{case.id}/actions/{action}", timeout=10, **kw
        )
        assert r.status_code == 200, (action, r.text)

    act(wang, "accept")
    act(wang, "arrive", json={"lng": IN_G1[0], "lat": IN_G1[1]})
    act(
        wang,
        "resolve",
        data={"note": "已清运"},
        files={"photos": ("after.jpg", jpeg((40, 160, 60)), "image/jpeg")},
    )
    act(li, "verify")
    act(li, "close")
    rated = requests.post(
        f"{live_server_url}/api{tracking.replace('/t/', '/track/')}/rate",
        json={"rating": "satisfied", "comment": "很快"},
        headers={"Referer": live_server_url + tracking},
        timeout=10,
    )
    assert rated.status_code == 200, rated.text

    actions = list(
        CaseLog.objects.filter(case=case).order_by("id").values_list("action", flat=True)
    )
    assert actions == [
        "report", "route", "register", "dispatch", "accept", "arrive", "resolve", "verify",
        "close", "rate",
    ]  # fmt: skip
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED and case.rating == "satisfied"
    assert case.attachments.filter(stage="resolve").count() == 1
    route = CaseLog.objects.get(case=case, action="route")
    assert "垃圾→本网格网格员" in route.note
