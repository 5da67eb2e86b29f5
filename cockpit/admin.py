"""Admin for the cockpit: index weights and baselines (district admins edit them), stored index
values and consultations (read-only records)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cockpit.models import Consultation, ConsultationOrder, IndexDefinition, IndexValue


@admin.register(IndexDefinition)
class IndexDefinitionAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "key",
        "weight_volume",
        "weight_severity",
        "weight_handling",
        "baseline",
        "sort",
    )
    list_editable = ("weight_volume", "weight_severity", "weight_handling", "baseline", "sort")
    readonly_fields = ("key",)
    fieldsets = (
        (None, {"fields": ("key", "name", "sort")}),
        (_("归类"), {"fields": ("category_codes", "sources")}),
        (
            _("权重与基线（见 docs/indices.md）"),
            {"fields": ("weight_volume", "weight_severity", "weight_handling", "baseline")},
        ),
    )

    def has_add_permission(self, request):
        return False  # the six are fixed; their weights are what admins tune

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IndexValue)
class IndexValueAdmin(admin.ModelAdmin):
    list_display = ("day", "key", "value")
    list_filter = ("key",)
    date_hierarchy = "day"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ConsultationOrderInline(admin.TabularInline):
    model = ConsultationOrder
    extra = 0
    can_delete = False
    readonly_fields = ("order", "created_by")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Consultation)
class ConsultationAdmin(admin.ModelAdmin):
    list_display = ("day", "built_at")
    date_hierarchy = "day"
    readonly_fields = ("day", "built_at", "data")
    fields = ("day", "built_at", "note", "data")
    inlines = [ConsultationOrderInline]

    def has_add_permission(self, request):
        return False
