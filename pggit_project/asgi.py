"""ASGI entry point: HTTP goes to Django, WebSockets to the Channels URL router.

Run with ``uvicorn pggit_project.asgi:application``; ``make run`` does it for you (the command:
``pggit_project.processes.web_command``). HTTP requests run Django's synchronous path on a fixed
pool of ``PGGIT_WEB_THREADS`` threads (``pggit_project.serving``), not on a new thread each.
"""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pggit_project.settings")
django.setup(set_prefix=False)  # before anything imports models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from cachemgmt.hitpath import CacheHitApp  # noqa: E402
from pggit_project.apps import announce_start_up  # noqa: E402
from pggit_project.routing import websocket_urlpatterns  # noqa: E402
from pggit_project.serving import LivenessApp, PooledHTTPHandler  # noqa: E402

announce_start_up()  # the backends line, once (not again under `make run`, which logged it)
django_asgi_app = PooledHTTPHandler(threads=settings.PGGIT_WEB_THREADS)
# In debug mode the admin's and the API docs' static files are served by the application itself;
# in production a proxy or `collectstatic` + a static server does it.
http_application = ASGIStaticFilesHandler(django_asgi_app) if settings.DEBUG else django_asgi_app
# Cache hits of the cached GET endpoints are answered before Django runs (cachemgmt.hitpath).
http_application = CacheHitApp(http_application)
# GET /health is answered on the event loop once Django has answered it (pggit_project.serving).
http_application = LivenessApp(http_application)

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)

# Everything built so far (modules, settings, URL patterns, the serializers' field templates, the
# middleware chain) lives as long as the process: frozen, the cyclic garbage collector no longer
# scans it on each full collection, which held the interpreter lock for tens of milliseconds
# (docs/benchmarks.md, "Issue 16: the request graph freed when the request ends").
gc.collect()
gc.freeze()
