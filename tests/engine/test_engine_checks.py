"""verify() over recorded changes and stored definitions (sql/engine/history/history.sql), and
argument checks of the public functions, driven from plain connections."""

from __future__ import annotations

import psycopg
import pytest

from tests.engine.enginedb import EngineDB, engine_error


def commit(db: EngineDB, message: str) -> str:
    return db.one("SELECT pggit.commit(%s)", (message,))


def verify(db: EngineDB) -> tuple[bool, int, list[dict]]:
    return db.rows("SELECT ok, checked, breaks FROM pggit.verify()")[0]


def blob_of(db: EngineDB, ref: str, key: str) -> str:
    return db.one(
        "SELECT pggit.tree_lookup(c.tree_hash, %s) FROM pggit.commits c "
        "WHERE c.hash = pggit.resolve_ref(%s)",
        (key, ref),
    )


def three_commits(db: EngineDB) -> tuple[str, str]:
    """Root, then 'accounts' (adds a table), then 'ledger' (modifies it and adds another)."""
    db.run("CREATE TABLE public.accounts (id integer)")
    first = commit(db, "accounts")
    db.run("ALTER TABLE public.accounts ADD COLUMN name text")
    db.run("CREATE TABLE public.ledger (id integer)")
    second = commit(db, "ledger")
    return first, second


def error_of(excinfo) -> tuple[str, str]:
    return engine_error(excinfo), excinfo.value.diag.message_primary


def test_verify_of_an_untampered_history_is_ok_and_counts_every_commit(engine_db: EngineDB):
    three_commits(engine_db)
    engine_db.run("SELECT pggit.branch_create('side')")
    engine_db.run("SELECT * FROM pggit.checkout('side')")
    engine_db.run("DROP TABLE public.ledger")
    commit(engine_db, "drop ledger on side")
    assert verify(engine_db) == (True, 4, [])


def test_verify_detects_a_tampered_change_row(engine_db: EngineDB):
    _, second = three_commits(engine_db)
    old = blob_of(engine_db, f"{second}~1", "table:public.accounts")
    new = blob_of(engine_db, second, "table:public.accounts")
    engine_db.run(
        "UPDATE pggit.commit_changes SET change = 'ADDED', old_blob = NULL "
        "WHERE commit_id = (SELECT id FROM pggit.commits WHERE hash = %s) "
        "AND object_key = 'table:public.accounts'",
        (second,),
    )
    assert verify(engine_db) == (
        False,
        3,
        [
            {
                "commit": second,
                "reason": f"recorded change of table:public.accounts is ADDED none -> {new}, "
                f"the trees say MODIFIED {old} -> {new}",
            }
        ],
    )


def test_verify_detects_a_deleted_change_row(engine_db: EngineDB):
    _, second = three_commits(engine_db)
    engine_db.run(
        "DELETE FROM pggit.commit_changes "
        "WHERE commit_id = (SELECT id FROM pggit.commits WHERE hash = %s) "
        "AND object_key = 'table:public.ledger'",
        (second,),
    )
    assert verify(engine_db) == (
        False,
        3,
        [
            {"commit": second, "reason": "change of table:public.ledger (ADDED) is not recorded"},
            {"commit": second, "reason": "change_count 2 does not match its 1 recorded changes"},
        ],
    )


def test_verify_detects_a_deleted_change_row_of_the_root_commit(engine_db: EngineDB):
    root = engine_db.one("SELECT hash FROM pggit.commits WHERE kind = 'root'")
    engine_db.run(
        "DELETE FROM pggit.commit_changes WHERE commit_id = "
        "(SELECT id FROM pggit.commits WHERE hash = %s) AND object_key = 'schema:public'",
        (root,),
    )
    count = engine_db.one("SELECT change_count FROM pggit.commits WHERE hash = %s", (root,))
    assert verify(engine_db) == (
        False,
        1,
        [
            {"commit": root, "reason": "change of schema:public (ADDED) is not recorded"},
            {
                "commit": root,
                "reason": f"change_count {count} does not match its {count - 1} recorded changes",
            },
        ],
    )


def test_verify_detects_a_change_row_the_trees_do_not_have(engine_db: EngineDB):
    first, second = three_commits(engine_db)
    blob = blob_of(engine_db, second, "table:public.ledger")
    engine_db.run(
        "INSERT INTO pggit.commit_changes (commit_id, object_key, kind, schema_name, object_name, "
        "change, new_blob) SELECT id, 'table:public.ledger', 'table', 'public', 'ledger', 'ADDED', "
        "%s FROM pggit.commits WHERE hash = %s",
        (blob, first),
    )
    engine_db.run("UPDATE pggit.commits SET change_count = 2 WHERE hash = %s", (first,))
    assert verify(engine_db) == (
        False,
        3,
        [
            {
                "commit": first,
                "reason": "recorded change of table:public.ledger (ADDED) is not a difference "
                "of the trees",
            }
        ],
    )


