"""Delivery through a real worker loop to a real receiver on 127.0.0.1."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from tests.webhooks.conftest import create_endpoint, emit
from tests.webhooks.receiver import Reply
from webhooks.choices import AttemptOutcome
from webhooks.delivery.worker import deliver_until_idle
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clean_webhook_tables", "webhook_settings"),
]


def deliver_until_settled(rounds: int = 10) -> None:
    """Run the worker until no delivery is pending or in flight (retries included)."""
    import time

    for _ in range(rounds):
        deliver_until_idle()
        if not WebhookDelivery.objects.filter(status__in=["pending", "delivering"]).exists():
            return
        time.sleep(0.25)


def test_signature_verifies_with_the_secret_returned_at_creation(receiver):
    created = create_endpoint(receiver.url())
    event_id = emit("commit.created", {"hash": "abc"})

    deliver_until_idle()

    [request] = receiver.received()
    payload = Webhook(created.secret).verify(request.body, request.headers)
    assert payload["id"] == event_id
    assert payload["type"] == "commit.created"
    assert payload["data"] == {"hash": "abc"}
    assert request.headers["webhook-id"] == str(event_id)
    assert request.headers["content-type"] == "application/json"
    # a receiver without the library: HMAC-SHA256 of "{id}.{timestamp}.{body}" with the key bytes
    key = base64.b64decode(created.secret.removeprefix("whsec_"))
    signed = f"{event_id}.{request.headers['webhook-timestamp']}.".encode() + request.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert request.headers["webhook-signature"] == f"v1,{expected}"


def test_body_is_the_envelope_encoded_once(receiver):
    create_endpoint(receiver.url())
    event_id = emit("branch.created", {"name": "feature"})

    deliver_until_idle()

    body = json.loads(receiver.received()[0].body)
    assert isinstance(body, dict)
    assert sorted(body) == ["data", "id", "occurred_at", "type"]
    assert body["id"] == event_id
    assert body["data"] == {"name": "feature"}


def test_a_500_is_retried_with_the_same_webhook_id(receiver):
    create_endpoint(receiver.url())
    receiver.script("/hook", Reply(500, body="boom"))
    event_id = emit("commit.created")

    deliver_until_settled()

    requests = receiver.received()
    assert [r.headers["webhook-id"] for r in requests] == [str(event_id), str(event_id)]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered"
    assert delivery.attempt_count == 2
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(a.number, a.status_code) for a in attempts] == [(1, 500), (2, 200)]
    assert attempts[0].response_excerpt == "boom"
    assert attempts[0].request_headers["webhook-signature"] == "[redacted]"


def test_a_timeout_is_retried(receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    create_endpoint(receiver.url())
    receiver.script("/hook", Reply(200, delay=1.5))
    emit("commit.created")

    deliver_until_settled()

    attempts = list(WebhookAttempt.objects.order_by("number"))
    assert [a.status_code for a in attempts] == [None, 200]
    assert attempts[0].error == "timeout: no complete answer within 0.5 s"
    assert WebhookDelivery.objects.get().status == "delivered"
    assert len(receiver.received()) == 2


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(receiver, status):
    create_endpoint(receiver.url())
    receiver.script("/hook", Reply(status, headers={"Retry-After": "120"}))
    emit("commit.created")

    deliver_until_idle()

    delivery = WebhookDelivery.objects.get()
    attempt = WebhookAttempt.objects.get()
    assert delivery.status == "pending"
    assert attempt.status_code == status
    wait = delivery.next_attempt_at - attempt.started_at
    assert timedelta(seconds=120) <= wait < timedelta(seconds=122)


def test_retries_stop_after_the_schedule_and_the_delivery_fails(receiver):
    create_endpoint(receiver.url())
    receiver.script("/hook", *[Reply(500)] * 4)
    emit("commit.created")

    deliver_until_settled()

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.attempt_count == 4  # the first attempt and the 3 retries of the schedule
    assert delivery.last_status_code == 500
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.failed_deliveries, endpoint.consecutive_failures) == (4, 4)
    assert endpoint.is_active is True


def test_410_fails_the_delivery_and_disables_the_endpoint(receiver):
    created = create_endpoint(receiver.url())
    receiver.script("/hook", Reply(410))
    emit("commit.created")

    deliver_until_settled()

    endpoint = WebhookEndpoint.objects.get(pk=created.endpoint.pk)
    assert endpoint.is_active is False
    assert endpoint.disabled_reason.startswith("the endpoint answered 410 Gone")
    assert WebhookDelivery.objects.get(event_type="commit.created").status == "failed"
    assert len(receiver.received()) == 1
    assert disabled_events(endpoint.pk) == [
        {"webhook_id": endpoint.pk, "name": "receiver", "reason": endpoint.disabled_reason}
    ]
    assert alerts_for(endpoint.pk) == [("webhooks", "error", "firing")]


def test_a_redirect_is_not_followed(receiver):
    create_endpoint(receiver.url("/old"))
    receiver.script("/old", Reply(302, headers={"Location": receiver.url("/new")}))
    emit("commit.created")

    deliver_until_idle()

    assert [r.path for r in receiver.received()] == ["/old"]
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == 302
    assert attempt.error == f"redirect to {receiver.url('/new')!r} not followed"
    assert WebhookDelivery.objects.get().status == "pending"


def test_rotation_signs_with_the_new_and_the_previous_secret(receiver):
    from webhooks import services

    created = create_endpoint(receiver.url())
    rotated = services.webhook_rotate_secret(endpoint_id=created.endpoint.pk)
    emit("commit.created")

    deliver_until_idle()

    [request] = receiver.received()
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(signature.startswith("v1,") for signature in signatures)
    for secret in (rotated.secret, created.secret):
        Webhook(secret).verify(request.body, request.headers)
    assert rotated.secret != created.secret


def test_after_the_overlap_only_the_new_secret_signs(receiver):
    from django.db import connection

    from webhooks import services

    created = create_endpoint(receiver.url())
    rotated = services.webhook_rotate_secret(endpoint_id=created.endpoint.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pggit.webhook_endpoints SET previous_secret_expires_at = now() - interval '1 s'"
        )
    emit("commit.created")

    deliver_until_idle()

    [request] = receiver.received()
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    Webhook(rotated.secret).verify(request.body, request.headers)


def test_an_endpoint_failing_for_five_days_is_disabled_with_an_event(receiver):
    from django.db import connection

    created = create_endpoint(receiver.url())
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pggit.webhook_endpoints SET failing_since = now() - interval '5 days 1 minute',"
            " consecutive_failures = 40"
        )
    receiver.script("/hook", Reply(500))
    emit("commit.created")

    deliver_until_idle()

    endpoint = WebhookEndpoint.objects.get(pk=created.endpoint.pk)
    assert endpoint.is_active is False
    assert endpoint.disabled_reason.startswith("failing continuously since ")
    assert WebhookDelivery.objects.get(event_type="commit.created").status == "cancelled"
    assert [event["webhook_id"] for event in disabled_events(endpoint.pk)] == [endpoint.pk]
    assert alerts_for(endpoint.pk) == [("webhooks", "error", "firing")]


def test_a_success_ends_the_failure_streak(receiver):
    created = create_endpoint(receiver.url())
    receiver.script("/hook", Reply(500))
    emit("commit.created")

    deliver_until_settled()

    endpoint = WebhookEndpoint.objects.get(pk=created.endpoint.pk)
    assert (endpoint.total_deliveries, endpoint.successful_deliveries) == (2, 1)
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None)
    assert endpoint.last_success_at >= endpoint.last_failure_at


def disabled_events(endpoint_id: int) -> list[dict]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data FROM pggit.events WHERE type = 'webhook.endpoint_disabled'"
            " AND data ->> 'webhook_id' = %s ORDER BY id",
            [str(endpoint_id)],
        )
        return [row[0] if isinstance(row[0], dict) else json.loads(row[0]) for row in cursor]


def alerts_for(endpoint_id: int) -> list[tuple[str, str, str]]:
    """The alerts raised for the endpoint (by the alert engine, sql/engine/alerts/alerts.sql)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT source, severity, status FROM pggit.alerts WHERE fingerprint = %s",
            [f"webhooks:endpoint_disabled:{endpoint_id}"],
        )
        return list(cursor.fetchall())


