"""Fixtures for the accounts tests: staff of any role, and a look at the audit log."""

import pytest
from django.utils import timezone

from accounts.models import User
from tests.town import PASSWORD


@pytest.fixture
def make_user(db):
    """A staff member with a current password (so the expiry rule does not interfere)."""

    def make(username: str, role: str, scope=None, **extra) -> User:
        user = User.objects.create_user(
            username=username,
            password=PASSWORD,
            role=role,
            scope=scope,
            display_name=username,
            **extra,
        )
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password_changed_at"])
        return user

    return make


@pytest.fixture
def three_admins(make_user):
    R = User.Role
    return {
        "sys": make_user("sysadmin", R.SYS_ADMIN),
        "sec": make_user("secadmin", R.SEC_ADMIN),
        "audit": make_user("auditadmin", R.AUDIT_ADMIN),
    }


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2 at Django's full cost takes 0.3 s a hash, and the town fixture alone hashes seven
    passwords; a cheap hasher keeps these tests quick. Login logic is the same for any hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
