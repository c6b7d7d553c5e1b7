"""API routes of the alerts app; register viewsets on ``router``."""

from pggit_project.routers import OptionalSlashRouter

router = OptionalSlashRouter()

urlpatterns = [*router.urls]
