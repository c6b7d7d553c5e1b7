"""API routes of the webhooks app; register viewsets on ``router``."""

from pggit_project.routers import OptionalSlashRouter

router = OptionalSlashRouter()

urlpatterns = [*router.urls]
