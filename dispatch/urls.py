from django.urls import include, path

urlpatterns = [
    path("", include("dispatch.urls_api")),  # routing, dispatch, plans, orders, export (JSON)
    path("", include("dispatch.urls_console")),  # the operator console pages
    path("", include("dispatch.urls_field")),
]
