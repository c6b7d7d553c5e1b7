"""Merge, driven from plain connections as psql would: merge base (criss-cross included),
fast-forward, up to date, three-way with each conflict type, each strategy, MANUAL_REVIEW
resolution (CUSTOM proven in a savepoint), completion, abort, one open merge per target,
concurrent merges, data kept, and a failing step that leaves nothing applied."""

from __future__ import annotations

import threading

import psycopg
import pytest

from tests.engine.enginedb import EngineDB, engine_error


def commit(db: EngineDB, message: str) -> str:
    return db.one("SELECT pggit.commit(%s)", (message,))


def checkout(db: EngineDB, branch: str, force: bool = False) -> None:
    db.run("SELECT * FROM pggit.checkout(%s, %s)", (branch, force))


def merge(db: EngineDB, source: str, target: str, strategy: str = "ABORT_ON_CONFLICT") -> dict:
    row = db.conn.execute(
        "SELECT id, status, base, result_commit, conflict_count, source_commit, target_commit "
        "FROM pggit.merge(%s, %s, %s)",
        (source, target, strategy),
    ).fetchone()
    keys = ("id", "status", "base", "result_commit", "conflict_count", "source", "target")
    return dict(zip(keys, row, strict=True))


def conflicts(db: EngineDB, merge_id: int) -> list[tuple]:
    return db.rows(
        "SELECT conflict_id, object_key, conflict_type, severity, resolution "
        "FROM pggit.merge_conflicts(%s)",
        (merge_id,),
    )


def head_of(db: EngineDB, branch: str) -> str:
    return db.one("SELECT pggit.resolve_ref(%s)", (branch,))


def refused(db: EngineDB, query: str, params: tuple = ()) -> str:
    with pytest.raises(psycopg.errors.RaiseException) as excinfo:
        db.run(query, params)
    return engine_error(excinfo)


def diverge(db: EngineDB, on_feature: list[str], on_main: list[str], base: list[str]) -> None:
    """base on main, committed; branch feature; on_feature there; back on main, on_main."""
    for statement in base:
        db.run(statement)
    commit(db, "base")
    db.run("SELECT pggit.branch_create('feature')")
    checkout(db, "feature")
    for statement in on_feature:
        db.run(statement)
    commit(db, "feature work")
    checkout(db, "main")
    for statement in on_main:
        db.run(statement)
    if on_main:
        commit(db, "main work")


def test_fast_forward_moves_the_target_and_migrates_the_live_schema(engine_db: EngineDB):
    diverge(
        engine_db,
        base=["CREATE TABLE public.t (id integer)", "INSERT INTO public.t VALUES (1), (2)"],
        on_feature=["ALTER TABLE public.t ADD COLUMN note text", "CREATE TABLE public.u (x int)"],
        on_main=[],
    )
    feature_head = head_of(engine_db, "feature")
    commits_before = engine_db.one("SELECT count(*) FROM pggit.commits")
    result = merge(engine_db, "feature", "main")
    assert result["status"] == "fast_forward"
    assert result["result_commit"] == feature_head
    assert head_of(engine_db, "main") == feature_head
    assert engine_db.one("SELECT count(*) FROM pggit.commits") == commits_before  # no new commit
    assert engine_db.live_tree_hash() == engine_db.branch_tree("feature")
    assert engine_db.rows("SELECT id, note FROM public.t ORDER BY id") == [(1, None), (2, None)]
    assert engine_db.one("SELECT count(*) FROM pggit.working") == 0
    assert engine_db.one("SELECT type FROM pggit.events ORDER BY id DESC LIMIT 1") == (
        "merge.completed"
    )


def test_up_to_date_when_there_is_nothing_to_merge_and_re_merging_is_a_no_op(engine_db: EngineDB):
    diverge(
        engine_db,
        base=["CREATE TABLE public.t (id integer)"],
        on_feature=["CREATE TABLE public.u (id integer)"],
        on_main=["CREATE TABLE public.w (id integer)"],
    )
    first = merge(engine_db, "feature", "main")
    assert first["status"] == "completed"
    main_head = head_of(engine_db, "main")
    again = merge(engine_db, "feature", "main")
    assert (again["status"], again["result_commit"]) == ("up_to_date", main_head)
    assert head_of(engine_db, "main") == main_head
    # main into a branch created from it: up to date as well
    engine_db.run("SELECT pggit.branch_create('fresh')")
    assert merge(engine_db, "fresh", "main")["status"] == "up_to_date"


