"""Privileges are versioned (sql/engine/catalog/privileges.sql, docs/engine-catalog.md
"Privileges"): GRANT, REVOKE and ALTER DEFAULT PRIVILEGES are captured as changes of the kinds
`privileges` and `default_privileges`, committed, diffed, written by diff_script and re-applied by
checkout, also for objects a checkout re-creates."""

from __future__ import annotations

import secrets

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from tests.engine.enginedb import (
    EngineDB,
    connect_as,
    engine_error,
    ensure_roles,
    scratch_copy,
    server_url,
)

READER = "pggit_test_priv_reader"
WRITER = "pggit_test_priv_writer"

SCHEMA = """
CREATE SCHEMA app;
CREATE TABLE app.accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text, secret text);
CREATE SEQUENCE app.tickets;
CREATE FUNCTION app.add(a integer, b integer) RETURNS integer LANGUAGE sql AS 'SELECT a + b';
CREATE PROCEDURE app.touch() LANGUAGE sql AS 'SELECT 1';
CREATE TYPE app.mood AS ENUM ('ok', 'not ok');
CREATE DOMAIN app.email AS text CHECK (VALUE LIKE '%@%');
CREATE VIEW app.emails AS SELECT id, email FROM app.accounts;
"""


@pytest.fixture
def db(engine_db: EngineDB) -> EngineDB:
    ensure_roles(READER, WRITER)
    engine_db.run(SCHEMA)
    engine_db.run("SELECT pggit.commit('schema')")
    return engine_db


def status(db: EngineDB) -> list[tuple]:
    return db.rows(
        "SELECT object_key, change_type, statement, actor FROM pggit.status() "
        'ORDER BY object_key COLLATE "C"'
    )


def definition(db: EngineDB, key: str) -> str | None:
    return db.one("SELECT definition FROM pggit.live_objects() WHERE object_key = %s", (key,))


# (statement, the entry it changes, that entry's definition afterwards)
FORMS = [
    (
        f"GRANT SELECT, INSERT ON app.accounts TO {READER}",
        "privileges:table:app.accounts",
        f"GRANT INSERT, SELECT ON TABLE app.accounts TO {READER};",
    ),
    (
        f"GRANT SELECT (id, email), UPDATE (email) ON app.accounts TO {READER}",
        "privileges:table:app.accounts",
        f"GRANT SELECT (email), UPDATE (email) ON TABLE app.accounts TO {READER};\n"
        f"GRANT SELECT (id) ON TABLE app.accounts TO {READER};",
    ),
    (
        f"GRANT UPDATE ON app.emails TO {WRITER} WITH GRANT OPTION",
        "privileges:view:app.emails",
        f"GRANT UPDATE ON TABLE app.emails TO {WRITER} WITH GRANT OPTION;",
    ),
    (
        "GRANT USAGE ON SEQUENCE app.tickets TO PUBLIC",
        "privileges:sequence:app.tickets",
        "GRANT USAGE ON SEQUENCE app.tickets TO PUBLIC;",
    ),
    (
        f"GRANT USAGE ON SEQUENCE app.accounts_id_seq TO {WRITER}",
        "privileges:sequence:app.accounts_id_seq",
        "GRANT USAGE ON SEQUENCE app.accounts_id_seq /* identity of app.accounts.id */"
        f" TO {WRITER};",
    ),
    (
        "REVOKE EXECUTE ON FUNCTION app.add(integer, integer) FROM PUBLIC",
        "privileges:function:app.add(integer,integer)",
        "REVOKE EXECUTE ON FUNCTION app.add(a integer, b integer) FROM PUBLIC;",
    ),
    (
        f"GRANT EXECUTE ON PROCEDURE app.touch() TO {WRITER} WITH GRANT OPTION",
        "privileges:function:app.touch()",
        f"GRANT EXECUTE ON PROCEDURE app.touch() TO {WRITER} WITH GRANT OPTION;",
    ),
    (
        f"GRANT USAGE, CREATE ON SCHEMA app TO {WRITER}",
        "privileges:schema:app",
        f"GRANT CREATE, USAGE ON SCHEMA app TO {WRITER};",
    ),
    (
        "REVOKE USAGE ON TYPE app.mood FROM PUBLIC",
        "privileges:type:app.mood",
        "REVOKE USAGE ON TYPE app.mood FROM PUBLIC;",
    ),
    (
        f"GRANT USAGE ON DOMAIN app.email TO {READER} WITH GRANT OPTION",
        "privileges:domain:app.email",
        f"GRANT USAGE ON DOMAIN app.email TO {READER} WITH GRANT OPTION;",
    ),
    (
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO {READER}",
        "default_privileges:app.postgres.TABLES",
        "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA app GRANT SELECT ON TABLES "
        f"TO {READER};",
    ),
    (
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT EXECUTE ON FUNCTIONS TO {WRITER} "
        "WITH GRANT OPTION",
        "default_privileges:app.postgres.FUNCTIONS",
        "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA app GRANT EXECUTE ON FUNCTIONS "
        f"TO {WRITER} WITH GRANT OPTION;",
    ),
]


@pytest.mark.parametrize("statement,key,expected", FORMS, ids=[f[0][:60] for f in FORMS])
def test_each_form_is_captured_committed_and_undone_by_its_revoke(db, statement, key, expected):
    client = db.connect(application_name="psql-dba")
    client.execute(statement)
    assert status(db) == [(key, "ADDED", statement, "postgres")]
    assert definition(db, key) == expected
    event = db.rows(
        "SELECT data->>'command_tag' FROM pggit.events WHERE type = 'ddl.captured' "
        "ORDER BY id DESC LIMIT 1"
    )
    tag = "ALTER DEFAULT PRIVILEGES" if "DEFAULT" in statement else statement.split(" ")[0]
    assert event == [(tag,)]
    commit = db.one("SELECT pggit.commit('privileges')")
    assert db.rows(
        "SELECT x.object_key, x.kind, x.change FROM pggit.commit_changes x "
        "JOIN pggit.commits c ON c.id = x.commit_id WHERE c.hash = %s",
        (commit,),
    ) == [(key, key.split(":")[0], "ADDED")]
    # the opposite statement brings the default back: the entry is removed
    undo = (
        statement.replace("GRANT", "REVOKE", 1)
        .replace(" TO ", " FROM ")
        .replace(" WITH GRANT OPTION", "")
        if " GRANT " in f" {statement} " and not statement.startswith("REVOKE")
        else statement.replace("REVOKE", "GRANT", 1).replace(" FROM ", " TO ")
    )
    client.execute(undo)
    assert status(db) == [(key, "REMOVED", undo, "postgres")]
    assert definition(db, key) is None
    client.close()


def test_a_rolled_back_grant_changes_nothing(db):
    client = db.connect()
    with client.transaction(force_rollback=True):
        client.execute(f"GRANT SELECT ON app.accounts TO {READER}")
        client.execute("SAVEPOINT s")
        client.execute(f"GRANT USAGE ON SCHEMA app TO {READER}")
    client.close()
    assert status(db) == []
    assert db.one("SELECT clean FROM pggit.head()") is True


