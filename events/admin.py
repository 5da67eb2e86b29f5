"""Admin for the taxonomy and deadlines (district admins configure them) and a read-only view
of cases: a case changes only through events.services, so every step is logged."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from events.models import (
    Attachment,
    CalendarDay,
    Case,
    CaseLog,
    Category,
    DeadlinePolicy,
    ExtensionRequest,
    HotlineOrder,
)
from events.templatetags.category_icons import category_icon


class DeadlinePolicyInline(admin.TabularInline):
    model = DeadlinePolicy
    extra = 0
    fields = ("step", "grade", "amount", "unit")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "name_en",
        "kind",
        "major_name",
        "legacy_code",
        "default_grade",
        "resident_visible",
        "icon",
        "icon_preview",
        "sort",
        "active",
    )
    list_filter = (
        "kind",
        "standard_ref",
        "is_local_extension",
        "resident_visible",
        "default_grade",
        "active",
        "major_name",
    )
    search_fields = ("code", "legacy_code", "name", "name_en", "major_name")
    list_editable = ("resident_visible", "icon", "sort", "active")
    ordering = ("kind", "code")
    inlines = [DeadlinePolicyInline]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "standard_ref",
                    "kind",
                    "code",
                    "legacy_code",
                    "major_name",
                    "name",
                    "name_en",
                    "is_local_extension",
                )
            },
        ),
        (
            _("处置"),
            {"fields": ("default_grade", "register_condition", "close_condition", "active")},
        ),
        (_("随手拍"), {"fields": ("resident_visible", "icon", "sort")}),
    )

    @admin.display(description=_("图标预览"))
    def icon_preview(self, obj):
        return category_icon(obj.icon)

    def get_readonly_fields(self, request, obj=None):
        # A category's identity is the standard's; codes of categories in use do not change.
        return ("standard_ref", "kind", "code") if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # cases refer to categories: deactivate instead


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "category", "grade", "step", "amount", "unit")
    list_filter = ("step", "grade", "unit")
    search_fields = ("category__code", "category__name")
    autocomplete_fields = ("category",)
    list_select_related = ("category",)


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "is_workday", "note")
    list_filter = ("is_workday",)
    date_hierarchy = "date"
    search_fields = ("note",)


class _ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CaseLogInline(_ReadOnly, admin.TabularInline):
    model = CaseLog
    fields = (
        "id",
        "at",
        "action",
        "actor",
        "actor_label",
        "from_status",
        "to_status",
        "note",
        "client_action_id",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("id",)
    show_change_link = False


class AttachmentInline(_ReadOnly, admin.TabularInline):
    model = Attachment
    fields = ("stage", "file", "content_type", "size", "width", "height", "uploaded_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


class HotlineOrderInline(_ReadOnly, admin.StackedInline):
    model = HotlineOrder
    extra = 0
    can_delete = False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Read-only: every change goes through the lifecycle (console, APIs) and is logged."""

    list_display = (
        "number",
        "source",
        "category",
        "grade",
        "status",
        "grid",
        "handler",
        "reported_at",
        "resolve_due",
        "outside_jurisdiction",
    )
    list_filter = ("status", "source", "grade", "outside_jurisdiction", "category__kind")
    search_fields = ("number", "external_id", "title", "address")
    date_hierarchy = "reported_at"
    list_select_related = ("category", "grid", "handler")
    exclude = ("reporter_phone_enc", "reporter_phone_index", "tracking_token", "location")
    readonly_fields = ("location_wkt",)
    inlines = [HotlineOrderInline, AttachmentInline, CaseLogInline]
    show_full_result_count = (
        False  # COUNT(*) over millions of cases is slow; the list pages without it
    )

    @admin.display(description=_("位置"))
    def location_wkt(self, obj):
        return f"{obj.location.x:.6f}, {obj.location.y:.6f}" if obj.location else "—"

    def get_readonly_fields(self, request, obj=None):
        names = [f.name for f in Case._meta.concrete_fields if f.name not in self.exclude]
        return [*names, "location_wkt"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # view only (the "view" permission shows the page); nothing is saved from here
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(HotlineOrder)
class HotlineOrderAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = (
        "order_no",
        "case",
        "appeal_type",
        "channel",
        "anonymous",
        "confidential",
        "due_at",
        "callback_satisfaction",
    )
    list_filter = ("appeal_type", "anonymous", "confidential", "callback_satisfaction")
    search_fields = ("order_no", "case__number")
    list_select_related = ("case",)


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(_ReadOnly, admin.ModelAdmin):
    """Decided in the console (extension_approve / extension_refuse), where the log records it."""

    list_display = (
        "case",
        "status",
        "requested_by",
        "requested_at",
        "new_due",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status",)
    search_fields = ("case__number", "reason")
    list_select_related = ("case", "requested_by", "decided_by")