def test_verify_detects_a_change_row_renamed_away_from_its_definition(engine_db: EngineDB):
    _, second = three_commits(engine_db)
    engine_db.run(
        "UPDATE pggit.commit_changes SET object_name = 'payments' "
        "WHERE object_key = 'table:public.ledger'"
    )
    assert verify(engine_db) == (
        False,
        3,
        [
            {
                "commit": second,
                "reason": "recorded change of table:public.ledger names table public.payments, "
                "its definition is table public.ledger",
            }
        ],
    )


def test_verify_detects_a_tampered_stored_definition(engine_db: EngineDB):
    first, _ = three_commits(engine_db)
    blob = blob_of(engine_db, first, "table:public.accounts")
    engine_db.run(
        "UPDATE pggit.blobs SET definition = 'CREATE TABLE public.accounts (id bigint);' "
        "WHERE hash = %s",
        (blob,),
    )
    assert verify(engine_db) == (
        False,
        3,
        [
            {
                "commit": first,
                "reason": f"definition of table:public.accounts does not match its hash {blob}",
            }
        ],
    )


def test_verify_detects_a_missing_parent(engine_db: EngineDB):
    first, second = three_commits(engine_db)
    engine_db.run("UPDATE pggit.ddl_log SET commit_id = NULL")
    engine_db.run("DELETE FROM pggit.commits WHERE hash = %s", (first,))
    assert verify(engine_db) == (
        False,
        2,
        [{"commit": second, "reason": f"parent {first} is missing"}],
    )


def test_verify_detects_a_missing_subtree(engine_db: EngineDB):
    _, second = three_commits(engine_db)
    tree = engine_db.one("SELECT tree_hash FROM pggit.commits WHERE hash = %s", (second,))
    shard = engine_db.one("SELECT pggit.tree_shard('table:public.ledger')")
    subtree = engine_db.one("SELECT entries->>%s FROM pggit.trees WHERE hash = %s", (shard, tree))
    engine_db.run("DELETE FROM pggit.subtrees WHERE hash = %s", (subtree,))
    assert verify(engine_db) == (
        False,
        3,
        [
            {
                "commit": second,
                "reason": "recorded change of table:public.ledger (ADDED) is not a difference "
                "of the trees",
            },
            {"commit": second, "reason": f"subtree {subtree} of tree {tree} is missing"},
        ],
    )


def test_verify_tampered_tree_names_the_tree(engine_db: EngineDB):
    _, second = three_commits(engine_db)
    tree = engine_db.one("SELECT tree_hash FROM pggit.commits WHERE hash = %s", (second,))
    engine_db.run(
        "UPDATE pggit.subtrees SET entries = entries - 'table:public.ledger' "
        "WHERE entries ? 'table:public.ledger'"
    )
    assert verify(engine_db) == (
        False,
        3,
        [
            {
                "commit": second,
                "reason": "recorded change of table:public.ledger (ADDED) is not a difference "
                "of the trees",
            },
            {"commit": second, "reason": f"tree {tree} does not match its entries"},
        ],
    )


def test_branch_create_with_an_explicit_null_ref_is_an_invalid_argument(engine_db: EngineDB):
    with pytest.raises(psycopg.errors.RaiseException) as excinfo:
        engine_db.run("SELECT pggit.branch_create('feature', NULL)")
    assert error_of(excinfo) == (
        "INVALID_ARGUMENT",
        "[PGGIT-INVALID_ARGUMENT] from_ref must not be NULL",
    )
    assert engine_db.rows("SELECT name FROM pggit.branches()") == [("main",)]
    head = engine_db.one("SELECT commit_hash FROM pggit.head()")
    assert engine_db.one("SELECT pggit.branch_create('feature')") == head
    assert engine_db.rows("SELECT name, head, parent FROM pggit.branches()") == [
        ("feature", head, "main"),
        ("main", head, None),
    ]


def test_console_and_engine_schemas_are_never_tracked_even_with_no_exclusions(
    engine_db: EngineDB,
):
    engine_db.run("SELECT pggit.config_set('excluded_schemas', '[]')")
    audited = engine_db.one("SELECT coalesce(max(id), 0) FROM pggit.audit_log")
    engine_db.run("CREATE SCHEMA pggit_console")
    engine_db.run("CREATE TABLE pggit_console.django_session (session_key text PRIMARY KEY)")
    engine_db.run("CREATE TABLE pggit.extra (a integer)")
    engine_db.run("CREATE TABLE public.tracked (a integer)")
    assert engine_db.rows("SELECT object_key, change_type FROM pggit.status()") == [
        ("table:public.tracked", "ADDED")
    ]
    assert (
        engine_db.one(
            "SELECT count(*) FROM pggit.live_objects() "
            "WHERE schema_name IN ('pggit', 'pggit_console')"
        )
        == 0
    )
    assert engine_db.rows(
        "SELECT pggit.is_tracked_schema('pggit'), pggit.is_tracked_schema('pggit_console'), "
        "pggit.is_tracked_schema('public')"
    ) == [(False, False, True)]
    assert engine_db.rows(
        "SELECT statement FROM pggit.audit_log WHERE id > %s ORDER BY id", (audited,)
    ) == [("CREATE TABLE public.tracked (a integer)",)]
    commit(engine_db, "tracked")
    assert engine_db.live_tree_hash() == engine_db.head_tree()
    assert (
        engine_db.one(
            "SELECT count(*) FROM jsonb_object_keys(pggit.tree_entries("
            "(SELECT tree_hash FROM pggit.head()))) k WHERE k LIKE '%%pggit%%'"
        )
        == 0
    )


