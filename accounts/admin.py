"""Admin pages for staff, the audit log and source keys, divided by 三员 (see admin_site).

- Users: sys_admin manages accounts (create, deactivate, scope, phone, password reset);
  sec_admin assigns roles, unlocks accounts and resets second factors; district_admin may look.
  Accounts of the 三员 and superusers are changed by a superuser only. Nobody deletes an account.
- Audit log: read-only, and only for the audit administrator (not even a superuser).
- Source keys: the security administrator issues (the key is shown once) and revokes.
Every write goes through accounts.services, which checks the same rules and audits.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import pii, services
from accounts.models import AuditLog, SourceKey, User
from accounts.selectors import user_can
from cockpit.errors import ApplicationError

# Permissions come from roles (accounts.auth.RoleBackend); groups would be a second, unaudited path.
admin.site.unregister(Group)

SECURITY_FIELDS = (
    "password_changed_at",
    "failed_logins",
    "locked_until",
    "totp_confirmed",
    "last_login",
    "date_joined",
)


def _may_touch(request, obj) -> bool:
    return (
        obj is None
        or request.user.is_superuser
        or not (obj.is_superuser or obj.role in User.THREE_ADMINS)
    )


class PhoneField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        return pii.normalize_mobile(value) if value else ""


class StaffChangeForm(UserChangeForm):
    phone = PhoneField(
        label=_("手机号码"), required=False, help_text=_("留空表示不修改。保存时加密存储。")
    )

    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "phone" in self.fields and self.instance.phone_enc:
            current = pii.mask_phone(pii.decrypt(self.instance.phone_enc))
            self.fields["phone"].help_text = gettext("当前：%(phone)s。留空表示不修改。") % {
                "phone": current
            }


class StaffCreationForm(UserCreationForm):
    phone = PhoneField(label=_("手机号码"), required=False)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "display_name", "role", "scope")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("role") in User.THREE_ADMINS and self.instance.is_superuser:
            raise ValidationError(_("三员角色不能授予超级用户。"))
        return cleaned


class StaffPasswordForm(AdminPasswordChangeForm):
    """Set a new password; no "disable password login" switch (accounts are deactivated)."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields.pop("usable_password", None)
        self.fields["password1"].required = self.fields["password2"].required = True


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = StaffChangeForm
    add_form = StaffCreationForm
    change_password_form = StaffPasswordForm
    list_display = (
        "username",
        "display_name",
        "role",
        "scope",
        "is_active",
        "is_locked",
        "totp_confirmed",
        "last_login",
    )
    list_filter = ("role", "is_active", "totp_confirmed", "scope__kind")
    list_select_related = ("scope",)
    search_fields = ("username", "display_name")
    ordering = ("username",)
    actions = ["unlock_accounts", "reset_totp"]

    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("个人信息"), {"fields": ("display_name", "phone", "email")}),
        (_("角色与范围"), {"fields": ("role", "scope", "is_active")}),
        (_("安全状态"), {"fields": SECURITY_FIELDS}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "password1",
                    "password2",
                    "display_name",
                    "phone",
                    "role",
                    "scope",
                ),
            },
        ),
    )

    @admin.display(boolean=True, description=_("锁定中"))
    def is_locked(self, obj) -> bool:
        return bool(obj.locked_until and obj.locked_until > timezone.now())

    # --- who may do what -------------------------------------------------------------------

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and _may_touch(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead: audit records and cases refer to accounts

    def has_security_permission(self, request) -> bool:
        return request.user.is_superuser or user_can(request.user, "roles.assign")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        fields = set(SECURITY_FIELDS)
        user = request.user
        if not user.is_superuser:
            if not user_can(user, "users.manage"):
                fields |= {"username", "display_name", "phone", "email", "scope", "is_active"}
            if not user_can(user, "roles.assign") or obj.pk == user.pk:
                fields.add("role")
        return tuple(
            f
            for f in (
                "username",
                "display_name",
                "phone",
                "email",
                "role",
                "scope",
                "is_active",
                *SECURITY_FIELDS,
            )
            if f in fields
        )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None and not request.user.is_superuser:
            # sys_admin creates accounts; sec_admin grants roles afterwards.
            fields = tuple(f for f in fieldsets[0][1]["fields"] if f != "role")
            return ((None, {**fieldsets[0][1], "fields": fields}),)
        return fieldsets

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None and "phone" in (self.get_readonly_fields(request, obj) or ()):
            form.base_fields.pop("phone", None)
        return form

    def phone(self, obj) -> str:
        return pii.mask_phone(pii.decrypt(obj.phone_enc)) if obj and obj.phone_enc else "-"

    phone.short_description = _("手机号码")

    def get_search_results(self, request, queryset, search_term):
        # A phone number finds its owner through the blind index (the column is encrypted).
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            number = pii.normalize_mobile(search_term)
        except ValidationError:
            return results, may_have_duplicates
        return results | queryset.filter(phone_index=pii.blind_index(number)), may_have_duplicates

    # --- writes go through the services -----------------------------------------------------

    def save_model(self, request, obj, form, change):
        try:
            if not change:
                services.user_create(
                    actor=request.user,
                    user=obj,
                    phone=form.cleaned_data.get("phone", ""),
                    request=request,
                )
                return
            model_fields = {f.name for f in User._meta.get_fields()}
            changes = {
                f: form.cleaned_data[f]
                for f in form.changed_data
                if f in model_fields and f != "password"
            }
            phone = form.cleaned_data.get("phone") or None
            services.user_update(
                actor=request.user, user=obj, changes=changes, phone=phone, request=request
            )
        except ApplicationError as exc:
            raise PermissionDenied(exc.message)

    def user_change_password(self, request, id, form_url=""):
        user = self.get_object(request, unquote(id))
        if (
            user is None
            or not (request.user.is_superuser or user_can(request.user, "users.manage"))
            or not _may_touch(request, user)
        ):
            raise PermissionDenied
        if request.method == "POST":
            form = self.change_password_form(user, request.POST)
            if form.is_valid():
                services.password_set_by_admin(
                    actor=request.user,
                    user=user,
                    new_password=form.cleaned_data["password1"],
                    request=request,
                )
                messages.success(request, gettext("密码已重置。对方下次登录时须自行修改密码。"))
                return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
        return super().user_change_password(request, id, form_url)

    @admin.action(description=_("解除锁定"), permissions=["security"])
    def unlock_accounts(self, request, queryset):
        done = 0
        for user in queryset:
            if _may_touch(request, user):
                services.user_unlock(actor=request.user, user=user, request=request)
                done += 1
        self.message_user(request, gettext("已解除 %(n)d 个账号的锁定。") % {"n": done})

    @admin.action(description=_("重置动态验证码（重新绑定）"), permissions=["security"])
    def reset_totp(self, request, queryset):
        done = 0
        for user in queryset:
            if _may_touch(request, user):
                services.user_totp_reset(actor=request.user, user=user, request=request)
                done += 1
        self.message_user(request, gettext("已重置 %(n)d 个账号的动态验证码。") % {"n": done})


def _is_audit_admin(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_authenticated and user.role == User.Role.AUDIT_ADMIN)


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Read-only, for the audit administrator alone. Reading is itself audited."""

    list_display = ("at", "username", "event", "success", "ip", "target")
    list_filter = ("event", "success", ("at", admin.DateFieldListFilter))
    search_fields = ("username", "target", "event")
    date_hierarchy = "at"
    show_full_result_count = False  # the table grows to millions of rows; skip the extra COUNT
    list_per_page = 100
    readonly_fields = (
        "at",
        "user",
        "username",
        "event",
        "success",
        "ip",
        "user_agent",
        "target",
        "detail",
    )

    def has_module_permission(self, request) -> bool:
        return _is_audit_admin(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _is_audit_admin(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if _is_audit_admin(request):
            services.audit_record(
                user=request.user,
                event="audit.read",
                success=True,
                request=request,
                detail={"query": request.GET.urlencode()[:500]},
            )
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if _is_audit_admin(request):
            services.audit_record(
                user=request.user,
                event="audit.read",
                success=True,
                request=request,
                target=f"auditlog:{object_id}",
            )
        return super().change_view(request, object_id, form_url, extra_context)


def _may_manage_keys(request) -> bool:
    return request.user.is_superuser or user_can(request.user, "sourcekeys.manage")


@admin.register(SourceKey)
class SourceKeyAdmin(admin.ModelAdmin):
    list_display = (
        "prefix",
        "source",
        "name",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("source", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("prefix", "name")
    actions = ["revoke_keys"]

    def has_module_permission(self, request) -> bool:
        return _may_manage_keys(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _may_manage_keys(request)

    def has_add_permission(self, request) -> bool:
        return _may_manage_keys(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return _may_manage_keys(request)  # revoke only; every field is read-only

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked keys stay listed: the audit log names them

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("source", "name")
        return (
            "prefix",
            "source",
            "name",
            "created_at",
            "created_by",
            "last_used_at",
            "revoked_at",
        )

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing on a key is editable
        key, raw = services.source_key_issue(
            source=obj.source, name=obj.name, actor=request.user, request=request
        )
        obj.__dict__.update(
            key.__dict__
        )  # the admin goes on with the saved row (pk, prefix, state)
        messages.warning(
            request,
            gettext("新的接口密钥只显示这一次，请立即复制并交给对接方：%(key)s") % {"key": raw},
        )

    @admin.action(description=_("吊销所选密钥"), permissions=["change"])
    def revoke_keys(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            services.source_key_revoke(prefix=key.prefix, actor=request.user, request=request)
        self.message_user(request, gettext("所选密钥已吊销。"))
