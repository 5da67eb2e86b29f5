import time
from functools import partial

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import logout
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from accounts.sessions import current

SESSION_LAST_SEEN = "last_seen"
SESSION_IDLE_FLAG = "idle_logged_out"
API_PREFIXES = ("/api/", "/accounts/api/")


def _user(request):
    """Django's auth.get_user, told which session store is asking (accounts.sessions.current),
    so StaffBackend can take the user row the store read with the session."""
    if not hasattr(request, "_cached_user"):
        token = current.set(request.session)
        try:
            request._cached_user = auth.get_user(request)
        finally:
            current.reset(token)
    return request._cached_user


class AuthenticationMiddleware(DjangoAuthentication):
    """Django's, with the user resolved by ``_user``: every check auth.get_user makes (the
    backend named in the session, the password hash) is made as before."""

    def process_request(self, request):
        super().process_request(request)  # its checks, and request.auser
        request.user = SimpleLazyObject(partial(_user, request))


class IdleTimeoutMiddleware:
    """等保 2.0 §8.1.4 b): a session idle longer than SESSION_IDLE_TIMEOUT_MINUTES ends.

    The last-seen time is written at most once a minute, so a busy page does not write the
    session row on every request. A page request of a timed-out session goes to the login
    page, which says why; an API call simply finds itself anonymous (403).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            last = request.session.get(SESSION_LAST_SEEN)
            limit = settings.SESSION_IDLE_TIMEOUT_MINUTES * 60
            if last is not None and now - last > limit:
                from accounts.services import audit_record

                audit_record(
                    user=user,
                    event="logout.idle",
                    success=True,
                    request=request,
                    detail={"idle_seconds": int(now - last)},
                )
                logout(request)
                request.session[SESSION_IDLE_FLAG] = True
                if self._is_page(request):
                    return redirect_to_login(request.get_full_path(), reverse(settings.LOGIN_URL))
            elif last is None or now - last > 60:
                request.session[SESSION_LAST_SEEN] = now
        return self.get_response(request)

    @staticmethod
    def _is_page(request) -> bool:
        if request.path.startswith(API_PREFIXES) or request.path == reverse(settings.LOGIN_URL):
            return False
        return request.method in ("GET", "HEAD") or "text/html" in request.META.get(
            "HTTP_ACCEPT", ""
        )


class PasswordExpiryMiddleware:
    """A password older than PASSWORD_MAX_AGE_DAYS must be changed before anything else."""

    ALLOWED_PREFIXES = ("/accounts/", "/static/", "/healthz", "/i18n/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and settings.PASSWORD_MAX_AGE_DAYS > 0
            and not request.path.startswith(self.ALLOWED_PREFIXES)
            and not request.path.startswith("/api/")
        ):
            changed = user.password_changed_at
            if changed is None or (timezone.now() - changed).days >= settings.PASSWORD_MAX_AGE_DAYS:
                return redirect(reverse("accounts:password-change") + "?expired=1")
        return self.get_response(request)
