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
