"""Capture details driven from plain connections: privilege commands, ALTER and RENAME forms, the
statement text of multi-statement messages, the per-transaction configuration, and the argument
checks of the history functions."""

from __future__ import annotations

import json

import psycopg
import pytest
from psycopg import sql

from tests.engine.enginedb import EngineDB, engine_error


def status(db: EngineDB) -> dict[str, str]:
    return dict(db.rows("SELECT object_key, change_type FROM pggit.status()"))


def last_audit(db: EngineDB) -> tuple:
    return db.rows(
        "SELECT command_tag, statement, targets, objects, application_name FROM pggit.audit_log "
        "ORDER BY id DESC LIMIT 1"
    )[0]


def test_grant_and_revoke_are_audited_and_tracked_through_status_commit_and_checkout(
    engine_db: EngineDB,
):
    db = engine_db
    db.run("CREATE TABLE public.secrets (id integer)")
    db.run("SELECT pggit.commit('secrets')")
    db.run("SELECT pggit.branch_create('other')")
    client = db.connect(application_name="psql-dba")
    client.execute("GRANT SELECT ON public.secrets TO PUBLIC")
    assert last_audit(db)[:3] == (
        "GRANT",
        "GRANT SELECT ON public.secrets TO PUBLIC",
        [{"type": "table", "change": "grant"}],
    )
    assert status(db) == {"privileges:table:public.secrets": "ADDED"}
    assert last_audit(db)[3] == [
        {
            "key": "privileges:table:public.secrets",
            "kind": "privileges",
            "name": "secrets",
            "blob": last_audit(db)[3][0]["blob"],
            "change": "ADDED",
            "schema": "public",
        }
    ]
    client.execute("REVOKE SELECT ON public.secrets FROM PUBLIC")
    assert status(db) == {}  # back to HEAD's privileges
    client.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO PUBLIC")
    client.close()
    assert last_audit(db)[:3] == (
        "ALTER DEFAULT PRIVILEGES",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO PUBLIC",
        [{"type": "tables", "change": "alter"}],
    )
    assert status(db) == {"default_privileges:public.postgres.TABLES": "ADDED"}
    db.run("CREATE TABLE public.after_grant (id integer)")
    # the default privileges apply to the new table, and its privileges are tracked with it
    assert status(db) == {
        "default_privileges:public.postgres.TABLES": "ADDED",
        "table:public.after_grant": "ADDED",
        "privileges:table:public.after_grant": "ADDED",
    }
    db.run("SELECT pggit.commit('after grant')")
    db.run("SELECT * FROM pggit.checkout('other')")
    assert db.live_tree_hash() == db.branch_tree("other")
    assert db.one("SELECT count(*) FROM pg_default_acl") == 0
    db.run("SELECT * FROM pggit.checkout('main')")
    assert db.rows(
        "SELECT privilege_type FROM pg_class, aclexplode(relacl) "
        "WHERE oid = 'public.after_grant'::regclass AND grantee = 0"
    ) == [("SELECT",)]
    events = db.rows(
        "SELECT data->>'command_tag' FROM pggit.events WHERE type = 'ddl.captured' "
        "AND data->>'command_tag' IN ('GRANT', 'REVOKE') ORDER BY id"
    )
    assert events == [("GRANT",), ("REVOKE",)]


def test_a_privilege_command_captured_before_the_fix_no_longer_blocks_the_working_state(
    engine_db: EngineDB,
):
    # what an earlier capture wrote for a GRANT: an anchor of two NULLs, never flushed
    engine_db.run(
        "INSERT INTO pggit.ddl_log (command_tag, statement, anchors) "
        "VALUES ('GRANT', 'GRANT SELECT ON public.x TO PUBLIC', '[[null, null]]')"
    )
    engine_db.run("CREATE TABLE public.next_one (id integer)")
    assert status(engine_db) == {"table:public.next_one": "ADDED"}
    assert engine_db.one("SELECT count(*) FROM pggit.ddl_log WHERE flushed_at IS NULL") == 0


