"""ASGI entry point: HTTP goes to Django, WebSockets to the Channels URL router.

Run with ``uvicorn pggit_project.asgi:application`` (or daphne); ``make run`` does it for you
(options: ``pggit_project.processes.web_server_options``).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pggit_project.settings")
django_asgi_app = get_asgi_application()  # sets Django up before anything imports models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from cachemgmt.hitpath import CacheHitApp  # noqa: E402
from pggit_project.routing import websocket_urlpatterns  # noqa: E402

# In debug mode the admin's and the API docs' static files are served by the application itself;
# in production a proxy or `collectstatic` + a static server does it.
http_application = ASGIStaticFilesHandler(django_asgi_app) if settings.DEBUG else django_asgi_app
# Cache hits of the cached GET endpoints are answered before Django runs (cachemgmt.hitpath).
http_application = CacheHitApp(http_application)

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
