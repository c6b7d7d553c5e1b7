"""Phase 7 in SQL: baselines, slow runs, failed runs, capture failures, anomalies, traces and
automatic resolution. Driven through SQL only, as from psql."""

from __future__ import annotations

import json

import pytest

from tests.alerts.helpers import (
    alert_events,
    record,
    seed_baseline,
    seed_runs,
    sql,
    value,
)

pytestmark = pytest.mark.django_db


def test_baseline_holds_percentiles_mean_and_the_threshold_of_the_window():
    seed_runs("diff", [float(ms) for ms in range(1, 101)])  # 1..100 ms
    [row] = sql(
        "SELECT operation, sample_count, p50_ms, p95_ms, p99_ms, mean_ms, max_ms, threshold_ms"
        " FROM pggit.perf_baselines_recalculate()"
    )
    assert row == ("diff", 100, 50.5, 95.05, 99.01, 50.5, 100.0, pytest.approx(198.02))


def test_baseline_below_the_minimum_samples_has_no_threshold():
    seed_runs("diff", [5.0] * 19)
    assert sql("SELECT sample_count, threshold_ms FROM pggit.perf_baselines_recalculate()") == [
        (19, None)
    ]
    record("diff", 10_000)
    assert value("SELECT count(*) FROM pggit.alerts") == 0


def test_runs_outside_the_window_and_failed_runs_are_not_in_the_baseline():
    seed_runs("diff", [5.0] * 30, minutes_ago=60 * 24 * 8)  # 8 days ago: outside 7 days
    seed_runs("diff", [7.0] * 25)
    sql(
        "INSERT INTO pggit.operations (operation, started_at, duration_ms, success)"
        " VALUES ('diff', now(), 900, false)"
    )
    sql("DELETE FROM pggit.alerts")
    assert sql("SELECT sample_count, max_ms FROM pggit.perf_baselines_recalculate()") == [(25, 7.0)]


def test_a_slow_run_beyond_its_baseline_raises_exactly_one_alert():
    seed_baseline("commit")
    record("commit", 12)  # within the threshold
    assert value("SELECT count(*) FROM pggit.alerts") == 0
    op_id = record("commit", 120)  # threshold 50 ms, error only beyond 150 ms
    rows = sql(
        "SELECT fingerprint, source, severity, status, title, occurrences,"
        " details->>'operation_id', details->>'threshold_ms' FROM pggit.alerts"
    )
    assert rows == [
        (
            "slow_operation:commit",
            "performance",
            "warning",
            "firing",
            "Slow commit",
            1,
            str(op_id),
            "50.000",
        ),
    ]
    assert [kind for kind, _ in alert_events()] == ["alert.fired"]


def test_a_repeated_slow_run_bumps_occurrences_not_rows():
    seed_baseline("commit")
    record("commit", 120)
    first_seen, last_seen = sql("SELECT first_seen_at, last_seen_at FROM pggit.alerts")[0]
    record("commit", 130)
    record("commit", 140)
    rows = sql(
        "SELECT occurrences, first_seen_at, last_seen_at > %s FROM pggit.alerts", [last_seen]
    )
    assert rows == [(3, first_seen, True)]
    assert value("SELECT count(*) FROM pggit.alert_occurrences") == 3
    # announced once: repeats of a firing alert at the same severity are not news
    assert [kind for kind, _ in alert_events()] == ["alert.fired"]


def test_a_much_slower_run_raises_the_severity_and_is_announced_again():
    seed_baseline("commit")
    record("commit", 120)
    record("commit", 900)  # beyond 3 x 50 ms
    assert sql("SELECT severity, occurrences FROM pggit.alerts") == [("error", 2)]
    assert [kind for kind, _ in alert_events()] == ["alert.fired", "alert.fired"]


def test_a_failed_run_raises_an_engine_alert():
    record("merge", 5, success=False, error="[PGGIT-LOCKED] another merge is running")
    assert sql("SELECT fingerprint, source, severity, message FROM pggit.alerts") == [
        ("operation_failed:merge", "engine", "error", "[PGGIT-LOCKED] another merge is running")
    ]


def test_a_capture_failure_raises_an_alert_and_the_ddl_still_succeeds():
    sql("ALTER TABLE pggit.ddl_log ADD CONSTRAINT no_boom CHECK (command_tag <> 'CREATE SEQUENCE')")
    sql("CREATE SEQUENCE public.boom_seq")
    assert value("SELECT to_regclass('public.boom_seq') IS NOT NULL") is True
    # (capture writes the audit row at statement time: the failure is recorded at once)
    [(fingerprint, source, severity, title, tag, error_id)] = sql(
        "SELECT fingerprint, source, severity, title, details->>'command_tag',"
        " (details->>'capture_error_id')::bigint FROM pggit.alerts"
    )
    assert (fingerprint, source, severity, title, tag) == (
        "capture_failure:CREATE SEQUENCE",
        "capture",
        "error",
        "Capture of CREATE SEQUENCE failed",
        "CREATE SEQUENCE",
    )
    assert error_id == value("SELECT id FROM pggit.capture_errors")
    sql("CREATE SEQUENCE public.boom_seq2")
    assert sql("SELECT occurrences FROM pggit.alerts") == [(2,)]