def test_a_nul_in_the_answer_is_stored_replaced_and_the_delivery_recorded(receiver):
    create_endpoint(receiver.url())
    receiver.script("/hook", Reply(200, body="ok\x00done"))
    emit("commit.created")

    deliver_until_idle()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempt_count) == ("delivered", 1)
    assert WebhookAttempt.objects.get().response_excerpt == "ok\ufffddone"
    assert len(receiver.received()) == 1


def test_a_result_the_database_refuses_does_not_lose_the_rest_of_its_batch(receiver):
    import asyncio

    from webhooks.delivery import store
    from webhooks.delivery.outcome import Decision
    from webhooks.delivery.sender import AttemptResult
    from webhooks.delivery.worker import DeliveryWorker

    create_endpoint(receiver.url())
    for _ in range(3):
        emit("commit.created")

    async def claim_and_record() -> None:
        worker = DeliveryWorker()
        conn = await store.connect()
        try:
            jobs = await store.claim(conn, worker=worker.name, limit=10, lease_seconds=60)
            now = datetime.now(tz=UTC)
            batch = [
                (
                    AttemptResult(
                        job=job,
                        started_at=now,
                        duration_ms=1.0,
                        status_code=200,
                        error=None,
                        # jsonb refuses \u0000: the database cannot take this result
                        request_headers={"x-poison": "\x00"} if n == 1 else {},
                        response_excerpt="",
                        retry_after=None,
                    ),
                    Decision(AttemptOutcome.DELIVERED),
                )
                for n, job in enumerate(jobs)
            ]
            await worker._record_batch(conn, batch)
        finally:
            await conn.close()

    asyncio.run(claim_and_record())

    statuses = list(WebhookDelivery.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["delivered", "delivering", "delivered"]
    assert WebhookAttempt.objects.count() == 2


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_as_an_http_date_is_honoured(receiver, status):
    from email.utils import format_datetime

    create_endpoint(receiver.url())
    when = (datetime.now(tz=UTC) + timedelta(minutes=10)).replace(microsecond=0)
    receiver.script("/hook", Reply(status, headers={"Retry-After": format_datetime(when, True)}))
    emit("commit.created")

    deliver_until_idle()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("pending", status)
    assert delivery.next_attempt_at == when


def test_retry_after_on_a_500_is_not_what_schedules_the_retry(receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [30]
    create_endpoint(receiver.url())
    receiver.script("/hook", Reply(500, headers={"Retry-After": "3600"}))
    emit("commit.created")

    deliver_until_idle()

    delivery = WebhookDelivery.objects.get()
    wait = delivery.next_attempt_at - WebhookAttempt.objects.get().started_at
    assert delivery.status == "pending"
    assert timedelta(seconds=30) <= wait < timedelta(seconds=32)


def test_the_disabled_endpoint_event_reaches_other_subscribers_but_not_the_disabled_one(
    receiver,
):
    gone = create_endpoint(receiver.url("/gone"), name="gone")
    create_endpoint(receiver.url("/ops"), event_types=["webhook.endpoint_disabled"], name="ops")
    receiver.script("/gone", Reply(410))
    emit("commit.created")

    deliver_until_settled()

    [notice] = receiver.received("/ops")
    body = json.loads(notice.body)
    assert body["type"] == "webhook.endpoint_disabled"
    assert body["data"]["webhook_id"] == gone.endpoint.pk
    assert [json.loads(r.body)["type"] for r in receiver.received("/gone")] == ["commit.created"]


def test_an_endpoint_created_after_an_event_does_not_receive_it(receiver):
    create_endpoint(receiver.url("/early"), name="early")
    emit("commit.created")
    create_endpoint(receiver.url("/late"), name="late")

    deliver_until_idle()

    assert [r.path for r in receiver.received()] == ["/early"]
    assert WebhookDelivery.objects.get().endpoint.name == "early"


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress)],
)
def test_a_compressed_answer_is_stored_decoded(receiver, encoding, compress):
    create_endpoint(receiver.url())
    answer = "upstream said no: " + "x" * 5000
    receiver.script(
        "/hook",
        Reply(500, headers={"Content-Encoding": encoding}, body=compress(answer.encode())),
    )
    emit("commit.created")

    deliver_until_idle()

    [request, *_] = receiver.received()
    assert request.headers["accept-encoding"] == "identity"
    attempt = WebhookAttempt.objects.order_by("number").first()
    assert attempt.response_excerpt == answer[:1024]
    assert attempt.request_headers["accept-encoding"] == "identity"


def test_an_answer_in_an_encoding_not_decoded_is_not_stored_as_bytes(receiver):
    create_endpoint(receiver.url())
    receiver.script("/hook", Reply(500, headers={"Content-Encoding": "br"}, body=b"\x8b\x02\x80"))
    emit("commit.created")

    deliver_until_idle()

    attempt = WebhookAttempt.objects.order_by("number").first()
    assert attempt.response_excerpt == "[br-encoded answer, not shown]"
