"""WebSocket routes of the project (the ``websocket`` side of the ASGI application).

``/ws`` (any topics) and ``/api/v1/ws/alerts`` (alert events), with or without a trailing slash;
any other path is closed with 4404 (``UnknownPathConsumer``), never an error of the server. The
session middleware lets a logged-in staff user's browser authenticate (``pggit_project.ws_auth``).
"""

from channels.auth import AuthMiddlewareStack
from django.urls import re_path

from pggit_project.consumers import AlertEventsConsumer, EventsConsumer, UnknownPathConsumer

websocket_urlpatterns: list = [
    re_path(r"^ws/?$", AuthMiddlewareStack(EventsConsumer.as_asgi())),
    re_path(r"^api/v1/ws/alerts/?$", AuthMiddlewareStack(AlertEventsConsumer.as_asgi())),
    re_path(r"", UnknownPathConsumer.as_asgi()),
]
