"""Authentication pieces: role-based model permissions, and API keys for external sources."""

from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication

from accounts.models import SourceKey
from accounts.selectors import role_has_model_permission, role_has_module_permission
from cockpit.errors import ApplicationError


class RoleBackend(BaseBackend):
    """Django model permissions from the user's role (accounts.selectors.ROLE_MODEL_PERMISSIONS),
    so every admin page follows 三员 separation without groups to keep in step. It never
    authenticates anyone: logins go through accounts.services.login_check."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        role = getattr(user_obj, "role", None)
        return bool(user_obj.is_active and role and role_has_model_permission(role, perm))

    def has_module_perms(self, user_obj, app_label) -> bool:
        role = getattr(user_obj, "role", None)
        return bool(user_obj.is_active and role and role_has_module_permission(role, app_label))


class SourceKeyAuthentication(BaseAuthentication):
    """An external source's API key: header ``X-Api-Key``, or the field ``api_key`` in the query
    string or a form/JSON body (Open311 clients send it that way). ``request.auth`` is the
    SourceKey and ``request.user`` stays anonymous: a key is not a member of staff.

    A view may set ``source_key_source = "110"`` to accept only that source's keys. No key →
    not authenticated (pair with HasSourceKey); an unknown, revoked or other-source key → 403.
    """

    def authenticate(self, request):
        raw = request.META.get("HTTP_X_API_KEY") or request.query_params.get("api_key")
        if not raw and request.method in ("POST", "PUT", "PATCH"):
            data = request.data
            raw = data.get("api_key") if hasattr(data, "get") else None
        if not raw:
            return None
        from accounts.services import source_key_check

        view = (getattr(request, "parser_context", None) or {}).get("view")
        try:
            key = source_key_check(
                raw_key=str(raw), source=getattr(view, "source_key_source", None), request=request
            )
        except ApplicationError as exc:
            raise exceptions.AuthenticationFailed(exc.message)
        return AnonymousUser(), key

    # No WWW-Authenticate challenge: DRF then answers a failed key with 403, as Open311 expects.
    def authenticate_header(self, request):
        return None


class HasSourceKey(permissions.BasePermission):
    message = _("缺少接口密钥（请求头 X-Api-Key 或字段 api_key）。")

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, SourceKey)


class SourceKeyScheme(OpenApiAuthenticationExtension):
    """Describes SourceKeyAuthentication in the API docs (drf-spectacular)."""

    target_class = SourceKeyAuthentication
    name = "SourceKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