def test_three_way_takes_one_sided_changes_and_identical_changes_once(engine_db: EngineDB):
    diverge(
        engine_db,
        base=[
            "CREATE TABLE public.t (id integer)",
            "INSERT INTO public.t VALUES (7)",
            "CREATE TABLE public.gone (id integer)",
        ],
        on_feature=[
            "ALTER TABLE public.t ADD COLUMN from_feature text",
            "CREATE TABLE public.same (id integer)",
            "DROP TABLE public.gone",
        ],
        on_main=["CREATE TABLE public.same (id integer)", "CREATE TABLE public.m (id integer)"],
    )
    main_before = head_of(engine_db, "main")
    feature_head = head_of(engine_db, "feature")
    base = engine_db.one("SELECT pggit.merge_base(%s, %s)", (feature_head, main_before))
    result = merge(engine_db, "feature", "main")
    assert (result["status"], result["conflict_count"], result["base"]) == ("completed", 0, base)
    parents, kind = engine_db.rows(
        "SELECT parents, kind FROM pggit.commits WHERE hash = %s", (result["result_commit"],)
    )[0]
    assert (parents, kind) == ([main_before, feature_head], "merge")
    tree = engine_db.one("SELECT pggit.commit_tree(%s)", (result["result_commit"],))
    assert "table:public.same" in tree and "table:public.m" in tree
    assert "table:public.gone" not in tree
    assert tree["table:public.t"] == engine_db.one(
        "SELECT pggit.tree_lookup(tree_hash, 'table:public.t') FROM pggit.commits WHERE hash = %s",
        (feature_head,),
    )
    # HEAD was the target: the live schema is the merge's tree, the row kept
    assert engine_db.live_tree_hash() == engine_db.branch_tree("main")
    assert engine_db.rows("SELECT id, from_feature FROM public.t") == [(7, None)]
    changes = dict(
        engine_db.rows(
            "SELECT object_key, change FROM pggit.commit_changes cc JOIN pggit.commits c "
            "ON c.id = cc.commit_id WHERE c.hash = %s",
            (result["result_commit"],),
        )
    )
    assert changes == {"table:public.t": "MODIFIED", "table:public.gone": "REMOVED"}
    # the audit trail holds the merge's own statements only, marked as the engine's
    assert engine_db.rows(
        "SELECT statement, engine_operation FROM pggit.audit_log WHERE commit_hash IS NULL "
        "AND engine_operation IS DISTINCT FROM 'checkout' ORDER BY id"
    ) == [
        ("DROP TABLE IF EXISTS public.gone;", "merge"),
        ("ALTER TABLE public.t ADD COLUMN from_feature text;", "merge"),
    ]


CONFLICTING = {
    "base": [
        "CREATE TABLE public.t (id integer, a text, b text)",
        "INSERT INTO public.t VALUES (1, 'x', 'y')",
        "CREATE VIEW public.both_v AS SELECT id FROM public.t",
        "CREATE VIEW public.src_mod AS SELECT id FROM public.t",
        "CREATE VIEW public.tgt_mod AS SELECT id FROM public.t",
    ],
    "on_feature": [
        "CREATE OR REPLACE VIEW public.both_v AS SELECT id, a FROM public.t",
        "CREATE OR REPLACE VIEW public.src_mod AS SELECT id, a FROM public.t",
        "DROP VIEW public.tgt_mod",
        "CREATE TABLE public.added (id integer)",
        "CREATE VIEW public.uses_b AS SELECT id, b FROM public.t",
    ],
    "on_main": [
        "CREATE OR REPLACE VIEW public.both_v AS SELECT id, a, 1 AS one FROM public.t",
        "DROP VIEW public.src_mod",
        "CREATE OR REPLACE VIEW public.tgt_mod AS SELECT id, a FROM public.t",
        "CREATE TABLE public.added (id bigint)",
        "ALTER TABLE public.t DROP COLUMN b",
    ],
}

