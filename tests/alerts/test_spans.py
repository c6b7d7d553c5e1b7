"""A commit's recording in one statement (sql/engine/monitoring/traces.sql): pggit.record_span
ends the span pggit.trace_begin opened and records it with its capture flush
(pggit.capture_flush_run); pggit.operations.judged tells the monitoring trigger which rows the
recording functions judged."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from tests.alerts.helpers import seed_baseline, sql, value

pytestmark = pytest.mark.django_db

ROWS = "SELECT id, operation, parent_id, judged FROM pggit.operations ORDER BY id"


@pytest.fixture(autouse=True)
def nothing_pending():
    """The test database's own setup DDL flushed and its recording dropped, so counts are exact."""
    sql("SELECT pggit.capture_flush()")
    sql("DELETE FROM pggit.operations")
    sql("DELETE FROM pggit.alerts")


def trace_open() -> str:
    return value("SELECT coalesce(current_setting('pggit.trace_open', true), '')")


def test_a_commit_records_itself_and_its_capture_flush_as_its_child():
    sql("CREATE TABLE public.spanned (id integer)")
    sql("SELECT pggit.commit('add spanned')")
    [(commit_id, *commit_row), (capture_id, *capture_row)] = sql(ROWS)
    assert commit_row == ["commit", None, True]
    assert capture_row == ["capture", commit_id, True]
    assert capture_id > commit_id
    [commit, capture] = sql(
        "SELECT operation, object_count, statement_count, branch, success, error, details::text,"
        " duration_ms > 0 FROM pggit.operations ORDER BY id"
    )
    assert commit == ("commit", 1, 0, "main", True, None, "{}", True)
    assert capture[:6] == ("capture", 1, 1, "main", True, None)
    assert capture[6].startswith('{"capture_ms": ') and capture[6].endswith(', "statements": 1}')
    assert capture[7] is True
    # the span is closed, and it is the newest recorded top-level span of the transaction
    assert trace_open() == ""
    assert value("SELECT current_setting('pggit.trace_stack')").startswith(f"|{commit_id}@")


def test_a_commit_whose_ddl_was_flushed_before_records_only_itself():
    sql("CREATE TABLE public.spanned (id integer)")
    sql("SELECT count(*) FROM pggit.status()")  # flushes (and records) the capture now
    sql("SELECT pggit.commit('add spanned')")
    assert [(op, parent) for _, op, parent, _ in sql(ROWS)] == [("capture", None), ("commit", None)]


def test_the_commit_and_its_flush_are_each_judged_against_their_own_baseline():
    seed_baseline("commit")
    seed_baseline("capture")
    sql("DELETE FROM pggit.operations")
    sql("UPDATE pggit.perf_baselines SET threshold_ms = 0.000001")  # every run is slow
    sql("CREATE TABLE public.spanned (id integer)")
    sql("SELECT pggit.commit('add spanned')")
    [(commit_id, commit_op), (capture_id, capture_op)] = sql(
        "SELECT id, operation FROM pggit.operations ORDER BY id"
    )
    assert (commit_op, capture_op) == ("commit", "capture")
    assert sql(
        "SELECT fingerprint, occurrences, (details->>'operation_id')::bigint FROM pggit.alerts"
        " ORDER BY fingerprint"
    ) == [("slow_operation:capture", 1, capture_id), ("slow_operation:commit", 1, commit_id)]


def test_a_commit_within_its_baselines_raises_nothing():
    seed_baseline("commit")
    seed_baseline("capture")
    sql("CREATE TABLE public.spanned (id integer)")
    sql("SELECT pggit.commit('add spanned')")
    assert value("SELECT count(*) FROM pggit.alerts") == 0


def test_record_span_pops_its_entry_and_takes_the_enclosing_span_as_parent():
    outer = value("SELECT pggit.trace_begin('checkout', '2026-01-01 10:00:00+00')")
    inner = value("SELECT pggit.trace_begin('commit', '2026-01-01 10:00:01+00')")
    assert (
        value(
            "SELECT pggit.record_span(%s, NULL, 'commit', '2026-01-01 10:00:01+00', 2, 0, 'main')",
            [inner],
        )
        == inner
    )
    assert trace_open().startswith(f"{outer}:checkout:")
    assert "," not in trace_open()
    assert value("SELECT pggit.record_operation('checkout', '2026-01-01 10:00:00+00')") == outer
    assert sql(ROWS) == [(outer, "checkout", None, True), (inner, "commit", outer, True)]
    assert sql("SELECT object_count, branch FROM pggit.operations WHERE id = %s", [inner]) == [
        (2, "main")
    ]


