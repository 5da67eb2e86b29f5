"""Mounted at /api/grids/ by cockpit/urls.py."""

from django.urls import path

from grids import api

urlpatterns = [
    path("", api.GridListApi.as_view(), name="grid-list"),
    path("<int:grid_id>/", api.GridDetailApi.as_view(), name="grid-detail"),
    path("locate", api.GridLocateApi.as_view(), name="grid-locate"),
    path("positions", api.PositionRecordApi.as_view(), name="position-record"),
    path("forces", api.ForcesLatestApi.as_view(), name="forces-latest"),
]
