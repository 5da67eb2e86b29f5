from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "账号与权限 Accounts"


class CockpitAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our site: login through accounts (lockout, TOTP, audit) and
    admin access decided by role (三员 separation), see accounts.admin_site."""

    default = (
        False  # named explicitly in INSTALLED_APPS; AccountsConfig stays this module's default
    )
    default_site = "accounts.admin_site.CockpitAdminSite"