def test_record_span_ends_the_spans_opened_inside_it_that_were_never_recorded():
    span = value("SELECT pggit.trace_begin('commit', now())")
    value("SELECT pggit.trace_begin('rescan', now())")  # never recorded
    assert value("SELECT pggit.record_span(%s, NULL, 'commit', now())", [span]) == span
    assert trace_open() == ""
    assert sql(ROWS) == [(span, "commit", None, True)]


def test_record_span_with_an_id_not_on_the_stack_takes_a_new_id_and_leaves_the_stack():
    open_span = value("SELECT pggit.trace_begin('checkout', now())")
    stack = trace_open()
    recorded = value("SELECT pggit.record_span(987654321, NULL, 'commit', now())")
    assert recorded not in (987654321, open_span)
    assert trace_open() == stack
    assert sql(ROWS) == [(recorded, "commit", None, True)]


def test_record_span_drops_an_enclosing_entry_it_did_not_write():
    sql("SELECT set_config('pggit.trace_open', 'garbage', true)")
    span = value("SELECT pggit.trace_begin('commit', now())")
    assert trace_open().endswith(",garbage")
    assert value("SELECT pggit.record_span(%s, NULL, 'commit', now())", [span]) == span
    assert trace_open() == ""
    assert sql(ROWS) == [(span, "commit", None, True)]


def test_record_span_needs_an_operation_and_a_start():
    for args in ("NULL, now()", "'commit', NULL"):
        with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
            sql(f"SELECT pggit.record_span(NULL, NULL, {args})")
        assert str(excinfo.value).startswith(
            "[PGGIT-INVALID_ARGUMENT] a span needs its operation and start"
        )
    assert sql(ROWS) == []


def test_capture_flush_run_flushes_without_recording():
    sql("CREATE TABLE public.flushed (id integer)")
    [run] = sql(
        "SELECT r.id, r.operation, r.object_count, r.statement_count, r.branch, r.success,"
        " r.parent_id, r.duration_ms >= 0, r.details ? 'capture_ms'"
        " FROM pggit.capture_flush_run() r"
    )
    assert run == (None, "capture", 1, 1, "main", True, None, True, True)
    assert sql(ROWS) == []
    assert value("SELECT count(*) FROM pggit.ddl_log WHERE flushed_at IS NULL") == 0
    assert sql("SELECT object_name, change_type FROM pggit.status()") == [("flushed", "ADDED")]
    # nothing left: an empty row
    assert sql("SELECT operation, statement_count FROM pggit.capture_flush_run()") == [(None, None)]
    assert value("SELECT pggit.capture_flush()") == 0
    assert sql(ROWS) == []


def test_capture_flush_records_its_run():
    sql("CREATE TABLE public.flushed (id integer)")
    sql("CREATE TABLE public.flushed_too (id integer)")
    assert value("SELECT pggit.capture_flush()") == 2
    assert [row[1:] for row in sql(ROWS)] == [("capture", None, True)]
    assert sql(
        "SELECT object_count, statement_count, branch, (details->>'statements')::int"
        " FROM pggit.operations"
    ) == [(2, 2, "main", 2)]


def test_rows_inserted_by_hand_are_judged_by_the_trigger_unless_marked_judged():
    seed_baseline("diff")  # threshold 50 ms
    sql("DELETE FROM pggit.operations")
    judged_here = value(
        "INSERT INTO pggit.operations (operation, started_at, duration_ms, judged)"
        " VALUES ('diff', now(), 500, true) RETURNING id"
    )
    assert value("SELECT count(*) FROM pggit.alerts") == 0
    by_trigger = value(
        "INSERT INTO pggit.operations (operation, started_at, duration_ms)"
        " VALUES ('diff', now(), 500) RETURNING id"
    )
    assert sql(ROWS) == [(judged_here, "diff", None, True), (by_trigger, "diff", None, False)]
    assert sql("SELECT fingerprint, (details->>'operation_id')::bigint FROM pggit.alerts") == [
        ("slow_operation:diff", by_trigger)
    ]


def test_only_the_monitoring_trigger_fires_on_insert():
    assert sql(
        "SELECT tgname, pg_get_triggerdef(oid) LIKE '%AFTER INSERT%' FROM pg_trigger"
        " WHERE tgrelid = 'pggit.operations'::regclass AND NOT tgisinternal ORDER BY tgname"
    ) == [
        ("cache_announce_change_written", False),
        ("operations_monitor", True),
        ("operations_orphan_children", False),
    ]
    assert "WHEN ((NOT new.judged))" in value(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'operations_monitor'"
    )


def test_traces_are_read_down_an_index_of_parent_links():
    assert value(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'pggit'"
        " AND indexname = 'operations_parent_idx'"
    ) == ("CREATE INDEX operations_parent_idx ON pggit.operations USING btree (parent_id)")
