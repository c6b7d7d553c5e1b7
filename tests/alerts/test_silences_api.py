"""Silences over the API (/api/v1/alert-silences): CRUD, matchers, expiry, their effect."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.alerts.helpers import alert_events, alert_row, raise_alert, sql

pytestmark = pytest.mark.django_db


def in_minutes(minutes: int) -> str:
    return (timezone.now() + timedelta(minutes=minutes)).isoformat()


def create(client, **overrides):
    body = {
        "matchers": [{"name": "source", "op": "=", "value": "performance"}],
        "ends_at": in_minutes(60),
        "comment": "deploy window",
        **overrides,
    }
    return client.post("/api/v1/alert-silences", body)


def test_create_a_silence_and_read_it_back(staff_client, staff_user):
    response = create(staff_client)
    assert response.status_code == 201
    body = response.json()
    assert body["matchers"] == [{"name": "source", "op": "=", "value": "performance"}]
    assert (body["comment"], body["is_active"], body["created_by"]) == (
        "deploy window",
        True,
        staff_user.username,
    )
    listed = staff_client.get("/api/v1/alert-silences").json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    assert staff_client.get(f"/api/v1/alert-silences/{body['id']}").json() == body


def test_a_silence_suppresses_notification_but_keeps_the_record(staff_client):
    create(staff_client)
    alert_id = raise_alert("slow_operation:commit")
    response = staff_client.get(f"/api/v1/alerts/{alert_id}")
    assert (response.json()["status"], response.json()["occurrences"]) == ("silenced", 1)
    assert alert_events() == []


def test_matchers_default_to_equality(staff_client):
    response = create(staff_client, matchers=[{"name": "details.operation", "value": "diff"}])
    assert response.status_code == 201
    assert response.json()["matchers"] == [
        {"name": "details.operation", "op": "=", "value": "diff"}
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"matchers": []}, "matchers"),
        ({"matchers": [{"name": "colour", "value": "red"}]}, "matchers"),
        ({"matchers": [{"name": "source", "op": "~", "value": "x"}]}, "matchers"),
        ({"ends_at": "tomorrow"}, "ends_at"),
    ],
)
def test_create_validates_the_body(staff_client, overrides, field):
    response = create(staff_client, **overrides)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_an_invalid_regex_or_an_end_in_the_past_is_400(staff_client):
    response = create(staff_client, matchers=[{"name": "title", "op": "=~", "value": "(x"}])
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_argument"
    response = create(staff_client, ends_at=in_minutes(-1))
    assert (response.status_code, response.json()["code"]) == (400, "invalid_argument")


def test_patch_and_put_change_only_what_they_send(staff_client):
    silence = create(staff_client).json()
    response = staff_client.patch(
        f"/api/v1/alert-silences/{silence['id']}", {"comment": "longer window"}
    )
    assert response.status_code == 200
    assert (response.json()["comment"], response.json()["matchers"]) == (
        "longer window",
        silence["matchers"],
    )
    new_end = in_minutes(180)
    response = staff_client.put(f"/api/v1/alert-silences/{silence['id']}/", {"ends_at": new_end})
    assert response.status_code == 200
    assert response.json()["comment"] == "longer window"


def test_ending_a_silence_early_makes_its_alerts_fire(staff_client):
    silence = create(staff_client).json()
    alert_id = raise_alert("slow_operation:commit")
    response = staff_client.patch(
        f"/api/v1/alert-silences/{silence['id']}", {"ends_at": silence["starts_at"]}
    )
    assert response.status_code == 400  # must end after it starts
    sql("UPDATE pggit.alert_silences SET starts_at = now() - interval '1 hour'")
    response = staff_client.patch(
        f"/api/v1/alert-silences/{silence['id']}", {"ends_at": in_minutes(-1)}
    )
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert alert_row(alert_id)["status"] == "firing"
    assert alert_events() == [("alert.fired", alert_id)]


def test_delete_removes_the_silence(staff_client):
    silence = create(staff_client).json()
    response = staff_client.delete(f"/api/v1/alert-silences/{silence['id']}")
    assert response.status_code == 204
    assert staff_client.get(f"/api/v1/alert-silences/{silence['id']}").status_code == 404
    assert staff_client.delete(f"/api/v1/alert-silences/{silence['id']}").status_code == 404


def test_changing_silences_needs_the_permission(user_client):
    assert create(user_client).status_code == 403
