"""Fan-out in the database: one delivery per active subscribed endpoint, in the event's
transaction."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from webhooks import services
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

URL = "https://hooks.example.com/x"

pytestmark = pytest.mark.django_db


def make(name: str, event_types: list[str]):
    return services.webhook_create(name=name, url=URL, event_types=event_types).endpoint


def emit(event_type: str, data: str = "{}") -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pggit.emit_event(%s, %s::jsonb)", [event_type, data])
        return cursor.fetchone()[0]


def test_an_event_becomes_one_delivery_per_active_subscribed_endpoint():
    everything = make("all", ["*"])
    commits = make("commits", ["commit.created", "branch.created"])
    make("alerts", ["alert.fired"])
    disabled = make("disabled", ["*"])
    services.webhook_disable(endpoint_id=disabled.pk)

    event_id = emit("commit.created", '{"hash": "abc"}')

    deliveries = WebhookDelivery.objects.filter(event_id=event_id).order_by("endpoint_id")
    assert [d.endpoint_id for d in deliveries] == [everything.pk, commits.pk]
    assert {d.status for d in deliveries} == {"pending"}
    assert deliveries[0].payload["data"] == {"hash": "abc"}
    assert deliveries[0].payload["id"] == event_id


def test_webhook_test_events_go_only_to_the_endpoint_they_name():
    target = make("target", ["commit.created"])
    make("all", ["*"])

    event_id = emit("webhook.test", f'{{"webhook_id": {target.pk}}}')

    assert list(WebhookDelivery.objects.filter(event_id=event_id).values_list("endpoint_id")) == [
        (target.pk,)
    ]


def test_a_rolled_back_event_leaves_no_delivery():
    make("all", ["*"])
    before = WebhookDelivery.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        emit("commit.created")
        raise RuntimeError("the operation failed")

    assert WebhookDelivery.objects.count() == before


def test_fan_out_is_structurally_once_per_endpoint_and_event():
    endpoint = make("all", ["*"])
    event_id = emit("commit.created")

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO pggit.webhook_deliveries (endpoint_id, event_id, event_type, payload)"
            " VALUES (%s, %s, 'commit.created', '{}') ON CONFLICT DO NOTHING",
            [endpoint.pk, event_id],
        )
        inserted = cursor.rowcount

    assert inserted == 0
    assert WebhookDelivery.objects.filter(event_id=event_id).count() == 1


def test_concurrent_claims_hand_each_delivery_to_one_worker():
    make("all", ["*"])
    for _ in range(5):
        emit("commit.created")

    with connection.cursor() as cursor:
        cursor.execute("SELECT delivery_id FROM pggit.webhook_claim('a', 3, 30)")
        first = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT delivery_id FROM pggit.webhook_claim('b', 10, 30)")
        second = [row[0] for row in cursor.fetchall()]

    assert len(first) == 3
    assert len(second) == 2
    assert not set(first) & set(second)


def test_a_result_from_a_lost_claim_is_kept_but_not_counted_in_the_endpoint_health():
    endpoint = make("all", ["*"])
    emit("commit.created")
    record = (
        "SELECT pggit.webhook_record_attempt(%s, %s, %s, now(), 5, 500, NULL, '{}', '',"
        " 'retry', now() + interval '1 min', interval '5 days', %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT delivery_id, claim_token FROM pggit.webhook_claim('a', 1, 30)")
        delivery_id, lost_token = cursor.fetchone()
        # the lease of worker a runs out; worker b takes the delivery over
        cursor.execute(
            "UPDATE pggit.webhook_deliveries SET next_attempt_at = now() - interval '1 s'"
        )
        cursor.execute("SELECT claim_token FROM pggit.webhook_claim('b', 1, 30)")
        current_token = cursor.fetchone()[0]
        cursor.execute(record, [delivery_id, lost_token, 1, "a"])
        lost = cursor.fetchone()[0]
        cursor.execute(record, [delivery_id, current_token, 2, "b"])
        current = cursor.fetchone()[0]

    health = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (lost, current) == ("stale", "pending")
    assert (health.total_deliveries, health.failed_deliveries, health.consecutive_failures) == (
        1,
        1,
        1,
    )
    assert list(WebhookAttempt.objects.order_by("number").values_list("worker", flat=True)) == [
        "a",
        "b",
    ]