RENAMES = [
    (
        "ALTER TABLE app.t RENAME COLUMN n TO m",
        {"table:app.t": "MODIFIED"},
    ),
    (
        "ALTER TABLE app.t RENAME TO t2",
        {
            "table:app.t": "REMOVED",
            "table:app.t2": "ADDED",
            "constraint:app.t.t_pkey": "REMOVED",
            "constraint:app.t2.t_pkey": "ADDED",
            "index:app.t.t_name_idx": "REMOVED",
            "index:app.t2.t_name_idx": "ADDED",
            "view:app.v": "MODIFIED",
        },
    ),
    ("ALTER INDEX app.t_name_idx RENAME TO t_name_idx2", None),
    ("ALTER FUNCTION app.f(integer) STABLE", {"function:app.f(integer)": "MODIFIED"}),
    (
        "ALTER FUNCTION app.f(integer) SET search_path = pg_catalog",
        {"function:app.f(integer)": "MODIFIED"},
    ),
    (
        "ALTER DOMAIN app.pos ADD CONSTRAINT pos_check CHECK (VALUE > 0)",
        {"domain:app.pos": "MODIFIED"},
    ),
    ("ALTER TYPE app.mood RENAME VALUE 'a' TO 'aa'", {"type:app.mood": "MODIFIED"}),
    ("ALTER TYPE app.mood ADD VALUE 'c' BEFORE 'b'", {"type:app.mood": "MODIFIED"}),
    ("ALTER SEQUENCE app.s RESTART WITH 50 INCREMENT BY 3", {"sequence:app.s": "MODIFIED"}),
    (
        "COMMENT ON FUNCTION app.f(integer) IS 'adds one'",
        {"comment:function:app.f(integer)": "ADDED"},
    ),
    ("ALTER TABLE app.t ALTER COLUMN name SET NOT NULL", {"table:app.t": "MODIFIED"}),
    ("ALTER VIEW app.v RENAME COLUMN name TO label", {"view:app.v": "MODIFIED"}),
    ("ALTER TABLE app.t SET SCHEMA public", None),
    ("ALTER SCHEMA app RENAME TO app2", None),
]


@pytest.mark.parametrize(("statement", "expected"), RENAMES, ids=[r[0] for r in RENAMES])
def test_alter_and_rename_forms_are_captured_and_round_trip(
    engine_db: EngineDB, statement: str, expected: dict[str, str] | None
):
    db = engine_db
    db.run(
        "CREATE SCHEMA app; "
        "CREATE TABLE app.t (id integer PRIMARY KEY, name text, n integer); "
        "CREATE INDEX t_name_idx ON app.t (name); "
        "CREATE VIEW app.v AS SELECT id, name FROM app.t; "
        "CREATE FUNCTION app.f(a integer) RETURNS integer LANGUAGE sql AS 'SELECT a + 1'; "
        "CREATE TYPE app.mood AS ENUM ('a', 'b'); "
        "CREATE DOMAIN app.pos AS integer; "
        "CREATE SEQUENCE app.s"
    )
    base = db.one("SELECT pggit.commit('base')")
    db.run("SELECT pggit.branch_create('base')")
    client = db.connect(application_name="psql-dba")
    client.execute(statement)
    client.close()
    changes = status(db)
    if expected is not None:
        assert changes == expected
    else:
        assert changes and set(changes.values()) <= {"ADDED", "REMOVED", "MODIFIED"}
    assert last_audit(db)[1] == statement
    assert last_audit(db)[4] == "psql-dba"
    changed = db.one("SELECT pggit.commit('change')")
    assert db.live_tree_hash() == db.head_tree()
    # the diff lists exactly what status listed, the script is proven on a copy of `base`
    assert dict(db.rows("SELECT object_key, change FROM pggit.diff(%s, %s)", (base, changed))) == (
        changes
    )
    script = db.one("SELECT pggit.diff_script('base', 'main')")
    db.run("SELECT * FROM pggit.checkout('base')")
    assert db.live_tree_hash() == db.branch_tree("base")
    with db.conn.transaction(force_rollback=True):
        db.run(script)
        assert db.live_tree_hash() == db.branch_tree("main")
    db.run("SELECT * FROM pggit.checkout('main')")
    assert db.live_tree_hash() == db.branch_tree("main")
    assert db.one("SELECT count(*) FROM pggit.status()") == 0


