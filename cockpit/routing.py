"""Websocket routes of every app, gathered here (the cockpit is the only place that knows them all)."""

from dispatch.routing import websocket_urlpatterns as dispatch_ws

websocket_urlpatterns = [*dispatch_ws]
