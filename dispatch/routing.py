"""Websocket routes of the live push (gathered by cockpit/routing.py)."""

from django.urls import path

from dispatch import consumers

websocket_urlpatterns = [
    path("ws/live/", consumers.LiveConsumer.as_asgi(), name="ws-live"),
    path("ws/case/<int:case_id>/", consumers.CaseConsumer.as_asgi(), name="ws-case"),
    path("ws/track/<str:token>/", consumers.TrackConsumer.as_asgi(), name="ws-track"),
]
