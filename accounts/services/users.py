"""Account administration, with 三员 rules (等保 2.0 §8.1.5) that no form can bypass:

- sys_admin manages accounts (create, deactivate, scope, phone, password reset) but assigns
  no roles; sec_admin assigns roles, unlocks accounts and resets second factors.
- Nobody changes their own role. Accounts holding a 三员 role, and superusers, are changed only
  by a superuser (the installation account), so one administrator cannot take over another.
- A 三员 role never goes with is_superuser (a CheckConstraint holds it too).
Every change is audited; a role change is its own event ("user.role_change").
"""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import pii
from accounts.models import User
from accounts.selectors import user_can
from accounts.services.audit import audit_record
from cockpit.errors import ApplicationError

# Fields each kind of administrator may change (superusers: all of them).
ACCOUNT_FIELDS = {
    "username",
    "display_name",
    "scope",
    "is_active",
    "email",
    "first_name",
    "last_name",
}
ROLE_FIELDS = {"role"}


def _forbidden() -> ApplicationError:
    return ApplicationError(_("您没有执行此操作的权限。"), status_code=403)


def _may_touch(actor: User, user: User) -> bool:
    """Accounts of the 三员 and superusers are changed by a superuser only."""
    if actor.is_superuser:
        return True
    return not (user.is_superuser or user.role in User.THREE_ADMINS)


def _check_superuser_role(user: User) -> None:
    if user.is_superuser and user.role in User.THREE_ADMINS:
        raise ApplicationError(
            _("系统管理员、安全管理员、审计管理员不能同时是超级用户。"),
            fields={"role": [_("三员角色不能授予超级用户。")]},
        )


def _phone_fields(user: User, phone: str) -> list[str]:
    number = pii.normalize_mobile(phone) if phone else ""
    user.phone_enc, user.phone_index = pii.encrypt(number), pii.blind_index(number)
    return ["phone_enc", "phone_index"]


def _validation_error(exc: ValidationError, field: str) -> ApplicationError:
    return ApplicationError(_("提交的内容有误，请检查标出的字段。"), fields={field: exc.messages})


@transaction.atomic
def user_create(*, actor: User, user: User, phone: str = "", request=None) -> User:
    """Save a new account built by a form (password already set). Its password counts as
    expired, so the person sets their own at first login."""
    if not (actor.is_superuser or user_can(actor, "users.manage")):
        raise _forbidden()
    if not actor.is_superuser:
        # sys_admin creates accounts; roles are granted by sec_admin afterwards.
        user.role, user.is_superuser = User.Role.GRID_WORKER, False
    _check_superuser_role(user)
    user.is_staff = False  # admin access follows the role (accounts.admin_site)
    user.password_changed_at = None
    try:
        if phone:
            _phone_fields(user, phone)
    except ValidationError as exc:
        raise _validation_error(exc, "phone")
    user.save()
    audit_record(
        user=actor,
        event="user.create",
        success=True,
        request=request,
        target=f"user:{user.pk}",
        detail={"username": user.username, "role": user.role, "scope": user.scope_id},
    )
    return user


