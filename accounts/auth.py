"""Authentication pieces: role-based model permissions, and API keys for external sources."""

from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.db import connections, router
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication

from accounts.models import SourceKey, User
from accounts.selectors import role_has_model_permission, role_has_module_permission
from accounts.sessions import USER_ATTNAMES, user_columns
from accounts.sessions import current as current_session
from cockpit.errors import ApplicationError

_USER_SQL = (
    f'SELECT {user_columns("")} FROM "{User._meta.db_table}" WHERE "{User._meta.pk.column}" = %s'
)


class StaffBackend(ModelBackend):
    """Django's ModelBackend, with the logged-in user taken from the row the session store read
    with the session (accounts.sessions), or else loaded by one plain query: every logged-in
    request loads the user, and building the ORM's query and instance cost a grid worker's
    report about a sixth of its CPU. Passwords, the active check and permissions stay
    ModelBackend's."""

    def get_user(self, user_id):
        # The row the session store read together with this request's session, if it is this
        # user's (accounts.sessions): same columns, same moment, no second query.
        store = current_session.get()
        user = getattr(store, "loaded_user", None)
        if user is not None and str(user.pk) == str(user_id):
            return user if self.user_can_authenticate(user) else None
        alias = router.db_for_read(User)
        with connections[alias].cursor() as cur:
            cur.execute(_USER_SQL, [user_id])
            row = cur.fetchone()
        if row is None:
            return None
        user = User.from_db(alias, USER_ATTNAMES, row)
        return user if self.user_can_authenticate(user) else None


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
