"""Revert, reset and undo, driven from plain connections: validation, dry runs that change
nothing, new commits (history kept), the live schema migrated when the branch is HEAD, exact
trees restored for every object kind, all or nothing."""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.engine.enginedb import EngineDB, engine_error
from tests.engine.test_kinds_roundtrip import KINDS, Kind


def commit(db: EngineDB, message: str) -> str:
    return db.one("SELECT pggit.commit(%s)", (message,))


def tree_of(db: EngineDB, ref: str) -> str:
    return db.one("SELECT tree_hash FROM pggit.commits WHERE hash = pggit.resolve_ref(%s)", (ref,))


def run(db: EngineDB, query: str, params: tuple = ()) -> dict:
    status, commit_hash, script, findings = db.rows(query, params)[0]
    return {"status": status, "commit": commit_hash, "script": script, "findings": findings}


def refused(db: EngineDB, query: str, params: tuple = ()) -> psycopg.errors.RaiseException:
    with pytest.raises(psycopg.errors.RaiseException) as excinfo:
        db.run(query, params)
    return excinfo


def snapshot(db: EngineDB) -> tuple:
    """Everything a dry run must leave as it was: trees, branches, commits, live schema."""
    return (
        db.live_tree_hash(),
        db.rows("SELECT name, head_commit FROM pggit.branches ORDER BY id"),
        db.one("SELECT count(*) FROM pggit.commits"),
        db.one("SELECT count(*) FROM pggit.events"),
        db.one("SELECT pggit.schema_at('WORKING')"),
    )


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_revert_restores_the_earlier_tree_exactly_for_every_kind(engine_db: EngineDB, kind: Kind):
    if kind.extension and not engine_db.one(
        "SELECT count(*) FROM pg_available_extensions WHERE name = %s", (kind.extension,)
    ):
        pytest.skip(f"extension {kind.extension} not available")
    if kind.setup:
        engine_db.run(kind.setup)
    engine_db.run("CREATE TABLE public.bystander (id integer)")
    before_create = commit(engine_db, "setup")
    engine_db.run(kind.create)
    created = commit(engine_db, "create")
    if kind.alter:
        engine_db.run(kind.alter)
        altered = commit(engine_db, "alter")
        result = run(engine_db, "SELECT * FROM pggit.revert(%s, false)", (altered,))
        assert result["status"] == "completed"
        assert tree_of(engine_db, "main") == tree_of(engine_db, created)
        assert engine_db.live_tree_hash() == tree_of(engine_db, "main")
    result = run(engine_db, "SELECT * FROM pggit.revert(%s, false)", (created,))
    assert result["status"] == "completed"
    assert tree_of(engine_db, "main") == tree_of(engine_db, before_create)
    assert engine_db.live_tree_hash() == tree_of(engine_db, "main")
    assert engine_db.one("SELECT kind FROM pggit.commits WHERE hash = %s", (result["commit"],)) == (
        "revert"
    )
    assert engine_db.one("SELECT count(*) FROM pggit.working") == 0
    assert engine_db.one("SELECT ok FROM pggit.verify()") is True


