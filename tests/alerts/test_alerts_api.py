"""The alerts API (docs/api.md, "Alerts"): list and filters, detail, acknowledge, resolve, test
alert, stats, silences."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tests.alerts.helpers import alert_events, alert_row, raise_alert, sql, value

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_alerts() -> dict[str, int]:
    ids = {
        "critical": raise_alert("disk:full", "critical", source="storage"),
        "warning": raise_alert("slow_operation:commit", "warning"),
        "info": raise_alert("test:1", "info", source="test"),
    }
    sql("SELECT pggit.alert_acknowledge(%s, 'operator')", [ids["warning"]])
    return ids


def ids_of(response) -> list[int]:
    return [item["id"] for item in response.json()["items"]]


def test_alert_list_is_paginated_newest_first_with_every_field(user_client, three_alerts):
    response = user_client.get("/api/v1/alerts")
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["page_size"], body["pages"]) == (3, 1, 20, 1)
    assert ids_of(response) == [three_alerts[k] for k in ("info", "warning", "critical")]
    assert set(body["items"][0]) == {
        "id", "fingerprint", "source", "severity", "status", "title", "message", "details",
        "first_seen_at", "last_seen_at", "occurrences", "acknowledged_at", "acknowledged_by",
        "resolved_at", "resolved_by", "note",
    }  # fmt: skip


def test_alert_list_takes_a_fixed_number_of_queries(
    user_client, three_alerts, django_assert_num_queries, user_queries
):
    for n in range(10):
        raise_alert(f"extra:{n}")
    # the user (user_queries: its state in one query, or SimpleJWT's three without Redis), the page
    # (not full: it tells the total)
    with django_assert_num_queries(user_queries.first + 1):
        response = user_client.get("/api/v1/alerts?page_size=100")
    assert len(response.json()["items"]) == 13
    # a full page: the user as a known one, the page and the count
    with django_assert_num_queries(user_queries.known + 2):
        full = user_client.get("/api/v1/alerts?page_size=13").json()
    assert (len(full["items"]), full["total"]) == (13, 13)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=firing", ["info", "critical"]),
        ("status_filter=acknowledged", ["warning"]),
        ("severity=critical", ["critical"]),
        ("severity_filter=info", ["info"]),
        ("source=performance", ["warning"]),
        ("status=firing&severity=info", ["info"]),
    ],
)
def test_alert_list_filters_including_the_older_names(user_client, three_alerts, query, expected):
    response = user_client.get(f"/api/v1/alerts?{query}")
    assert response.status_code == 200
    assert ids_of(response) == [three_alerts[name] for name in expected]


def test_alert_list_since_filters_on_last_seen(user_client, three_alerts):
    sql("UPDATE pggit.alerts SET last_seen_at = now() - interval '2 days' WHERE id = %s",
        [three_alerts["critical"]])  # fmt: skip
    since = (timezone.now() - timedelta(days=1)).isoformat()
    response = user_client.get("/api/v1/alerts", {"since": since})
    assert sorted(ids_of(response)) == sorted([three_alerts["warning"], three_alerts["info"]])


@pytest.mark.parametrize("query", ["status=open", "severity_filter=fatal", "since=yesterday"])
def test_alert_list_refuses_unknown_filter_values(user_client, query):
    response = user_client.get(f"/api/v1/alerts?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_alert_list_orders_by_a_requested_field_with_the_id_breaking_ties(
    user_client, three_alerts
):
    raise_alert("disk:full", "critical", source="storage")  # 2 occurrences
    response = user_client.get("/api/v1/alerts?ordering=-occurrences")
    assert response.status_code == 200
    assert ids_of(response) == [three_alerts[k] for k in ("critical", "info", "warning")]


@pytest.mark.parametrize("ordering", ["severity", "-bogus", "occurrences,nope"])
def test_alert_list_refuses_an_unknown_ordering(user_client, ordering):
    response = user_client.get("/api/v1/alerts", {"ordering": ordering})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"]["ordering"][0].startswith("Unknown ordering")


def test_alert_detail_has_the_occurrence_history(user_client):
    alert_id = raise_alert("disk:full", "warning")
    raise_alert("disk:full", "error")
    response = user_client.get(f"/api/v1/alerts/{alert_id}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["occurrences"], body["severity"], body["silence_id"]) == (2, "error", None)
    assert [(h["severity"], h["notified"]) for h in body["history"]] == [
        ("error", True),
        ("warning", True),
    ]


@pytest.mark.parametrize("alert_id", ["424242", "99999999999999999999"])
def test_an_unknown_alert_is_404(user_client, alert_id):
    response = user_client.get(f"/api/v1/alerts/{alert_id}")
    assert response.status_code == 404
    assert response.json()["code"] in ("alert_not_found", "not_found")


def test_reading_alerts_needs_a_token(api_client):
    response = api_client.get("/api/v1/alerts")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_single_acknowledge_then_resolve(staff_client, staff_user):
    alert_id = raise_alert("disk:full")
    response = staff_client.post(f"/api/v1/alerts/{alert_id}/acknowledge", {"note": "on it"})
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["acknowledged_by"], body["note"]) == (
        "acknowledged",
        staff_user.username,
        "on it",
    )
    assert body["acknowledged_at"] is not None
    response = staff_client.post(f"/api/v1/alerts/{alert_id}/resolve/", {})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["resolved_by"]) == (
        "resolved",
        staff_user.username,
    )
    assert [kind for kind, _ in alert_events()] == [
        "alert.fired",
        "alert.acknowledged",
        "alert.resolved",
    ]


def test_acknowledging_twice_is_a_conflict(staff_client):
    alert_id = raise_alert("disk:full")
    assert staff_client.post(f"/api/v1/alerts/{alert_id}/acknowledge").status_code == 200
    response = staff_client.post(f"/api/v1/alerts/{alert_id}/acknowledge")
    assert response.status_code == 409
    assert response.json()["code"] == "alert_already_acknowledged"


def test_resolving_twice_or_acknowledging_a_resolved_alert_is_a_conflict(staff_client):
    alert_id = raise_alert("disk:full")
    assert staff_client.post(f"/api/v1/alerts/{alert_id}/resolve").status_code == 200
    for verb in ("resolve", "acknowledge"):
        response = staff_client.post(f"/api/v1/alerts/{alert_id}/{verb}")
        assert response.status_code == 409
        assert response.json()["code"] == "alert_already_resolved"
        assert "request_id" in response.json()


def test_acknowledging_an_unknown_alert_is_404(staff_client):
    response = staff_client.post("/api/v1/alerts/424242/acknowledge")
    assert response.status_code == 404
    assert response.json()["code"] == "alert_not_found"


def test_changing_alerts_needs_the_permission(user_client):
    alert_id = raise_alert("disk:full")
    for path in (f"/api/v1/alerts/{alert_id}/acknowledge", "/api/v1/alerts/test"):
        assert user_client.post(path).status_code == 403
    response = user_client.post("/api/v1/alerts/acknowledge", {"alert_ids": [alert_id]})
    assert response.status_code == 403


def test_batch_acknowledge_with_known_unknown_and_already_acknowledged_ids(
    staff_client, staff_user
):
    firing = raise_alert("a:1")
    sql(
        'SELECT pggit.alert_silence_create(\'[{"name": "fingerprint", "value": "a:2"}]\','
        " now() + interval '1 hour')"
    )
    silenced = raise_alert("a:2")
    already = raise_alert("a:3")
    resolved = raise_alert("a:4")
    sql("SELECT pggit.alert_acknowledge(%s, 'someone', 'first')", [already])
    sql("SELECT pggit.alert_resolve(%s, 'someone')", [resolved])
    events_before = alert_events()
    response = staff_client.post(
        "/api/v1/alerts/acknowledge",
        {"alert_ids": [silenced, firing, already, resolved, 777777, firing], "note": "batch"},
    )
    assert response.status_code == 200
    assert response.json() == {
        "acknowledged": [firing, silenced],
        "not_found": [777777],
        "acknowledged_count": 2,
        "already_acknowledged": [already],
        "not_acknowledgeable": [resolved],
    }
    rows = sql(
        "SELECT id, status, acknowledged_by, note FROM pggit.alerts"
        " WHERE id = ANY (%s) ORDER BY id",
        [[firing, silenced, already, resolved]],
    )
    assert rows == [
        (firing, "acknowledged", staff_user.username, "batch"),
        (silenced, "acknowledged", staff_user.username, "batch"),
        (already, "acknowledged", "someone", "first"),  # left as it was
        (resolved, "resolved", None, None),
    ]
    # one announcement for the announced alert; the silenced one was never announced
    assert alert_events() == [*events_before, ("alert.acknowledged", firing)]


def test_batch_acknowledge_reports_ids_no_alert_can_have_as_not_found(staff_client):
    firing = raise_alert("a:1")
    unknown = firing + 1000
    response = staff_client.post(
        "/api/v1/alerts/acknowledge", {"alert_ids": [2**64, firing, 0, -3, str(unknown)]}
    )
    assert response.status_code == 200
    assert response.json() == {
        "acknowledged": [firing],
        "not_found": [-3, 0, unknown, 2**64],
        "acknowledged_count": 1,
        "already_acknowledged": [],
        "not_acknowledgeable": [],
    }


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"alert_ids": []},
        {"alert_ids": ["x"]},
        {"alert_ids": [1.5]},
        {"alert_ids": [None]},
        {"alert_ids": [True]},
        {"alert_ids": 5},
        {"alert_ids": list(range(1, 1002))},
    ],
)
def test_batch_acknowledge_validates_its_body(staff_client, body):
    response = staff_client.post("/api/v1/alerts/acknowledge", body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "alert_ids" in response.json()["errors"]


def test_batch_acknowledge_with_malformed_json_is_400(staff_client):
    response = staff_client.post(
        "/api/v1/alerts/acknowledge", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400


def test_the_test_alert_goes_through_the_pipeline(staff_client, staff_user):
    response = staff_client.post("/api/v1/alerts/test")
    assert response.status_code == 201
    body = response.json()
    assert (body["source"], body["severity"], body["status"], body["title"]) == (
        "test",
        "info",
        "firing",
        "Test alert",
    )
    assert body["fingerprint"].startswith("test:")
    assert alert_events() == [("alert.fired", body["id"])]
    second = staff_client.post("/api/v1/alerts/test/").json()
    assert second["id"] != body["id"]
    assert value("SELECT actor FROM pggit.events ORDER BY id DESC LIMIT 1") == staff_user.username


def test_the_test_alert_reaches_the_webhooks_subscribed_to_alert_events(staff_client):
    sql(
        "INSERT INTO pggit.webhook_endpoints (name, url, event_types, secret_encrypted,"
        " secret_hint) VALUES"
        " ('alerts', 'https://alerts.example.com/hook', '{alert.fired}', '\\x00', 'whsec_…ab'),"
        " ('all', 'https://all.example.com/hook', '{*}', '\\x00', 'whsec_…cd'),"
        " ('commits', 'https://commits.example.com/hook', '{commit.created}', '\\x00',"
        " 'whsec_…ef')"
    )
    alert = staff_client.post("/api/v1/alerts/test").json()
    event_id = value("SELECT id FROM pggit.events WHERE type = 'alert.fired'")
    rows = sql(
        "SELECT e.name, d.event_id, d.event_type, d.status, d.payload->'data'->>'alert_id',"
        " d.payload->'data'->>'source' FROM pggit.webhook_deliveries d"
        " JOIN pggit.webhook_endpoints e ON e.id = d.endpoint_id ORDER BY e.name"
    )
    assert rows == [
        ("alerts", event_id, "alert.fired", "pending", str(alert["id"]), "test"),
        ("all", event_id, "alert.fired", "pending", str(alert["id"]), "test"),
    ]


def test_stats_summary_counts_exactly(user_client, three_alerts):
    raise_alert("disk:full", "critical", source="storage")  # a repeat: occurrences, not a row
    resolved = raise_alert("gone:1", "error")
    sql("SELECT pggit.alert_resolve(%s, 'operator')", [resolved])
    sql(
        "UPDATE pggit.alerts SET first_seen_at = now() - interval '100 seconds',"
        " acknowledged_at = now() - interval '40 seconds' WHERE id = %s",
        [three_alerts["warning"]],
    )
    sql(
        "UPDATE pggit.alerts SET first_seen_at = now() - interval '3 days',"
        " resolved_at = now() - interval '2 days' WHERE id = %s",
        [resolved],
    )
    response = user_client.get("/api/v1/alerts/stats/summary")
    assert response.status_code == 200
    body = response.json()
    oldest_open_since = datetime.fromisoformat(body.pop("oldest_open_since"))
    assert oldest_open_since == alert_row(three_alerts["warning"])["first_seen_at"]
    assert body == {
        "total": 4,
        "open": 3,
        "occurrences": 5,
        "by_status": {"firing": 2, "acknowledged": 1, "resolved": 1, "silenced": 0},
        "by_severity": {"critical": 1, "error": 1, "warning": 1, "info": 1},
        "open_by_severity": {"critical": 1, "error": 0, "warning": 1, "info": 1},
        "new_last_24h": 3,
        "resolved_last_24h": 0,
        "mean_seconds_to_acknowledge": 60.0,
        "mean_seconds_to_resolve": 86400.0,
    }


def test_stats_summary_of_no_alerts(user_client):
    body = user_client.get("/api/v1/alerts/stats/summary").json()
    assert (body["total"], body["open"], body["occurrences"]) == (0, 0, 0)
    assert body["mean_seconds_to_resolve"] is None
