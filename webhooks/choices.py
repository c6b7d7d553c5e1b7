"""Choices of the webhooks app."""

from django.db import models


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "pending"
    DELIVERING = "delivering", "delivering"
    DELIVERED = "delivered", "delivered"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


# A delivery still to be attempted: its next_attempt_at means something.
ACTIVE_DELIVERY_STATUSES = frozenset({DeliveryStatus.PENDING, DeliveryStatus.DELIVERING})


class EndpointHealth(models.TextChoices):
    HEALTHY = "healthy", "healthy"
    FAILING = "failing", "failing"
    DISABLED = "disabled", "disabled"


class AttemptOutcome(models.TextChoices):
    """What an attempt does to its delivery (``pggit.webhook_record_attempt``)."""

    DELIVERED = "delivered", "delivered"
    RETRY = "retry", "retry later"
    FAILED = "failed", "retries exhausted"
    GONE = "gone", "410 Gone: endpoint disabled"