def test_dry_runs_change_nothing_and_return_the_exact_ddl(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.t (id integer)")
    first = commit(engine_db, "t")
    engine_db.run("ALTER TABLE public.t ADD COLUMN note text")
    engine_db.run("CREATE TABLE public.u (id integer)")
    second = commit(engine_db, "note and u")
    before = snapshot(engine_db)
    revert = run(engine_db, "SELECT * FROM pggit.revert(%s)", (second,))  # dry run by default
    reset = run(engine_db, "SELECT * FROM pggit.reset('main', %s)", (first,))
    undo = run(engine_db, "SELECT * FROM pggit.undo(ARRAY['public.u'], %s)", (first,))
    assert snapshot(engine_db) == before
    assert [r["status"] for r in (revert, reset, undo)] == ["dry_run"] * 3
    assert revert["commit"] is None
    assert "ALTER TABLE public.t DROP COLUMN note;" in revert["script"]
    assert "DROP TABLE IF EXISTS public.u;" in revert["script"]
    assert revert["script"] == reset["script"].replace(f"reset {first}", f"revert {second}")
    assert "DROP TABLE IF EXISTS public.u;" in undo["script"]
    assert "note" not in undo["script"]
    # the script of the dry run is what the execution runs
    executed = run(engine_db, "SELECT * FROM pggit.revert(%s, false)", (second,))
    assert executed["script"] == revert["script"]
    assert engine_db.one(
        "SELECT array_agg(statement ORDER BY id) FROM pggit.ddl_log "
        "WHERE engine_operation = 'revert'"
    ) == ["DROP TABLE IF EXISTS public.u;", "ALTER TABLE public.t DROP COLUMN note;"]
    assert revert["script"].index("DROP TABLE") < revert["script"].index("ALTER TABLE")


def test_revert_refuses_data_loss_unless_forced_and_reports_findings(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.t (id integer)")
    added = commit(engine_db, "t")
    engine_db.run("INSERT INTO public.t VALUES (1)")
    dry = run(engine_db, "SELECT * FROM pggit.revert(%s)", (added,))
    assert dry["findings"] == [
        {
            "check": "data_loss",
            "level": "error",
            "message": "table_dropped: public.t holds rows that would be lost",
        }
    ]
    excinfo = refused(engine_db, "SELECT * FROM pggit.revert(%s, false)", (added,))
    assert engine_error(excinfo) == "ROLLBACK_REFUSED"
    assert '"check": "data_loss"' in excinfo.value.diag.message_detail
    assert engine_db.one("SELECT count(*) FROM public.t") == 1
    result = run(engine_db, "SELECT * FROM pggit.revert(%s, false, true)", (added,))
    assert result["status"] == "completed"
    assert engine_db.one("SELECT to_regclass('public.t')") is None
    assert engine_db.rows("SELECT operation, forced FROM pggit.rollbacks") == [("revert", True)]
    assert engine_db.one("SELECT type FROM pggit.events ORDER BY id DESC LIMIT 1") == (
        "revert.completed"
    )


def test_revert_refuses_when_a_later_commit_changed_the_same_object(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.t (id integer)")
    commit(engine_db, "t")
    engine_db.run("ALTER TABLE public.t ADD COLUMN a text")
    first = commit(engine_db, "a")
    engine_db.run("ALTER TABLE public.t ADD COLUMN b text")
    commit(engine_db, "b")
    dry = run(engine_db, "SELECT * FROM pggit.revert(%s)", (first,))
    assert [f["check"] for f in dry["findings"]] == ["later_change"]
    excinfo = refused(engine_db, "SELECT * FROM pggit.revert(%s, false, true)", (first,))
    assert engine_error(excinfo) == "ROLLBACK_REFUSED"  # force overrides data loss only


def test_revert_refuses_a_dependency_it_would_break(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.t (id integer)")
    added = commit(engine_db, "t")
    engine_db.run("CREATE VIEW public.v AS SELECT id FROM public.t")
    commit(engine_db, "v")
    dry = run(engine_db, "SELECT * FROM pggit.revert(%s)", (added,))
    assert {
        "check": "dependency",
        "level": "error",
        "message": "view:public.v depends on table:public.t, which would no longer exist",
    } in dry["findings"]
    excinfo = refused(engine_db, "SELECT * FROM pggit.revert(%s, false, true)", (added,))
    assert engine_error(excinfo) == "ROLLBACK_REFUSED"
    assert engine_db.one("SELECT to_regclass('public.v') IS NOT NULL") is True


def test_revert_of_a_merge_commit_undoes_what_the_merge_brought(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.t (id integer)")
    commit(engine_db, "base")
    engine_db.run("SELECT pggit.branch_create('feature')")
    engine_db.run("SELECT * FROM pggit.checkout('feature')")
    engine_db.run("CREATE TABLE public.f (id integer)")
    engine_db.run("ALTER TABLE public.t ADD COLUMN from_feature text")
    commit(engine_db, "feature")
    engine_db.run("SELECT * FROM pggit.checkout('main')")
    engine_db.run("CREATE TABLE public.m (id integer)")
    before_merge = commit(engine_db, "main")
    merged = engine_db.one("SELECT result_commit FROM pggit.merge('feature', 'main')")
    assert (
        engine_db.one("SELECT cardinality(parents) FROM pggit.commits WHERE hash = %s", (merged,))
        == 2
    )
    result = run(engine_db, "SELECT * FROM pggit.revert(%s, false)", (merged,))
    assert result["status"] == "completed"
    assert tree_of(engine_db, "main") == tree_of(engine_db, before_merge)
    assert engine_db.live_tree_hash() == tree_of(engine_db, "main")
    assert engine_db.one("SELECT to_regclass('public.f')") is None


def test_reset_to_a_timestamp_makes_a_new_commit_with_that_tree(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.t (id integer)")
    kept = commit(engine_db, "t")
    moment = engine_db.one("SELECT clock_timestamp()::text")
    time.sleep(0.05)
    engine_db.run("CREATE TABLE public.later (id integer)")
    commit(engine_db, "later")
    engine_db.run("ALTER TABLE public.t ADD COLUMN x integer")
    head_before = commit(engine_db, "x")
    dry = run(engine_db, "SELECT * FROM pggit.reset('main', %s)", (moment,))
    assert dry["findings"] == [
        {
            "check": "later_commits",
            "level": "info",
            "message": f"the changes of the 2 commit(s) of main after {kept[:12]} are undone "
            "(they stay in the history)",
        }
    ]
    result = run(engine_db, "SELECT * FROM pggit.reset('main', %s, false)", (moment,))
    assert result["status"] == "completed"
    assert tree_of(engine_db, "main") == tree_of(engine_db, kept)
    parents, kind = engine_db.rows(
        "SELECT parents, kind FROM pggit.commits WHERE hash = %s", (result["commit"],)
    )[0]
    assert (parents, kind) == ([head_before], "reset")  # history kept
    assert engine_db.live_tree_hash() == tree_of(engine_db, kept)
    assert engine_error(
        refused(engine_db, "SELECT * FROM pggit.reset('main', %s, false)", (kept,))
    ) == ("NOTHING_TO_RESET")
    assert engine_error(refused(engine_db, "SELECT * FROM pggit.reset('main', '1999-01-01')")) == (
        "REF_NOT_FOUND"
    )


def test_reset_of_a_branch_that_is_not_head_leaves_the_live_schema_alone(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.t (id integer)")
    commit(engine_db, "t")
    engine_db.run("SELECT pggit.branch_create('other')")
    engine_db.run("CREATE TABLE public.u (id integer)")
    commit(engine_db, "u")
    live = engine_db.live_tree_hash()
    other_before = engine_db.one("SELECT pggit.resolve_ref('other')")
    result = run(engine_db, "SELECT * FROM pggit.reset('other', 'main', false)")
    assert result["status"] == "completed"
    assert result["script"].count("CREATE TABLE public.u") == 1
    assert tree_of(engine_db, "other") == tree_of(engine_db, "main")
    assert engine_db.one(
        "SELECT parents FROM pggit.commits WHERE hash = %s", (result["commit"],)
    ) == [other_before]
    assert engine_db.live_tree_hash() == live
    assert engine_db.one("SELECT branch FROM pggit.head()") == "main"


def test_undo_of_one_object_among_many(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.a (id integer)")
    engine_db.run("CREATE TABLE public.b (id integer)")
    engine_db.run("CREATE FUNCTION public.f() RETURNS integer LANGUAGE sql AS 'SELECT 1'")
    start = commit(engine_db, "start")
    engine_db.run("ALTER TABLE public.a ADD COLUMN x integer")
    engine_db.run("ALTER TABLE public.b ADD COLUMN y integer")
    engine_db.run(
        "CREATE OR REPLACE FUNCTION public.f() RETURNS integer LANGUAGE sql AS 'SELECT 2'"
    )
    engine_db.run("CREATE TABLE public.c (id integer)")
    commit(engine_db, "many")
    before = engine_db.one("SELECT pggit.commit_tree(pggit.resolve_ref('main'))")
    result = run(engine_db, "SELECT * FROM pggit.undo(ARRAY['public.b'], %s, false)", (start,))
    assert result["status"] == "completed"
    after = engine_db.one("SELECT pggit.commit_tree(pggit.resolve_ref('main'))")
    start_tree = engine_db.one("SELECT pggit.commit_tree(%s)", (start,))
    assert after["table:public.b"] == start_tree["table:public.b"]
    assert {k: v for k, v in after.items() if k != "table:public.b"} == {
        k: v for k, v in before.items() if k != "table:public.b"
    }
    assert engine_db.live_tree_hash() == tree_of(engine_db, "main")
    assert engine_db.one("SELECT public.f()") == 2
    # by key, and an object that did not exist then is removed
    result = run(
        engine_db, "SELECT * FROM pggit.undo(ARRAY['table:public.c'], %s, false)", (start,)
    )
    assert engine_db.one("SELECT to_regclass('public.c')") is None
    for objects, code in [
        (["public.nope"], "OBJECT_NOT_FOUND"),
        (["public.b"], "NOTHING_TO_UNDO"),
        ([], "INVALID_ARGUMENT"),
    ]:
        excinfo = refused(engine_db, "SELECT * FROM pggit.undo(%s, %s, false)", (objects, start))
        assert engine_error(excinfo) == code, objects


def test_rollback_refusals_and_monitoring(engine_db: EngineDB):
    root = engine_db.one("SELECT commit_hash FROM pggit.head()")
    engine_db.run("SELECT pggit.branch_create('side')")
    engine_db.run("CREATE TABLE public.t (id integer)")
    on_main = commit(engine_db, "t")
    for call, params, code in [
        ("SELECT * FROM pggit.revert(%s)", (root,), "INVALID_ARGUMENT"),
        ("SELECT * FROM pggit.revert('nope')", (), "REF_NOT_FOUND"),
        ("SELECT * FROM pggit.revert(%s, true, false, 'side')", (on_main,), "COMMIT_NOT_ON_BRANCH"),
        ("SELECT * FROM pggit.reset('nope', 'main')", (), "BRANCH_NOT_FOUND"),
        ("SELECT * FROM pggit.reset('main', 'not-a-time-or-ref')", (), "REF_NOT_FOUND"),
        ("SELECT * FROM pggit.reset('main', '2024-13-45')", (), "INVALID_REF"),
    ]:
        assert engine_error(refused(engine_db, call, params)) == code, call
    engine_db.run("CREATE TABLE public.pending (id integer)")
    excinfo = refused(engine_db, "SELECT * FROM pggit.revert(%s, false)", (on_main,))
    assert "working_changes" in excinfo.value.diag.message_detail
    engine_db.run("DROP TABLE public.pending")
    run(engine_db, "SELECT * FROM pggit.revert(%s, false)", (on_main,))
    operations = {r[0] for r in engine_db.rows("SELECT operation FROM pggit.operations")}
    assert "revert" in operations