def test_statements_are_attributed_to_the_grant_that_made_them(db):
    client = db.connect()
    with client.transaction():
        client.execute("CREATE TABLE app.later (id int)")
        client.execute(f"GRANT SELECT ON app.accounts TO {READER}")
        client.execute("SAVEPOINT s")
        client.execute(f"GRANT USAGE ON SCHEMA app TO {READER}")
    client.close()
    assert status(db) == [
        ("privileges:schema:app", "ADDED", f"GRANT USAGE ON SCHEMA app TO {READER}", "postgres"),
        (
            "privileges:table:app.accounts",
            "ADDED",
            f"GRANT SELECT ON app.accounts TO {READER}",
            "postgres",
        ),
        ("table:app.later", "ADDED", "CREATE TABLE app.later (id int)", "postgres"),
    ]


# The transaction's end-of-statement mark that privileges_capture_anchors() compares each catalog
# row's cmin with, in each way a statement is captured: announced at commit, announced at once
# (strict mode), announced and flushed at once (capture_sync), made a commit (auto_commit).
MODES = {
    "at-commit": [],
    "strict": ["SELECT pggit.config_set('capture_mode', '\"strict\"')"],
    "sync": ["SELECT pggit.config_set('capture_sync', 'true')"],
    "auto_commit": ["SELECT pggit.config_set('auto_commit', 'true')"],
}


def assert_changes(db: EngineDB, mode: str, expected: list[tuple]) -> None:
    """The working changes status shows (key, change, statement, actor); with auto_commit the
    transaction became a commit instead, with those keys and changes (which statement made each
    is then in grant_anchors())."""
    if mode != "auto_commit":
        assert status(db) == expected
        return
    assert status(db) == []
    assert db.rows(
        "SELECT x.object_key, x.change FROM pggit.commit_changes x "
        "JOIN pggit.commits c ON c.id = x.commit_id "
        "WHERE c.hash = (SELECT commit_hash FROM pggit.head()) "
        'ORDER BY x.object_key COLLATE "C"'
    ) == [row[:2] for row in expected]


# combo command ids (a row inserted and then updated or deleted in the same transaction keeps both
# command ids as one index into a per-transaction array; reading cmin returns that index): 200
# rows inserted by 200 commands, then updated by 5 rolled-back subtransactions, each update giving
# 200 new combo ids: about 1,000 of them, far above the transaction's ~250 command ids
CHURN = """
DO $$
BEGIN
    FOR i IN 1..200 LOOP
        INSERT INTO app.churn VALUES (i);
    END LOOP;
    FOR j IN 1..5 LOOP
        BEGIN
            UPDATE app.churn SET n = n + 1;
            RAISE EXCEPTION 'undone';
        EXCEPTION WHEN raise_exception THEN NULL;
        END;
    END LOOP;
END
$$
"""


def in_one_transaction(db: EngineDB, statements: list[str]) -> None:
    """The statements in one transaction of a new connection (as a migration tool runs them)."""
    client = db.connect()
    with client.transaction():
        for statement in statements:
            client.execute(statement)
    client.close()


def grant_anchors(db: EngineDB) -> list[tuple]:
    """Each GRANT's audit row: its statement and the objects it was credited with."""
    return db.rows(
        "SELECT coalesce(l.statement, q.query),"
        "       (SELECT array_agg(pg_describe_object((a->>0)::oid, (a->>1)::oid, 0) ORDER BY 1)"
        "          FROM jsonb_array_elements(l.anchors) a)"
        "  FROM pggit.ddl_log l LEFT JOIN pggit.ddl_queries q ON q.id = l.query_id"
        " WHERE l.command_tag = 'GRANT' ORDER BY l.id"
    )


def rolled_back_grant_then_grant(client, churn: bool, read_in_savepoint: bool) -> list[str]:
    """A GRANT, a GRANT rolled back with its savepoint (after a read that announces and flushes
    what came before, with read_in_savepoint), a GRANT: returns the two kept."""
    kept = [
        f"GRANT SELECT ON app.accounts TO {READER}",
        f"GRANT SELECT ON app.emails TO {READER}",
    ]
    with client.transaction():
        # (without combo ids: ten command ids, so that the first GRANT's are above the few combo
        # ids the transaction makes, which are small numbers)
        client.execute(
            CHURN
            if churn
            else "DO $$ BEGIN FOR i IN 1..10 LOOP INSERT INTO app.churn VALUES (i); "
            "END LOOP; END $$"
        )
        client.execute(kept[0])
        client.execute("SAVEPOINT s")
        client.execute(f"GRANT USAGE ON SEQUENCE app.tickets TO {READER}")
        if read_in_savepoint:
            client.execute("SELECT count(*) FROM pggit.status()")
        client.execute("ROLLBACK TO SAVEPOINT s")
        client.execute(kept[1])
    return kept


@pytest.mark.parametrize("read_in_savepoint", [False, True], ids=["", "read"])
@pytest.mark.parametrize("churn", [False, True], ids=["", "combo-ids"])
@pytest.mark.parametrize("mode", list(MODES))
def test_a_grant_after_one_rolled_back_is_credited_with_its_own_object(
    db, mode, churn, read_in_savepoint
):
    """After a GRANT rolled back with its savepoint, the versions that savepoint had replaced (the
    transaction's capture_pending row, the audit rows a read flushed) are visible again with a
    combo command id as their cmin. The mark is not read from them: the next GRANT is credited
    with its own table only, not with the first GRANT's (a combo id below the mark), and with
    many combo ids in the transaction not with nothing (a combo id above its own row's cmin), so
    status shows its change without a rescan."""
    db.run("CREATE TABLE app.churn (n int)")
    db.run("SELECT pggit.commit('churn')")
    for statement in MODES[mode]:
        db.run(statement)
    client = db.connect()
    kept = rolled_back_grant_then_grant(client, churn, read_in_savepoint)
    client.close()
    assert grant_anchors(db) == [(kept[0], ["table app.accounts"]), (kept[1], ["view app.emails"])]
    assert_changes(
        db,
        mode,
        [
            ("privileges:table:app.accounts", "ADDED", kept[0], "postgres"),
            ("privileges:view:app.emails", "ADDED", kept[1], "postgres"),
        ],
    )


@pytest.mark.parametrize("mode", list(MODES))
def test_each_of_two_grants_in_a_transaction_is_credited_with_its_own_object(db, mode):
    """No savepoint: with capture_sync each audit row is flushed as it is written (its
    flushed_at set), and the mark must not depend on the rows' state."""
    for statement in MODES[mode]:
        db.run(statement)
    grants = [
        f"GRANT SELECT ON app.accounts TO {READER}",
        f"GRANT SELECT ON app.emails TO {READER}",
    ]
    in_one_transaction(db, grants)
    assert grant_anchors(db) == [
        (grants[0], ["table app.accounts"]),
        (grants[1], ["view app.emails"]),
    ]