def test_a_capture_failure_alert_resolves_after_a_later_successful_capture():
    sql("ALTER TABLE pggit.ddl_log ADD CONSTRAINT no_boom CHECK (command_tag <> 'CREATE SEQUENCE')")
    sql("CREATE SEQUENCE public.boom_seq")
    assert value("SELECT pggit.alerts_auto_resolve()") == 0
    sql("ALTER TABLE pggit.ddl_log DROP CONSTRAINT no_boom")
    sql("CREATE SEQUENCE public.fine_seq")
    assert value("SELECT pggit.alerts_auto_resolve()") == 1
    assert sql("SELECT status, resolved_by FROM pggit.alerts") == [("resolved", "pggit")]
    assert [kind for kind, _ in alert_events()] == ["alert.fired", "alert.resolved"]


def test_a_slow_operation_alert_resolves_after_enough_normal_runs():
    seed_baseline("commit")
    record("commit", 120)
    for _ in range(4):
        record("commit", 11)
    assert value("SELECT pggit.alerts_auto_resolve()") == 0
    record("commit", 11)
    assert value("SELECT pggit.alerts_auto_resolve()") == 1
    assert (
        value("SELECT (SELECT data->>'automatic' FROM pggit.events WHERE type = 'alert.resolved')")
        == "true"
    )
    # the next slow run is a new problem: a new alert row
    record("commit", 120)
    assert sql("SELECT status FROM pggit.alerts ORDER BY id") == [("resolved",), ("firing",)]


def test_a_sustained_slowdown_is_an_anomaly_and_clears_when_runs_are_normal_again():
    seed_runs("diff", [10.0 + (i % 3) for i in range(200)], minutes_ago=120)
    sql("SELECT count(*) FROM pggit.perf_baselines_recalculate()")
    seed_runs("diff", [40.0] * 12, minutes_ago=5)  # slower, but under the 50 ms threshold
    assert value("SELECT count(*) FROM pggit.alerts") == 0
    [(runs, anomalous)] = sql("SELECT runs, anomalous FROM pggit.perf_detect_anomalies()")
    assert (runs, anomalous) == (12, True)
    assert sql("SELECT fingerprint, severity, status FROM pggit.alerts") == [
        ("perf_anomaly:diff", "warning", "firing")
    ]
    sql("DELETE FROM pggit.operations WHERE duration_ms = 40")
    seed_runs("diff", [11.0] * 12, minutes_ago=5)
    assert sql("SELECT anomalous FROM pggit.perf_detect_anomalies()") == [(False,)]
    assert sql("SELECT status FROM pggit.alerts") == [("resolved",)]


def test_operations_recorded_inside_another_become_its_child_spans():
    sql(
        "SELECT pggit.record_operation('capture', clock_timestamp()),"
        " pggit.record_operation('capture', clock_timestamp())"
    )
    parent = value("SELECT pggit.record_operation('checkout', now())")
    before = value("SELECT pggit.record_operation('diff', clock_timestamp())")
    rows = sql(
        "SELECT operation, depth, parent_id IS NOT DISTINCT FROM %s FROM pggit.operation_trace(%s)",
        [parent, parent],
    )
    assert rows == [("checkout", 0, False), ("capture", 1, True), ("capture", 1, True)]
    # an operation that started after the checkout ended is not inside it
    assert value("SELECT parent_id FROM pggit.operations WHERE id = %s", [before]) is None


def test_a_commit_of_the_engine_is_recorded_and_traced_with_its_captures():
    sql("CREATE TABLE public.traced (id integer)")
    commit_hash = value("SELECT pggit.commit('add traced')")
    assert len(commit_hash) == 64
    commit_id = value("SELECT id FROM pggit.operations WHERE operation = 'commit'")
    rows = sql(
        "SELECT operation, depth, parent_id, object_count FROM pggit.operation_trace(%s)",
        [commit_id],
    )
    assert rows == [("commit", 0, None, 1), ("capture", 1, commit_id, 1)]


def test_the_trace_of_an_unknown_operation_is_an_engine_error():
    from django.db import DatabaseError

    with pytest.raises(DatabaseError) as excinfo:
        sql("SELECT * FROM pggit.operation_trace(999999)")
    assert "[PGGIT-OPERATION_NOT_FOUND]" in str(excinfo.value)


def test_the_periodic_evaluation_records_its_run():
    result = json.loads(value("SELECT pggit.monitoring_evaluate()"))
    assert result == {"anomalies": 0, "auto_resolved": 0, "silence_changes": 0}
    assert sql("SELECT job, runs FROM pggit.monitoring_runs ORDER BY job") == [
        ("anomalies", 1),
        ("evaluate", 1),
    ]


def test_monitoring_errors_never_fail_the_recorded_operation():
    sql("UPDATE pggit.config SET value = '\"not a number\"' WHERE key = 'perf_slow_error_factor'")
    seed_baseline("commit")
    op_id = record("commit", 500)  # the alert cannot be computed: warning, the run stands
    assert value("SELECT count(*) FROM pggit.operations WHERE id = %s", [op_id]) == 1
    assert value("SELECT count(*) FROM pggit.alerts") == 0


def test_a_foreign_trace_stack_value_does_not_break_recording():
    sql("SELECT set_config('pggit.trace_stack', 'not,a@stack', true)")
    op_id = value("SELECT pggit.record_operation('diff', clock_timestamp())")
    assert value("SELECT current_setting('pggit.trace_stack')").startswith(f"|{op_id}@")


def test_a_long_transaction_keeps_a_bounded_trace_stack():
    sql("SELECT pggit.record_operation('capture', clock_timestamp()) FROM generate_series(1, 400)")
    assert len(value("SELECT current_setting('pggit.trace_stack')")) <= 2000
