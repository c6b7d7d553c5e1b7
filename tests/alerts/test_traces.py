"""Traces of engine operations (sql/engine/monitoring/traces.sql): an operation that contains others
opens its span when it starts, so what runs inside it is recorded as its child at once; spans
recorded without opening (from psql, by hand) are still adopted afterwards. Also: every engine
operation is recorded, branch delete / rename / protect and rescan included."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from tests.alerts.helpers import seed_baseline, sql, value
from tests.engine.enginedb import EngineDB, engine_db, engine_template  # noqa: F401

pytestmark = pytest.mark.django_db

TRACE = (
    "SELECT operation, depth, parent_id, object_count, statement_count"
    " FROM pggit.operation_trace(%s)"
)


@pytest.fixture(autouse=True)
def nothing_pending():
    """The test database's own setup DDL flushed and its recording dropped, so counts are exact."""
    sql("SELECT pggit.capture_flush()")
    sql("DELETE FROM pggit.operations")


def operations() -> list[tuple]:
    return sql("SELECT id, operation, parent_id FROM pggit.operations ORDER BY id")


def test_a_commit_is_the_parent_span_of_its_capture_flush():
    sql("CREATE TABLE public.traced (id integer)")
    sql("SELECT pggit.commit('add traced')")
    [(commit_id, commit_op, commit_parent), (capture_id, capture_op, parent)] = operations()
    assert (commit_op, commit_parent, capture_op, parent) == ("commit", None, "capture", commit_id)
    assert sql(TRACE, [capture_id]) == [
        ("commit", 0, None, 1, 0),
        ("capture", 1, commit_id, 1, 1),
    ]
    # the commit's own time excludes its child's
    [(duration, self_ms, child_ms)] = sql(
        "SELECT t.duration_ms, t.self_ms, c.duration_ms FROM pggit.operation_trace(%s) t"
        " JOIN pggit.operations c ON c.id = %s WHERE t.depth = 0",
        [commit_id, capture_id],
    )
    assert self_ms == pytest.approx(duration - child_ms)
    assert value("SELECT current_setting('pggit.trace_open')") == ""


@pytest.mark.parametrize(("proof", "captures"), [("full", 1), ("touched", 2)])
def test_a_forced_checkout_shows_the_captures_it_ran_as_its_children(proof, captures):
    sql("SELECT set_config('pggit.apply_proof', %s, true)", [proof])
    sql("SELECT pggit.branch_create('dev')")
    sql("CREATE TABLE public.uncommitted (id integer)")
    [(branch,)] = sql("SELECT branch FROM pggit.checkout('dev', true)")
    assert branch == "dev"
    checkout_id = value("SELECT id FROM pggit.operations WHERE operation = 'checkout'")
    # the flush of the pending CREATE; proven by the touched objects, also the flush of the DROP
    # the checkout applied (proven by the full read, the engine writes that audit row itself and
    # re-reads the whole live schema, with capture off: docs/engine-internals.md)
    assert (
        sql(TRACE, [checkout_id])
        == [("checkout", 0, None, 1, 1)] + [("capture", 1, checkout_id, 1, 1)] * captures
    )


def test_operations_driven_from_psql_are_traced_the_same(engine_db):  # noqa: F811
    db: EngineDB = engine_db  # autocommit: every statement its own transaction, as psql runs them
    db.run("CREATE TABLE public.one (id integer)")
    db.run("SELECT pggit.commit('one')")
    db.run("SELECT pggit.branch_create('dev')")
    db.run("CREATE TABLE public.two (id integer)")
    db.run("SET pggit.apply_proof = 'touched'")  # the apply's own flush is a capture span too
    db.run("SELECT * FROM pggit.checkout('dev', true)")
    rows = db.rows("SELECT id, operation, parent_id FROM pggit.operations ORDER BY id")
    commit_id, checkout_id = rows[0][0], rows[3][0]
    assert rows == [
        (commit_id, "commit", None),
        (commit_id + 1, "capture", commit_id),
        (commit_id + 2, "branch_create", None),
        (checkout_id, "checkout", None),
        (checkout_id + 1, "capture", checkout_id),
        (checkout_id + 2, "capture", checkout_id),
    ]
    assert db.rows(
        "SELECT operation, depth FROM pggit.operation_trace(%s)", (checkout_id + 2,)
    ) == [("checkout", 0), ("capture", 1), ("capture", 1)]