@pytest.mark.parametrize("churn", [False, True], ids=["", "combo-ids"])
def test_an_ordinary_role_s_grant_after_one_rolled_back_is_credited_with_its_own_object(
    engine_db, make_role, churn
):
    """The same, by a non-superuser owning what it grants on (capture runs as the engine's owner;
    the mark is the role's transaction's as well)."""
    ensure_roles(READER)
    owner = make_role(create_on_db=True)
    with connect_as(engine_db, owner) as conn:
        conn.execute(SCHEMA + "CREATE TABLE app.churn (n int);")
    engine_db.run("SELECT pggit.commit('schema')")
    with connect_as(engine_db, owner) as conn:
        kept = rolled_back_grant_then_grant(conn, churn, read_in_savepoint=False)
    assert grant_anchors(engine_db) == [
        (kept[0], ["table app.accounts"]),
        (kept[1], ["view app.emails"]),
    ]
    assert status(engine_db) == [
        ("privileges:table:app.accounts", "ADDED", kept[0], owner),
        ("privileges:view:app.emails", "ADDED", kept[1], owner),
    ]


@pytest.mark.parametrize("mode", list(MODES))
def test_a_row_of_the_transaction_touched_by_a_rolled_back_savepoint_is_not_credited_later(
    db, mode
):
    """A catalog row this transaction wrote and a rolled-back subtransaction then updated is
    visible again with a combo command id as its cmin and that subtransaction's xid as its xmax.
    A GRANT's own rows are the newest versions when its end-of-command trigger runs (its command
    id, no xmax), so such a row is an earlier statement's: credited to no later GRANT, whether
    the savepoint was rolled back before or after the previous GRANT. Status names each table's
    own CREATE."""
    for statement in MODES[mode]:
        db.run(statement)
    grants = [
        f"GRANT USAGE ON SCHEMA app TO {READER}",
        f"GRANT SELECT ON app.accounts TO {READER}",
        f"GRANT SELECT ON app.emails TO {READER}",
    ]
    creates = [
        f"CREATE TABLE app.{t} (a int)" for t in ("touched_after", "touched_before", "untouched")
    ]
    client = db.connect()
    with client.transaction():
        for create in creates:
            client.execute(create)
        client.execute("SAVEPOINT s")
        client.execute("ALTER TABLE app.touched_before ADD COLUMN b int")
        client.execute("ROLLBACK TO SAVEPOINT s")
        # (marks the end of the statements before, announced at commit too)
        client.execute(grants[0])
        client.execute("SAVEPOINT s")
        client.execute("ALTER TABLE app.touched_after ADD COLUMN b int")
        client.execute("ROLLBACK TO SAVEPOINT s")
        client.execute(grants[1])
        client.execute(grants[2])
    client.close()
    assert grant_anchors(db) == [
        (grants[0], ["schema app"]),
        (grants[1], ["table app.accounts"]),
        (grants[2], ["view app.emails"]),
    ]
    assert_changes(
        db,
        mode,
        [
            ("privileges:schema:app", "ADDED", grants[0], "postgres"),
            ("privileges:table:app.accounts", "ADDED", grants[1], "postgres"),
            ("privileges:view:app.emails", "ADDED", grants[2], "postgres"),
            ("table:app.touched_after", "ADDED", creates[0], "postgres"),
            ("table:app.touched_before", "ADDED", creates[1], "postgres"),
            ("table:app.untouched", "ADDED", creates[2], "postgres"),
        ],
    )


# Between two statements on privileges of one transaction, a savepoint rolled back after it
# updated a catalog row the first had written (an ALTER of the granted table, a GRANT on it, an
# ALTER DEFAULT PRIVILEGES of the same entry): the row is visible again with a combo command id and
# the undone subtransaction's xmax, and is not the second statement's.
TOUCHED_IN_A_SAVEPOINT = {
    "alter": (
        f"GRANT SELECT ON app.accounts TO {READER}",
        "ALTER TABLE app.accounts ADD COLUMN z int",
        f"GRANT SELECT ON app.emails TO {READER}",
        ["table app.accounts"],
        ["view app.emails"],
        ["privileges:table:app.accounts", "privileges:view:app.emails"],
    ),
    "grant": (
        f"GRANT SELECT ON app.accounts TO {READER}",
        f"GRANT INSERT ON app.accounts TO {WRITER}",
        f"GRANT SELECT ON app.emails TO {READER}",
        ["table app.accounts"],
        ["view app.emails"],
        ["privileges:table:app.accounts", "privileges:view:app.emails"],
    ),
    "default-privileges": (
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO {READER}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT INSERT ON TABLES TO {WRITER}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT EXECUTE ON FUNCTIONS TO {WRITER}",
        ["default privileges on new relations belonging to role postgres in schema app"],
        ["default privileges on new functions belonging to role postgres in schema app"],
        ["default_privileges:app.postgres.FUNCTIONS", "default_privileges:app.postgres.TABLES"],
    ),
}


def statement_anchors(db: EngineDB) -> list[tuple]:
    """grant_anchors() for the statements on privileges of each tag."""
    return db.rows(
        "SELECT coalesce(l.statement, q.query),"
        "       (SELECT array_agg(pg_describe_object((a->>0)::oid, (a->>1)::oid, 0) ORDER BY 1)"
        "          FROM jsonb_array_elements(l.anchors) a)"
        "  FROM pggit.ddl_log l LEFT JOIN pggit.ddl_queries q ON q.id = l.query_id"
        " WHERE l.command_tag IN ('GRANT', 'REVOKE', 'ALTER DEFAULT PRIVILEGES') ORDER BY l.id"
    )


@pytest.mark.parametrize("case", list(TOUCHED_IN_A_SAVEPOINT))
@pytest.mark.parametrize("mode", list(MODES))
def test_a_savepoint_rolled_back_between_two_grants_credits_nothing_to_the_second(db, mode, case):
    first, undone, second, first_anchors, second_anchors, keys = TOUCHED_IN_A_SAVEPOINT[case]
    for statement in MODES[mode]:
        db.run(statement)
    client = db.connect()
    with client.transaction():
        client.execute(first)
        client.execute("SAVEPOINT s")
        client.execute(undone)
        client.execute("ROLLBACK TO SAVEPOINT s")
        client.execute(second)
    client.close()
    assert statement_anchors(db) == [(first, first_anchors), (second, second_anchors)]
    made_by = {key: (first if key.endswith(("accounts", "TABLES")) else second) for key in keys}
    assert_changes(db, mode, [(key, "ADDED", made_by[key], "postgres") for key in keys])