EXPECTED_CONFLICTS = [
    (1, "table:public.added", "ADD_ADD", "high", None),
    (2, "view:public.both_v", "BOTH_MODIFIED", "medium", None),
    (3, "view:public.src_mod", "MODIFY_DELETE", "medium", None),
    (4, "view:public.tgt_mod", "DELETE_MODIFY", "medium", None),
    (5, "view:public.uses_b", "DEPENDENCY", "high", None),
]


def test_each_conflict_type_is_detected_typed_with_severity_and_stable_ids(engine_db: EngineDB):
    diverge(engine_db, **CONFLICTING)
    result = merge(engine_db, "feature", "main", "MANUAL_REVIEW")
    assert (result["status"], result["conflict_count"]) == ("conflicted", 5)
    assert conflicts(engine_db, result["id"]) == EXPECTED_CONFLICTS
    related, detail = engine_db.rows(
        "SELECT related_key, detail FROM pggit.merge_conflicts(%s) WHERE conflict_id = 5",
        (result["id"],),
    )[0]
    assert related == "table:public.t"
    assert "column(s) b" in detail
    # reading them again gives the same ids; the live schema is untouched while the merge is open
    assert conflicts(engine_db, result["id"]) == EXPECTED_CONFLICTS
    assert engine_db.live_tree_hash() == engine_db.branch_tree("main")
    assert engine_db.one("SELECT type FROM pggit.events ORDER BY id DESC LIMIT 1") == (
        "merge.conflicted"
    )


def test_abort_on_conflict_records_the_conflicts_and_changes_nothing(engine_db: EngineDB):
    diverge(engine_db, **CONFLICTING)
    main_head = head_of(engine_db, "main")
    live = engine_db.live_tree_hash()
    result = merge(engine_db, "feature", "main")
    assert (result["status"], result["conflict_count"], result["result_commit"]) == (
        "aborted",
        5,
        None,
    )
    assert [c[:3] for c in conflicts(engine_db, result["id"])] == [
        c[:3] for c in EXPECTED_CONFLICTS
    ]
    assert head_of(engine_db, "main") == main_head
    assert engine_db.live_tree_hash() == live
    # an aborted merge does not block the next one
    assert merge(engine_db, "feature", "main", "MANUAL_REVIEW")["status"] == "conflicted"


@pytest.mark.parametrize("strategy,side", [("SOURCE_WINS", "feature"), ("TARGET_WINS", "main")])
def test_source_wins_and_target_wins_take_that_side_of_every_conflict(
    engine_db: EngineDB, strategy: str, side: str
):
    diverge(engine_db, **CONFLICTING)
    before = {
        key: engine_db.one(
            "SELECT pggit.tree_lookup(tree_hash, %s) FROM pggit.commits WHERE hash = %s",
            (key, head_of(engine_db, side)),
        )
        for key in ("view:public.both_v", "table:public.added", "view:public.src_mod")
    }
    result = merge(engine_db, "feature", "main", strategy)
    assert result["status"] == "completed"
    assert {c[4] for c in conflicts(engine_db, result["id"])} == {strategy.split("_")[0]}
    tree = engine_db.one("SELECT pggit.commit_tree(%s)", (result["result_commit"],))
    for key, blob in before.items():
        assert tree.get(key) == blob, key
    if strategy == "SOURCE_WINS":
        # the dependency conflict took the source's view and the source's table with column b
        assert "view:public.uses_b" in tree
        assert engine_db.rows("SELECT id, b FROM public.t") == [(1, None)]
    else:
        assert "view:public.uses_b" not in tree
        assert engine_db.one("SELECT to_regclass('public.uses_b')") is None
    assert engine_db.live_tree_hash() == engine_db.branch_tree("main")