def test_a_failed_operation_caught_in_a_block_leaves_no_open_span_behind():
    sql(
        "DO $$ BEGIN PERFORM pggit.checkout('no_such_branch');"
        " EXCEPTION WHEN OTHERS THEN NULL; END $$"
    )
    assert value("SELECT coalesce(current_setting('pggit.trace_open', true), '')") == ""
    op_id = value("SELECT pggit.record_operation('diff', clock_timestamp())")
    assert operations() == [(op_id, "diff", None)]


def test_spans_inside_an_open_span_nest_and_siblings_stay_apart():
    outer = value("SELECT pggit.trace_begin('checkout', '2026-01-01 10:00:00+00')")
    inner = value("SELECT pggit.trace_begin('rescan', '2026-01-01 10:00:01+00')")
    leaf = value("SELECT pggit.record_operation('capture', clock_timestamp())")
    assert value("SELECT pggit.record_operation('rescan', '2026-01-01 10:00:01+00')") == inner
    sibling = value("SELECT pggit.record_operation('capture', clock_timestamp())")
    assert value("SELECT pggit.record_operation('checkout', '2026-01-01 10:00:00+00')") == outer
    after = value("SELECT pggit.record_operation('diff', clock_timestamp())")
    assert operations() == [
        (outer, "checkout", None),
        (inner, "rescan", outer),
        (leaf, "capture", inner),
        (sibling, "capture", outer),
        (after, "diff", None),
    ]
    assert [(op, depth) for op, depth, *_ in sql(TRACE, [leaf])] == [
        ("checkout", 0),
        ("rescan", 1),
        ("capture", 2),
        ("capture", 1),
    ]


def test_a_foreign_open_span_value_is_ignored():
    sql("SELECT set_config('pggit.trace_open', 'garbage', true)")
    op_id = value("SELECT pggit.record_operation('diff', clock_timestamp())")
    assert operations() == [(op_id, "diff", None)]
    span = value("SELECT pggit.trace_begin('commit', now())")
    assert value("SELECT current_setting('pggit.trace_open')").startswith(f"{span}:commit:")
    assert value("SELECT pggit.record_operation('commit', now())") == span
    assert value("SELECT current_setting('pggit.trace_open')") == ""


def test_an_explicit_parent_must_be_a_recorded_operation():
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
        sql("SELECT pggit.record_operation('diff', now(), p_parent_id => 987654)")
    assert str(excinfo.value).startswith("[PGGIT-OPERATION_NOT_FOUND] no recorded operation 987654")


def test_deleting_a_parent_span_clears_its_children_parent():
    sql("CREATE TABLE public.traced (id integer)")
    sql("SELECT pggit.commit('add traced')")
    [(commit_id, _, _), (capture_id, _, _)] = operations()
    sql("DELETE FROM pggit.operations WHERE id = %s", [commit_id])
    assert operations() == [(capture_id, "capture", None)]
    assert [(op, depth) for op, depth, *_ in sql(TRACE, [capture_id])] == [("capture", 0)]


def test_branch_delete_rename_and_protect_are_recorded():
    sql("SELECT set_config('pggit.actor', 'ops-user', true)")
    sql("SELECT pggit.branch_create('dev'), pggit.branch_create('gone')")
    sql("SELECT pggit.branch_rename('dev', 'feature')")
    sql("SELECT pggit.branch_protect('feature')")
    sql("SELECT pggit.branch_protect('feature', false)")
    sql("SELECT pggit.branch_delete('gone')")
    head = value("SELECT head_commit FROM pggit.branches WHERE name = 'gone'")
    rows = sql(
        "SELECT operation, branch, actor, success, object_count, statement_count, details::text,"
        " parent_id FROM pggit.operations WHERE operation <> 'branch_create' ORDER BY id"
    )
    assert rows == [
        ("branch_rename", "feature", "ops-user", True, 0, 0, '{"from": "dev"}', None),
        ("branch_protect", "feature", "ops-user", True, 0, 0, '{"protected": true}', None),
        ("branch_protect", "feature", "ops-user", True, 0, 0, '{"protected": false}', None),
        ("branch_delete", "gone", "ops-user", True, 0, 0, f'{{"commit": "{head}"}}', None),
    ]


