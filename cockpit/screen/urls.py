from django.urls import path

from cockpit.screen import views

urlpatterns = [
    path("screen/", views.screen_page, name="cockpit-screen"),
    path("screen/consultation/", views.consultation_page, name="cockpit-consultation"),
    path(
        "screen/consultation/build", views.consultation_build_api, name="cockpit-consultation-build"
    ),
    path(
        "screen/consultation/<str:day>/", views.consultation_page, name="cockpit-consultation-day"
    ),
    path(
        "screen/consultation/<str:day>.xlsx",
        views.consultation_xlsx,
        name="cockpit-consultation-xlsx",
    ),
    path(
        "api/screen/consultation/<str:day>/orders",
        views.consultation_order_api,
        name="cockpit-consultation-order",
    ),
    path("api/screen/summary", views.summary_api, name="cockpit-screen-summary"),
    path("api/screen/indices", views.indices_api, name="cockpit-screen-indices"),
    path("api/screen/grids", views.grids_api, name="cockpit-screen-grids"),
    path("api/screen/grids/<int:grid_id>", views.grid_detail_api, name="cockpit-screen-grid"),
    path("api/screen/cases", views.cases_api, name="cockpit-screen-cases"),
    path("api/screen/cases/<int:case_id>", views.case_card_api, name="cockpit-screen-case"),
    path("api/screen/ticker", views.ticker_api, name="cockpit-screen-ticker"),
    path("api/screen/heat", views.heat_api, name="cockpit-screen-heat"),
    path("api/screen/forces", views.forces_api, name="cockpit-screen-forces"),
    path("api/tiles/<int:z>/<int:x>/<int:y>.pbf", views.tile_api, name="cockpit-tile"),
]
