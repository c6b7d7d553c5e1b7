"""API routes of the cachemgmt app; register viewsets on ``router``."""

from pggit_project.routers import OptionalSlashRouter

router = OptionalSlashRouter()

urlpatterns = [*router.urls]