# (not with auto_commit: the auto-commit of the first GRANT holds its branch row, and the CREATE
# of the other session waits for that transaction)
@pytest.mark.parametrize("mode", [m for m in MODES if m != "auto_commit"])
def test_another_session_s_open_alter_is_not_credited_to_a_grant(db, mode):
    """A table created by a transaction that began after this one's (its rows' xmin is newer than
    this transaction's xid), then altered by a third session still open: the version this
    transaction sees carries that session's xid as its xmax. It is not this transaction's, and
    neither GRANT here is credited with it."""
    for statement in MODES[mode]:
        db.run(statement)
    grants = [
        f"GRANT SELECT ON app.accounts TO {READER}",
        f"GRANT SELECT ON app.emails TO {READER}",
    ]
    create = "CREATE TABLE app.other (a int)"
    granting = db.connect()
    other = db.connect()
    altering = db.connect()
    try:
        granting.execute("BEGIN")
        granting.execute(grants[0])
        other.execute(create)
        altering.execute("BEGIN")
        altering.execute("ALTER TABLE app.other ADD COLUMN z int")
        granting.execute(grants[1])
        granting.execute("COMMIT")
        altering.execute("ROLLBACK")
    finally:
        for conn in (granting, other, altering):
            conn.close()
    assert grant_anchors(db) == [
        (grants[0], ["table app.accounts"]),
        (grants[1], ["view app.emails"]),
    ]
    assert status(db) == [
        ("privileges:table:app.accounts", "ADDED", grants[0], "postgres"),
        ("privileges:view:app.emails", "ADDED", grants[1], "postgres"),
        ("table:app.other", "ADDED", create, "postgres"),
    ]


def test_grants_on_untracked_objects_are_not_anchored(db):
    """What privileges_capture_anchors() finds written is kept only in tracked schemas and not for
    members of an extension: a table and a column of an excluded schema and an extension's
    function get no anchor, beside a table in the same transaction that does."""
    db.run("SELECT pggit.config_set('excluded_schemas', '[\"quiet\"]')")
    db.run("CREATE SCHEMA quiet; CREATE TABLE quiet.t (a int)")
    db.run("CREATE EXTENSION citext WITH SCHEMA app")
    db.run("SELECT pggit.commit('extension')")
    statements = [
        f"GRANT SELECT ON quiet.t TO {READER}",
        f"GRANT UPDATE (a) ON quiet.t TO {READER}",
        f"GRANT EXECUTE ON FUNCTION app.citext_eq(app.citext, app.citext) TO {READER}",
        f"GRANT SELECT (email) ON app.accounts TO {READER}",
    ]
    in_one_transaction(db, statements)
    anchored = db.rows(
        "SELECT coalesce(l.statement, q.query),"
        "       (SELECT array_agg(pg_describe_object((a->>0)::oid, (a->>1)::oid, 0))"
        "          FROM jsonb_array_elements(l.anchors) a)"
        "  FROM pggit.ddl_log l LEFT JOIN pggit.ddl_queries q ON q.id = l.query_id"
        " WHERE l.command_tag = 'GRANT' ORDER BY l.id"
    )
    assert anchored == [
        (statements[0], None),
        (statements[1], None),
        (statements[2], None),
        (statements[3], ["table app.accounts"]),
    ]
    assert status(db) == [
        ("privileges:table:app.accounts", "ADDED", statements[3], "postgres"),
    ]


GRANTS = f"""
GRANT SELECT, INSERT ON app.accounts TO {READER};
GRANT UPDATE (email) ON app.accounts TO {WRITER} WITH GRANT OPTION;
GRANT SELECT ON app.emails TO PUBLIC;
GRANT USAGE ON SEQUENCE app.tickets, app.accounts_id_seq TO {WRITER};
REVOKE EXECUTE ON FUNCTION app.add(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.add(integer, integer) TO {READER};
GRANT USAGE ON SCHEMA app TO {READER}, {WRITER};
REVOKE USAGE ON TYPE app.mood FROM PUBLIC;
GRANT USAGE ON DOMAIN app.email TO {WRITER};
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO {READER};
"""

ACLS = """
SELECT c.oid::regclass::text, c.relacl::text,
       (SELECT string_agg(a.attname || '=' || a.attacl::text, ' ' ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL)
  FROM pg_class c WHERE c.relnamespace = 'app'::regnamespace AND c.relkind IN ('r', 'v', 'S')
UNION ALL SELECT p.oid::regprocedure::text, p.proacl::text, NULL FROM pg_proc p
 WHERE p.pronamespace = 'app'::regnamespace
UNION ALL SELECT t.typname, t.typacl::text, NULL FROM pg_type t
 WHERE t.typnamespace = 'app'::regnamespace AND t.typtype IN ('e', 'd')
UNION ALL SELECT nspname, nspacl::text, NULL FROM pg_namespace WHERE nspname = 'app'
UNION ALL SELECT 'default ' || defaclobjtype::text, defaclacl::text, NULL FROM pg_default_acl
ORDER BY 1
"""


def privileges_of(db: EngineDB) -> dict:
    """Every ACL of the schema app as a set of (grantee, privilege, grantable) per object: the
    order of an ACL's items is the order grants were made in, which is not versioned."""
    return {
        name: (
            sorted(
                db.rows(
                    "SELECT grantee, privilege_type, is_grantable FROM aclexplode(%s::aclitem[])",
                    (acl,),
                )
            )
            if acl
            else None,
            columns,
        )
        for name, acl, columns in db.rows(ACLS)
    }


def test_checkout_and_diff_script_restore_privileges(db, engine_template):
    base = db.one("SELECT commit_hash FROM pggit.head()")
    root = db.one("SELECT hash FROM pggit.commits ORDER BY id LIMIT 1")
    db.run(GRANTS)
    granted = privileges_of(db)
    db.run("SELECT pggit.commit('grants')")
    main_tree = db.head_tree()

    # back to the commit without them: every grant is revoked, the defaults come back
    db.run("SELECT pggit.branch_create('plain', %s)", (base,))
    db.run("SELECT * FROM pggit.checkout('plain')")
    assert db.one("SELECT count(*) FROM pg_default_acl") == 0
    assert db.one("SELECT has_table_privilege(%s, 'app.accounts', 'SELECT')", (READER,)) is False
    assert (
        db.one("SELECT has_function_privilege('public', 'app.add(integer, integer)', 'EXECUTE')")
        is True
    )
    db.run("SELECT * FROM pggit.checkout('main')")
    assert db.live_tree_hash() == main_tree
    assert privileges_of(db) == granted

    # from nothing: objects created, then granted; default privileges last (no extra grants)
    db.run("SELECT pggit.branch_create('empty', %s)", (root,))
    db.run("SELECT * FROM pggit.checkout('empty')")
    db.run("SELECT * FROM pggit.checkout('main')")
    assert db.live_tree_hash() == main_tree
    assert privileges_of(db) == granted

    # diff_script, applied to a copy of the plain state, gives the same privileges
    script = db.one("SELECT pggit.diff_script('plain', 'main')")
    assert "CREATE " not in script
    with scratch_copy(engine_template) as copy:
        copy.run(SCHEMA)
        copy.run(script)
        assert privileges_of(copy) == granted
    script = db.one("SELECT pggit.diff_script('empty', 'main')")
    lines = script.splitlines()
    assert lines.index("REVOKE USAGE ON TYPE app.mood FROM PUBLIC;") > lines.index(
        "CREATE TYPE app.mood AS ENUM ('ok', 'not ok');"
    )
    assert [
        line for line in lines if line.startswith(("CREATE", "GRANT", "REVOKE", "ALTER DEFAULT"))
    ][-1].startswith("ALTER DEFAULT PRIVILEGES")
    with scratch_copy(engine_template) as copy:
        copy.run(script)
        assert privileges_of(copy) == granted
        copy.run("SELECT pggit.commit('applied')")
        assert copy.head_tree() == main_tree


