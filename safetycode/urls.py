from django.urls import path

from safetycode import api, views

urlpatterns = [
    # pages (staff)
    path("safety/", views.site_list_page, name="safety-sites"),
    path("safety/sites/<int:site_id>", views.site_page, name="safety-site"),
    path("safety/sites/<int:site_id>/qr.<str:fmt>", views.site_qr, name="safety-site-qr"),
    path("safety/grids/<int:grid_id>/qr-sheet", views.grid_qr_sheet, name="safety-qr-sheet"),
    path("safety/risk", views.grid_risk_page, name="safety-risk"),
    path("safety/import", views.import_page, name="safety-import"),
    # the owner's self-check from the QR code (no login)
    path("s/<str:token>", views.selfcheck_page, name="safety-self"),
    # staff on the phone (the field app links here)
    path("m/inspections", views.inspection_tasks_page, name="safety-inspect-tasks"),
    path("m/sites/<int:site_id>/inspect", views.inspect_page, name="safety-inspect-page"),
    path("api/safety/self/<str:token>", api.SelfCheckApi.as_view(), name="safety-self-api"),
    path(
        "api/safety/self/<str:token>/appeal", api.SelfAppealApi.as_view(), name="safety-self-appeal"
    ),
    # staff APIs (field app, pages)
    path("api/safety/sites", api.SiteListApi.as_view(), name="safety-site-list"),
    path("api/safety/sites.geojson", api.SiteGeoJsonApi.as_view(), name="safety-site-geojson"),
    path("api/safety/sites/<int:id>", api.SiteDetailApi.as_view(), name="safety-site-detail"),
    path(
        "api/safety/sites/<int:id>/reveal", api.SiteRevealApi.as_view(), name="safety-site-reveal"
    ),
    path(
        "api/safety/sites/<int:id>/checklist", api.ChecklistApi.as_view(), name="safety-checklist"
    ),
    path(
        "api/safety/sites/<int:id>/inspections", api.InspectionApi.as_view(), name="safety-inspect"
    ),
    path("api/safety/tasks", api.TaskListApi.as_view(), name="safety-tasks"),
    path(
        "api/safety/appeals/<int:id>/decide",
        api.AppealDecideApi.as_view(),
        name="safety-appeal-decide",
    ),
    path("api/safety/grid-risk.geojson", api.GridRiskApi.as_view(), name="safety-grid-risk"),
    path("api/safety/imports", api.ImportCreateApi.as_view(), name="safety-import-create"),
    path("api/safety/imports/<int:id>", api.ImportDetailApi.as_view(), name="safety-import-detail"),
]
