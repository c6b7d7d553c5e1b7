"""API routes of the cachemgmt app."""

from cachemgmt.api import views
from pggit_project.routers import optional_slash

urlpatterns = [
    optional_slash("cache/stats", views.CacheStatsView.as_view(), name="cache-stats"),
    optional_slash("cache/warm", views.CacheWarmView.as_view(), name="cache-warm"),
    optional_slash(
        "cache/invalidate", views.CacheInvalidateView.as_view(), name="cache-invalidate"
    ),
]