def test_a_recreated_object_is_granted_again(db):
    db.run(f"GRANT SELECT ON app.emails TO {READER}")
    db.run("SELECT pggit.commit('grant on the view')")
    db.run("SELECT pggit.branch_create('reordered')")
    db.run("SELECT * FROM pggit.checkout('reordered')")
    # a view whose columns change order can only be dropped and re-created
    db.run("DROP VIEW app.emails")
    db.run("CREATE VIEW app.emails AS SELECT email, id FROM app.accounts")
    assert [r[:2] for r in status(db)] == [
        ("privileges:view:app.emails", "REMOVED"),
        ("view:app.emails", "MODIFIED"),
    ]
    db.run("SELECT pggit.commit('reordered view')")
    db.run("SELECT * FROM pggit.checkout('main')")
    assert db.one("SELECT has_table_privilege(%s, 'app.emails', 'SELECT')", (READER,)) is True
    plan = db.rows(
        "SELECT phase, object_key FROM pggit.migration_plan("
        "pggit.tree_entries((SELECT tree_hash FROM pggit.commits "
        "                     WHERE hash = pggit.resolve_ref('reordered'))),"
        "pggit.tree_entries((SELECT tree_hash FROM pggit.commits "
        "                     WHERE hash = pggit.resolve_ref('main'))))"
    )
    assert plan.index(("create", "privileges:view:app.emails")) > plan.index(
        ("create", "view:app.emails")
    )


def test_a_grant_to_a_role_that_no_longer_exists_refuses_the_checkout(db):
    gone = f"pggit_test_gone_{secrets.token_hex(4)}"
    ensure_roles(gone)
    db.run(sql.SQL("GRANT SELECT ON app.accounts TO {}").format(sql.Identifier(gone)))
    db.run("SELECT pggit.commit('grant to a role that will go')")
    db.run("SELECT pggit.branch_create('before', 'HEAD~1')")
    db.run("SELECT * FROM pggit.checkout('before')")
    with psycopg.connect(server_url(), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(gone)))
    with pytest.raises(psycopg.Error) as excinfo:
        db.run("SELECT * FROM pggit.checkout('main')")
    assert engine_error(excinfo) == "APPLY_FAILED"
    assert f'role "{gone}" does not exist' in str(excinfo.value)
    # nothing changed: the branch checked out before and its schema
    assert db.one("SELECT branch FROM pggit.head()") == "before"
    assert db.live_tree_hash() == db.branch_tree("before")
    assert db.one("SELECT has_table_privilege('public', 'app.accounts', 'SELECT')") is False


def test_default_privileges_do_not_grant_to_objects_a_checkout_creates(db):
    # the view predates the default privileges: it has no grants, and must get none when a
    # checkout creates it again while the default privileges exist
    db.run(f"ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO {READER}")
    db.run("SELECT pggit.commit('default privileges')")
    main_tree = db.head_tree()
    db.run("SELECT pggit.branch_create('noview')")
    db.run("SELECT * FROM pggit.checkout('noview')")
    db.run("DROP VIEW app.emails")
    db.run("SELECT pggit.commit('no view')")
    db.run("SELECT * FROM pggit.checkout('main')")
    assert db.live_tree_hash() == main_tree
    assert db.one("SELECT relacl FROM pg_class WHERE oid = 'app.emails'::regclass") is None
    assert db.one("SELECT count(*) FROM pg_default_acl") == 1
    steps = [
        (phase, key)
        for phase, key in db.rows(
            "SELECT phase, object_key FROM pggit.migration_plan("
            "pggit.tree_entries((SELECT tree_hash FROM pggit.commits "
            "                     WHERE hash = pggit.resolve_ref('noview'))), "
            "pggit.tree_entries(%s))",
            (main_tree,),
        )
    ]
    assert steps == [
        ("drop", "default_privileges:app.postgres.TABLES"),
        ("create", "view:app.emails"),
        ("create", "default_privileges:app.postgres.TABLES"),
    ]


def test_the_ddl_of_the_two_kinds(db):
    db.run("REVOKE EXECUTE ON FUNCTION app.add(integer, integer) FROM PUBLIC")
    db.run(f"GRANT EXECUTE ON FUNCTION app.add(integer, integer) TO {READER} WITH GRANT OPTION")
    db.run(f"ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT, UPDATE ON TABLES TO {WRITER}")
    key = "privileges:function:app.add(integer,integer)"
    meta = db.one("SELECT meta FROM pggit.live_objects() WHERE object_key = %s", (key,))
    assert meta == {
        "deps": ["function:app.add(integer,integer)"],
        "identity": "FUNCTION app.add(a integer, b integer)",
        "target_key": "function:app.add(integer,integer)",
        "grantees": ["PUBLIC", READER],
        "public_default": ["EXECUTE"],
    }
    assert db.one(
        "SELECT pggit.sql_create('privileges', definition, meta) FROM pggit.live_objects() "
        "WHERE object_key = %s",
        (key,),
    ) == [
        "REVOKE EXECUTE ON FUNCTION app.add(a integer, b integer) FROM PUBLIC;",
        f"GRANT EXECUTE ON FUNCTION app.add(a integer, b integer) TO {READER} WITH GRANT OPTION;",
    ]
    assert db.one("SELECT pggit.sql_drop('privileges', %s, %s)", (key, Jsonb(meta))) == [
        "REVOKE ALL ON FUNCTION app.add(a integer, b integer) FROM PUBLIC CASCADE;",
        f"REVOKE ALL ON FUNCTION app.add(a integer, b integer) FROM {READER} CASCADE;",
        "GRANT EXECUTE ON FUNCTION app.add(a integer, b integer) TO PUBLIC;",
    ]
    default_key = "default_privileges:app.postgres.TABLES"
    row = db.rows(
        "SELECT definition, meta, pggit.sql_drop(kind, object_key, meta), "
        "pggit.sql_alter(kind, definition, meta, definition || 'x', meta) "
        "FROM pggit.live_objects() WHERE object_key = %s",
        (default_key,),
    )
    assert row == [
        (
            "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA app GRANT SELECT, UPDATE ON "
            f"TABLES TO {WRITER};",
            {
                "deps": ["schema:app"],
                "identity": "FOR ROLE postgres IN SCHEMA app",
                "on": "TABLES",
                "grantees": [WRITER],
            },
            [
                "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA app REVOKE ALL ON TABLES "
                f"FROM {WRITER} CASCADE;"
            ],
            None,  # dropped and created again (last)
        )
    ]
    # applied, the drop statements bring back the default
    for statement in db.one("SELECT pggit.sql_drop('privileges', %s, %s)", (key, Jsonb(meta))):
        db.run(statement)
    assert db.one("SELECT count(*) FROM pggit.live_objects() WHERE object_key = %s", (key,)) == 0
    with pytest.raises(psycopg.Error) as excinfo:
        db.run("SELECT pggit.sql_drop('privileges', %s, '{}')", (key,))
    assert engine_error(excinfo) == "INVALID_ARGUMENT"


