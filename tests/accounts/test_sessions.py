"""A staff session: what keeps it alive and what ends it. A session and its user are read by
accounts.sessions (one plain query) and handed to accounts.auth.StaffBackend; these tests hold
them to what Django's own session store and ModelBackend promise."""

import datetime
import time

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.auth import StaffBackend
from accounts.middleware import SESSION_LAST_SEEN
from accounts.models import Session, User
from accounts.sessions import SessionStore
from tests.town import PASSWORD

ME = reverse("accounts:me")


def logged_in(username: str) -> Client:
    client = Client()
    response = client.post(
        reverse("accounts:api-login"),
        {"username": username, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return client


def test_a_logged_in_session_answers_as_its_user(town):
    assert logged_in("wang").get(ME).json()["username"] == "wang"


def test_activity_is_written_at_most_once_a_minute_and_keeps_the_session_alive(town):
    client = logged_in("wang")
    key = client.cookies[settings.SESSION_COOKIE_NAME].value

    def last_seen() -> float:
        return SessionStore(key).load()[SESSION_LAST_SEEN]

    at_login = last_seen()
    assert client.get(ME).status_code == 200 and last_seen() == at_login  # no write yet
    nearly_idle = time.time() - settings.SESSION_IDLE_TIMEOUT_MINUTES * 60 + 30
    session = client.session
    session[SESSION_LAST_SEEN] = nearly_idle
    session.save()
    assert client.get(ME).status_code == 200
    assert last_seen() > nearly_idle + 25  # stamped again: the timeout starts over
    assert client.get(ME).status_code == 200


def test_a_session_cookie_no_longer_works_after_logout(town):
    client = logged_in("wang")
    stolen = Client()
    stolen.cookies = client.cookies  # the same cookie, kept by someone else
    assert stolen.get(ME).status_code == 200
    assert client.post(reverse("accounts:api-logout")).status_code == 204
    assert stolen.get(ME).status_code == 403


def test_an_expired_session_is_anonymous(town):
    client = logged_in("wang")
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    assert client.get(ME).status_code == 403


def test_a_deactivated_user_is_anonymous_at_the_next_request(town):
    client = logged_in("wang")
    User.objects.filter(pk=town.wang.pk).update(is_active=False)
    assert client.get(ME).status_code == 403


def test_a_new_password_ends_the_users_other_sessions(town):
    phone, desk = logged_in("wang"), logged_in("wang")
    town.wang.set_password("Sandun-Grid-77")
    town.wang.save(update_fields=["password"])
    assert phone.get(ME).status_code == 403 and desk.get(ME).status_code == 403


def test_a_session_started_under_djangos_model_backend_stays_logged_in(town):
    """Sessions started before StaffBackend name Django's ModelBackend: a deploy must not log
    their users out."""
    client = logged_in("wang")
    session = client.session
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session.save()
    assert client.get(ME).json()["username"] == "wang"


def test_the_session_user_has_every_field_the_orm_would_load(town):
    town.wang.last_login = timezone.now()
    town.wang.save(update_fields=["last_login"])
    loaded = StaffBackend().get_user(town.wang.pk)
    expected = User.objects.get(pk=town.wang.pk)
    for field in User._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(expected, field.attname), field.name
    assert loaded._state.adding is False and loaded._state.db == "default"
    assert StaffBackend().get_user(0) is None


def user_reads(queries) -> list[str]:
    """The reads of a user row among ``queries``: the session store's prepared join (EXECUTE;
    its PREPARE, the first time on a connection, is not a read), or a query of its own."""
    reads = []
    for q in queries:
        sql = q["sql"]
        if sql.startswith("EXECUTE accounts_session_load"):
            reads.append("session and user")
        elif "accounts_user" in sql and not sql.startswith("PREPARE"):
            reads.append("user")
    return reads


def test_a_request_reads_its_session_and_user_in_one_query(town):
    client = logged_in("wang")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).json()["username"] == "wang"
    assert user_reads(queries) == ["session and user"]
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.get(session_key=key).user_id == town.wang.pk


def test_a_session_without_its_user_column_still_answers_as_its_user(town):
    """Sessions copied over at the deploy (accounts 0005) have no user column yet."""
    client = logged_in("wang")
    Session.objects.update(user=None)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).json()["username"] == "wang"
    assert user_reads(queries) == ["session and user", "user"]  # the join, then its own


def test_deleting_a_user_ends_their_sessions(town):
    """(An account with audit records is only ever deactivated; one without can be deleted.)"""
    temp = User.objects.create_user("temp", password=PASSWORD, role=town.wang.role)
    client = Client()
    client.force_login(temp)
    assert client.get(ME).json()["username"] == "temp"
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    temp.delete()
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get(ME).status_code == 403
