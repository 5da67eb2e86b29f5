import datetime
import time

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.middleware import SESSION_LAST_SEEN
from accounts.models import User
from tests.accounts.support import events
from tests.town import PASSWORD

LOGIN = reverse("accounts:login")


def login(client, username, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def test_the_login_page_is_in_chinese_with_its_own_stylesheet(client, town):
    page = client.get(LOGIN)
    assert page.status_code == 200
    html = page.content.decode()
    assert "工作人员登录" in html and "accounts/accounts.css" in html
    assert 'name="viewport"' in html


def test_the_login_page_speaks_english_when_asked(client, town):
    page = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en")
    assert "Staff sign-in" in page.content.decode()


def test_a_grid_worker_logs_in_with_the_password_alone_and_it_is_audited(client, town):
    response = login(client, "wang", next="/healthz")
    assert response.status_code == 302 and response["Location"] == "/healthz"
    assert client.session["_auth_user_id"] == str(town.wang.pk)
    assert events(event="login") == [("login", "wang", True)]


def test_a_wrong_password_is_refused_without_saying_whether_the_account_exists(client, town):
    nobody = f"nobody-{time.time_ns()}"  # unknown names are counted in Redis, which outlives a test
    wrong = login(client, "wang", "Wrong-Password-1")
    unknown = login(client, nobody, "Wrong-Password-1")
    assert wrong.status_code == unknown.status_code == 400
    assert "用户名或密码错误" in wrong.content.decode()
    # The same words, the same count of tries left, for a real and an unknown account.
    assert wrong.context["error"] == unknown.context["error"]
    assert "_auth_user_id" not in client.session
    assert events(event="login.failed") == [
        ("login.failed", "wang", False),
        ("login.failed", nobody, False),
    ]
    town.wang.refresh_from_db()
    assert town.wang.failed_logins == 1


def test_five_failures_lock_the_account_for_the_configured_minutes(client, town):
    for _attempt in range(settings.LOGIN_MAX_FAILURES - 1):
        assert login(client, "wang", "Wrong-Password-1").status_code == 400
    locking = login(client, "wang", "Wrong-Password-1")
    assert locking.status_code == 403
    assert f"请 {settings.LOGIN_LOCKOUT_MINUTES} 分钟后再试" in locking.content.decode()
    # Even the right password is refused while locked, and says how long is left.
    still = login(client, "wang")
    assert still.status_code == 403 and "分钟后再试" in still.content.decode()
    assert "_auth_user_id" not in client.session
    town.wang.refresh_from_db()
    assert town.wang.locked_until > timezone.now() + datetime.timedelta(
        minutes=settings.LOGIN_LOCKOUT_MINUTES - 1
    )
    assert ("login.lockout", "wang", True) in events() and (
        "login.locked",
        "wang",
        False,
    ) in events()


def test_an_unknown_name_is_locked_out_the_same_way(client, town):
    name = (
        f"ghost-{time.time_ns()}"  # the count lives in Redis, which outlives the test transaction
    )
    for _attempt in range(settings.LOGIN_MAX_FAILURES - 1):
        assert login(client, name, "Wrong-Password-1").status_code == 400
    assert login(client, name, "Wrong-Password-1").status_code == 403
    assert "分钟后再试" in login(client, name, "Wrong-Password-1").content.decode()


def test_the_account_opens_again_when_the_lockout_has_passed(client, town):
    User.objects.filter(pk=town.wang.pk).update(
        locked_until=timezone.now() + datetime.timedelta(minutes=5)
    )
    assert login(client, "wang").status_code == 403
    User.objects.filter(pk=town.wang.pk).update(
        locked_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert login(client, "wang").status_code == 302
    town.wang.refresh_from_db()
    assert town.wang.failed_logins == 0 and town.wang.locked_until is None


def test_an_idle_session_ends_and_the_user_lands_on_the_login_page_with_a_notice(client, town):
    login(client, "wang")
    session = client.session
    session[SESSION_LAST_SEEN] = time.time() - settings.SESSION_IDLE_TIMEOUT_MINUTES * 60 - 5
    session.save()
    response = client.get("/", follow=True)
    assert response.redirect_chain[0][0].startswith(LOGIN)
    assert "长时间未操作" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert ("logout.idle", "wang", True) in events()


def test_a_recently_active_session_stays(client, town):
    login(client, "wang")
    session = client.session
    session[SESSION_LAST_SEEN] = time.time() - settings.SESSION_IDLE_TIMEOUT_MINUTES * 60 + 60
    session.save()
    assert client.get("/").status_code == 200
    assert client.session["_auth_user_id"] == str(town.wang.pk)


def test_an_idle_api_session_is_simply_anonymous(client, town):
    login(client, "wang")
    session = client.session
    session[SESSION_LAST_SEEN] = time.time() - settings.SESSION_IDLE_TIMEOUT_MINUTES * 60 - 5
    session.save()
    response = client.get(reverse("accounts:me"))
    assert response.status_code == 403
    assert set(response.json()) == {"message", "fields"}


def test_logout_is_a_post_and_is_audited(client, town):
    login(client, "wang")
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session
    assert ("logout", "wang", True) in events()


def test_the_login_api_starts_a_session_for_the_field_app(client, town):
    response = client.post(
        reverse("accounts:api-login"),
        {"username": "wang", "password": PASSWORD},
        content_type="application/json",
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["user"]["username"] == "wang" and body["user"]["scope"]["id"] == town.g1.pk
    assert body["password_expired"] is False and body["csrf_token"]
    assert client.get(reverse("accounts:me")).json()["scope_path"] == town.g1.path


def test_the_login_api_answers_a_wrong_password_with_the_standard_error_body(client, town):
    response = client.post(
        reverse("accounts:api-login"),
        {"username": "wang", "password": "nope"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert (
        "用户名或密码错误" in response.json()["message"] and "password" in response.json()["fields"]
    )


def test_the_login_api_speaks_english_when_asked(client, town):
    response = client.post(
        reverse("accounts:api-login"),
        {"username": "wang", "password": "nope"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.json()["message"].startswith("Wrong username or password.")


@pytest.mark.parametrize("missing", ["username", "password"])
def test_the_login_api_names_a_missing_field(client, town, missing):
    data = {"username": "wang", "password": PASSWORD}
    data.pop(missing)
    response = client.post(reverse("accounts:api-login"), data, content_type="application/json")
    assert response.status_code == 400 and missing in response.json()["fields"]
