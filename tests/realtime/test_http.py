"""The socket paths over plain HTTP, and the socket path in /health/deep."""

from __future__ import annotations

import pytest

from tests.realtime.conftest import emit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("path", ["/ws", "/ws/", "/api/v1/ws/alerts", "/api/v1/ws/alerts/"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_http_on_a_socket_path_is_426_in_the_error_shape(client, path, method):
    response = getattr(client, method)(path)
    assert response.status_code == 426
    assert response["Content-Type"] == "application/json"
    assert response["Upgrade"] == "websocket"
    body = response.json()
    assert body["code"] == "upgrade_required"
    assert body["detail"].startswith("This path is a WebSocket endpoint")
    assert body["request_id"] == response["X-Request-ID"]


def test_deep_health_reports_the_socket_path_to_staff(staff_client):
    body = staff_client.get("/health/deep").json()
    layer = body["checks"]["channel_layer"]
    assert layer["status"] == "healthy"
    assert "newest_event_id" in layer
    assert layer["forwarded_by"] in (
        "this web process (in-memory layer)",
        "pggit_listen (Redis layer)",
    )


def test_deep_health_reports_forwarding_lag(staff_client):
    from pggit_project import realtime

    first = emit("commit.created")
    realtime.record_position(first)
    emit("commit.created")
    emit("commit.created")
    layer = staff_client.get("/health/deep").json()["checks"]["channel_layer"]
    assert layer["forwarded_event_id"] == first
    assert layer["newest_event_id"] == first + 2
    assert layer["lag_events"] == 2
    assert layer["status"] == "healthy"  # seconds behind, not yet stalled
    realtime.record_position(first + 2)
    layer = staff_client.get("/health/deep").json()["checks"]["channel_layer"]
    assert layer["lag_events"] == 0
    assert layer["lag_seconds"] == 0


def test_anonymous_health_shows_no_socket_details(client):
    layer = client.get("/health/deep").json()["checks"]["channel_layer"]
    assert layer == {"status": "healthy"}


def test_deep_health_is_degraded_when_forwarding_stalls(staff_client):
    from django.db import connection

    from pggit_project import realtime

    realtime.record_position(emit("commit.created"))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO pggit.events (type, occurred_at)"
            " VALUES ('commit.created', clock_timestamp() - interval '1 minute')"
        )
    response = staff_client.get("/health/deep")
    layer = response.json()["checks"]["channel_layer"]
    assert layer["status"] == "degraded"
    assert layer["lag_events"] == 1
    assert layer["lag_seconds"] >= 60
    assert layer["problem"] == "events are not being forwarded to the sockets"
    assert response.status_code == 200  # degraded, not unhealthy
