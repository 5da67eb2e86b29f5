import datetime

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests.accounts.support import events
from tests.town import PASSWORD

CHANGE = reverse("accounts:password-change")


@pytest.mark.parametrize(
    "password, code",
    [
        ("Ab1!", "password_too_short"),  # short
        ("abcdefghij", "password_too_simple"),  # one class
        ("abcdefgh12", "password_too_simple"),  # two classes
    ],
)
def test_weak_passwords_are_refused(password, code):
    with pytest.raises(ValidationError) as caught:
        validate_password(password)
    assert code in {e.code for e in caught.value.error_list}


@pytest.mark.parametrize("password", ["Sandun-Grid-77", "sandun#grid77", "SANDUN_GRID_77x"])
def test_passwords_of_eight_characters_and_three_classes_pass(password):
    validate_password(password)


def test_a_password_older_than_the_limit_sends_the_user_to_change_it(client, town):
    User.objects.filter(pk=town.wang.pk).update(
        password_changed_at=timezone.now()
        - datetime.timedelta(days=settings.PASSWORD_MAX_AGE_DAYS + 1)
    )
    client.force_login(town.wang)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(CHANGE)
    page = client.get(response["Location"])
    assert f"密码每 {settings.PASSWORD_MAX_AGE_DAYS} 天须更换一次" in page.content.decode()


def test_a_fresh_password_does_not_redirect(client, town):
    client.force_login(town.wang)
    assert client.get("/").status_code == 200


def test_an_initial_password_must_be_changed_at_first_login(client, town):
    User.objects.filter(pk=town.wang.pk).update(password_changed_at=None)
    response = client.post(reverse("accounts:login"), {"username": "wang", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith(CHANGE)


def test_changing_the_password_restarts_its_age_and_is_audited(client, town):
    User.objects.filter(pk=town.wang.pk).update(
        password_changed_at=timezone.now() - datetime.timedelta(days=400)
    )
    client.force_login(town.wang)
    before = timezone.now()
    response = client.post(
        CHANGE,
        {
            "old_password": PASSWORD,
            "new_password": "Sandun-Grid-77",
            "new_password2": "Sandun-Grid-77",
        },
    )
    assert response.status_code == 302
    town.wang.refresh_from_db()
    assert town.wang.password_changed_at >= before and town.wang.check_password("Sandun-Grid-77")
    assert client.get("/").status_code == 200  # still logged in, no longer redirected
    assert ("password.change", "wang", True) in events()


@pytest.mark.parametrize(
    "old, new, new2, field",
    [
        ("Wrong-Old-1", "Sandun-Grid-77", "Sandun-Grid-77", "old_password"),
        (PASSWORD, "sandungrid", "sandungrid", "new_password"),
        (PASSWORD, PASSWORD, PASSWORD, "new_password"),
        (PASSWORD, "Sandun-Grid-77", "Sandun-Grid-78", "new_password2"),
    ],
)
def test_a_bad_password_change_names_the_field_and_changes_nothing(
    client, town, old, new, new2, field
):
    client.force_login(town.wang)
    response = client.post(
        CHANGE, {"old_password": old, "new_password": new, "new_password2": new2}
    )
    assert response.status_code == 400
    assert response.context["errors"][field]
    town.wang.refresh_from_db()
    assert town.wang.check_password(PASSWORD)
