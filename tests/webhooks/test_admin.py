"""The webhooks admin: pages render, changes and actions go through the services."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint

URL = "https://hooks.example.com/x"


@pytest.fixture
def admin_client_(client, db):
    admin = get_user_model().objects.create_superuser("root", password="pw-pw-pw-pw-1")
    client.force_login(admin)
    return client


def make(name: str = "ci"):
    return services.webhook_create(name=name, url=URL, event_types=["*"]).endpoint


def emit() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pggit.emit_event('commit.created', '{}')")


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_adding_an_endpoint_shows_its_generated_secret_once(admin_client_):
    response = admin_client_.post(
        "/admin/webhooks/webhookendpoint/add/",
        {"name": "ci", "url": URL, "description": "", "is_active": "on", "event_types": ["*"]},
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get()
    [secret_message, *_] = messages_of(response)
    assert secret_message.startswith("Signing secret (shown only now, copy it): whsec_")
    assert secret_message.endswith(endpoint.secret_hint[-4:])
    change_page = admin_client_.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/")
    assert change_page.status_code == 200
    assert secret_message.split(": ")[1].encode() not in change_page.content


def test_a_private_url_is_refused_by_the_admin_form(admin_client_, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    response = admin_client_.post(
        "/admin/webhooks/webhookendpoint/add/",
        {"name": "ci", "url": "http://10.0.0.1/", "is_active": "on", "event_types": ["*"]},
    )

    assert response.status_code == 200
    assert "a private address is refused" in response.context["adminform"].form.errors["url"][0]
    assert not WebhookEndpoint.objects.exists()


def test_a_written_secret_replaces_the_current_one(admin_client_):
    endpoint = make()
    secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"  # 24 bytes

    admin_client_.post(
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
        {"name": "ci", "url": URL, "is_active": "on", "event_types": ["*"], "new_secret": secret},
    )

    assert WebhookEndpoint.objects.get().secret_hint == f"whsec_...{secret[-4:]}"


@pytest.mark.parametrize(("action", "expected"), [("disable", False), ("enable", True)])
def test_enable_and_disable_actions(admin_client_, action, expected):
    endpoint = make()
    if action == "enable":
        services.webhook_disable(endpoint_id=endpoint.pk)

    admin_client_.post(
        "/admin/webhooks/webhookendpoint/",
        {"action": action, "_selected_action": [endpoint.pk]},
    )

    assert WebhookEndpoint.objects.get().is_active is expected


def test_send_test_action_queues_a_test_delivery(admin_client_):
    endpoint = make()

    admin_client_.post(
        "/admin/webhooks/webhookendpoint/",
        {"action": "send_test", "_selected_action": [endpoint.pk]},
    )

    assert list(WebhookDelivery.objects.values_list("event_type", flat=True)) == ["webhook.test"]


def test_deliveries_list_and_detail_with_attempts_render(admin_client_):
    endpoint = make()
    emit()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)

    listing = admin_client_.get("/admin/webhooks/webhookdelivery/")
    detail = admin_client_.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/")

    assert listing.status_code == 200
    assert detail.status_code == 200
    assert b"commit.created" in detail.content


def test_redeliver_action_requeues_a_failed_delivery(admin_client_):
    endpoint = make()
    emit()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE pggit.webhook_deliveries SET status = 'failed'")

    admin_client_.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [delivery.pk]},
    )

    assert WebhookDelivery.objects.get().status == "pending"


GIVEN_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"  # 24 bytes


def test_adding_an_endpoint_with_a_given_secret_signs_with_that_secret_only(admin_client_):
    response = admin_client_.post(
        "/admin/webhooks/webhookendpoint/add/",
        {
            "name": "ci",
            "url": URL,
            "is_active": "on",
            "event_types": ["*"],
            "new_secret": GIVEN_SECRET,
        },
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret_hint == f"whsec_...{GIVEN_SECRET[-4:]}"
    assert (endpoint.previous_secret_encrypted, endpoint.previous_secret_expires_at) == (None, None)
    assert not any(m.startswith("Signing secret") for m in messages_of(response))


def test_a_malformed_written_secret_is_a_form_error_and_changes_nothing(admin_client_):
    endpoint = make()

    response = admin_client_.post(
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
        {
            "name": "renamed",
            "url": URL,
            "is_active": "on",
            "event_types": ["*"],
            "new_secret": "hunter2",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["new_secret"] == [
        "A secret is whsec_ followed by base64 of 24 to 64 bytes (leave blank to keep the "
        "current one)."
    ]
    after = WebhookEndpoint.objects.get()
    assert (after.name, after.secret_hint) == ("ci", endpoint.secret_hint)


def test_rotate_action_shows_the_new_secret_once(admin_client_):
    endpoint = make()

    response = admin_client_.post(
        "/admin/webhooks/webhookendpoint/",
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )

    [message] = messages_of(response)
    after = WebhookEndpoint.objects.get()
    assert message.startswith("ci: new signing secret (shown only now): whsec_")
    assert message.endswith(after.secret_hint[-4:])
    assert after.previous_secret_encrypted is not None


def test_replay_action_requeues_the_failed_deliveries_of_the_last_day(admin_client_):
    endpoint = make()
    emit()
    emit()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE pggit.webhook_deliveries SET status = 'failed'")
        cursor.execute(
            "UPDATE pggit.webhook_deliveries SET created_at = now() - interval '2 days'"
            " WHERE id = (SELECT min(id) FROM pggit.webhook_deliveries)"
        )

    response = admin_client_.post(
        "/admin/webhooks/webhookendpoint/",
        {"action": "replay_day", "_selected_action": [endpoint.pk]},
        follow=True,
    )

    assert messages_of(response) == ["ci: 1 deliveries queued again."]
    statuses = WebhookDelivery.objects.order_by("id").values_list("status", flat=True)
    assert list(statuses) == ["failed", "pending"]


def test_a_delivery_page_shows_its_attempts_with_the_signature_redacted(admin_client_):
    make()
    emit()
    delivery = WebhookDelivery.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT claim_token FROM pggit.webhook_claim('w', 10, 30)")
        token = cursor.fetchone()[0]
        cursor.execute(
            "SELECT pggit.webhook_record_attempt(%s, %s, 1, now(), 12.5, 503, NULL,"
            """ '{"webhook-signature": "[redacted]"}', 'receiver says busy', 'retry', now(),"""
            " interval '5 days', 'w')",
            [delivery.pk, token],
        )

    page = admin_client_.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/")

    assert page.status_code == 200
    content = page.content.decode()
    assert "receiver says busy" in content
    assert "[redacted]" in content
    assert "503" in content
