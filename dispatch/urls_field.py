"""The field app for grid workers (/m/) and its few JSON endpoints; see dispatch/field.py."""

from django.urls import path

from dispatch import field

urlpatterns = [
    path("m/", field.field_app, name="field-app"),
    path("m/report", field.field_app, name="field-report"),
    path("m/me", field.field_app, name="field-me"),
    path("m/cases/<int:id>/", field.field_case, name="field-case"),
    path("m/sw.js", field.service_worker, name="field-sw"),
    path("m/manifest.webmanifest", field.manifest, name="field-manifest"),
    path("m/api/inbox", field.InboxApi.as_view(), name="field-inbox"),
    path("m/api/cases/<int:id>/joint", field.JointCaseApi.as_view(), name="field-joint"),
    path(
        "m/api/cases/<int:id>/call-nearby", field.CallNearbyApi.as_view(), name="field-call-nearby"
    ),
    # Also mounted ahead of events.urls in cockpit/urls.py: there the generic
    # /api/cases/<id>/actions/<action> would otherwise answer "unknown action".
    path("api/cases/<int:id>/actions/join", field.CaseJoinApi.as_view(), name="case-join"),
]
