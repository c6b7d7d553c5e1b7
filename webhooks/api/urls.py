"""API routes of the webhooks app."""

from pggit_project.routers import OptionalSlashRouter
from webhooks.api import views

router = OptionalSlashRouter()
router.register("webhooks", views.WebhookViewSet, basename="webhook")
router.register("webhook-deliveries", views.DeliveryViewSet, basename="webhook-delivery")

urlpatterns = [*router.urls]