def assert_drop_owned_captured_once(db, statement, role, captured):
    """One audit row, the DROP OWNED's, by role, naming every captured change; no capture error;
    a rescan finds nothing more and status is what capture recorded."""
    assert db.rows(
        "SELECT coalesce(l.statement, q.query), l.role_name,"
        "       (SELECT array_agg(o->>'key' ORDER BY o->>'key' COLLATE \"C\")"
        "          FROM jsonb_array_elements(l.objects) o)"
        "  FROM pggit.ddl_log l LEFT JOIN pggit.ddl_queries q ON q.id = l.query_id"
        " WHERE l.command_tag = 'DROP OWNED'"
    ) == [(statement, role, [row[0] for row in captured])]
    assert db.rows("SELECT sqlstate, message FROM pggit.capture_errors") == []
    assert db.one("SELECT pggit.rescan()") == 0
    assert status(db) == captured


def test_drop_owned_by_is_captured_as_the_drops_and_revokes_it_makes(db, make_role):
    """DROP OWNED BY drops the role's objects and revokes what was granted to it, on every kind and
    in default privileges (an entry that keeps other grantees changes, one left empty goes). The
    event trigger names only the dropped objects and some object types: every change is captured
    at once, on the statement's audit row, and a rescan finds nothing more. Run by a superuser and
    by the role itself."""
    role = make_role(create_on_db=True)
    name = sql.Identifier(role)
    db.run(
        sql.SQL(
            "GRANT USAGE, CREATE ON SCHEMA app TO {r};"
            "GRANT SELECT, UPDATE (email) ON app.accounts TO {r};"
            "GRANT USAGE ON SEQUENCE app.tickets TO {r};"
            "GRANT EXECUTE ON FUNCTION app.add(integer, integer) TO {r};"
            "REVOKE EXECUTE ON FUNCTION app.add(integer, integer) FROM PUBLIC;"
            "GRANT USAGE ON TYPE app.mood TO {r};"
            "GRANT USAGE ON DOMAIN app.email TO {r} WITH GRANT OPTION;"
            "ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO {r}, {reader};"
            "ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT EXECUTE ON FUNCTIONS TO {r};"
        ).format(r=name, reader=sql.Identifier(READER))
    )
    with connect_as(db, role) as conn:
        conn.execute(
            "CREATE TABLE app.owned (a int);"
            "CREATE VIEW app.owned_view AS SELECT a FROM app.owned;"
            "CREATE FUNCTION app.owned_f() RETURNS int LANGUAGE sql AS 'SELECT 1';"
            f"GRANT SELECT ON app.owned TO {READER};"
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO {READER};"
        )
    db.run("SELECT pggit.commit('the role, its objects and its grants')")
    statement = f"DROP OWNED BY {role}"
    db.connect().execute(statement)
    actor = "postgres"
    captured = status(db)
    assert captured == [
        (f"default_privileges:app.{role}.TABLES", "REMOVED", statement, actor),
        ("default_privileges:app.postgres.FUNCTIONS", "REMOVED", statement, actor),
        ("default_privileges:app.postgres.TABLES", "MODIFIED", statement, actor),
        ("function:app.owned_f()", "REMOVED", statement, actor),
        ("privileges:domain:app.email", "REMOVED", statement, actor),
        ("privileges:function:app.add(integer,integer)", "MODIFIED", statement, actor),
        ("privileges:schema:app", "REMOVED", statement, actor),
        ("privileges:sequence:app.tickets", "REMOVED", statement, actor),
        ("privileges:table:app.accounts", "REMOVED", statement, actor),
        ("privileges:table:app.owned", "REMOVED", statement, actor),
        ("privileges:type:app.mood", "REMOVED", statement, actor),
        ("table:app.owned", "REMOVED", statement, actor),
        ("view:app.owned_view", "REMOVED", statement, actor),
    ]
    assert definition(db, "default_privileges:app.postgres.TABLES") == (
        f"ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA app GRANT SELECT ON TABLES TO "
        f"{READER};"
    )
    assert definition(db, "privileges:function:app.add(integer,integer)") == (
        "REVOKE EXECUTE ON FUNCTION app.add(a integer, b integer) FROM PUBLIC;"
    )
    # one audit row, the statement's, with every change
    assert_drop_owned_captured_once(db, statement, actor, captured)


def test_drop_owned_by_run_by_an_ordinary_role_is_captured(db, make_role):
    """The same by an ordinary login role that is a member of the role (PostgreSQL lets it revoke
    only the grants it made): the role's objects, its default privileges and the grant made to it
    on the member's own table are taken, each change on the statement's audit row."""
    role = make_role(create_on_db=True)
    keeper = make_role(role, create_on_db=True)
    db.run(sql.SQL("GRANT USAGE, CREATE ON SCHEMA app TO {}").format(sql.Identifier(role)))
    db.run(sql.SQL("GRANT USAGE, CREATE ON SCHEMA app TO {}").format(sql.Identifier(keeper)))
    with connect_as(db, role) as conn:
        conn.execute(
            "CREATE TABLE app.owned (a int);"
            f"GRANT SELECT ON app.owned TO {READER};"
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO {READER};"
        )
    with connect_as(db, keeper) as conn:
        conn.execute(
            "CREATE TABLE app.kept (a int);"
            + sql.SQL("GRANT SELECT, UPDATE (a) ON app.kept TO {}, {};")
            .format(sql.Identifier(role), sql.Identifier(READER))
            .as_string(conn)
        )
    db.run("SELECT pggit.commit('two roles, their objects and grants')")
    statement = f"DROP OWNED BY {role}"
    with connect_as(db, keeper) as conn:
        conn.execute(statement)
    captured = status(db)
    assert captured == [
        (f"default_privileges:app.{role}.TABLES", "REMOVED", statement, keeper),
        ("privileges:table:app.kept", "MODIFIED", statement, keeper),
        ("privileges:table:app.owned", "REMOVED", statement, keeper),
        ("table:app.owned", "REMOVED", statement, keeper),
    ]
    assert definition(db, "privileges:table:app.kept") == (
        f"GRANT SELECT ON TABLE app.kept TO {READER};\n"
        f"GRANT UPDATE (a) ON TABLE app.kept TO {READER};"
    )
    assert_drop_owned_captured_once(db, statement, keeper, captured)


