"""Admin: the scoring model (weights, thresholds, five-colour weights), the checklists per scene
(items, weights, which answers are hazards) and read-mostly views of sites and their records."""

from django.contrib import admin

from safetycode.models import (
    Appeal,
    ChecklistItem,
    Hazard,
    ImportJob,
    InspectionTask,
    ScoreModel,
    Site,
)


@admin.register(ScoreModel)
class ScoreModelAdmin(admin.ModelAdmin):
    list_display = ("name", "active", "red_below", "yellow_below", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "active", "scene_base")}),
        (
            "隐患 Hazards",
            {
                "fields": (
                    "major_open_points",
                    "general_open_points",
                    "general_open_cap",
                    "overdue_points",
                    "recurring_points",
                    "recurring_days",
                )
            },
        ),
        (
            "时效 Freshness",
            {
                "fields": (
                    "selfcheck_days",
                    "selfcheck_stale_points",
                    "inspection_days",
                    "inspection_stale_points",
                )
            },
        ),
        (
            "事件与事故 Cases, accidents",
            {"fields": ("case_points", "case_cap", "case_days", "case_radius_m", "accident_days")},
        ),
        ("码色 Codes", {"fields": ("red_below", "yellow_below", "yellow_on_open_general")}),
        (
            "五色图 Five-colour map",
            {
                "fields": (
                    "grid_red_weight",
                    "grid_yellow_weight",
                    "grid_min_sites",
                    "grid_case_weight",
                    "grid_case_majors",
                    "grid_red_at",
                    "grid_orange_at",
                    "grid_yellow_at",
                )
            },
        ),
    )


@admin.register(ChecklistItem)
class ChecklistItemAdmin(admin.ModelAdmin):
    list_display = (
        "scene",
        "sort",
        "code",
        "text",
        "weight",
        "hazard_answers",
        "hazard_level",
        "rectify_days",
        "active",
    )
    list_editable = ("sort", "weight", "hazard_level", "rectify_days", "active")
    list_filter = ("scene", "hazard_level", "active")
    search_fields = ("code", "text")


class HazardInline(admin.TabularInline):
    model = Hazard
    fk_name = "site"
    extra = 0
    fields = ("description", "level", "status", "found_at", "due_at", "closed_at", "case_id")
    readonly_fields = fields
    can_delete = False


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("name", "scene", "grid", "score", "code", "scored_at")
    list_filter = ("scene", "code")
    search_fields = ("name", "credit_code")
    readonly_fields = (
        "grid",
        "node_path",
        "owner_enc",
        "phone_enc",
        "score",
        "code",
        "factors",
        "scored_at",
        "last_selfcheck_at",
        "last_inspection_at",
        "import_job",
    )
    exclude = ("owner_index", "phone_index")
    inlines = [HazardInline]

    def save_model(self, request, obj, form, change):
        """A suspended licence or a recorded accident changes the code at once, not at night."""
        super().save_model(request, obj, form, change)
        from safetycode.scoring import scores_recompute

        scores_recompute(site_ids=[obj.id])


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin):
    list_display = ("site", "status", "code_at_appeal", "submitted_at", "reviewer", "decided_at")
    list_filter = ("status",)
    readonly_fields = (
        "site",
        "reason",
        "code_at_appeal",
        "score_at_appeal",
        "factors_at_appeal",
        "submitted_at",
    )


@admin.register(InspectionTask)
class InspectionTaskAdmin(admin.ModelAdmin):
    list_display = ("site", "assignee", "code_at_plan", "due_at", "status")
    list_filter = ("status", "code_at_plan")
    raw_id_fields = ("site", "assignee", "inspection")


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("filename", "status", "total", "created", "created_by", "created_at")
    readonly_fields = ("errors",)
