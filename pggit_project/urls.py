"""URL configuration: admin, health, the OpenAPI schema and the REST API under ``/api/v1/``.

Each app contributes its API routes in ``<app>/api/urls.py`` (included below). Every route answers
with and without a trailing slash (``OptionalSlashRouter``, ``optional_slash``).
"""

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework_simplejwt.views import TokenVerifyView

from pggit_project.routers import optional_slash
from pggit_project.throttling import ThrottledTokenObtainPairView
from pggit_project.tokens import TokenRefreshView
from pggit_project.views import DeepHealthView, LivenessView, landing, websocket_only

admin.site.site_header = "pgGit console"
admin.site.site_title = "pgGit"
admin.site.index_title = "Schema version control"
admin.site.site_url = "/"  # "View site": the landing page
# The admin's index: the version-control console and the live page above the models
admin.site.index_template = "pggit_project/admin_index.html"

handler400 = "pggit_project.handlers.bad_request"
handler403 = "pggit_project.handlers.permission_denied"
handler404 = "pggit_project.handlers.page_not_found"
handler500 = "pggit_project.handlers.server_error"

api_v1 = [
    optional_slash("auth/token", ThrottledTokenObtainPairView.as_view(), name="token_obtain_pair"),
    optional_slash("auth/token/refresh", TokenRefreshView.as_view(), name="token_refresh"),
    optional_slash("auth/token/verify", TokenVerifyView.as_view(), name="token_verify"),
    path("", include("vcs.api.urls")),
    path("", include("alerts.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("cachemgmt.api.urls")),
]

urlpatterns = [
    path("", landing, name="landing"),
    re_path(r"^admin$", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/live/", include("alerts.live")),
    path(
        "admin/console/", include("vcs.console.views")
    ),  # the version-control console  # the live operations page (docs/realtime.md)
    path("admin/", admin.site.urls),
    optional_slash("health", LivenessView.as_view(), name="health"),
    optional_slash("health/deep", DeepHealthView.as_view(), name="health-deep"),
    optional_slash("api/schema", SpectacularAPIView.as_view(), name="schema"),
    optional_slash(
        "api/schema/swagger-ui",
        SpectacularSwaggerView.as_view(url_name="schema"),
        name="swagger-ui",
    ),
    optional_slash(
        "api/schema/redoc",
        # without drf-spectacular's Google Fonts stylesheet: the page names no other host
        SpectacularRedocView.as_view(url_name="schema", template_name="pggit_project/redoc.html"),
        name="redoc",
    ),
    # WebSocket paths (pggit_project.routing) reached by plain HTTP: 426 (docs/realtime.md)
    optional_slash("ws", websocket_only, name="ws-http"),
    optional_slash("api/v1/ws/alerts", websocket_only, name="ws-alerts-http"),
    path("api/v1/", include(api_v1)),
]