def test_manual_review_resolve_then_complete(engine_db: EngineDB):
    diverge(engine_db, **CONFLICTING)
    main_head = head_of(engine_db, "main")
    merge_id = merge(engine_db, "feature", "main", "MANUAL_REVIEW")["id"]
    # completing with unresolved conflicts is refused
    assert refused(engine_db, "SELECT pggit.merge_complete(%s)", (merge_id,)) == (
        "UNRESOLVED_CONFLICTS"
    )
    # a second merge into the same target while this one is open is refused
    assert refused(engine_db, "SELECT pggit.merge('feature', 'main', 'MANUAL_REVIEW')") == (
        "MERGE_IN_PROGRESS"
    )
    resolve = "SELECT remaining FROM pggit.merge_resolve(%s, %s, %s, %s)"
    # CUSTOM: must define exactly that object, and must apply
    assert (
        refused(engine_db, resolve, (merge_id, 1, "CUSTOM", "CREATE TABLE public.other (id int)"))
        == "CUSTOM_MISMATCH"
    )
    with pytest.raises(psycopg.errors.RaiseException) as excinfo:
        engine_db.run(resolve, (merge_id, 1, "CUSTOM", "CREATE TABLE public.added (id nosuch)"))
    assert engine_error(excinfo) == "CUSTOM_INVALID"
    assert 'type "nosuch" does not exist' in str(excinfo.value)  # PostgreSQL's own error
    assert engine_db.one("SELECT to_regclass('public.other')") is None  # the savepoint is gone
    assert refused(engine_db, resolve, (merge_id, 1, "CUSTOM", "SELECT 1")) == "CUSTOM_INVALID"
    assert (
        engine_db.one(resolve, (merge_id, 1, "CUSTOM", "CREATE TABLE public.added (id numeric)"))
        == 4
    )
    assert refused(engine_db, resolve, (merge_id, 9, "SOURCE", None)) == "CONFLICT_NOT_FOUND"
    assert refused(engine_db, resolve, (merge_id, 2, "BOTH", None)) == "INVALID_ARGUMENT"
    engine_db.one(resolve, (merge_id, 2, "SOURCE", None))
    engine_db.one(resolve, (merge_id, 3, "TARGET", None))
    engine_db.one(resolve, (merge_id, 4, "SOURCE", None))
    assert engine_db.one(resolve, (merge_id, 5, "TARGET", None)) == 0
    assert engine_db.live_tree_hash() == engine_db.branch_tree("main")  # nothing applied yet
    status, result_commit = engine_db.rows(
        "SELECT status, result_commit FROM pggit.merge_complete(%s)", (merge_id,)
    )[0]
    assert status == "completed"
    assert engine_db.rows("SELECT parents FROM pggit.commits WHERE hash = %s", (result_commit,))[0][
        0
    ] == [main_head, head_of(engine_db, "feature")]
    tree = engine_db.one("SELECT pggit.commit_tree(%s)", (result_commit,))
    custom = engine_db.one(
        "SELECT definition FROM pggit.blobs WHERE hash = %s", (tree["table:public.added"],)
    )
    assert "id numeric" in custom
    assert "view:public.src_mod" not in tree and "view:public.tgt_mod" not in tree
    assert "view:public.uses_b" not in tree
    assert engine_db.live_tree_hash() == engine_db.branch_tree("main")
    assert engine_db.one("SELECT count(*) FROM public.t") == 1
    # the merge is closed now
    assert refused(engine_db, resolve, (merge_id, 1, "SOURCE", None)) == "MERGE_NOT_OPEN"
    assert refused(engine_db, "SELECT pggit.merge_abort(%s)", (merge_id,)) == "MERGE_NOT_OPEN"
    assert refused(engine_db, "SELECT pggit.merge_complete(%s)", (123456,)) == "MERGE_NOT_FOUND"


def test_a_resolution_that_leaves_a_broken_schema_is_refused_at_completion(engine_db: EngineDB):
    diverge(engine_db, **CONFLICTING)
    merge_id = merge(engine_db, "feature", "main", "MANUAL_REVIEW")["id"]
    for conflict_id in (1, 2, 3, 4):
        engine_db.run(
            "SELECT * FROM pggit.merge_resolve(%s, %s, 'TARGET')", (merge_id, conflict_id)
        )
    # the view over column b without column b
    engine_db.run(
        "SELECT * FROM pggit.merge_resolve(%s, 5, 'CUSTOM', %s)",
        (merge_id, "CREATE VIEW public.uses_b AS SELECT id FROM public.t"),
    )
    engine_db.run("SELECT * FROM pggit.merge_complete(%s)", (merge_id,))
    assert engine_db.one("SELECT status FROM pggit.merges WHERE id = %s", (merge_id,)) == (
        "completed"
    )
    assert engine_db.rows("SELECT * FROM public.uses_b") == [(1,)]


