"""Commit, branches, checkout (data safety, serialisation), history, verify and capture switches,
driven from plain connections."""

from __future__ import annotations

import threading

import psycopg
import pytest

from tests.engine.enginedb import EngineDB, engine_error


def commit(db: EngineDB, message: str) -> str:
    return db.one("SELECT pggit.commit(%s)", (message,))


def status_keys(db: EngineDB) -> dict[str, str]:
    return dict(db.rows("SELECT object_key, change_type FROM pggit.status()"))


def test_install_records_the_existing_schema_as_root_commit_of_main(engine_db: EngineDB):
    branch, kind, parents = engine_db.rows(
        "SELECT c.branch, c.kind, c.parents FROM pggit.head() h "
        "JOIN pggit.commits c ON c.hash = h.commit_hash"
    )[0]
    assert (branch, kind, parents) == ("main", "root", [])
    assert engine_db.rows("SELECT name, is_head FROM pggit.branches()") == [("main", True)]
    assert engine_db.live_tree_hash() == engine_db.head_tree()


def test_commit_with_nothing_to_commit_says_so_and_creates_nothing(engine_db: EngineDB):
    before = engine_db.one("SELECT count(*) FROM pggit.commits")
    with pytest.raises(psycopg.errors.RaiseException) as excinfo:
        commit(engine_db, "empty")
    assert engine_error(excinfo) == "NOTHING_TO_COMMIT"
    assert engine_db.one("SELECT count(*) FROM pggit.commits") == before