@transaction.atomic
def user_update(
    *, actor: User, user: User, changes: dict, phone: str | None = None, request=None
) -> User:
    """Apply ``changes`` (field → new value) to an account, within the actor's powers."""
    current = User.objects.select_for_update().get(pk=user.pk)
    if not _may_touch(actor, current):
        raise _forbidden()
    allowed = set()
    if actor.is_superuser:
        allowed = ACCOUNT_FIELDS | ROLE_FIELDS
    else:
        if user_can(actor, "users.manage"):
            allowed |= ACCOUNT_FIELDS
        if user_can(actor, "roles.assign"):
            allowed |= ROLE_FIELDS
    refused = set(changes) - allowed
    if refused or (phone is not None and not ACCOUNT_FIELDS <= allowed):
        raise _forbidden()
    if "role" in changes and current.pk == actor.pk and changes["role"] != current.role:
        raise ApplicationError(
            _("不能修改自己的角色。"), fields={"role": [_("不能修改自己的角色。")]}, status_code=403
        )

    before = {f: getattr(current, f + "_id" if f == "scope" else f) for f in changes}
    for field, value in changes.items():
        setattr(current, field, value)
    _check_superuser_role(current)
    fields = list(changes)
    try:
        if phone is not None:
            fields += _phone_fields(current, phone)
    except ValidationError as exc:
        raise _validation_error(exc, "phone")
    if fields:
        current.save(update_fields=fields)
    after = {f: getattr(current, f + "_id" if f == "scope" else f) for f in changes}
    changed = {f: [before[f], after[f]] for f in changes if before[f] != after[f]}
    if "role" in changed:
        audit_record(
            user=actor,
            event="user.role_change",
            success=True,
            request=request,
            target=f"user:{current.pk}",
            detail={
                "username": current.username,
                "from": changed.pop("role")[0],
                "to": current.role,
            },
        )
    if changed or (phone is not None):
        detail = {"username": current.username, "changed": changed}
        if phone is not None:
            detail["phone"] = "changed"  # never the number itself
        audit_record(
            user=actor,
            event="user.update",
            success=True,
            request=request,
            target=f"user:{current.pk}",
            detail=detail,
        )
    # Keep the caller's instance (an admin form's object) in step with the row.
    for field in fields:
        setattr(user, field, getattr(current, field))
    return current


@transaction.atomic
def user_set_phone(*, user: User, phone: str) -> User:
    """Store a staff member's own work phone, normalised, encrypted, with its blind index."""
    try:
        fields = _phone_fields(user, phone)
    except ValidationError as exc:
        raise _validation_error(exc, "phone")
    user.save(update_fields=fields)
    return user


@transaction.atomic
def user_unlock(*, actor: User, user: User, request=None) -> User:
    if not (actor.is_superuser or user_can(actor, "roles.assign")) or not _may_touch(actor, user):
        raise _forbidden()
    User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
    user.failed_logins, user.locked_until = 0, None
    audit_record(
        user=actor,
        event="user.unlock",
        success=True,
        request=request,
        target=f"user:{user.pk}",
        detail={"username": user.username},
    )
    return user


@transaction.atomic
def user_totp_reset(*, actor: User, user: User, request=None) -> User:
    """A lost phone: the next login enrols a new authenticator."""
    if not (actor.is_superuser or user_can(actor, "roles.assign")) or not _may_touch(actor, user):
        raise _forbidden()
    User.objects.filter(pk=user.pk).update(totp_secret="", totp_confirmed=False, totp_last_step=0)
    user.totp_secret, user.totp_confirmed, user.totp_last_step = "", False, 0
    audit_record(
        user=actor,
        event="totp.reset",
        success=True,
        request=request,
        target=f"user:{user.pk}",
        detail={"username": user.username},
    )
    return user


def password_change(*, user: User, old_password: str, new_password: str, request=None) -> User:
    """The user's own change (periodic, 等保 §8.1.4 a)); restarts the password's age."""
    if not user.check_password(old_password or ""):
        audit_record(
            user=user,
            event="password.change",
            success=False,
            request=request,
            detail={"reason": "old_password"},
        )
        raise ApplicationError(_("原密码不正确。"), fields={"old_password": [_("原密码不正确。")]})
    if old_password == new_password:
        raise ApplicationError(
            _("新密码不能与原密码相同。"), fields={"new_password": [_("新密码不能与原密码相同。")]}
        )
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise _validation_error(exc, "new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "password_changed_at"])
        audit_record(user=user, event="password.change", success=True, request=request)
    return user


@transaction.atomic
def password_set_by_admin(*, actor: User, user: User, new_password: str, request=None) -> User:
    """A reset by the system administrator. The password counts as expired: the person must
    choose their own at the next login, so the administrator never knows a working password."""
    if not (actor.is_superuser or user_can(actor, "users.manage")) or not _may_touch(actor, user):
        raise _forbidden()
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise _validation_error(exc, "password1")
    user.set_password(new_password)
    user.password_changed_at = None
    user.save(update_fields=["password", "password_changed_at"])
    audit_record(
        user=actor,
        event="password.reset",
        success=True,
        request=request,
        target=f"user:{user.pk}",
        detail={"username": user.username},
    )
    return user
