"""Open311 GeoReport v2, mounted at /open311/v2/ (cockpit/urls.py). Every resource answers as
.xml or .json; anything else under the prefix is an Open311 404 error list."""

from django.urls import path, re_path

from events.open311 import views

app_name = "open311"

FMT = r"(?P<fmt>xml|json)"

urlpatterns = [
    re_path(rf"^discovery\.{FMT}$", views.discovery, name="discovery"),
    re_path(rf"^services\.{FMT}$", views.service_list, name="services"),
    re_path(rf"^services/(?P<code>[^/]+)\.{FMT}$", views.service_definition, name="service"),
    re_path(rf"^requests\.{FMT}$", views.requests_collection, name="requests"),
    re_path(rf"^requests/(?P<id>[^/]+)\.{FMT}$", views.request_detail, name="request"),
    re_path(rf"^tokens/(?P<token>[^/]+)\.{FMT}$", views.token_detail, name="token"),
    path("", views.not_found, name="root"),
    re_path(r"^(?P<path>.*)$", views.not_found, name="not-found"),
]
