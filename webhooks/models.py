"""Unmanaged models over the webhook tables of the ``pggit`` schema (sql/schema/007_webhooks.sql).

They are read through the ORM and written only through ``webhooks.services`` (SQL functions and
statements with bound parameters), never with ``save()``.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models

from webhooks.choices import DeliveryStatus, EndpointHealth


class WebhookEndpoint(models.Model):
    """A receiver of signed event notifications. The signing secret is stored encrypted."""

    id = models.BigAutoField(primary_key=True)
    name = models.TextField()
    url = models.TextField()
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    event_types = ArrayField(models.TextField())
    secret_encrypted = models.BinaryField(editable=False)
    secret_hint = models.TextField(editable=False)
    previous_secret_encrypted = models.BinaryField(null=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True)
    total_deliveries = models.BigIntegerField(default=0)
    successful_deliveries = models.BigIntegerField(default=0)
    failed_deliveries = models.BigIntegerField(default=0)
    consecutive_failures = models.IntegerField(default=0)
    failing_since = models.DateTimeField(null=True)
    last_delivery_at = models.DateTimeField(null=True)
    last_success_at = models.DateTimeField(null=True)
    last_failure_at = models.DateTimeField(null=True)
    disabled_reason = models.TextField(null=True)  # noqa: DJ001 (mirrors a nullable column)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = 'pggit"."webhook_endpoints'
        ordering = ["id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.name

    @property
    def health_status(self) -> str:
        if not self.is_active:
            return EndpointHealth.DISABLED
        if self.consecutive_failures:
            return EndpointHealth.FAILING
        return EndpointHealth.HEALTHY


class WebhookDelivery(models.Model):
    """One event for one endpoint; sent until a 2xx answer or until retries are exhausted."""

    id = models.BigAutoField(primary_key=True)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.DO_NOTHING, related_name="deliveries"
    )
    event_id = models.BigIntegerField()
    event_type = models.TextField()
    payload = models.JSONField()
    status = models.TextField(choices=DeliveryStatus.choices)
    attempt_count = models.IntegerField()
    round_attempts = models.IntegerField()
    next_attempt_at = models.DateTimeField()
    claim_token = models.UUIDField(null=True)
    claimed_by = models.TextField(null=True)  # noqa: DJ001 (mirrors a nullable column)
    last_status_code = models.IntegerField(null=True)
    last_error = models.TextField(null=True)  # noqa: DJ001 (mirrors a nullable column)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = 'pggit"."webhook_deliveries'
        ordering = ["-created_at", "-id"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_type} #{self.event_id} -> {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery (request headers with the signature redacted)."""

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.DO_NOTHING, related_name="attempts"
    )
    number = models.IntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.FloatField()
    status_code = models.IntegerField(null=True)
    error = models.TextField(null=True)  # noqa: DJ001 (mirrors a nullable column)
    request_headers = models.JSONField()
    response_excerpt = models.TextField()
    worker = models.TextField(null=True)  # noqa: DJ001 (mirrors a nullable column)

    class Meta:
        managed = False
        db_table = 'pggit"."webhook_attempts'
        ordering = ["number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"


class WebhookWorker(models.Model):
    """A delivery worker process and its last heartbeat."""

    name = models.TextField(primary_key=True)
    hostname = models.TextField()
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True)
    in_flight = models.IntegerField()
    attempts = models.BigIntegerField()

    class Meta:
        managed = False
        db_table = 'pggit"."webhook_workers'
        ordering = ["-heartbeat_at"]

    def __str__(self) -> str:
        return self.name