def test_statements_of_one_message_share_its_text_and_each_message_has_its_own(
    engine_db: EngineDB,
):
    first = "CREATE TABLE public.m1 (a integer); CREATE TABLE public.m2 (a integer)"
    second = "CREATE TABLE public.m3 (a integer)"
    texts_before = engine_db.one("SELECT count(*) FROM pggit.ddl_queries")
    with engine_db.conn.transaction():
        engine_db.run(first)
        engine_db.run(second)
        engine_db.run("DO $$ BEGIN EXECUTE 'CREATE TABLE public.m4 (a integer)'; END $$")
    rows = engine_db.rows(
        "SELECT targets->0->>'identity', statement FROM pggit.audit_log "
        "WHERE command_tag = 'CREATE TABLE' ORDER BY id"
    )
    assert rows == [
        ("public.m1", first),
        ("public.m2", first),
        ("public.m3", second),
        ("public.m4", "DO $$ BEGIN EXECUTE 'CREATE TABLE public.m4 (a integer)'; END $$"),
    ]
    assert engine_db.one("SELECT count(*) FROM pggit.ddl_queries") == texts_before + 3


def test_capture_configuration_changed_in_the_transaction_applies_at_once(engine_db: EngineDB):
    with engine_db.conn.transaction():
        engine_db.run("CREATE TABLE public.seen (a integer)")
        engine_db.run(
            "SELECT pggit.config_set('excluded_schemas', '[\"pggit_console\", \"quiet\"]')"
        )
        engine_db.run("CREATE SCHEMA quiet")
        engine_db.run("CREATE TABLE quiet.unseen (a integer)")
    assert status(engine_db) == {"table:public.seen": "ADDED"}


