"""GET /api/v1/dashboard against seeded data, and the monitoring scheduler."""

from __future__ import annotations

import threading
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from psycopg.conninfo import make_conninfo

from alerts import dashboard, scheduler
from tests.alerts.helpers import raise_alert, record, seed_baseline, seed_runs, sql, value

pytestmark = pytest.mark.django_db


def seed_webhooks() -> None:
    sql(
        "INSERT INTO pggit.webhook_endpoints (name, url, is_active, secret_encrypted, secret_hint,"
        " consecutive_failures) VALUES"
        " ('ci', 'https://ci.example.com/hook', true, '\\x00', 'whsec_…ab', 0),"
        " ('old', 'https://old.example.com/hook', false, '\\x00', 'whsec_…cd', 9),"
        " ('flaky', 'https://flaky.example.com/hook', true, '\\x00', 'whsec_…ef', 2)"
    )


def test_dashboard_sections_reflect_the_seeded_data(user_client):
    sql("CREATE TABLE public.dash_a (id integer)")
    sql("SELECT pggit.commit('add dash_a')")
    sql("CREATE TABLE public.dash_b (id integer)")  # a working change
    # its ddl.captured event is written at commit or at the first read (this test's transaction
    # never commits): before the endpoints below exist, as for DDL committed before
    sql("SELECT pggit.capture_flush()")
    # the real commit's own timing depends on the machine's load: pin it inside the baseline
    sql("UPDATE pggit.operations SET duration_ms = 12 WHERE operation = 'commit'")
    seed_baseline("commit")  # 50 runs an hour ago
    record("commit", 120)  # slow: alert
    raise_alert("disk:full", "critical", source="storage")
    seed_webhooks()
    response = user_client.get("/api/v1/dashboard")
    assert response.status_code == 200
    body = response.json()

    overview = body["overview"]
    assert overview["head"]["branch"] == "main"
    assert (overview["commits"], overview["branches"], overview["working_changes"]) == (2, 1, 1)
    assert (overview["capture_enabled"], overview["clean"], overview["available"]) == (
        True, False, True,
    )  # fmt: skip

    performance = body["performance"]
    assert (performance["runs"], performance["slow_runs"], performance["baselines"]) == (54, 1, 2)
    assert sorted(row["operation"] for row in performance["operations"]) == ["capture", "commit"]
    assert performance["jobs"]["baselines"]["runs"] == 1

    assert body["webhooks"] == {
        "available": True,
        "endpoints": {"total": 3, "active": 2, "disabled": 1, "failing": 1},
        "deliveries": {"queued": 0, "delivered_24h": 0, "failed_24h": 0},
    }

    alerts = body["alerts"]
    assert alerts["open"] == 2
    assert alerts["open_by_severity"] == {"critical": 1, "error": 0, "warning": 1, "info": 0}
    assert [a["title"] for a in alerts["recent"]] == ["title of disk:full", "Slow commit"]

    events = body["recent_events"]["events"]
    last_event_id = value("SELECT max(id) FROM pggit.events")
    assert events[0]["id"] == last_event_id
    assert [e["type"] for e in events[:2]] == ["alert.fired", "alert.fired"]
    assert set(events[0]) == {"id", "type", "occurred_at", "data"}


def test_a_section_whose_part_is_not_installed_says_so(user_client, monkeypatch):
    monkeypatch.setattr(dashboard, "WEBHOOK_TABLES", ("pggit.not_installed_yet",))
    body = user_client.get("/api/v1/dashboard").json()
    assert body["webhooks"] == {
        "available": False,
        "detail": "The webhooks part is not installed in this database yet.",
    }
    assert body["alerts"]["available"] is True


def test_dashboard_needs_a_token(api_client):
    assert api_client.get("/api/v1/dashboard").status_code == 401


def test_scheduler_once_recalculates_baselines_and_evaluates():
    seed_runs("diff", [10.0] * 30)
    out = StringIO()
    call_command("pggit_scheduler", "--once", stdout=out)
    assert out.getvalue().splitlines() == [
        "baselines: {'baselines': 1}",
        "evaluate: {'anomalies': 0, 'auto_resolved': 0, 'silence_changes': 0}",
    ]
    assert value("SELECT sample_count FROM pggit.perf_baselines WHERE operation = 'diff'") == 30


def test_scheduler_auto_resolves_a_cleared_slow_operation_alert():
    seed_baseline("commit")
    record("commit", 120)
    for _ in range(5):
        record("commit", 11)
    call_command("pggit_scheduler", "--once", stdout=StringIO())
    assert value("SELECT status FROM pggit.alerts") == "resolved"


def test_a_job_locked_by_another_scheduler_is_skipped():
    params = connection.get_connection_params()
    url = make_conninfo(
        dbname=params["dbname"], host=params.get("host"), port=params.get("port"),
        user=params.get("user"),
    )  # fmt: skip
    job = scheduler.Job("baselines", 60, lambda: "ran")
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtext('pggit.scheduler.baselines')::bigint)")
        assert scheduler.run_job(job) is None
        other.execute("SELECT pg_advisory_unlock(hashtext('pggit.scheduler.baselines')::bigint)")
        assert scheduler.run_job(job) == "ran"


def test_a_failing_job_is_logged_and_the_loop_goes_on(caplog):
    stop = threading.Event()
    calls: list[str] = []

    def failing():
        calls.append("failing")
        raise RuntimeError("boom")

    def last():
        calls.append("last")
        stop.set()

    jobs = [scheduler.Job("failing", 3600, failing), scheduler.Job("last", 3600, last)]
    scheduler.run_forever(jobs, stop)
    assert calls == ["failing", "last"]
    assert "job failing failed" in caplog.text


def test_the_scheduler_runs_each_job_again_at_its_interval():
    stop = threading.Event()
    calls: list[str] = []

    def often():
        calls.append("often")
        if calls.count("often") == 3:
            stop.set()

    def rarely():
        calls.append("rarely")

    jobs = [scheduler.Job("often", 0.01, often), scheduler.Job("rarely", 3600, rarely)]
    scheduler.run_forever(jobs, stop)
    assert calls == ["often", "rarely", "often", "often"]


def test_scheduled_jobs_are_the_baselines_and_the_evaluation(settings):
    settings.PGGIT_BASELINE_INTERVAL_SECONDS = 120
    settings.PGGIT_EVALUATE_INTERVAL_SECONDS = 15
    assert [(job.name, job.interval_seconds) for job in scheduler.scheduled_jobs()] == [
        ("baselines", 120),
        ("evaluate", 15),
    ]
