import pyotp
import pytest
from django.urls import reverse

from accounts import pii
from accounts.models import User
from tests.accounts.support import events, run
from tests.town import PASSWORD

LOGIN = reverse("accounts:login")
TOTP = reverse("accounts:login-totp")


def password_step(client, username):
    return client.post(LOGIN, {"username": username, "password": PASSWORD})


def test_a_commander_enrols_an_authenticator_at_first_login(client, town):
    response = password_step(client, "chen")
    assert response.status_code == 302 and response["Location"] == TOTP
    assert "_auth_user_id" not in client.session  # the password alone is not enough
    page = client.get(TOTP)
    html = page.content.decode()
    assert "绑定动态验证码" in html and "<svg" in html
    town.chen.refresh_from_db()
    secret = pii.decrypt(town.chen.totp_secret)
    assert secret.replace(" ", "") and secret not in town.chen.totp_secret  # stored encrypted
    assert page.context["secret"].replace(" ", "") == secret

    code = run("totp_now", "chen").strip()
    assert code == pyotp.TOTP(secret).now()
    response = client.post(TOTP, {"code": code})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(town.chen.pk)
    town.chen.refresh_from_db()
    assert town.chen.totp_confirmed
    assert [e for e in events() if e[0] in ("totp.enrol", "login")] == [
        ("totp.enrol", "chen", True),
        ("login", "chen", True),
    ]


@pytest.fixture
def enrolled_chen(client, town):
    password_step(client, "chen")
    client.get(TOTP)
    client.post(TOTP, {"code": run("totp_now", "chen").strip()})
    client.post(reverse("accounts:logout"))
    return town.chen


def test_later_logins_ask_for_the_code_and_accept_a_fresh_one(client, enrolled_chen):
    response = password_step(client, "chen")
    assert response["Location"] == TOTP
    page = client.get(TOTP)
    assert "输入动态验证码" in page.content.decode() and "<svg" not in page.content.decode()
    # The code just used at enrolment is spent; the next window's code is within the allowed drift.
    response = client.post(TOTP, {"code": run("totp_now", "chen", "--next").strip()})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(enrolled_chen.pk)


def test_a_wrong_code_is_refused_audited_and_counted(client, enrolled_chen):
    password_step(client, "chen")
    right = run("totp_now", "chen", "--next").strip()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post(TOTP, {"code": wrong})
    assert response.status_code == 400 and "动态验证码不正确" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert ("login.totp_failed", "chen", False) in events()
    enrolled_chen.refresh_from_db()
    assert enrolled_chen.failed_logins == 1


def test_a_code_is_accepted_only_once(client, enrolled_chen):
    password_step(client, "chen")
    code = run("totp_now", "chen", "--next").strip()
    assert client.post(TOTP, {"code": code}).status_code == 302
    client.post(reverse("accounts:logout"))
    password_step(client, "chen")
    assert client.post(TOTP, {"code": code}).status_code == 400


def test_wrong_codes_lock_the_account_like_wrong_passwords(client, enrolled_chen, settings):
    password_step(client, "chen")
    right = run("totp_now", "chen", "--next").strip()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _attempt in range(settings.LOGIN_MAX_FAILURES - 1):
        assert client.post(TOTP, {"code": wrong}).status_code == 400
    locked = client.post(TOTP, {"code": wrong})
    assert locked.status_code == 403 and "分钟后再试" in locked.content.decode()
    assert client.get(TOTP)["Location"] == LOGIN  # back to the password step


def test_a_grid_worker_needs_no_second_factor(client, town):
    response = password_step(client, "wang")
    assert response.status_code == 302 and response["Location"] != TOTP
    assert client.session["_auth_user_id"] == str(town.wang.pk)


def test_the_login_api_asks_an_enrolled_commander_for_the_code(client, enrolled_chen):
    url = reverse("accounts:api-login")
    response = client.post(
        url, {"username": "chen", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 400 and "totp_code" in response.json()["fields"]
    assert "_auth_user_id" not in client.session
    code = run("totp_now", "chen", "--next").strip()
    response = client.post(
        url,
        {"username": "chen", "password": PASSWORD, "totp_code": code},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    assert ("login", "chen", True) in events()


def test_the_login_api_sends_an_unenrolled_commander_to_the_web(client, town):
    response = client.post(
        reverse("accounts:api-login"),
        {"username": "chen", "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 403 and "网页端" in response.json()["message"]


def test_a_security_admin_reset_makes_the_next_login_enrol_again(client, enrolled_chen, make_user):
    from accounts import services

    sec = make_user("secadmin", User.Role.SEC_ADMIN)
    services.user_totp_reset(actor=sec, user=enrolled_chen)
    password_step(client, "chen")
    assert "<svg" in client.get(TOTP).content.decode()
    assert ("totp.reset", "secadmin", True) in events()
