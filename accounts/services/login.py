"""Login security, 等保 2.0 §8.1.4 a)–d): failed-login limits with a timed lockout, a second
factor (TOTP, RFC 6238) for the roles in TOTP_REQUIRED_ROLES, and an audit record for each
attempt.

Failures never say whether the account exists: an unknown name gets the same message, the same
password-hash work and the same lockout (counted in the cache, as there is no row to count on).
"""

import datetime
import hashlib
import math
import time
from dataclasses import dataclass

import pyotp
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pyotp.utils import strings_equal

from accounts import pii
from accounts.models import User
from accounts.selectors import totp_required_for
from accounts.services.audit import audit_record
from cockpit.errors import ApplicationError

TOTP_ISSUER = "数字驾驶舱"
TOTP_INTERVAL = 30


@dataclass
class LoginResult:
    user: User
    totp_required: bool  # the password was right; the second factor is still to come
    totp_enrolled: bool
    password_expired: bool


def _minutes_left(until: datetime.datetime) -> int:
    return max(1, math.ceil((until - timezone.now()).total_seconds() / 60))


def _locked_error(minutes: int) -> ApplicationError:
    return ApplicationError(
        _("登录失败次数过多，账号已锁定，请 %(minutes)d 分钟后再试。") % {"minutes": minutes},
        status_code=403,
    )


def _failed_error(left: int | None) -> ApplicationError:
    message = _("用户名或密码错误。")
    if left is not None:
        message += _("再失败 %(n)d 次账号将被锁定 %(minutes)d 分钟。") % {
            "n": left,
            "minutes": settings.LOGIN_LOCKOUT_MINUTES,
        }
    return ApplicationError(message, fields={"password": [message]}, status_code=400)


def password_expired(user: User) -> bool:
    if settings.PASSWORD_MAX_AGE_DAYS <= 0:
        return False
    changed = user.password_changed_at
    return changed is None or (timezone.now() - changed).days >= settings.PASSWORD_MAX_AGE_DAYS


def _count_failure(user: User) -> int | None:
    """Count one failure on a row locked by the caller; returns the lockout minutes when this
    failure locks the account, else None."""
    user.failed_logins += 1
    if user.failed_logins >= settings.LOGIN_MAX_FAILURES:
        user.failed_logins = 0
        user.locked_until = timezone.now() + datetime.timedelta(
            minutes=settings.LOGIN_LOCKOUT_MINUTES
        )
        user.save(update_fields=["failed_logins", "locked_until"])
        return settings.LOGIN_LOCKOUT_MINUTES
    user.save(update_fields=["failed_logins"])
    return None


def _unknown_key(username: str) -> str:
    return "login-unknown:" + hashlib.sha256(username.lower().encode()).hexdigest()


def _unknown_locked_minutes(username: str) -> int | None:
    try:
        until = cache.get(_unknown_key(username) + ":locked")
    except Exception:  # a cache outage must not stop logins; unknown names just go uncounted
        return None
    return max(1, math.ceil((until - time.time()) / 60)) if until and until > time.time() else None


def _unknown_failure(username: str) -> tuple[int | None, int | None]:
    """(lockout minutes if this failure locks the name, failures left) for a name with no
    account, so its answers look like a real account's."""
    key = _unknown_key(username)
    lock = settings.LOGIN_LOCKOUT_MINUTES * 60
    try:
        cache.add(key, 0, timeout=lock)
        count = cache.incr(key)
        if count >= settings.LOGIN_MAX_FAILURES:
            cache.set(key + ":locked", time.time() + lock, timeout=lock)
            cache.delete(key)
            return settings.LOGIN_LOCKOUT_MINUTES, None
        return None, settings.LOGIN_MAX_FAILURES - count
    except Exception:  # see _unknown_locked_minutes
        return None, None


def login_check(*, username: str, password: str, request=None) -> LoginResult:
    """First factor. Returns the user when the password is right and the account not locked;
    otherwise counts the failure, audits it and raises ApplicationError (400 wrong, 403 locked).
    Whether the user is then logged in, or asked for a TOTP code first, is the caller's step."""
    username = (username or "").strip()
    if not username or not password:
        raise ApplicationError(
            _("请输入用户名和密码。"),
            fields={
                k: [_("必填。")]
                for k, v in (("username", username), ("password", password))
                if not v
            },
        )
    error, result = _password_attempt(username, password, request)
    if error is not None:
        raise error
    return result


@transaction.atomic
def _password_attempt(
    username: str, password: str, request
) -> tuple[ApplicationError | None, LoginResult | None]:
    # Errors are returned, not raised, so the failure count and its audit record commit.
    # The row lock serialises concurrent attempts on one account: no failure goes uncounted.
    user = User.objects.select_for_update().filter(username=username).first()
    now = timezone.now()
    if user is None:
        User().set_password(password)  # the same hashing work as a real check (timing)
        minutes = _unknown_locked_minutes(username)
        if minutes:
            audit_record(
                user=None, username=username, event="login.locked", success=False, request=request
            )
            return _locked_error(minutes), None
        locked, left = _unknown_failure(username)
        audit_record(
            user=None,
            username=username,
            event="login.failed",
            success=False,
            request=request,
            detail={"reason": "password"},
        )
        if locked:
            audit_record(
                user=None,
                username=username,
                event="login.lockout",
                success=True,
                request=request,
                detail={"minutes": locked},
            )
            return _locked_error(locked), None
        return _failed_error(left), None

    if user.locked_until and user.locked_until > now:
        audit_record(
            user=None,
            username=username,
            event="login.locked",
            success=False,
            request=request,
            target=f"user:{user.pk}",
        )
        return _locked_error(_minutes_left(user.locked_until)), None
    if not (user.check_password(password) and user.is_active):
        locked = _count_failure(user)
        reason = "password" if user.is_active else "inactive"
        audit_record(
            user=None,
            username=username,
            event="login.failed",
            success=False,
            request=request,
            target=f"user:{user.pk}",
            detail={"reason": reason},
        )
        if locked:
            audit_record(
                user=None,
                username=username,
                event="login.lockout",
                success=True,
                request=request,
                target=f"user:{user.pk}",
                detail={"minutes": locked},
            )
            return _locked_error(locked), None
        return _failed_error(settings.LOGIN_MAX_FAILURES - user.failed_logins), None

    if user.failed_logins or user.locked_until:
        user.failed_logins, user.locked_until = 0, None
        user.save(update_fields=["failed_logins", "locked_until"])
    need_totp = totp_required_for(user)
    return None, LoginResult(
        user=user,
        totp_required=need_totp,
        totp_enrolled=user.totp_confirmed and bool(user.totp_secret),
        password_expired=password_expired(user),
    )