def test_excluded_schemas_are_matched_exactly_whatever_their_names(engine_db: EngineDB):
    """Capture keeps the excluded names for the transaction between control characters \\x01,
    each with its backslashes doubled and its \\x01 escaped: names holding JSON's own characters,
    commas, a line break, backslashes or that control character are excluded exactly, and names
    that are parts of them or read like their escaped forms are not, at statement time and in the
    drops the sql_drop trigger passes on (with the configuration read by either)."""
    excluded = ["a,", ",b", 'q"u\\o', "new\nline", "x\x01y", "end\\"]
    tracked = [",", 'q"u', "new", "o", "x", "y", "x\\1y", "end", "end\\\\"]
    engine_db.run("SELECT pggit.config_set('excluded_schemas', %s)", (json.dumps(excluded),))
    with engine_db.conn.transaction():
        for name in excluded + tracked:
            engine_db.run(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
            engine_db.run(sql.SQL("CREATE TABLE {}.t (a integer)").format(sql.Identifier(name)))
    changed = engine_db.rows("SELECT object_type, schema_name, object_name FROM pggit.status()")
    assert sorted(changed) == sorted(
        [("schema", name, name) for name in tracked] + [("table", name, "t") for name in tracked]
    )
    engine_db.run("SELECT pggit.commit('schemas')")
    with engine_db.conn.transaction():
        # (a tracked name first: the first drop of a transaction reads the configuration itself)
        for name in tracked + excluded:
            engine_db.run(sql.SQL("DROP TABLE {}.t").format(sql.Identifier(name)))
    dropped = engine_db.rows(
        "SELECT t->>'identity' FROM pggit.ddl_log, jsonb_array_elements(targets) t "
        "WHERE command_tag = 'DROP TABLE' AND t->>'type' = 'table' ORDER BY id"
    )
    assert dropped == [
        (engine_db.one("SELECT quote_ident(%s) || '.t'", (name,)),) for name in tracked
    ]
    assert sorted(
        engine_db.rows("SELECT object_type, schema_name, change_type FROM pggit.status()")
    ) == sorted(("table", name, "REMOVED") for name in tracked)


def test_capture_configuration_changed_by_another_session_applies_from_the_next_transaction(
    engine_db: EngineDB,
):
    other = engine_db.connect()
    with engine_db.conn.transaction():
        engine_db.run("CREATE TABLE public.before_switch (a integer)")
        other.execute("SELECT pggit.set_capture(false, 'global')")
        engine_db.run("CREATE TABLE public.same_transaction (a integer)")
    engine_db.run("CREATE TABLE public.next_transaction (a integer)")
    captured = [
        r[0]
        for r in engine_db.rows(
            "SELECT targets->0->>'identity' FROM pggit.ddl_log WHERE command_tag = 'CREATE TABLE' "
            "ORDER BY id"
        )
    ]
    assert captured == ["public.before_switch", "public.same_transaction"]
    other.execute("SELECT pggit.set_capture(true, 'global')")
    other.close()
    # switching back on records what was done meanwhile
    assert status(engine_db) == {
        "table:public.before_switch": "ADDED",
        "table:public.same_transaction": "ADDED",
        "table:public.next_transaction": "ADDED",
    }


def test_head_moved_or_its_branch_renamed_in_the_transaction_applies_at_once(
    engine_db: EngineDB,
):
    """HEAD's branch is read once per transaction (pggit.branch_cache); moving HEAD, a savepoint
    rolled back over such a move, and renaming the branch are seen by the next statement."""
    engine_db.run("SELECT pggit.branch_create('other')")
    move = "UPDATE pggit.head SET branch_id = (SELECT id FROM pggit.branches WHERE name = %s)"
    with engine_db.conn.transaction():
        engine_db.run("CREATE TABLE public.on_main (a integer)")
        engine_db.run(move, ("other",))
        engine_db.run("CREATE TABLE public.on_other (a integer)")
        engine_db.run("SAVEPOINT back")
        engine_db.run(move, ("main",))
        engine_db.run("CREATE TABLE public.rolled_back (a integer)")
        engine_db.run("ROLLBACK TO SAVEPOINT back")
        engine_db.run("CREATE TABLE public.after_savepoint (a integer)")
        engine_db.run("SELECT pggit.branch_rename('other', 'renamed')")
        engine_db.run("CREATE TABLE public.on_renamed (a integer)")
    engine_db.run(move, ("main",))
    engine_db.run("CREATE TABLE public.next_transaction (a integer)")
    rows = engine_db.rows(
        "SELECT targets->0->>'identity', branch FROM pggit.ddl_log "
        "WHERE command_tag = 'CREATE TABLE' ORDER BY id"
    )
    assert rows == [
        ("public.on_main", "main"),
        ("public.on_other", "other"),
        ("public.after_savepoint", "other"),
        ("public.on_renamed", "renamed"),
        ("public.next_transaction", "main"),
    ]
    events = engine_db.rows(
        "SELECT data->'objects'->0->>'identity', data->>'branch' FROM pggit.events "
        "WHERE type = 'ddl.captured' ORDER BY id"
    )
    assert events == rows


@pytest.mark.parametrize(
    ("call", "code", "message"),
    [
        ("SELECT * FROM pggit.object_history(NULL)", "INVALID_ARGUMENT", "object key"),
        ("SELECT * FROM pggit.object_history(' ')", "INVALID_ARGUMENT", "object key"),
        ("SELECT * FROM pggit.object_history('table:public.t', -1)", "INVALID_ARGUMENT", "limit"),
        ("SELECT * FROM pggit.object_history('table:public.t', 0)", "INVALID_ARGUMENT", "limit"),
        ("SELECT * FROM pggit.audit(p_limit => -5)", "INVALID_ARGUMENT", "limit"),
        ("SELECT * FROM pggit.audit(p_offset => -1)", "INVALID_ARGUMENT", "offset"),
        ("SELECT * FROM pggit.audit(p_limit => 10001)", "INVALID_ARGUMENT", "limit"),
        ("SELECT pggit.config_set('auto_commit', NULL)", "INVALID_ARGUMENT", "needs a value"),
        ("SELECT pggit.config_set('auto_commit', 'null')", "INVALID_ARGUMENT", "needs a value"),
        (
            "SELECT pggit.config_set('excluded_schemas', '[\"a\", 5]')",
            "INVALID_ARGUMENT",
            "schema names",
        ),
        (
            "SELECT pggit.config_set('excluded_schemas', '[\"\"]')",
            "INVALID_ARGUMENT",
            "schema names",
        ),
    ],
)
def test_history_and_configuration_functions_reject_bad_arguments_with_a_code(
    engine_db: EngineDB, call: str, code: str, message: str
):
    with pytest.raises(psycopg.errors.RaiseException) as excinfo:
        engine_db.run(call)
    assert engine_error(excinfo) == code
    assert message in str(excinfo.value)