def test_create_then_drop_before_commit_leaves_the_tree_clean(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.scratch (a integer)")
    assert status_keys(engine_db) == {"table:public.scratch": "ADDED"}
    engine_db.run("DROP TABLE public.scratch")
    assert status_keys(engine_db) == {}


def test_commit_records_changes_actor_and_chains_to_its_parent(engine_db: EngineDB):
    root = engine_db.one("SELECT commit_hash FROM pggit.head()")
    with engine_db.conn.transaction():
        engine_db.run("SET LOCAL pggit.actor = 'alice'")
        engine_db.run("CREATE TABLE public.accounts (id integer)")
    assert engine_db.one("SELECT actor FROM pggit.status()") == "alice"
    new = engine_db.one("SELECT pggit.commit('add accounts', 'bob')")
    row = engine_db.rows("SELECT parents, author, message, changes FROM pggit.show(%s)", (new,))[0]
    assert row[0] == [root]
    assert row[1:3] == ("bob", "add accounts")
    assert [(c["object_key"], c["change"]) for c in row[3]] == [("table:public.accounts", "ADDED")]
    assert (
        engine_db.one("SELECT type FROM pggit.events ORDER BY id DESC LIMIT 1") == "commit.created"
    )


def test_ddl_is_announced_in_the_outbox_in_the_same_transaction(engine_db: EngineDB):
    last = engine_db.one("SELECT coalesce(max(id), 0) FROM pggit.events")
    with engine_db.conn.transaction(force_rollback=True):
        engine_db.run("CREATE TABLE public.ghost (a integer)")
    assert engine_db.one("SELECT count(*) FROM pggit.events WHERE id > %s", (last,)) == 0
    engine_db.run("CREATE TABLE public.real_one (a integer)")
    event_type, data = engine_db.rows("SELECT type, data FROM pggit.events WHERE id > %s", (last,))[
        0
    ]
    assert event_type == "ddl.captured"
    assert data["command_tag"] == "CREATE TABLE"
    assert data["objects"] == [{"type": "table", "identity": "public.real_one", "change": "create"}]


def test_the_outbox_takes_only_well_formed_event_types(engine_db: EngineDB):
    # (ddl.captured is compared before the pattern: the check stays exact around it)
    for bad in [
        "ddl.Captured",
        "DDL.captured",
        "ddl.captured ",
        " ddl.captured",
        "ddl.captured.x",
        "ddl",
        "ddl.",
        ".captured",
        "ddl-x.captured",
        "",
    ]:
        with pytest.raises(psycopg.errors.CheckViolation), engine_db.conn.transaction():
            engine_db.run("SELECT pggit.emit_event(%s)", (bad,))
    first = engine_db.one("SELECT pggit.emit_event('ddl.captured')")
    second = engine_db.one("SELECT pggit.emit_event('some_kind.of_event')")
    assert engine_db.rows(
        "SELECT id, type FROM pggit.events WHERE id >= %s ORDER BY id", (first,)
    ) == [(first, "ddl.captured"), (second, "some_kind.of_event")]


def test_reads_of_the_outbox_by_type_find_ddl_captured_and_the_other_types(engine_db: EngineDB):
    # the index by type leaves ddl.captured out: reads of it find it by the primary key, reads of
    # the other types go through the index
    engine_db.run("CREATE TABLE public.typed_one (a integer)")
    captured = engine_db.one("SELECT max(id) FROM pggit.events WHERE type = 'ddl.captured'")
    other = engine_db.one("SELECT pggit.emit_event('some_kind.of_event')")
    engine_db.run("CREATE TABLE public.typed_two (a integer)")
    newest = engine_db.one("SELECT max(id) FROM pggit.events WHERE type = 'ddl.captured'")
    assert captured < other < newest
    assert (
        engine_db.one(
            "SELECT max(id) FROM pggit.events WHERE type = ANY(ARRAY['some_kind.of_event'])"
        )
        == other
    )
    assert (
        engine_db.one("SELECT max(id) FROM pggit.events WHERE type = ANY(ARRAY['ddl.captured'])")
        == newest
    )
    assert engine_db.rows(
        "SELECT id FROM pggit.events WHERE id >= %s AND type = ANY(ARRAY['some_kind.of_event',"
        " 'ddl.captured']) ORDER BY id",
        (captured,),
    ) == [(captured,), (other,), (newest,)]
    assert (
        engine_db.one(
            "SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i "
            "WHERE i.indexrelid = 'pggit.events_type_id_idx'::regclass"
        )
        == "(type <> 'ddl.captured'::text)"
    )

    def plan(query: str) -> str:
        return "\n".join(r[0] for r in engine_db.rows("EXPLAIN (COSTS OFF) " + query))

    engine_db.run("SET enable_seqscan = off")
    try:
        other_read = "SELECT id FROM pggit.events WHERE type = 'some_kind.of_event' ORDER BY id"
        assert engine_db.rows(other_read) == [(other,)]
        assert "events_type_id_idx" in plan(other_read)
        assert "events_type_id_idx" not in plan(
            "SELECT id FROM pggit.events WHERE type = 'ddl.captured' ORDER BY id"
        )
    finally:
        engine_db.run("RESET enable_seqscan")


def test_branch_create_delete_rename_and_their_refusals(engine_db: EngineDB):
    engine_db.run("SELECT pggit.branch_create('feature/x')")
    for call, code in [
        ("SELECT pggit.branch_create('feature/x')", "BRANCH_EXISTS"),
        ("SELECT pggit.branch_create('HEAD')", "INVALID_BRANCH_NAME"),
        ("SELECT pggit.branch_create('bad name')", "INVALID_BRANCH_NAME"),
        ("SELECT pggit.branch_create('y', 'no-such-ref')", "REF_NOT_FOUND"),
        ("SELECT pggit.branch_delete('main')", "PROTECTED"),
        ("SELECT pggit.branch_delete('nope')", "BRANCH_NOT_FOUND"),
        ("SELECT pggit.branch_rename('main', 'trunk')", "PROTECTED"),
    ]:
        with pytest.raises(psycopg.errors.RaiseException) as excinfo:
            engine_db.run(call)
        assert engine_error(excinfo) == code, call
    engine_db.run("SELECT pggit.branch_rename('feature/x', 'feature/y')")
    engine_db.run("SELECT pggit.branch_protect('feature/y')")
    with pytest.raises(psycopg.errors.RaiseException) as excinfo:
        engine_db.run("SELECT pggit.branch_delete('feature/y')")
    assert engine_error(excinfo) == "PROTECTED"
    engine_db.run("SELECT pggit.branch_protect('feature/y', false)")
    engine_db.run("SELECT pggit.branch_delete('feature/y')")
    assert engine_db.rows("SELECT name FROM pggit.branches()") == [("main",)]
    # a deleted branch's name can be used again
    engine_db.run("SELECT pggit.branch_create('feature/y')")
    assert engine_db.rows("SELECT name FROM pggit.branches()") == [("feature/y",), ("main",)]


def test_checkout_with_working_changes_refuses_unless_forced(engine_db: EngineDB):
    engine_db.run("SELECT pggit.branch_create('other')")
    engine_db.run("CREATE TABLE public.pending (a integer)")
    with pytest.raises(psycopg.errors.RaiseException) as excinfo:
        engine_db.run("SELECT * FROM pggit.checkout('other')")
    assert engine_error(excinfo) == "WORKING_CHANGES"
    assert engine_db.one("SELECT branch FROM pggit.head()") == "main"
    engine_db.run("SELECT * FROM pggit.checkout('other', true)")
    assert engine_db.one("SELECT branch FROM pggit.head()") == "other"
    assert engine_db.one("SELECT to_regclass('public.pending')") is None
    assert status_keys(engine_db) == {}


def test_checkout_refuses_to_drop_a_non_empty_table_unless_forced(engine_db: EngineDB):
    engine_db.run("SELECT pggit.branch_create('empty')")
    engine_db.run("CREATE TABLE public.orders (id integer)")
    commit(engine_db, "orders")
    engine_db.run("INSERT INTO public.orders VALUES (1)")
    with pytest.raises(psycopg.errors.RaiseException) as excinfo:
        engine_db.run("SELECT * FROM pggit.checkout('empty')")
    assert excinfo.value.diag.message_primary == (
        "[PGGIT-DATA_LOSS] checkout of empty refused: "
        "table_dropped: public.orders holds rows that would be lost"
    )
    assert engine_db.one("SELECT count(*) FROM public.orders") == 1
    engine_db.run("SELECT * FROM pggit.checkout('empty', true)")
    assert engine_db.one("SELECT to_regclass('public.orders')") is None


def test_dropping_a_non_empty_column_refuses_but_an_empty_one_goes(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.people (id integer, nickname text)")
    commit(engine_db, "people")
    engine_db.run("SELECT pggit.branch_create('slim')")
    engine_db.run("SELECT * FROM pggit.checkout('slim')")
    engine_db.run("ALTER TABLE public.people DROP COLUMN nickname")
    commit(engine_db, "drop nickname")
    engine_db.run("SELECT * FROM pggit.checkout('main')")
    engine_db.run("INSERT INTO public.people VALUES (1, NULL)")
    engine_db.run("SELECT * FROM pggit.checkout('slim')")  # only NULLs: nothing lost
    engine_db.run("SELECT * FROM pggit.checkout('main')")
    engine_db.run("UPDATE public.people SET nickname = 'bob'")
    with pytest.raises(psycopg.errors.RaiseException) as excinfo:
        engine_db.run("SELECT * FROM pggit.checkout('slim')")
    assert excinfo.value.diag.message_primary == (
        "[PGGIT-DATA_LOSS] checkout of slim refused: "
        "column_dropped: column nickname of public.people holds data that would be lost"
    )
    assert engine_db.one("SELECT branch FROM pggit.head()") == "main"
    assert engine_db.rows("SELECT id, nickname FROM public.people") == [(1, "bob")]


def test_data_in_kept_tables_survives_checkout_away_and_back(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.customers (id integer PRIMARY KEY, name text)")
    engine_db.run("INSERT INTO public.customers SELECT g, 'c' || g FROM generate_series(1, 100) g")
    commit(engine_db, "customers")
    engine_db.run("SELECT pggit.branch_create('wider')")
    engine_db.run("SELECT * FROM pggit.checkout('wider')")
    engine_db.run("ALTER TABLE public.customers ADD COLUMN email text")
    engine_db.run("CREATE INDEX customers_name_idx ON public.customers (name)")
    commit(engine_db, "email")
    engine_db.run("SELECT * FROM pggit.checkout('main')")
    assert engine_db.one("SELECT count(*) FROM public.customers") == 100
    engine_db.run("SELECT * FROM pggit.checkout('wider')")
    assert engine_db.one("SELECT count(*) FROM public.customers") == 100
    assert engine_db.one("SELECT sum(id) FROM public.customers") == 5050
    assert engine_db.live_tree_hash() == engine_db.branch_tree("wider")


def test_two_checkouts_at_once_one_gets_a_clear_error_and_nothing_is_half_applied(
    engine_db: EngineDB,
):
    engine_db.run("SELECT pggit.branch_create('b1')")
    engine_db.run("SELECT pggit.branch_create('b2')")
    engine_db.run("SELECT * FROM pggit.checkout('b2')")
    engine_db.run("CREATE TABLE public.only_b2 (a integer)")
    commit(engine_db, "b2 table")
    engine_db.run("SELECT * FROM pggit.checkout('main')")

    first = engine_db.connect()
    second = engine_db.connect()
    with first.transaction():
        first.execute("SELECT * FROM pggit.checkout('b1')")
        with pytest.raises(psycopg.errors.RaiseException) as excinfo:
            second.execute("SELECT * FROM pggit.checkout('b2')")
        assert engine_error(excinfo) == "LOCKED"
    assert engine_db.one("SELECT branch FROM pggit.head()") == "b1"
    assert engine_db.one("SELECT to_regclass('public.only_b2')") is None
    assert engine_db.live_tree_hash() == engine_db.branch_tree("b1")
    first.close()
    second.close()


def test_two_sessions_running_ddl_at_once_are_both_captured(engine_db: EngineDB):
    errors: list[BaseException] = []

    def worker(schema: str) -> None:
        try:
            with engine_db.connect(application_name=f"worker-{schema}") as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
                for i in range(15):
                    conn.execute(f"CREATE TABLE {schema}.t{i} (id integer PRIMARY KEY, v text)")
                    conn.execute(f"CREATE INDEX ON {schema}.t{i} (v)")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in ("alpha", "beta")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    keys = status_keys(engine_db)
    assert len([k for k in keys if k.startswith("table:")]) == 30
    assert {k for k in keys if k.startswith("schema:")} == {"schema:alpha", "schema:beta"}
    assert set(keys.values()) == {"ADDED"}
    apps = {r[0] for r in engine_db.rows("SELECT DISTINCT application_name FROM pggit.audit_log")}
    assert {"worker-alpha", "worker-beta"} <= apps
    commit(engine_db, "two writers")
    assert engine_db.live_tree_hash() == engine_db.head_tree()


def test_checkout_while_another_session_runs_ddl_keeps_that_ddl_as_a_working_change(
    engine_db: EngineDB,
):
    engine_db.run("SELECT pggit.branch_create('target')")
    engine_db.run("SELECT * FROM pggit.checkout('target')")
    engine_db.run("CREATE TABLE public.on_target (a integer)")
    commit(engine_db, "target table")
    engine_db.run("SELECT * FROM pggit.checkout('main')")

    other = engine_db.connect(application_name="racer")
    other.execute("BEGIN")
    other.execute("CREATE TABLE public.racing (a integer)")
    engine_db.run("SELECT * FROM pggit.checkout('target')")
    other.execute("COMMIT")
    other.close()
    assert engine_db.one("SELECT branch FROM pggit.head()") == "target"
    assert status_keys(engine_db) == {"table:public.racing": "ADDED"}
    assert engine_db.one("SELECT to_regclass('public.on_target')::text") == "on_target"
    commit(engine_db, "keep the racer")
    assert engine_db.live_tree_hash() == engine_db.head_tree()


def test_verify_detects_a_tampered_commit_and_a_tampered_tree(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.ledger (id integer)")
    tampered = commit(engine_db, "ledger")
    assert engine_db.rows("SELECT ok, checked, breaks FROM pggit.verify()") == [(True, 2, [])]
    engine_db.run("UPDATE pggit.commits SET message = 'rewritten' WHERE hash = %s", (tampered,))
    ok, checked, breaks = engine_db.rows("SELECT ok, checked, breaks FROM pggit.verify()")[0]
    assert (ok, checked) == (False, 2)
    assert breaks == [{"commit": tampered, "reason": "hash does not match the commit content"}]
    engine_db.run("UPDATE pggit.commits SET message = 'ledger' WHERE hash = %s", (tampered,))
    engine_db.run(
        "UPDATE pggit.subtrees SET entries = entries - 'table:public.ledger' "
        "WHERE entries ? 'table:public.ledger'"
    )
    tree = engine_db.one("SELECT tree_hash FROM pggit.commits WHERE hash = %s", (tampered,))
    assert engine_db.rows("SELECT ok, checked, breaks FROM pggit.verify()") == [
        (
            False,
            2,
            [
                {
                    "commit": tampered,
                    "reason": "recorded change of table:public.ledger (ADDED) is not a "
                    "difference of the trees",
                },
                {"commit": tampered, "reason": f"tree {tree} does not match its entries"},
            ],
        )
    ]


def test_log_filters_and_pages(engine_db: EngineDB):
    for i in range(5):
        with engine_db.conn.transaction():
            engine_db.run(f"CREATE TABLE public.log_t{i} (a integer)")
        engine_db.run("SELECT pggit.commit(%s, %s)", (f"table {i}", "ann" if i % 2 else "ben"))
    messages = [r[0] for r in engine_db.rows("SELECT message FROM pggit.log('main')")]
    assert messages == ["table 4", "table 3", "table 2", "table 1", "table 0", "Initial schema"]
    page = [
        r[0]
        for r in engine_db.rows(
            "SELECT message FROM pggit.log('main', p_limit => 2, p_offset => 2)"
        )
    ]
    assert page == ["table 2", "table 1"]
    by_ann = [r[0] for r in engine_db.rows("SELECT message FROM pggit.log(p_author => 'ann')")]
    assert by_ann == ["table 3", "table 1"]
    by_object = [
        r[0] for r in engine_db.rows("SELECT message FROM pggit.log(p_object => 'public.log_t2')")
    ]
    assert by_object == ["table 2"]
    by_text = [r[0] for r in engine_db.rows("SELECT message FROM pggit.log(p_query => 'E 4')")]
    assert by_text == ["table 4"]
    history = engine_db.rows("SELECT change FROM pggit.object_history('table:public.log_t0')")
    assert history == [("ADDED",)]
    blame = dict(
        engine_db.rows(
            "SELECT object_key, message FROM pggit.blame('HEAD') WHERE object_key LIKE 'table:%'"
        )
    )
    assert blame["table:public.log_t3"] == "table 3"


def test_schema_at_a_ref_and_at_a_time(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.first_t (a integer)")
    first = commit(engine_db, "first")
    at = engine_db.one("SELECT committed_at FROM pggit.commits WHERE hash = %s", (first,))
    engine_db.run("CREATE TABLE public.second_t (a integer)")
    commit(engine_db, "second")
    now_ddl = engine_db.one("SELECT pggit.schema_at('HEAD')")
    then_ddl = engine_db.one("SELECT pggit.schema_at(%s)", (at.isoformat(),))
    assert "public.second_t" in now_ddl and "public.first_t" in now_ddl
    assert "public.first_t" in then_ddl and "public.second_t" not in then_ddl
    assert then_ddl.startswith("-- pgGit schema at " + first)


def test_global_capture_switch_is_audited_and_catches_up_when_switched_back_on(engine_db: EngineDB):
    engine_db.run("SELECT pggit.set_capture(false, 'global')")
    engine_db.run("CREATE TABLE public.in_the_dark (a integer)")
    assert status_keys(engine_db) == {}
    engine_db.run("SELECT pggit.set_capture(true, 'global')")
    assert status_keys(engine_db) == {"table:public.in_the_dark": "ADDED"}
    audit = engine_db.rows("SELECT key, old_value, new_value FROM pggit.config_audit ORDER BY id")
    assert audit == [("capture_enabled", True, False), ("capture_enabled", False, True)]


def test_capture_off_for_one_transaction_only(engine_db: EngineDB):
    with engine_db.conn.transaction():
        engine_db.run("SELECT pggit.set_capture(false)")
        engine_db.run("CREATE TABLE public.silent (a integer)")
    engine_db.run("CREATE TABLE public.heard (a integer)")
    assert status_keys(engine_db) == {"table:public.heard": "ADDED"}


def test_a_capture_failure_is_recorded_and_the_ddl_still_succeeds(engine_db: EngineDB):
    # fault injection: the audit table refuses this statement, so capture fails inside the trigger
    engine_db.run(
        "ALTER TABLE pggit.ddl_log ADD CONSTRAINT no_boom CHECK (command_tag <> 'CREATE SEQUENCE')"
    )
    engine_db.run("CREATE SEQUENCE public.boom_seq")
    assert engine_db.one("SELECT to_regclass('public.boom_seq')::text") == "boom_seq"
    errors = engine_db.rows("SELECT command_tag, message FROM pggit.capture_errors")
    assert len(errors) == 1 and errors[0][0] == "CREATE SEQUENCE"
    assert "no_boom" in errors[0][1]
    engine_db.run("ALTER TABLE pggit.ddl_log DROP CONSTRAINT no_boom")
    # strict mode: the same failure aborts the DDL
    engine_db.run("SELECT pggit.config_set('capture_mode', '\"strict\"')")
    engine_db.run(
        "ALTER TABLE pggit.ddl_log ADD CONSTRAINT no_boom CHECK (command_tag <> 'CREATE SEQUENCE')"
    )
    with pytest.raises(psycopg.Error) as excinfo:
        engine_db.run("CREATE SEQUENCE public.boom_seq2")
    assert "CAPTURE_FAILED" in str(excinfo.value)
    assert engine_db.one("SELECT to_regclass('public.boom_seq2')") is None


def test_auto_commit_makes_one_commit_per_ddl_transaction(engine_db: EngineDB):
    engine_db.run("SELECT pggit.config_set('auto_commit', 'true')")
    before = engine_db.one("SELECT count(*) FROM pggit.commits")
    with engine_db.conn.transaction():
        engine_db.run("CREATE TABLE public.auto_a (a integer)")
        engine_db.run("CREATE TABLE public.auto_b (b integer)")
    engine_db.run("CREATE TABLE public.auto_c (c integer)")
    assert engine_db.one("SELECT count(*) FROM pggit.commits") == before + 2
    assert status_keys(engine_db) == {}
    changes = engine_db.one("SELECT changes FROM pggit.show('HEAD~1')")
    assert [c["object_key"] for c in changes] == ["table:public.auto_a", "table:public.auto_b"]
    assert engine_db.rows("SELECT ok FROM pggit.verify()") == [(True,)]


def test_interleaved_ddl_transactions_of_two_sessions_keep_exactly_what_committed(
    engine_db: EngineDB,
):
    first = engine_db.connect(application_name="first")
    second = engine_db.connect(application_name="second")
    third = engine_db.connect(application_name="third")
    first.execute("BEGIN")
    second.execute("BEGIN")
    third.execute("BEGIN")
    first.execute("CREATE TABLE public.from_first (a integer)")
    second.execute("CREATE TABLE public.from_second (a integer)")
    third.execute("CREATE TABLE public.rolled_back (a integer)")
    first.execute("ALTER TABLE public.from_first ADD COLUMN b text")
    second.execute("CREATE VIEW public.second_view AS SELECT a FROM public.from_second")
    second.execute("COMMIT")
    third.execute("ROLLBACK")
    first.execute("COMMIT")
    for conn in (first, second, third):
        conn.close()
    assert status_keys(engine_db) == {
        "table:public.from_first": "ADDED",
        "table:public.from_second": "ADDED",
        "view:public.second_view": "ADDED",
    }
    # in statement order by their time, and by their ids (written at statement time); their
    # ddl.captured events are written when their transaction commits, so the events' ids follow
    # the commit order
    audited = engine_db.rows(
        "SELECT application_name, statement, id FROM pggit.audit_log "
        "WHERE application_name IN ('first', 'second', 'third') ORDER BY captured_at"
    )
    assert [row[:2] for row in audited] == [
        ("first", "CREATE TABLE public.from_first (a integer)"),
        ("second", "CREATE TABLE public.from_second (a integer)"),
        ("first", "ALTER TABLE public.from_first ADD COLUMN b text"),
        ("second", "CREATE VIEW public.second_view AS SELECT a FROM public.from_second"),
    ]
    ids = [row[2] for row in audited]
    assert ids == sorted(ids)
    events = engine_db.rows(
        "SELECT (data->>'ddl_id')::bigint, data->>'application_name' FROM pggit.events "
        "WHERE type = 'ddl.captured' AND data->>'application_name' IN ('first', 'second', 'third') "
        "ORDER BY id"
    )
    assert events == [(ids[1], "second"), (ids[3], "second"), (ids[0], "first"), (ids[2], "first")]
    commit(engine_db, "both sessions")
    assert engine_db.live_tree_hash() == engine_db.head_tree()
    assert engine_db.rows("SELECT ok, checked, breaks FROM pggit.verify()") == [(True, 2, [])]


def test_checkout_drops_a_non_empty_materialized_view_and_recomputes_it_on_the_way_back(
    engine_db: EngineDB,
):
    engine_db.run("SELECT pggit.branch_create('bare')")
    engine_db.run("CREATE TABLE public.sales (amount integer)")
    engine_db.run("INSERT INTO public.sales VALUES (5), (7)")
    engine_db.run(
        "CREATE MATERIALIZED VIEW public.totals AS SELECT sum(amount) AS s FROM public.sales"
    )
    commit(engine_db, "sales and totals")
    engine_db.run("SELECT pggit.branch_create('no_totals')")
    engine_db.run("SELECT * FROM pggit.checkout('no_totals')")
    engine_db.run("DROP MATERIALIZED VIEW public.totals")
    commit(engine_db, "drop totals")
    engine_db.run("SELECT * FROM pggit.checkout('main')")
    assert engine_db.rows("SELECT s FROM public.totals") == [(12,)]
    engine_db.run("SELECT * FROM pggit.checkout('no_totals')")  # not refused: derived rows
    assert engine_db.one("SELECT to_regclass('public.totals')") is None
    engine_db.run("INSERT INTO public.sales VALUES (1)")
    engine_db.run("SELECT * FROM pggit.checkout('main')")
    assert engine_db.rows("SELECT s FROM public.totals") == [(13,)]
    with pytest.raises(psycopg.errors.RaiseException) as excinfo:
        engine_db.run("SELECT * FROM pggit.checkout('bare')")  # the table holds rows
    assert excinfo.value.diag.message_primary == (
        "[PGGIT-DATA_LOSS] checkout of bare refused: "
        "table_dropped: public.sales holds rows that would be lost"
    )
