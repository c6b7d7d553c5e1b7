"""The admin: alert list with filters, bulk actions through the engine, occurrence history, and
the performance page with its SVG trend charts."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.alerts.helpers import alert_events, raise_alert, seed_runs, sql, value

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    user = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw-admin-1!")
    client = Client()
    client.force_login(user)
    return client


def test_alert_changelist_filters_by_status(admin_client):
    raise_alert("a:1", "critical")
    acknowledged = raise_alert("a:2")
    sql("SELECT pggit.alert_acknowledge(%s, 'x')", [acknowledged])
    response = admin_client.get("/admin/alerts/alert/?status__exact=firing")
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_bulk_acknowledge_resolve_and_silence_go_through_the_engine(admin_client):
    ids = [raise_alert(f"a:{n}") for n in range(3)]
    url = "/admin/alerts/alert/"
    admin_client.post(url, {"action": "acknowledge", "_selected_action": ids[:2]})
    admin_client.post(url, {"action": "resolve", "_selected_action": [ids[1]]})
    admin_client.post(url, {"action": "silence", "_selected_action": [ids[2]]})
    assert sql("SELECT id, status FROM pggit.alerts ORDER BY id") == [
        (ids[0], "acknowledged"),
        (ids[1], "resolved"),
        (ids[2], "silenced"),
    ]
    assert value("SELECT matchers->0->>'value' FROM pggit.alert_silences") == "a:2"
    assert [kind for kind, _ in alert_events()].count("alert.acknowledged") == 2


def test_alert_page_shows_the_occurrence_history(admin_client):
    alert_id = raise_alert("a:1", "warning")
    raise_alert("a:1", "error")
    response = admin_client.get(f"/admin/alerts/alert/{alert_id}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 of 2 occurrences" in html
    assert "<td>error</td>" in html


def test_performance_page_draws_a_trend_chart_per_operation(admin_client):
    seed_runs("diff", [10.0, 20.0, 30.0], minutes_ago=180)
    seed_runs("commit", [5.0])
    sql("SELECT count(*) FROM pggit.perf_baselines_recalculate()")
    response = admin_client.get("/admin/alerts/performancebaseline/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 2
    assert "<title>diff: hourly p50 and p95</title>" in html
    assert "diff (3 runs)" in html


def test_recalculate_button_recalculates(admin_client):
    seed_runs("diff", [10.0])
    response = admin_client.post("/admin/alerts/performancebaseline/recalculate/")
    assert response.status_code == 302
    assert value("SELECT count(*) FROM pggit.perf_baselines") == 1