def test_abort_closes_the_merge_and_applies_nothing(engine_db: EngineDB):
    diverge(engine_db, **CONFLICTING)
    main_head = head_of(engine_db, "main")
    live = engine_db.live_tree_hash()
    merge_id = merge(engine_db, "feature", "main", "MANUAL_REVIEW")["id"]
    engine_db.run("SELECT * FROM pggit.merge_resolve(%s, 1, 'SOURCE')", (merge_id,))
    status = engine_db.one("SELECT status FROM pggit.merge_abort(%s)", (merge_id,))
    assert status == "aborted"
    assert head_of(engine_db, "main") == main_head
    assert engine_db.live_tree_hash() == live
    assert engine_db.one("SELECT type FROM pggit.events ORDER BY id DESC LIMIT 1") == (
        "merge.aborted"
    )
    assert refused(engine_db, "SELECT pggit.merge_complete(%s)", (merge_id,)) == "MERGE_NOT_OPEN"


def test_criss_cross_history_uses_the_most_recent_lowest_common_ancestor(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.t (id integer)")
    commit(engine_db, "base")
    engine_db.run("SELECT pggit.branch_create('feature')")
    engine_db.run("CREATE TABLE public.m1 (id integer)")
    commit(engine_db, "main 1")
    checkout(engine_db, "feature")
    engine_db.run("CREATE TABLE public.f1 (id integer)")
    commit(engine_db, "feature 1")
    # criss-cross: each side merges the other's first commit
    m_main = merge(engine_db, head_of(engine_db, "main"), "feature")
    assert m_main["status"] == "completed"
    checkout(engine_db, "main")
    f1 = engine_db.one("SELECT hash FROM pggit.commits WHERE message = 'feature 1'")
    m_feat = merge(engine_db, f1, "main")
    assert m_feat["status"] == "completed"
    # two lowest common ancestors now: main 1 and feature 1
    bases = {
        r[0]
        for r in engine_db.rows(
            "SELECT hash FROM pggit.merge_bases(pggit.resolve_ref('feature'), "
            "pggit.resolve_ref('main'))"
        )
    }
    main1 = engine_db.one("SELECT hash FROM pggit.commits WHERE message = 'main 1'")
    assert bases == {main1, f1}
    chosen = engine_db.one(
        "SELECT pggit.merge_base(pggit.resolve_ref('feature'), pggit.resolve_ref('main'))"
    )
    assert chosen == engine_db.one(
        "SELECT hash FROM pggit.commits WHERE hash = ANY(%s) ORDER BY committed_at DESC, id DESC "
        "LIMIT 1",
        (list(bases),),
    )
    # further work on both sides merges cleanly from that base, deterministically
    checkout(engine_db, "feature")
    engine_db.run("CREATE TABLE public.f2 (id integer)")
    commit(engine_db, "feature 2")
    checkout(engine_db, "main")
    engine_db.run("CREATE TABLE public.m2 (id integer)")
    commit(engine_db, "main 2")
    result = merge(engine_db, "feature", "main")
    assert (result["status"], result["base"], result["conflict_count"]) == ("completed", chosen, 0)
    tree = engine_db.one("SELECT pggit.commit_tree(%s)", (result["result_commit"],))
    assert {"table:public.m1", "table:public.f1", "table:public.f2", "table:public.m2"} <= set(tree)


def test_merge_into_a_branch_that_is_not_head_leaves_the_live_schema_alone(engine_db: EngineDB):
    diverge(
        engine_db,
        base=["CREATE TABLE public.t (id integer)"],
        on_feature=["CREATE TABLE public.u (id integer)"],
        on_main=["CREATE TABLE public.w (id integer)"],
    )
    checkout(engine_db, "feature")
    live = engine_db.live_tree_hash()
    result = merge(engine_db, "feature", "main")
    assert result["status"] == "completed"
    assert engine_db.live_tree_hash() == live
    assert engine_db.one("SELECT branch FROM pggit.head()") == "feature"


def test_merge_refuses_data_loss_unless_forced(engine_db: EngineDB):
    diverge(
        engine_db,
        base=["CREATE TABLE public.t (id integer, note text)"],
        on_feature=["ALTER TABLE public.t DROP COLUMN note"],
        on_main=["CREATE TABLE public.w (id integer)"],
    )
    engine_db.run("INSERT INTO public.t VALUES (1, 'keep me')")
    assert refused(engine_db, "SELECT pggit.merge('feature', 'main')") == "DATA_LOSS"
    assert engine_db.one("SELECT count(*) FROM pggit.merges") == 0  # nothing recorded
    engine_db.run("SELECT pggit.merge('feature', 'main', p_force => true)")
    assert engine_db.one("SELECT count(*) FROM public.t") == 1
    assert engine_db.live_tree_hash() == engine_db.branch_tree("main")


def test_merge_with_working_changes_on_head_is_refused(engine_db: EngineDB):
    diverge(
        engine_db,
        base=["CREATE TABLE public.t (id integer)"],
        on_feature=["CREATE TABLE public.u (id integer)"],
        on_main=[],
    )
    engine_db.run("CREATE TABLE public.pending (id integer)")
    assert refused(engine_db, "SELECT pggit.merge('feature', 'main')") == "WORKING_CHANGES"


def test_a_failing_step_leaves_nothing_applied_and_reports_postgres_error(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.t (id integer)")
    commit(engine_db, "base")
    engine_db.run("SELECT pggit.branch_create('feature')")
    checkout(engine_db, "feature")
    engine_db.run("CREATE TABLE public.extra (id integer)")
    engine_db.run("ALTER TABLE public.t ADD COLUMN required integer NOT NULL")  # t is empty here
    commit(engine_db, "required column")
    checkout(engine_db, "main")
    engine_db.run("INSERT INTO public.t VALUES (1)")
    main_head = head_of(engine_db, "main")
    live = engine_db.live_tree_hash()
    events = engine_db.one("SELECT count(*) FROM pggit.events")
    with pytest.raises(psycopg.errors.RaiseException) as excinfo:
        engine_db.run("SELECT pggit.merge('feature', 'main')")
    assert engine_error(excinfo) == "APPLY_FAILED"
    assert 'column "required" of relation "t" contains null values' in str(excinfo.value)
    assert head_of(engine_db, "main") == main_head
    assert engine_db.live_tree_hash() == live
    assert engine_db.one("SELECT to_regclass('public.extra')") is None
    assert engine_db.one("SELECT count(*) FROM pggit.merges") == 0
    assert engine_db.one("SELECT count(*) FROM pggit.events") == events


def test_two_concurrent_merges_into_one_target_one_wins_the_other_gets_locked(
    engine_db: EngineDB,
):
    diverge(
        engine_db,
        base=["CREATE TABLE public.t (id integer)"],
        on_feature=["CREATE TABLE public.u (id integer)"],
        on_main=["CREATE TABLE public.w (id integer)"],
    )
    engine_db.run("SELECT pggit.branch_create('feature2', 'feature')")
    first = engine_db.connect()
    second = engine_db.connect()
    try:
        first.execute("BEGIN")
        first.execute("SELECT pggit.merge('feature', 'main')")
        errors: list[str] = []

        def run_second():
            try:
                second.execute("SELECT pggit.merge('feature2', 'main')")
            except psycopg.errors.RaiseException as exc:
                errors.append(str(exc))

        thread = threading.Thread(target=run_second)
        thread.start()
        thread.join(30)
        assert len(errors) == 1 and errors[0].startswith("[PGGIT-LOCKED]"), errors
        first.execute("COMMIT")
    finally:
        first.close()
        second.close()
    assert engine_db.rows("SELECT source, status FROM pggit.merges") == [("feature", "completed")]
    assert engine_db.live_tree_hash() == engine_db.branch_tree("main")
    # once the first has finished, the second one merges (it is up to date: same commits)
    assert merge(engine_db, "feature2", "main")["status"] == "up_to_date"


def test_merge_refusals(engine_db: EngineDB):
    for call, code in [
        ("SELECT pggit.merge('nope', 'main')", "REF_NOT_FOUND"),
        ("SELECT pggit.merge('main', 'nope')", "BRANCH_NOT_FOUND"),
        ("SELECT pggit.merge('main', 'main', 'YOLO')", "INVALID_ARGUMENT"),
        ("SELECT * FROM pggit.merge_conflicts(99)", "MERGE_NOT_FOUND"),
        ("SELECT pggit.merge_abort(99)", "MERGE_NOT_FOUND"),
    ]:
        assert refused(engine_db, call) == code, call


def test_merge_operations_are_recorded_by_monitoring(engine_db: EngineDB):
    diverge(engine_db, **CONFLICTING)
    merge_id = merge(engine_db, "feature", "main", "MANUAL_REVIEW")["id"]
    engine_db.run("SELECT pggit.merge_abort(%s)", (merge_id,))
    operations = [
        r[0] for r in engine_db.rows("SELECT operation FROM pggit.operations ORDER BY id")
    ]
    assert "merge" in operations and "merge_abort" in operations


def test_a_table_renamed_on_one_branch_and_its_identity_sequence_granted_on_the_other(
    engine_db: EngineDB, make_role
):
    # the privileges entry of an identity sequence names its table: renamed on one side and
    # granted more on the other, the entry changed on both (before, the merge kept the granting
    # side's entry, whose dependency was the old table, and its apply lost the grants). The
    # target's entry, naming a table the merge removes, is refused; the source's applies
    reader = make_role()
    key = "privileges:sequence:app.t_id_seq"
    grant = "GRANT {} ON SEQUENCE app.t_id_seq /* identity of app.{}.id */ TO " + reader + ";"
    diverge(
        engine_db,
        base=[
            "CREATE SCHEMA app",
            "CREATE TABLE app.t (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text)",
            f"GRANT USAGE ON SEQUENCE app.t_id_seq TO {reader}",
        ],
        on_feature=["ALTER TABLE app.t RENAME TO u"],
        on_main=[f"GRANT SELECT ON SEQUENCE app.t_id_seq TO {reader}"],
    )
    merge_id = merge(engine_db, "feature", "main", "MANUAL_REVIEW")["id"]
    assert engine_db.rows(
        "SELECT object_key, conflict_type, base, source, target FROM pggit.merge_conflicts(%s)",
        (merge_id,),
    ) == [
        (
            key,
            "BOTH_MODIFIED",
            grant.format("USAGE", "t"),
            grant.format("USAGE", "u"),
            grant.format("SELECT, USAGE", "t"),
        )
    ]
    engine_db.run("SELECT * FROM pggit.merge_resolve(%s, 1, 'TARGET')", (merge_id,))
    with pytest.raises(psycopg.errors.RaiseException) as excinfo:
        engine_db.run("SELECT * FROM pggit.merge_complete(%s)", (merge_id,))
    assert engine_error(excinfo) == "MERGE_DEPENDENCY"
    assert f"{key} depends on table:app.t, which would no longer exist" in str(excinfo.value)
    engine_db.run("SELECT * FROM pggit.merge_resolve(%s, 1, 'SOURCE')", (merge_id,))
    assert engine_db.one("SELECT status FROM pggit.merge_complete(%s)", (merge_id,)) == "completed"
    assert engine_db.one(
        "SELECT definition FROM pggit.live_objects() WHERE object_key = %s", (key,)
    ) == grant.format("USAGE", "u")
    assert engine_db.one("SELECT has_sequence_privilege(%s, 'app.t_id_seq', 'USAGE')", (reader,))
    assert engine_db.live_tree_hash() == engine_db.branch_tree("main")
    assert engine_db.rows("SELECT object_key FROM pggit.status()") == []
    engine_db.run("SELECT pggit.branch_create('before', 'main~1')")
    for branch in ("before", "main"):
        checkout(engine_db, branch)
        assert engine_db.live_tree_hash() == engine_db.branch_tree(branch)
        assert engine_db.one(
            "SELECT has_sequence_privilege(%s, 'app.t_id_seq', 'SELECT')", (reader,)
        ) is (branch == "before")
