from django.urls import path

from events import api, views

urlpatterns = [
    # residents (no login)
    path("report", views.report_page, name="report-page"),
    path("t/", views.track_lookup_page, name="track-lookup-page"),
    path("t/<str:token>", views.track_page, name="track-page"),
    path("t/<str:token>/photos/<int:photo_id>", views.track_photo, name="track-photo"),
    path("api/report", api.resident_report, name="report-create"),
    path("api/track/lookup", api.TrackLookupApi.as_view(), name="track-lookup"),
    path("api/track/<str:token>", api.TrackApi.as_view(), name="track-get"),
    path("api/track/<str:token>/rate", api.TrackRateApi.as_view(), name="track-rate"),
    path("api/track/<str:token>/dispute", api.TrackDisputeApi.as_view(), name="track-dispute"),
    # staff
    path("api/cases/", api.CaseCollectionApi.as_view(), name="case-list"),
    path("api/cases/<int:id>/", api.CaseDetailApi.as_view(), name="case-detail"),
    path(
        "api/cases/<int:id>/reveal-phone",
        api.CaseRevealPhoneApi.as_view(),
        name="case-reveal-phone",
    ),
    path("api/cases/<int:id>/photos/<int:photo_id>", api.CasePhotoApi.as_view(), name="case-photo"),
    path(
        "api/cases/<int:id>/actions/<str:action>", api.CaseActionApi.as_view(), name="case-action"
    ),
    path(
        "api/cases/<int:id>/hotline-callback",
        api.HotlineCallbackApi.as_view(),
        name="case-hotline-callback",
    ),
    path("api/categories", api.CategoryListApi.as_view(), name="category-list"),
    # machine sources (per-source API key)
    path("api/intake/<str:source>/", api.IntakeApi.as_view(), name="intake-create"),
]
