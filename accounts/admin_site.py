"""The admin site, decided by role (三员, 等保 2.0 §8.1.5).

- Login, logout and password change go through accounts' own pages, so the admin gets the same
  lockout, second factor, password-age rule and audit as everything else.
- Who may enter: the roles in accounts.selectors.ADMIN_SITE_ROLES (district admin and the three
  administrators) and superusers; ``is_staff`` is not used.
- What each may do: model permissions come from the role (accounts.auth.RoleBackend); the
  accounts models' admins add field-level rules (accounts.admin).

Superusers: the CheckConstraint on User forbids a superuser to hold one of the 三员 roles, so
no single account can hold all three powers. ``createsuperuser`` (shell access to the server)
is the only way to make one; the admin forms never show ``is_superuser``. It is meant as the
installation account that creates the three administrators and is then deactivated. Even a
superuser cannot read the audit log: only the audit administrator can.
"""

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from accounts.selectors import ADMIN_SITE_ROLES


class CockpitAdminSite(admin.AdminSite):
    site_header = _("数字驾驶舱 · 系统管理")
    site_title = _("系统管理")
    index_title = _("管理首页")

    def has_permission(self, request) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_authenticated
            and (user.is_superuser or user.role in ADMIN_SITE_ROLES)
        )

    def login(self, request, extra_context=None):
        if request.user.is_authenticated:
            if not self.has_permission(request):
                # Signed in but no administrator: refuse rather than loop through the login.
                raise PermissionDenied
            return redirect(self._next(request))
        return redirect_to_login(self._next(request), reverse("accounts:login"))

    def _next(self, request) -> str:
        target = request.GET.get("next", "")
        if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            return target
        return reverse("admin:index", current_app=self.name)

    def logout(self, request, extra_context=None):
        # Our logout view audits it and accepts POST only, like the admin's own form.
        from accounts.views import logout_view

        return logout_view(request)

    def password_change(self, request, extra_context=None):
        return redirect("accounts:password-change")
