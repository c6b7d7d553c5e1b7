"""Reads of the webhooks app: query functions used by views, admin, commands and health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from pggit_project.compiled_sql import compiled_lists
from webhooks.constants import WORKER_STALE_SECONDS
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("id")


def endpoint_get(*, endpoint_id: int) -> WebhookEndpoint | None:
    """``WebhookEndpoint.objects.filter(pk=endpoint_id).first()``, its statement kept."""
    return compiled_lists.first_by_pk(WebhookEndpoint.objects.all, endpoint_id)


def delivery_list(*, endpoint_id: int | None = None) -> QuerySet[WebhookDelivery]:
    """Deliveries, newest first."""
    deliveries = WebhookDelivery.objects.order_by("-created_at", "-id")
    if endpoint_id is not None:
        deliveries = deliveries.filter(endpoint_id=endpoint_id)
    return deliveries


def delivery_with_attempts() -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.prefetch_related(
        Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("number"))
    )


@dataclass(frozen=True)
class WorkerStatus:
    """What /health/deep reports about delivery."""

    workers: int
    heartbeat_age_seconds: float | None
    backlog: int
    oldest_due_age_seconds: float | None
    active_endpoints: int


def worker_status(*, now: datetime | None = None) -> WorkerStatus:
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT"
            " (SELECT count(*) FROM pggit.webhook_workers"
            "   WHERE stopped_at IS NULL AND heartbeat_at > %s),"
            " (SELECT max(heartbeat_at) FROM pggit.webhook_workers WHERE stopped_at IS NULL),"
            " (SELECT count(*) FROM pggit.webhook_deliveries"
            "   WHERE status IN ('pending', 'delivering') AND next_attempt_at <= %s),"
            " (SELECT min(next_attempt_at) FROM pggit.webhook_deliveries"
            "   WHERE status IN ('pending', 'delivering') AND next_attempt_at <= %s),"
            " (SELECT count(*) FROM pggit.webhook_endpoints WHERE is_active)",
            [now - timedelta(seconds=WORKER_STALE_SECONDS), now, now],
        )
        workers, last_beat, backlog, oldest_due, active = cursor.fetchone()
    return WorkerStatus(
        workers=workers,
        heartbeat_age_seconds=None if last_beat is None else (now - last_beat).total_seconds(),
        backlog=backlog,
        oldest_due_age_seconds=None if oldest_due is None else (now - oldest_due).total_seconds(),
        active_endpoints=active,
    )
