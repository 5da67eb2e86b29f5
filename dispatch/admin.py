"""Admin for routing and dispatch (district admins configure it; the role decides, see
accounts.admin_site): departments and teams, the routing table (ordered, first match wins),
category defaults, grading rules, plans with their units, the duty rota, orders and answer
templates. Assignments are history and change only through dispatch.services: read-only here."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from dispatch.models import (
    AnswerTemplate,
    Assignment,
    CategoryDispatch,
    Department,
    DutyRota,
    GradeRule,
    Order,
    Plan,
    PlanUnit,
    RoutingRule,
    Team,
)


class TeamInline(admin.TabularInline):
    model = Team
    extra = 0
    fields = ("code", "name", "node", "lead")
    autocomplete_fields = ("lead",)
    show_change_link = True


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "scope", "active")
    list_filter = ("active",)
    list_editable = ("active",)
    search_fields = ("code", "name")
    inlines = [TeamInline]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "department", "node", "lead")
    list_filter = ("department",)
    search_fields = ("code", "name", "department__name")
    autocomplete_fields = ("department", "lead")
    filter_horizontal = ("members",)


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """The routing table: rules are tried by ``order``; edit order, active and mode in the list."""

    list_display = ("order", "name", "active", "mode", "target", "target_name", "conditions")
    list_display_links = ("name",)
    list_editable = ("order", "active", "mode")
    list_filter = ("active", "mode", "target")
    search_fields = ("name", "note", "major_name")
    ordering = ("order", "id")
    filter_horizontal = ("categories",)
    autocomplete_fields = ("department", "team", "user")
    save_as = True  # copy a rule to try a variant
    fieldsets = (
        (None, {"fields": ("name", "order", "active", "mode", "note")}),
        (
            _("条件（留空表示不限）"),
            {
                "fields": (
                    "categories",
                    "major_name",
                    "grades",
                    "sources",
                    "node",
                    ("time_from", "time_to"),
                    "weekdays",
                )
            },
        ),
        (_("派往"), {"fields": ("target", "department", "team", "user")}),
    )

    @admin.display(description=_("派往对象"))
    def target_name(self, rule: RoutingRule) -> str:
        return str(rule.user or rule.team or rule.department or rule.get_target_display())

    @admin.display(description=_("条件"))
    def conditions(self, rule: RoutingRule) -> str:
        parts = []
        names = [c.name for c in rule.categories.all()]
        if names:
            parts.append("、".join(names[:3]) + ("…" if len(names) > 3 else ""))
        if rule.major_name:
            parts.append(rule.major_name)
        if rule.grades:
            parts.append(_("等级") + " " + ",".join(map(str, rule.grades)))
        if rule.sources:
            parts.append(",".join(rule.sources))
        if rule.node_id:
            parts.append(str(rule.node))
        if rule.time_from:
            parts.append(f"{rule.time_from:%H:%M}–{rule.time_to:%H:%M}")
        return "；".join(parts) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("categories")


@admin.register(CategoryDispatch)
class CategoryDispatchAdmin(admin.ModelAdmin):
    list_display = ("category", "department", "mode")
    list_editable = ("department", "mode")
    list_filter = ("mode", "department")
    search_fields = ("category__code", "category__name")
    autocomplete_fields = ("category",)


@admin.register(GradeRule)
class GradeRuleAdmin(admin.ModelAdmin):
    list_display = ("order", "name", "active", "source", "category", "grade")
    list_display_links = ("name",)
    list_editable = ("order", "active")
    list_filter = ("active", "grade")
    autocomplete_fields = ("category",)
    ordering = ("order", "id")


class PlanUnitInline(admin.TabularInline):
    model = PlanUnit
    extra = 1
    fields = ("role", "department", "team", "sort")
    autocomplete_fields = ("department", "team")


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("order", "name", "active", "mode", "min_grade")
    list_display_links = ("name",)
    list_editable = ("order", "active", "mode")
    list_filter = ("active", "mode", "min_grade")
    search_fields = ("name",)
    filter_horizontal = ("categories",)
    inlines = [PlanUnitInline]
    ordering = ("order", "id")


@admin.register(DutyRota)
class DutyRotaAdmin(admin.ModelAdmin):
    list_display = ("date", "shift", "commander", "note")
    list_filter = ("shift",)
    date_hierarchy = "date"
    autocomplete_fields = ("commander",)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are issued from the console (POST /api/orders), which also makes their case."""

    list_display = ("issued_at", "issued_by", "recipient", "text_short", "due_at", "case")
    list_filter = ("department",)
    search_fields = ("text", "case__number")
    date_hierarchy = "issued_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("接收方"))
    def recipient(self, order: Order) -> str:
        return str(order.user or order.team or order.department)

    @admin.display(description=_("指令内容"))
    def text_short(self, order: Order) -> str:
        return order.text[:40]


@admin.register(AnswerTemplate)
class AnswerTemplateAdmin(admin.ModelAdmin):
    list_display = ("sort", "name", "action", "auto_send", "active")
    list_display_links = ("name",)
    list_editable = ("sort", "auto_send", "active")
    list_filter = ("auto_send", "active", "action")
    search_fields = ("name", "text")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        from dispatch.replies import auto_cache_clear

        auto_cache_clear()


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    """Who held which case: history written by dispatch.services, never edited by hand."""

    list_display = ("case", "role", "department", "team", "user", "plan", "active", "created_at")
    list_filter = ("active", "role", "department")
    search_fields = ("case__number",)
    list_select_related = ("case", "department", "team", "user", "plan")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
