"""API routes of the alerts app: alerts, silences, performance and the dashboard."""

from alerts.api import views
from pggit_project.routers import OptionalSlashRouter, optional_slash

router = OptionalSlashRouter()
router.register("alerts", views.AlertViewSet, basename="alert")
router.register("alert-silences", views.AlertSilenceViewSet, basename="alert-silence")
router.register("performance/metrics", views.OperationMetricViewSet, basename="operation-metric")
router.register("performance/baselines", views.BaselineViewSet, basename="baseline")

urlpatterns = [
    optional_slash(
        "performance/operations",
        views.OperationSummaryView.as_view(),
        name="performance-operations",
    ),
    optional_slash("dashboard", views.DashboardView.as_view(), name="dashboard"),
    *router.urls,
]
