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


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status__exact=firing", ["a:1", "a:3"]),
        ("status__exact=acknowledged", ["a:2"]),
        ("severity__exact=critical", ["a:1"]),
        ("source__exact=storage", ["a:3"]),
        ("severity__exact=warning&source__exact=performance", ["a:2"]),
    ],
)
def test_alert_changelist_filters_by_state_severity_and_source(admin_client, query, expected):
    raise_alert("a:1", "critical")
    acknowledged = raise_alert("a:2")
    raise_alert("a:3", "error", source="storage")
    sql("SELECT pggit.alert_acknowledge(%s, 'x')", [acknowledged])
    response = admin_client.get(f"/admin/alerts/alert/?{query}")
    assert response.status_code == 200
    assert sorted(a.fingerprint for a in response.context["cl"].result_list) == expected


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


def test_bulk_actions_report_what_they_did_and_skip_what_they_cannot(admin_client):
    firing = raise_alert("a:1")
    acknowledged = raise_alert("a:2")
    resolved = raise_alert("a:3")
    sql("SELECT pggit.alert_acknowledge(%s, 'x')", [acknowledged])
    sql("SELECT pggit.alert_resolve(%s, 'x')", [resolved])
    url = "/admin/alerts/alert/"
    selected = [firing, acknowledged, resolved]
    response = admin_client.post(
        url, {"action": "acknowledge", "_selected_action": selected}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [
        "1 alert(s) acknowledged.",
        f"Not acknowledgeable (already acknowledged or resolved): {[acknowledged, resolved]}",
    ]
    response = admin_client.post(
        url, {"action": "resolve", "_selected_action": selected}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == ["2 alert(s) resolved."]
    assert sql("SELECT id, status, resolved_by FROM pggit.alerts ORDER BY id") == [
        (firing, "resolved", "admin"),
        (acknowledged, "resolved", "admin"),
        (resolved, "resolved", "x"),
    ]


def test_bulk_actions_need_the_change_permission():
    from django.contrib.auth.models import Permission

    alert_id = raise_alert("a:1")
    viewer = get_user_model().objects.create_user("viewer", password="pw-viewer-1!", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_alert"))
    client = Client()
    client.force_login(viewer)
    response = client.get("/admin/alerts/alert/")
    assert response.status_code == 200
    assert response.context["action_form"] is None  # no action is offered
    client.post("/admin/alerts/alert/", {"action": "resolve", "_selected_action": [alert_id]})
    assert value("SELECT status FROM pggit.alerts") == "firing"


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


def test_performance_chart_draws_the_slow_run_threshold_when_there_is_one(admin_client):
    seed_runs("commit", [10.0 + (i % 5) for i in range(50)], minutes_ago=120)
    seed_runs("diff", [10.0, 20.0], minutes_ago=120)  # too few runs for a threshold
    sql("SELECT count(*) FROM pggit.perf_baselines_recalculate()")
    html = admin_client.get("/admin/alerts/performancebaseline/").content.decode()
    commit_chart = html[
        html.index("<title>commit:") : html.index("</svg>", html.index("<title>commit:"))
    ]
    diff_chart = html[html.index("<title>diff:") : html.index("</svg>", html.index("<title>diff:"))]
    assert commit_chart.count("<polyline") == 3
    assert ">threshold</text>" in commit_chart
    assert diff_chart.count("<polyline") == 2
    assert ">threshold</text>" not in diff_chart
