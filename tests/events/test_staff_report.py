"""A grid worker's report as the field app sends it: logged in through the login API, the
session cookie and the CSRF token on POST /api/cases/ (JSON)."""

from datetime import datetime

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from events.models import Case
from tests.events.conftest import IN_G1, OUTSIDE
from tests.town import PASSWORD


@pytest.fixture
def phone(town, categories) -> Client:
    """Wang's phone, logged in; CSRF is checked as in production."""
    client = Client(enforce_csrf_checks=True)
    r = client.post(
        reverse("accounts:api-login"),
        {"username": "wang", "password": PASSWORD},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    client.defaults["HTTP_X_CSRFTOKEN"] = r.json()["csrf_token"]
    return client


def instants(summary: dict) -> dict:
    """The summary with its times as instants (a new case's deadlines are in the town's offset,
    a stored case's in UTC: the same moments)."""
    return {
        k: datetime.fromisoformat(v) if k.endswith(("_at", "_due")) and v else v
        for k, v in summary.items()
    }


@pytest.mark.parametrize(
    "place",
    [
        {"lng": IN_G1[0], "lat": IN_G1[1]},
        {"lng": OUTSIDE[0], "lat": OUTSIDE[1], "address": "上海市人民广场"},
        {"address": "三墩镇兰里路 8 号"},
    ],
    ids=["in-a-grid", "outside-the-town", "address-only"],
)
def test_the_answer_to_a_report_is_the_case_as_the_case_list_shows_it(phone, town, place):
    """The answer is the case's full summary, as the case list shows it (seen here by the seat
    operator: a report outside every grid lies beyond Wang's own scope)."""
    desk = Client()
    desk.force_login(town.li)
    r = phone.post(
        "/api/cases/",
        {"category": "09005", "source": "worker", "description": "店外经营占用人行道", **place},
        content_type="application/json",
    )
    assert r.status_code == 201, r.json()
    answer = r.json()
    assert answer.pop("created") is True
    warnings = answer.pop("warnings")
    assert bool(warnings) == (place.get("lng") == OUTSIDE[0])
    listed = [c for c in desk.get("/api/cases/").json()["results"] if c["id"] == answer["id"]]
    assert [instants(answer)] == [instants(c) for c in listed]
    case = Case.objects.get(id=answer["id"])
    assert case.reporter_user_id == town.wang.id and answer["number"] == case.number


def test_a_report_sent_again_with_its_action_id_answers_with_the_first_case(phone):
    body = {"category": "09005", "source": "worker", "address": "兰里路 8 号",
            "client_action_id": "wang-phone-0001"}  # fmt: skip
    first = phone.post("/api/cases/", body, content_type="application/json")
    again = phone.post("/api/cases/", body, content_type="application/json")
    assert (first.status_code, again.status_code) == (201, 200)
    first_answer, again_answer = first.json(), again.json()
    assert again_answer.pop("created") is False and first_answer.pop("created") is True
    assert instants(again_answer) == instants(first_answer)
    assert Case.objects.count() == 1


def refused(phone) -> bool:
    """A plain report is answered 403 with the error body, and no case is written."""
    r = phone.post(
        "/api/cases/",
        {"category": "09005", "source": "worker", "address": "兰里路 8 号"},
        content_type="application/json",
    )
    return (
        r.status_code == 403
        and set(r.json()) == {"message", "fields"}
        and not Case.objects.exists()
    )


def test_a_report_without_the_csrf_token_is_refused_with_the_error_body(phone):
    del phone.defaults["HTTP_X_CSRFTOKEN"]
    assert refused(phone)


def test_a_report_after_logout_is_refused_with_the_error_body(phone):
    assert phone.post(reverse("accounts:api-logout")).status_code == 204
    assert refused(phone)


def test_a_deactivated_workers_report_is_refused(phone, town):
    User.objects.filter(pk=town.wang.pk).update(is_active=False)
    assert refused(phone)


def test_a_bad_report_names_its_fields_in_english_when_asked(phone):
    r = phone.post(
        "/api/cases/",
        {"category": "09005", "source": "worker", "lng": "east", "grade": 7},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert r.status_code == 400
    assert r.json()["fields"]["lng"] == ["Must be a number."]
    assert Case.objects.count() == 0


def test_a_body_that_is_not_json_is_a_400_with_the_error_body(phone):
    r = phone.post("/api/cases/", "{not json", content_type="application/json")
    assert r.status_code == 400 and set(r.json()) == {"message", "fields"}
