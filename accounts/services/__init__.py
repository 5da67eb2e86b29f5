"""Every write of the accounts app. Other apps use audit_record, source_key_check and the
accounts.pii helpers; the rest serves the login pages, the APIs, the admin and the commands."""

from accounts.services.audit import audit_purge, audit_record
from accounts.services.login import (
    LoginResult,
    login_check,
    session_login,
    session_logout,
    totp_check,
    totp_confirm,
    totp_enrolment_secret,
    totp_provisioning_uri,
)
from accounts.services.source_keys import source_key_check, source_key_issue, source_key_revoke
from accounts.services.users import (
    password_change,
    password_set_by_admin,
    user_create,
    user_set_phone,
    user_totp_reset,
    user_unlock,
    user_update,
)

__all__ = [
    "LoginResult",
    "audit_purge",
    "audit_record",
    "login_check",
    "password_change",
    "password_set_by_admin",
    "session_login",
    "session_logout",
    "source_key_check",
    "source_key_issue",
    "source_key_revoke",
    "totp_check",
    "totp_confirm",
    "totp_enrolment_secret",
    "totp_provisioning_uri",
    "user_create",
    "user_set_phone",
    "user_totp_reset",
    "user_unlock",
    "user_update",
]
