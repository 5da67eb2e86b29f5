"""三员: the system, security and audit administrators hold separate powers."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import AuditLog, User
from cockpit.errors import ApplicationError
from tests.accounts.support import events

USERS = reverse("admin:accounts_user_changelist")
AUDIT = reverse("admin:accounts_auditlog_changelist")
KEYS = reverse("admin:accounts_sourcekey_changelist")


def change_url(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


def test_the_audit_admin_reads_the_audit_log_and_reading_is_audited(client, three_admins, town):
    services.audit_record(user=town.wang, event="login", success=True)
    client.force_login(three_admins["audit"])
    page = client.get(AUDIT)
    assert page.status_code == 200 and "wang" in page.content.decode()
    assert ("audit.read", "auditadmin", True) in events()


def test_the_audit_admin_cannot_change_or_delete_audit_records(client, three_admins, town):
    record = services.audit_record(user=town.wang, event="login", success=True)
    client.force_login(three_admins["audit"])
    assert client.get(reverse("admin:accounts_auditlog_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:accounts_auditlog_delete", args=[record.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditLog.objects.filter(pk=record.pk).exists()


def test_the_audit_admin_cannot_see_or_change_users(client, three_admins, town):
    client.force_login(three_admins["audit"])
    assert client.get(USERS).status_code == 403
    response = client.post(change_url(town.wang), {"username": "wang", "role": "commander"})
    assert response.status_code == 403
    town.wang.refresh_from_db()
    assert town.wang.role == User.Role.GRID_WORKER
    with pytest.raises(ApplicationError):
        services.user_update(
            actor=three_admins["audit"], user=town.wang, changes={"is_active": False}
        )


@pytest.mark.parametrize("who", ["sys", "sec"])
def test_the_system_and_security_admins_cannot_read_the_audit_log(client, three_admins, who):
    client.force_login(three_admins[who])
    assert client.get(AUDIT).status_code == 403
    assert "审计记录" not in client.get(reverse("admin:index")).content.decode()


def test_not_even_a_superuser_reads_the_audit_log(client, db):
    root = User.objects.create_superuser("root", password="Root-Pass-2026")
    root.password_changed_at = timezone.now()
    root.save(update_fields=["password_changed_at"])
    client.force_login(root)
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(AUDIT).status_code == 403


def test_the_system_admin_manages_accounts_but_grants_no_roles(client, three_admins, town):
    client.force_login(three_admins["sys"])
    page = client.get(change_url(town.wang))
    assert page.status_code == 200
    assert "role" not in page.context["adminform"].form.fields  # read-only for sys_admin
    with pytest.raises(ApplicationError):
        services.user_update(
            actor=three_admins["sys"], user=town.wang, changes={"role": User.Role.COMMANDER}
        )
    services.user_update(actor=three_admins["sys"], user=town.wang, changes={"is_active": False})
    town.wang.refresh_from_db()
    assert town.wang.is_active is False and town.wang.role == User.Role.GRID_WORKER
    assert ("user.update", "sysadmin", True) in events()


def test_the_security_admin_grants_roles_and_it_is_audited(three_admins, town):
    services.user_update(
        actor=three_admins["sec"], user=town.wang, changes={"role": User.Role.GRID_LEADER}
    )
    town.wang.refresh_from_db()
    assert town.wang.role == User.Role.GRID_LEADER
    record = AuditLog.objects.get(event="user.role_change")
    assert record.detail["from"] == "grid_worker" and record.detail["to"] == "grid_leader"
    with pytest.raises(ApplicationError):  # but touches nothing else
        services.user_update(actor=three_admins["sec"], user=town.wang, changes={"scope": town.g3})


def test_the_security_admin_cannot_reset_a_password_through_the_admin(client, three_admins, town):
    client.force_login(three_admins["sec"])
    url = reverse("admin:auth_user_password_change", args=[town.wang.pk])
    response = client.post(url, {"password1": "Other-Pass-2026", "password2": "Other-Pass-2026"})
    assert response.status_code == 403


def test_the_system_admin_resets_a_password_which_must_then_be_changed(client, three_admins, town):
    client.force_login(three_admins["sys"])
    url = reverse("admin:auth_user_password_change", args=[town.wang.pk])
    response = client.post(url, {"password1": "Other-Pass-2026", "password2": "Other-Pass-2026"})
    assert response.status_code == 302
    town.wang.refresh_from_db()
    assert town.wang.check_password("Other-Pass-2026") and town.wang.password_changed_at is None
    assert ("password.reset", "sysadmin", True) in events()


def test_no_administrator_changes_another_of_the_three(client, three_admins):
    client.force_login(three_admins["sys"])
    assert (
        client.post(
            change_url(three_admins["audit"]), {"username": "auditadmin", "is_active": ""}
        ).status_code
        == 403
    )
    with pytest.raises(ApplicationError):
        services.user_update(
            actor=three_admins["sec"],
            user=three_admins["audit"],
            changes={"role": User.Role.GRID_WORKER},
        )
    with pytest.raises(ApplicationError):
        services.user_update(
            actor=three_admins["sec"],
            user=three_admins["sec"],
            changes={"role": User.Role.AUDIT_ADMIN},
        )
    three_admins["audit"].refresh_from_db()
    assert three_admins["audit"].is_active and three_admins["audit"].role == User.Role.AUDIT_ADMIN


def test_one_of_the_three_cannot_be_a_superuser(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(
            "both", password="Both-Pass-2026", role=User.Role.AUDIT_ADMIN, is_superuser=True
        )


def test_a_district_admin_configures_business_data_but_not_users(client, town):
    client.force_login(town.admin)
    assert town.admin.has_perm("grids.change_node") and town.admin.has_perm("dispatch.add_team")
    assert not town.admin.has_perm("accounts.change_user") and town.admin.has_perm(
        "accounts.view_user"
    )
    assert client.get(AUDIT).status_code == 403 and client.get(KEYS).status_code == 403
    assert client.get(USERS).status_code == 200


def test_field_staff_do_not_enter_the_admin(client, town):
    client.force_login(town.wang)
    response = client.get(reverse("admin:index"), follow=True)
    assert response.status_code == 403
    assert client.session["_auth_user_id"] == str(town.wang.pk)  # still signed in to his own pages


def test_the_admin_login_is_our_login(client, db):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("accounts:login")
    )


def test_the_system_admin_creates_an_account_that_must_change_its_password(
    client, three_admins, town
):
    client.force_login(three_admins["sys"])
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "newbie",
            "password1": "Newbie-Pass-2026",
            "password2": "Newbie-Pass-2026",
            "display_name": "新人",
            "phone": "138 1234 5678",
            "scope": town.g2.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="newbie")
    assert (
        user.role == User.Role.GRID_WORKER
        and user.scope_id == town.g2.pk
        and user.password_changed_at is None
    )
    assert user.phone_enc and "13812345678" not in user.phone_enc
    assert ("user.create", "sysadmin", True) in events()
    # the admin finds the account by phone number through the blind index
    found = client.get(USERS, {"q": "+86 138-1234-5678"})
    assert "newbie" in found.content.decode()
