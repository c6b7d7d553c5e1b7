"""Performance endpoints: operations summary, metrics with traces, baselines, recalculation."""

from __future__ import annotations

import pytest

from tests.alerts.helpers import record, seed_baseline, seed_runs, sql, value

pytestmark = pytest.mark.django_db


def test_operations_summary_per_type(user_client):
    seed_runs("diff", [10.0, 20.0, 30.0, 40.0])
    seed_runs("commit", [5.0])
    record("commit", 7, success=False, error="boom")
    response = user_client.get("/api/v1/performance/operations")
    assert response.status_code == 200
    rows = {row["operation"]: row for row in response.json()["operations"]}
    assert sorted(rows) == ["commit", "diff"]
    diff = rows["diff"]
    assert (diff["runs"], diff["failures"], diff["slow_runs"], diff["mean_ms"], diff["p50_ms"]) == (
        4, 0, 0, 25.0, 25.0,
    )  # fmt: skip
    assert (diff["max_ms"], diff["threshold_ms"]) == (40.0, None)
    assert (rows["commit"]["runs"], rows["commit"]["failures"]) == (2, 1)


def test_operations_summary_window_is_validated(user_client):
    seed_runs("diff", [10.0], minutes_ago=180)
    assert user_client.get("/api/v1/performance/operations?hours=2").json()["operations"] == []
    for bad in ("abc", "0", "-1", "100000"):
        response = user_client.get(f"/api/v1/performance/operations?hours={bad}")
        assert response.status_code == 400
        assert "hours" in response.json()["errors"]


def test_metrics_list_filters_and_orders_newest_first(
    user_client, django_assert_num_queries, user_queries
):
    seed_runs("diff", [10.0, 11.0])
    seed_runs("commit", [5.0])
    # the user (user_queries: its state in one query, or SimpleJWT's three without Redis), the page
    # (not full: no count query)
    with django_assert_num_queries(user_queries.first + 1):
        response = user_client.get("/api/v1/performance/metrics?operation=diff")
    body = response.json()
    assert body["total"] == 2
    assert [item["duration_ms"] for item in body["items"]] == [11.0, 10.0]
    assert set(body["items"][0]) == {
        "id", "operation", "started_at", "duration_ms", "object_count", "statement_count",
        "branch", "actor", "success", "error", "parent_id", "details",
    }  # fmt: skip
    assert user_client.get("/api/v1/performance/metrics?success=false").json()["total"] == 0


def test_metric_detail_has_its_trace(user_client):
    sql("SELECT pggit.record_operation('capture', clock_timestamp())")
    parent = value("SELECT pggit.record_operation('checkout', now(), 3, 2, 'main')")
    child = value("SELECT id FROM pggit.operations WHERE operation = 'capture'")
    response = user_client.get(f"/api/v1/performance/metrics/{child}")
    assert response.status_code == 200
    body = response.json()
    assert body["parent_id"] == parent
    assert [(s["operation"], s["depth"]) for s in body["spans"]] == [
        ("checkout", 0),
        ("capture", 1),
    ]
    assert body["spans"][0]["branch"] == "main"
    assert user_client.get("/api/v1/performance/metrics?root=true").json()["total"] == 1
    assert user_client.get("/api/v1/performance/metrics/987654").status_code == 404


def test_baselines_list_and_recalculate(staff_client):
    seed_runs("diff", [float(ms) for ms in range(1, 101)])
    assert staff_client.get("/api/v1/performance/baselines").json()["items"] == []
    response = staff_client.post("/api/v1/performance/baselines/recalculate", {})
    assert response.status_code == 200
    body = response.json()
    assert body["recalculated"] == 1
    [baseline] = body["baselines"]
    assert (baseline["operation"], baseline["sample_count"], baseline["p50_ms"]) == (
        "diff",
        100,
        50.5,
    )
    listed = staff_client.get("/api/v1/performance/baselines/").json()
    assert [b["operation"] for b in listed["items"]] == ["diff"]


def test_recalculate_with_a_window_and_validation(staff_client, user_client):
    seed_runs("diff", [5.0] * 3, minutes_ago=600)
    seed_runs("diff", [9.0] * 2, minutes_ago=30)
    response = staff_client.post("/api/v1/performance/baselines/recalculate", {"window_hours": 1})
    assert response.json()["baselines"][0]["sample_count"] == 2
    response = staff_client.post("/api/v1/performance/baselines/recalculate", {"window_hours": -1})
    assert response.status_code == 400
    assert user_client.post("/api/v1/performance/baselines/recalculate", {}).status_code == 403


def test_a_slow_run_shows_in_the_summary_as_slow(user_client):
    seed_baseline("commit")
    record("commit", 80)
    [row] = user_client.get("/api/v1/performance/operations").json()["operations"]
    assert (row["runs"], row["slow_runs"], row["threshold_ms"]) == (51, 1, 50.0)


@pytest.mark.parametrize(
    ("query", "expected"),
    [("success=false", 1), ("success=true", 2), ("success=0", 1), ("root=true", 3)],
)
def test_metrics_boolean_filters(user_client, query, expected):
    seed_runs("diff", [10.0, 20.0])
    record("diff", 7, success=False, error="boom")
    response = user_client.get(f"/api/v1/performance/metrics?{query}")
    assert response.status_code == 200
    assert response.json()["total"] == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [("success=maybe", "success"), ("root=yes", "root"), ("ordering=operation", "ordering")],
)
def test_metrics_refuse_bad_filter_values_instead_of_ignoring_them(user_client, query, field):
    seed_runs("diff", [10.0])
    response = user_client.get(f"/api/v1/performance/metrics?{query}")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