def acl_of_t(db: EngineDB) -> tuple:
    """app.t's owner, its ACL as a set of (grantee, privilege, grantable) and its column a's."""
    owner, acl, column_acl = db.rows(
        "SELECT c.relowner::regrole::text, c.relacl::text, a.attacl::text FROM pg_class c "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'a' "
        "WHERE c.oid = 'app.t'::regclass"
    )[0]

    def items(text: str | None) -> list | None:
        if text is None:
            return None
        return sorted(
            db.rows(
                "SELECT grantee::regrole::text, privilege_type, is_grantable "
                "FROM aclexplode(%s::aclitem[])",
                (text,),
            )
        )

    return owner, items(acl), items(column_acl)


@pytest.mark.parametrize("proof", ["full", "touched"])
@pytest.mark.parametrize("applier", ["superuser", "operator"])
def test_a_grant_to_the_role_applying_a_checkout_on_what_it_creates_round_trips(
    engine_db, make_role, applier, proof
):
    """The tree grants to the role running checkout on a table another role owns. A checkout that
    creates the table makes that role its owner, and its grants to it are then part of its
    ownership: PostgreSQL keeps no ACL item for them, and the read lost them (APPLY_VERIFY_FAILED,
    ADDED privileges:table:app.t). The apply remembers them: the checkout succeeds, the live
    schema reads as the tree (status and rescan find nothing), and a checkout that drops them
    leaves the owner its own privileges."""
    db = engine_db
    ensure_roles(READER)
    root = db.one("SELECT commit_hash FROM pggit.head()")
    owner = make_role(create_on_db=True)
    if applier == "operator":
        me = make_role("pggit_operator", owner, create_on_db=True)
        conn = connect_as(db, me)
    else:
        me = "postgres"
        conn = db.connect()
    conn.execute("SELECT set_config('pggit.apply_proof', %s, false)", (proof,))
    # an owner's privileges on its table (PostgreSQL 17 added MAINTAIN)
    owners = [
        row[0]
        for row in db.rows("SELECT privilege_type FROM aclexplode(acldefault('r', 10)) ORDER BY 1")
    ]
    with connect_as(db, owner) as own:
        own.execute("CREATE SCHEMA app; CREATE TABLE app.t (a int, b int)")
    base = db.one("SELECT pggit.commit('the owner''s table')")
    # (lines sorted by grantee, then the column's)
    table_lines = sorted(
        [
            f"GRANT SELECT ON TABLE app.t TO {READER};",
            f"GRANT INSERT, SELECT ON TABLE app.t TO {me};",
        ],
        key=lambda line: line.rsplit(" ", 1)[1],
    )
    granted = "\n".join(
        [*table_lines, f"GRANT UPDATE (a) ON TABLE app.t TO {me} WITH GRANT OPTION;"]
    )
    with connect_as(db, owner) as own:
        own.execute(f"GRANT SELECT ON app.t TO {READER}; GRANT SELECT, INSERT ON app.t TO {me}")
        own.execute(f"GRANT UPDATE (a) ON app.t TO {me} WITH GRANT OPTION")
    assert definition(db, "privileges:table:app.t") == granted
    db.run("SELECT pggit.commit('grants')")
    main_tree = db.head_tree()
    db.run("SELECT pggit.branch_create('empty', %s)", (root,))
    db.run("SELECT pggit.branch_create('plain', %s)", (base,))
    with conn:
        conn.execute("SELECT * FROM pggit.checkout('empty')")
        conn.execute("SELECT * FROM pggit.checkout('main')")
        assert acl_of_t(db) == (
            me,
            sorted([(me, p, False) for p in owners] + [(READER, "SELECT", False)]),
            [(me, "UPDATE", True)],
        )
        assert definition(db, "privileges:table:app.t") == granted
        assert db.live_tree_hash() == main_tree
        assert db.one("SELECT clean FROM pggit.head()") is True
        assert db.one("SELECT pggit.rescan()") == 0
        assert db.rows("SELECT * FROM pggit.diff('HEAD', 'WORKING')") == []
        # the table stays; the grants to its owner go, and the owner keeps its privileges
        statements = conn.execute("SELECT statements FROM pggit.checkout('plain')").fetchone()[0]
        # (the REVOKE from the owner gives it back its own privileges)
        assert statements == sorted(
            [
                f"REVOKE ALL ON TABLE app.t FROM {me} CASCADE; GRANT ALL ON TABLE app.t TO {me};",
                f"REVOKE ALL ON TABLE app.t FROM {READER} CASCADE;",
            ],
            key=lambda statement: statement.split(" ")[6],
        )
        assert acl_of_t(db) == (me, [(me, p, False) for p in owners], None)
        assert definition(db, "privileges:table:app.t") is None
        assert db.live_tree_hash() == db.branch_tree("plain")
        conn.execute("SELECT * FROM pggit.checkout('main')")
        assert definition(db, "privileges:table:app.t") == granted
        assert db.live_tree_hash() == main_tree
        assert db.one("SELECT pggit.rescan()") == 0
    # the object's owner changes: its grants to the former owner are gone with that ownership
    db.run(sql.SQL("ALTER TABLE app.t OWNER TO {}").format(sql.Identifier(owner)))
    assert definition(db, "privileges:table:app.t") == f"GRANT SELECT ON TABLE app.t TO {READER};"
    assert [row[:2] for row in status(db)] == [("privileges:table:app.t", "MODIFIED")]
    assert db.one("SELECT pggit.rescan()") == 0


def test_a_grant_to_the_applying_role_does_not_hide_a_real_difference(engine_db):
    """Default privileges for all schemas (not tracked) grant to the table a checkout creates: the
    live schema is not the tree, and the checkout is refused whatever the grants to the applying
    role."""
    db = engine_db
    ensure_roles(READER, WRITER)
    root = db.one("SELECT commit_hash FROM pggit.head()")
    db.run("CREATE SCHEMA app; CREATE TABLE app.t (a int)")
    db.run(sql.SQL("ALTER TABLE app.t OWNER TO {}").format(sql.Identifier(WRITER)))
    db.run(f"GRANT SELECT ON app.t TO postgres, {READER}")
    db.run("SELECT pggit.commit('grants')")
    db.run("SELECT pggit.branch_create('empty', %s)", (root,))
    db.run("SELECT * FROM pggit.checkout('empty')")
    db.run(f"ALTER DEFAULT PRIVILEGES GRANT INSERT ON TABLES TO {WRITER}")
    with pytest.raises(psycopg.Error) as excinfo:
        db.run("SELECT * FROM pggit.checkout('main')")
    assert engine_error(excinfo) == "APPLY_VERIFY_FAILED"
    assert excinfo.value.diag.message_primary == (
        "[PGGIT-APPLY_VERIFY_FAILED] checkout left the schema different from its target "
        "(MODIFIED privileges:table:app.t); nothing was changed"
    )
    assert db.one("SELECT branch FROM pggit.head()") == "empty"
    assert db.one("SELECT to_regclass('app.t')") is None
    assert db.one("SELECT count(*) FROM pggit.owner_grants") == 0
    db.run(f"ALTER DEFAULT PRIVILEGES REVOKE INSERT ON TABLES FROM {WRITER}")
    db.run("SELECT * FROM pggit.checkout('main')")
    assert definition(db, "privileges:table:app.t") == (
        f"GRANT SELECT ON TABLE app.t TO {READER};\nGRANT SELECT ON TABLE app.t TO postgres;"
    )


