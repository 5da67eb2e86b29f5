"""Login pages: password, then (for TOTP roles) enrolment or the code, the password change and
logout. The rules live in accounts.services; these views only carry the steps in the session."""

import time

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import services
from accounts.middleware import SESSION_IDLE_FLAG
from accounts.models import User
from accounts.services.login import password_expired
from cockpit.errors import ApplicationError

PENDING = "pending_login"  # the user id that passed the password, awaiting the second factor
PENDING_SECONDS = 300


def _next_url(request, fallback: str | None = None) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback or settings.LOGIN_REDIRECT_URL


def _finish(request, user: User, factors: list[str], next_url: str):
    services.session_login(request=request, user=user, factors=factors)
    if password_expired(user):
        messages.warning(request, _("密码已过期或为初始密码，请先修改密码。"))
        return redirect(reverse("accounts:password-change") + "?next=" + next_url)
    return redirect(next_url)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request):
    next_url = _next_url(request)
    if request.user.is_authenticated and request.method == "GET":
        return redirect(next_url)
    notice = (
        _("您已长时间未操作，已自动退出，请重新登录。")
        if request.session.pop(SESSION_IDLE_FLAG, False)
        else ""
    )
    error, status, username = "", 200, ""
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        try:
            result = services.login_check(
                username=username, password=request.POST.get("password", ""), request=request
            )
        except ApplicationError as exc:
            error, status = exc.message, exc.status_code
        else:
            if not result.totp_required:
                return _finish(request, result.user, ["password"], next_url)
            request.session.cycle_key()  # a fresh session id once the first factor passed
            request.session[PENDING] = {"uid": result.user.pk, "at": time.time(), "next": next_url}
            return redirect("accounts:login-totp")
    return _login_page(
        request, next_url=next_url, error=error, notice=notice, username=username, status=status
    )


def _login_page(
    request,
    *,
    next_url: str,
    error: str = "",
    notice: str = "",
    username: str = "",
    status: int = 200,
):
    context = {
        "next": next_url,
        "error": error,
        "notice": notice,
        "username": username,
        "max_failures": settings.LOGIN_MAX_FAILURES,
        "lockout_minutes": settings.LOGIN_LOCKOUT_MINUTES,
    }
    return render(request, "accounts/login.html", context, status=status)


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def totp_view(request):
    """The second step: enrol an authenticator (first time) or enter its current code."""
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        messages.info(request, _("登录已超时，请重新输入用户名和密码。"))
        return redirect("accounts:login")
    user = User.objects.filter(pk=pending["uid"], is_active=True).first()
    if user is None:
        request.session.pop(PENDING, None)
        return redirect("accounts:login")
    enrolling = not user.totp_confirmed
    error, status = "", 200
    if request.method == "POST":
        code = request.POST.get("code", "")
        try:
            if enrolling:
                services.totp_confirm(user=user, code=code, request=request)
            else:
                services.totp_check(user=user, code=code, request=request)
        except ApplicationError as exc:
            if exc.status_code == 403:  # locked: start again from the password
                request.session.pop(PENDING, None)
                return _login_page(request, next_url=pending["next"], error=exc.message, status=403)
            error, status = exc.message, exc.status_code
        else:
            request.session.pop(PENDING, None)
            return _finish(request, user, ["password", "totp"], pending["next"])
    context = {"enrolling": enrolling, "error": error, "account": user}
    if enrolling:
        secret = services.totp_enrolment_secret(user=user)
        context["secret"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
        context["qr_svg"] = _qr_svg(services.totp_provisioning_uri(user=user))
    return render(request, "accounts/totp.html", context, status=status)


@require_POST
@csrf_protect
def logout_view(request):
    services.session_logout(request=request)
    messages.info(request, _("您已安全退出。"))
    return redirect("accounts:login")


@sensitive_post_parameters("old_password", "new_password", "new_password2")
@csrf_protect
@never_cache
@login_required
def password_change_view(request):
    user = request.user
    expired = password_expired(user)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        new = request.POST.get("new_password", "")
        if new != request.POST.get("new_password2", ""):
            errors = {"new_password2": [_("两次输入的新密码不一致。")]}
        else:
            try:
                services.password_change(
                    user=user,
                    old_password=request.POST.get("old_password", ""),
                    new_password=new,
                    request=request,
                )
            except ApplicationError as exc:
                errors = exc.fields or {"old_password": [exc.message]}
            else:
                update_session_auth_hash(request, user)  # stay logged in with the new password
                messages.success(request, _("密码已修改。"))
                return redirect(_next_url(request))
    from django.contrib.auth.password_validation import password_validators_help_texts

    context = {
        "expired": expired,
        "errors": errors,
        "next": _next_url(request),
        "help_texts": password_validators_help_texts(),
        "max_age": settings.PASSWORD_MAX_AGE_DAYS,
    }
    return render(request, "accounts/password_change.html", context, status=400 if errors else 200)
