"""Reads about staff: the ONE place that answers "may this user see this place, do this thing".

Scope: a user sees the node of the command tree they are assigned to and everything under it.
Node paths are materialised ("/1/3/9/31/140/"), so "inside the scope" is a prefix test that the
varchar_pattern_ops index on grids.Node.path (and on any copy of a path in other tables)
answers. No scope means nothing, and the 三员 administrators see no business data at all.
"""

from django.conf import settings
from django.db.models import Q
from django.shortcuts import get_object_or_404

from accounts.models import User

R = User.Role

# Capabilities by role. Business rules elsewhere ask ``user_can(user, "case.dispatch")`` rather
# than comparing role names, so a role's powers are listed here once.
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    # 三员: each one of system, security and audit administration; none sees business data.
    "system.configure": frozenset({R.SYS_ADMIN}),
    "users.manage": frozenset({R.SYS_ADMIN}),
    "roles.assign": frozenset({R.SEC_ADMIN}),
    "sourcekeys.manage": frozenset({R.SEC_ADMIN}),
    "audit.read": frozenset({R.AUDIT_ADMIN}),
    # Business administration (categories, routing rules, plans, the territory).
    "business.configure": frozenset({R.DISTRICT_ADMIN}),
    # The command centre's work.
    "case.dispatch": frozenset({R.OPERATOR, R.COMMANDER, R.DISTRICT_ADMIN}),
    # 指挥长指令: the duty commander's order straight to a unit.
    "order.issue": frozenset({R.COMMANDER, R.DISTRICT_ADMIN}),
    "cockpit.view": frozenset({R.COMMANDER, R.DISTRICT_ADMIN, R.OPERATOR, R.AREA_LEADER}),
}

# Django model permissions by role, answered by accounts.auth.RoleBackend so every ModelAdmin
# (ours and the other apps') follows the role. A key is "app" (every model of the app) or
# "app.model"; the value is the set of actions (add, change, delete, view).
ALL_ACTIONS = frozenset({"add", "change", "delete", "view"})
BUSINESS_APPS = ("grids", "events", "dispatch", "safetycode", "livelihood", "party", "economy")
ROLE_MODEL_PERMISSIONS: dict[str, dict[str, frozenset[str]]] = {
    R.DISTRICT_ADMIN: {
        **{app: ALL_ACTIONS for app in BUSINESS_APPS},
        "accounts.user": frozenset({"view"}),
        # the six safety indices' weights and baselines; consultations (cockpit.screen)
        "cockpit.indexdefinition": frozenset({"view", "change"}),
        "cockpit.indexvalue": frozenset({"view"}),
        "cockpit.consultation": frozenset({"view", "change"}),
    },
    # Accounts are deactivated, never deleted: audit records and cases refer to them.
    R.SYS_ADMIN: {
        "accounts.user": frozenset({"view", "add", "change"}),
        "django_celery_beat": ALL_ACTIONS,
    },
    R.SEC_ADMIN: {
        "accounts.user": frozenset({"view", "change"}),
        "accounts.sourcekey": frozenset({"view", "add", "change"}),
    },
    R.AUDIT_ADMIN: {"accounts.auditlog": frozenset({"view"})},
}

# Roles that may enter the admin site at all.
ADMIN_SITE_ROLES = frozenset(ROLE_MODEL_PERMISSIONS)


def _active(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def user_scope_path(user) -> str | None:
    """The path of the node the user may see, or None when they may see nothing."""
    if not _active(user) or user.role in User.THREE_ADMINS or user.scope_id is None:
        return None
    return user.scope.path or None


def scope_q(*, user, path_field: str) -> Q:
    """Rows whose node-path field lies inside the user's scope; matches nothing without one."""
    path = user_scope_path(user)
    if path is None:
        return Q(pk__in=[])
    return Q(**{f"{path_field}__startswith": path})


def node_visible_to(*, user, node) -> bool:
    path = user_scope_path(user)
    return bool(path and node is not None and node.path.startswith(path))


def user_can(user, capability: str) -> bool:
    """Whether the user's role holds a capability (see ROLE_CAPABILITIES and PII_REVEAL_ROLES)."""
    if not _active(user):
        return False
    if capability == "pii.reveal":
        return user.role in settings.PII_REVEAL_ROLES
    roles = ROLE_CAPABILITIES.get(capability)
    if roles is None:
        raise KeyError(f"unknown capability {capability!r}")
    return user.role in roles


def role_has_model_permission(role: str, perm: str) -> bool:
    """``perm`` is Django's "app_label.action_model", e.g. "grids.change_node"."""
    app_label, _, codename = perm.partition(".")
    action, _, model = codename.partition("_")
    grants = ROLE_MODEL_PERMISSIONS.get(role, {})
    return action in grants.get(f"{app_label}.{model}", frozenset()) or action in grants.get(
        app_label, frozenset()
    )


def role_has_module_permission(role: str, app_label: str) -> bool:
    return any(
        key == app_label or key.startswith(app_label + ".")
        for key in ROLE_MODEL_PERMISSIONS.get(role, {})
    )


def totp_required_for(user) -> bool:
    """Second factor at login: the roles in TOTP_REQUIRED_ROLES, and every superuser."""
    return user.is_superuser or user.role in settings.TOTP_REQUIRED_ROLES


def grid_workers(*, grid_id: int | None) -> list[User]:
    """The active grid workers assigned to one grid (their scope is the grid), in a stable order."""
    if grid_id is None:
        return []
    return list(
        User.objects.filter(scope_id=grid_id, role=R.GRID_WORKER, is_active=True).order_by("id")
    )


def staff_list_for(*, user):
    """Staff the user may see: those assigned inside the user's scope."""
    return User.objects.filter(
        scope_q(user=user, path_field="scope__path"), is_active=True
    ).select_related("scope")


def staff_get_for(*, user, id: int) -> User:
    """One staff member inside the user's scope, else 404 (not 403: existence is not revealed)."""
    return get_object_or_404(staff_list_for(user=user), pk=id)