OWNED_TABLE_LINES = (
    f"GRANT SELECT ON TABLE app.t TO {READER};\nGRANT INSERT, SELECT ON TABLE app.t TO postgres;"
)
OWNED_GRANTS = (
    OWNED_TABLE_LINES + "\nGRANT UPDATE (a) ON TABLE app.t TO postgres WITH GRANT OPTION;"
)


def check_out_owned_grants(db: EngineDB, make_role) -> str:
    """main: app.t (a, b) owned by another role, granting SELECT to the reader, SELECT and INSERT
    to postgres and UPDATE (a) to postgres with grant option; the branch 'empty' is the root.
    Ends checked out on main by postgres, through an empty schema: postgres owns app.t, and the
    apply remembered its grants to postgres. Returns the other role."""
    ensure_roles(READER)
    root = db.one("SELECT commit_hash FROM pggit.head()")
    owner = make_role(create_on_db=True)
    with connect_as(db, owner) as own:
        own.execute("CREATE SCHEMA app; CREATE TABLE app.t (a int, b int)")
        own.execute(f"GRANT SELECT ON app.t TO {READER}; GRANT SELECT, INSERT ON app.t TO postgres")
        own.execute("GRANT UPDATE (a) ON app.t TO postgres WITH GRANT OPTION")
    db.run("SELECT pggit.commit('grants')")
    db.run("SELECT pggit.branch_create('empty', %s)", (root,))
    db.run("SELECT * FROM pggit.checkout('empty')")
    db.run("SELECT * FROM pggit.checkout('main')")
    assert db.one("SELECT relowner::regrole::text FROM pg_class WHERE oid = 'app.t'::regclass") == (
        "postgres"
    )
    assert definition(db, "privileges:table:app.t") == OWNED_GRANTS
    return owner


@pytest.mark.parametrize(
    "change", ["ALTER TABLE app.t DROP COLUMN a", "ALTER TABLE app.t RENAME COLUMN a TO c"]
)
def test_a_remembered_grant_on_a_column_goes_with_the_column(engine_db, make_role, change):
    """A grant to the owner on a column, remembered by the apply, is read only while that column
    is there with that name: it was read after the column was dropped or renamed, and the commit
    of that state could not be checked out (APPLY_FAILED, column "a" does not exist)."""
    db = engine_db
    check_out_owned_grants(db, make_role)
    db.run(change)
    assert definition(db, "privileges:table:app.t") == OWNED_TABLE_LINES
    assert db.one("SELECT pggit.rescan()") == 0
    db.run("SELECT pggit.commit('the column changed')")
    db.run("SELECT pggit.branch_create('changed', (SELECT commit_hash FROM pggit.head()))")
    tree = db.branch_tree("changed")
    db.run("SELECT * FROM pggit.checkout('empty')")
    db.run("SELECT * FROM pggit.checkout('changed')")
    assert definition(db, "privileges:table:app.t") == OWNED_TABLE_LINES
    assert db.live_tree_hash() == tree
    assert db.one("SELECT pggit.rescan()") == 0


def test_a_remembered_column_grant_held_in_the_columns_acl_is_read(engine_db, make_role):
    """The owner holds a remembered column privilege in the column's ACL only (not the table's):
    PostgreSQL grants it, and the read keeps the grant (it was lost: status MODIFIED)."""
    db = engine_db
    check_out_owned_grants(db, make_role)
    db.run("REVOKE ALL ON app.t FROM postgres")
    db.run("GRANT INSERT, SELECT ON app.t TO postgres")
    db.run("GRANT UPDATE (a) ON app.t TO postgres WITH GRANT OPTION")
    assert db.rows(
        "SELECT c.relacl::text, a.attacl::text FROM pg_class c JOIN pg_attribute a "
        "ON a.attrelid = c.oid AND a.attname = 'a' WHERE c.oid = 'app.t'::regclass"
    ) == [(f"{{{READER}=r/postgres,postgres=ar/postgres}}", "{postgres=w*/postgres}")]
    assert definition(db, "privileges:table:app.t") == OWNED_GRANTS
    assert status(db) == []
    assert db.one("SELECT pggit.rescan()") == 0


def test_a_remembered_grant_is_read_only_as_a_privilege_the_owner_holds(engine_db):
    """pggit.owner_grants holds only privilege keywords (a row carrying SQL is refused), and a row
    is read only for a privilege the owner holds (its ACL, or its kind's default when it has none)
    and a column that is there: nothing else reaches the definition."""
    db = engine_db
    db.run("CREATE SCHEMA app; CREATE TABLE app.t1 (a int)")

    def remember(objsubid: int, column: str | None, owner: str, privilege: str) -> None:
        db.run(
            "INSERT INTO pggit.owner_grants (classid, objid, objsubid, column_name, owner, "
            "privilege, grantable) VALUES ('pg_class'::regclass, 'app.t1'::regclass, %s, %s, "
            "%s::regrole, %s, false)",
            (objsubid, column, owner, privilege),
        )

    injected = "SELECT ON TABLE app.t1 TO postgres; ALTER ROLE x SUPERUSER; GRANT SELECT"
    with pytest.raises(psycopg.errors.CheckViolation):
        remember(0, None, "postgres", injected)
    # (a privilege no column has)
    with pytest.raises(psycopg.errors.CheckViolation):
        remember(1, "a", "postgres", "DELETE")
    # a privilege no table has, a column that is not there, one of another name, another owner
    remember(0, None, "postgres", "USAGE")
    remember(5, "a", "postgres", "SELECT")
    remember(1, "b", "postgres", "SELECT")
    remember(0, None, READER, "SELECT")
    assert definition(db, "privileges:table:app.t1") is None
    remember(1, "a", "postgres", "SELECT")
    assert definition(db, "privileges:table:app.t1") == (
        "GRANT SELECT (a) ON TABLE app.t1 TO postgres;"
    )
    # (the owner's own ACL items are left out of an entry: the grant was all it showed)
    db.run("REVOKE SELECT ON app.t1 FROM postgres")
    assert definition(db, "privileges:table:app.t1") is None


def test_remembered_grants_follow_their_object_through_a_rename(engine_db, make_role):
    """The grants are remembered by the object's identity: a renamed table keeps them (they were
    lost from its entry), under its new name; a table of the same name created after the drop
    has none of them."""
    db = engine_db
    check_out_owned_grants(db, make_role)
    db.run("ALTER TABLE app.t RENAME TO u")
    assert definition(db, "privileges:table:app.u") == OWNED_GRANTS.replace("app.t ", "app.u ")
    assert db.one("SELECT pggit.rescan()") == 0
    db.run("DROP TABLE app.u; CREATE TABLE app.t (a int, b int)")
    assert definition(db, "privileges:table:app.t") is None
    assert db.one("SELECT pggit.rescan()") == 0