# --- TOTP -------------------------------------------------------------------------------------


def _totp(user: User) -> pyotp.TOTP:
    return pyotp.TOTP(pii.decrypt(user.totp_secret), interval=TOTP_INTERVAL)


def totp_enrolment_secret(*, user: User) -> str:
    """The base32 secret to show for enrolment, made (and stored encrypted) on first call and
    reused until confirmed, so a QR code scanned earlier keeps working."""
    if user.totp_confirmed:
        raise ApplicationError(_("已绑定动态验证码。"), status_code=409)
    if not user.totp_secret:
        user.totp_secret = pii.encrypt(pyotp.random_base32(32))
        user.save(update_fields=["totp_secret"])
    return pii.decrypt(user.totp_secret)


def totp_provisioning_uri(*, user: User) -> str:
    return _totp(user).provisioning_uri(
        name=user.get_username(), issuer_name=f"{TOTP_ISSUER} {settings.TOWN_NAME}"
    )


def _match_step(user: User, code: str) -> int | None:
    """The time step the code belongs to (one step of clock drift either way), if it is newer
    than the last accepted one: a code works once (RFC 6238 §5.2)."""
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(code) != 6 or not user.totp_secret:
        return None
    totp = _totp(user)
    now_step = int(time.time()) // TOTP_INTERVAL
    for step in (now_step - 1, now_step, now_step + 1):
        if step > user.totp_last_step and strings_equal(code, totp.at(step * TOTP_INTERVAL)):
            return step
    return None


def _totp_attempt(*, user_id: int, code: str, request, confirming: bool) -> ApplicationError | None:
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        if user.locked_until and user.locked_until > timezone.now():
            audit_record(
                user=None,
                username=user.username,
                event="login.locked",
                success=False,
                request=request,
                target=f"user:{user.pk}",
            )
            return _locked_error(_minutes_left(user.locked_until))
        step = _match_step(user, code)
        if step is None:
            locked = _count_failure(user)
            audit_record(
                user=None,
                username=user.username,
                event="login.totp_failed",
                success=False,
                request=request,
                target=f"user:{user.pk}",
                detail={"enrolment": confirming},
            )
            if locked:
                audit_record(
                    user=None,
                    username=user.username,
                    event="login.lockout",
                    success=True,
                    request=request,
                    target=f"user:{user.pk}",
                    detail={"minutes": locked},
                )
                return _locked_error(locked)
            message = _("动态验证码不正确或已使用，请输入验证器上的最新 6 位数字。")
            return ApplicationError(message, fields={"code": [message]})
        user.totp_last_step, user.failed_logins = step, 0
        fields = ["totp_last_step", "failed_logins"]
        if confirming:
            user.totp_confirmed = True
            fields.append("totp_confirmed")
            audit_record(
                user=None,
                username=user.username,
                event="totp.enrol",
                success=True,
                request=request,
                target=f"user:{user.pk}",
            )
        user.save(update_fields=fields)
    return None


def totp_check(*, user: User, code: str, request=None) -> None:
    """Second factor at login. Wrong codes count toward the lockout like wrong passwords."""
    if not user.totp_confirmed:
        raise ApplicationError(_("尚未绑定动态验证码，请先在网页端完成绑定。"), status_code=403)
    error = _totp_attempt(user_id=user.pk, code=code, request=request, confirming=False)
    if error is not None:
        raise error


def totp_confirm(*, user: User, code: str, request=None) -> None:
    """Finish enrolment: the first code from the authenticator app proves it holds the secret."""
    if user.totp_confirmed or not user.totp_secret:
        raise ApplicationError(_("没有待确认的动态验证码绑定。"), status_code=409)
    error = _totp_attempt(user_id=user.pk, code=code, request=request, confirming=True)
    if error is not None:
        raise error
    user.refresh_from_db(fields=["totp_confirmed", "totp_last_step", "failed_logins"])


def session_login(*, request, user: User, factors: list[str]) -> None:
    """Start the session after every required factor passed, and audit the login."""
    from django.contrib.auth import login

    from accounts.middleware import SESSION_LAST_SEEN

    login(request, user, backend="accounts.auth.StaffBackend")
    request.session[SESSION_LAST_SEEN] = time.time()
    audit_record(
        user=user, event="login", success=True, request=request, detail={"factors": factors}
    )


def session_logout(*, request) -> None:
    from django.contrib.auth import logout

    if request.user.is_authenticated:
        audit_record(user=request.user, event="logout", success=True, request=request)
    logout(request)