def test_rescan_is_recorded_with_the_changes_it_found_and_its_capture_as_child():
    sql("SELECT pggit.set_capture(false)")
    sql("CREATE TABLE public.unseen (id integer)")
    sql("SELECT pggit.set_capture(true)")
    sql("CREATE TABLE public.seen (id integer)")  # captured, flushed by the rescan
    assert value("SELECT pggit.rescan('audit')") == 1
    [(rescan_id, branch, found, details)] = sql(
        "SELECT id, branch, object_count, details::text FROM pggit.operations"
        " WHERE operation = 'rescan'"
    )
    assert (branch, found, details) == ("main", 1, '{"reason": "audit"}')
    assert sql(TRACE, [rescan_id]) == [
        ("rescan", 0, None, 1, 0),
        ("capture", 1, rescan_id, 1, 1),
    ]
    assert value("SELECT pggit.rescan()") == 0
    assert sql(
        "SELECT object_count, parent_id FROM pggit.operations"
        " WHERE operation = 'rescan' ORDER BY id"
    ) == [(1, None), (0, None)]


def test_a_failed_branch_operation_records_nothing_from_sql():
    # the error rolls back with the statement: PostgreSQL has no autonomous transactions
    with pytest.raises(DatabaseError), transaction.atomic():
        sql("SELECT pggit.branch_delete('main')")
    assert operations() == []


def test_a_slow_run_recorded_by_the_engine_raises_exactly_one_alert():
    seed_baseline("commit")  # threshold 50 ms
    op_id = value("SELECT pggit.record_operation('commit', clock_timestamp() - interval '200 ms')")
    [(fingerprint, severity, occurrences, operation_id)] = sql(
        "SELECT fingerprint, severity, occurrences, (details->>'operation_id')::bigint"
        " FROM pggit.alerts"
    )
    assert (fingerprint, severity, occurrences, operation_id) == (
        "slow_operation:commit",
        "error",  # 200 ms > 3 x 50 ms
        1,
        op_id,
    )
    # within the threshold: judged, nothing raised
    value("SELECT pggit.record_operation('commit', clock_timestamp())")
    assert value("SELECT occurrences FROM pggit.alerts") == 1


def test_a_row_inserted_directly_is_still_judged_and_linked_by_the_trigger():
    seed_baseline("diff")
    sql("DELETE FROM pggit.alerts")
    child = value("SELECT pggit.record_operation('capture', clock_timestamp())")
    parent = value(
        "INSERT INTO pggit.operations (operation, started_at, duration_ms)"
        " VALUES ('diff', now(), 500) RETURNING id"
    )
    assert value("SELECT parent_id FROM pggit.operations WHERE id = %s", [child]) == parent
    assert sql("SELECT fingerprint, occurrences FROM pggit.alerts") == [("slow_operation:diff", 1)]


def test_monitoring_errors_never_fail_a_run_recorded_by_the_engine():
    seed_baseline("commit")
    sql("UPDATE pggit.config SET value = '\"not a number\"' WHERE key = 'perf_slow_error_factor'")
    op_id = value("SELECT pggit.record_operation('commit', clock_timestamp() - interval '200 ms')")
    assert value("SELECT count(*) FROM pggit.operations WHERE id = %s", [op_id]) == 1
    assert value("SELECT count(*) FROM pggit.alerts") == 0


def test_an_explicit_parent_may_be_a_span_still_open():
    span = value("SELECT pggit.trace_begin('checkout', '2026-01-01 10:00:00+00')")
    child = value(
        "SELECT pggit.record_operation('diff', clock_timestamp(), p_parent_id => %s)", [span]
    )
    assert value("SELECT pggit.record_operation('checkout', '2026-01-01 10:00:00+00')") == span
    assert operations() == [(span, "checkout", None), (child, "diff", span)]