@pytest.mark.parametrize(
    ("from_tree", "to_tree", "message"),
    [
        (
            "[]",
            "5",
            "from must be a tree: a JSON object {object key: definition hash}, not array []",
        ),
        ("{}", "5", "to must be a tree: a JSON object {object key: definition hash}, not number 5"),
        (
            '"x"',
            "{}",
            'from must be a tree: a JSON object {object key: definition hash}, not string "x"',
        ),
        (
            '{"table:public.a": 1}',
            "{}",
            "from: the entry 'table:public.a' must be a definition hash (a string), not 1",
        ),
        (
            "{}",
            '{"table:public.a": null}',
            "to: the entry 'table:public.a' must be a definition hash (a string), not null",
        ),
        (
            '{"table:public.a": "nope"}',
            "{}",
            "from: the entry 'table:public.a' names no stored definition (nope)",
        ),
        (
            "{}",
            '{"table:public.a": "nope"}',
            "to: the entry 'table:public.a' names no stored definition (nope)",
        ),
    ],
)
def test_migration_plan_refuses_malformed_trees(engine_db: EngineDB, from_tree, to_tree, message):
    with pytest.raises(psycopg.errors.RaiseException) as excinfo:
        engine_db.rows(
            "SELECT * FROM pggit.migration_plan(%s::jsonb, %s::jsonb)", (from_tree, to_tree)
        )
    assert error_of(excinfo) == ("INVALID_ARGUMENT", f"[PGGIT-INVALID_ARGUMENT] {message}")


def test_migration_plan_of_real_trees_and_null_as_the_empty_tree(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.accounts (id integer)")
    commit(engine_db, "accounts")
    rows = engine_db.rows(
        "SELECT phase, object_key, statement FROM pggit.migration_plan("
        "pggit.commit_tree(pggit.resolve_ref('HEAD~1')), "
        "pggit.commit_tree(pggit.resolve_ref('HEAD')))"
    )
    assert rows == [
        ("create", "table:public.accounts", "CREATE TABLE public.accounts (\n    id integer\n);")
    ]
    assert engine_db.rows("SELECT * FROM pggit.migration_plan(NULL, NULL)") == []


@pytest.mark.parametrize(
    ("tree", "message"),
    [(None, "a tree hash is required"), ("0" * 64, f"no tree '{'0' * 64}'")],
)
def test_tree_entries_of_no_tree_or_an_unknown_tree_is_an_invalid_argument(
    engine_db: EngineDB, tree, message
):
    with pytest.raises(psycopg.errors.RaiseException) as excinfo:
        engine_db.one("SELECT pggit.tree_entries(%s)", (tree,))
    assert error_of(excinfo) == ("INVALID_ARGUMENT", f"[PGGIT-INVALID_ARGUMENT] {message}")


def test_tree_entries_of_a_commit_tree_is_its_flat_map(engine_db: EngineDB):
    engine_db.run("CREATE TABLE public.accounts (id integer)")
    commit(engine_db, "accounts")
    tree = engine_db.head_tree()
    entries = engine_db.one("SELECT pggit.tree_entries(%s)", (tree,))
    assert entries == dict(engine_db.rows("SELECT object_key, blob_hash FROM pggit.live_state"))
    assert entries["table:public.accounts"] == blob_of(engine_db, "HEAD", "table:public.accounts")
    assert (
        engine_db.one("SELECT pggit.tree_hash_of(%s::jsonb)", (psycopg.types.json.Jsonb(entries),))
        == tree
    )


def test_log_search_is_a_literal_case_insensitive_text_not_a_pattern(engine_db: EngineDB):
    messages = ("load 100% of rows", "load 100 tables", "add user_id", "add userXid")
    for number, message in enumerate(messages):
        engine_db.run(f"CREATE TABLE public.t{number} (a integer)")
        commit(engine_db, message)

    def found(query: str, branch: str | None = None) -> list[str]:
        return [
            r[0]
            for r in engine_db.rows(
                "SELECT message FROM pggit.log(p_branch => %s, p_query => %s)", (branch, query)
            )
        ]

    assert found("100%") == ["load 100% of rows"]
    assert found("USER_ID") == ["add user_id"]
    assert found("%") == ["load 100% of rows"]
    assert found("_", "main") == ["add user_id"]
    assert found("\\") == []
    assert found("LOAD 100") == ["load 100 tables", "load 100% of rows"]
