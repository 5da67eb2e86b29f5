from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from cockpit import views
from dispatch.field import CaseJoinApi

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says; answer with our icon, not a 404.
    path("favicon.ico", RedirectView.as_view(url="/static/cockpit/favicon.svg", permanent=True)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/grids/", include("grids.urls")),
    path("open311/v2/", include("events.open311.urls")),  # Open311 GeoReport v2
    path("api/cases/<int:id>/actions/join", CaseJoinApi.as_view()),  # before events' <action>
    path("", include("events.urls")),  # 随手拍, tracking, intake APIs, webhooks, Open311
    path("", include("dispatch.urls")),  # operator console, routing, live push
    path("", include("safetycode.urls")),  # 平安码: /safety/, /api/safety/, /s/<token>
    path("", include("cockpit.screen.urls")),  # the big screen, indices, daily consultation
]
