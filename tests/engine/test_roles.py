"""DDL by ordinary roles, and the roles pggit_reader and pggit_operator (docs/security.md,
"Database roles"): each test connects as real non-superuser login roles."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors, sql

from tests.engine.enginedb import EngineDB, connect_as


def test_an_ordinary_role_runs_ddl_and_it_is_captured_with_that_role_as_actor(
    engine_db: EngineDB, make_role
):
    db = engine_db
    app = make_role(create_on_db=True)
    deployer = make_role()
    db.run(sql.SQL("GRANT {} TO {}").format(sql.Identifier(deployer), sql.Identifier(app)))
    # PostgreSQL 15 no longer lets PUBLIC create in schema public
    db.run(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(app)))
    with connect_as(db, app) as conn:
        assert (
            conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
            is False
        )
        conn.execute("CREATE SCHEMA shop")
        conn.execute("CREATE TABLE shop.orders (id int PRIMARY KEY)")
        conn.execute("CREATE TEMP TABLE scratch (id int)")  # untracked, and must not fail
        conn.execute("CREATE TABLE public.notes (id int)")
        conn.execute(
            sql.SQL("GRANT CREATE, USAGE ON SCHEMA shop TO {}").format(sql.Identifier(deployer))
        )
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(deployer)))
        conn.execute("CREATE TABLE shop.items (id int)")
        conn.execute("RESET ROLE")
        conn.execute("SET pggit.actor = 'alice'")
        conn.execute("ALTER TABLE shop.orders ADD COLUMN note text")
        # the ordinary role cannot read pggit itself
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM pggit.status()")
    assert db.rows("SELECT sqlstate, message FROM pggit.capture_errors") == []
    audit = db.rows(
        "SELECT command_tag, role_name, session_role, actor FROM pggit.ddl_log "
        "WHERE engine_operation IS NULL AND session_role <> 'postgres' ORDER BY id"
    )
    # the temporary table is not audited (its schema is pg_temp)
    assert audit == [
        ("CREATE SCHEMA", app, app, app),
        ("CREATE TABLE", app, app, app),
        ("CREATE TABLE", app, app, app),
        ("GRANT", app, app, app),
        ("CREATE TABLE", deployer, app, deployer),
        ("ALTER TABLE", app, app, "alice"),
    ]
    events = db.rows(
        "SELECT data->>'role', actor FROM pggit.events WHERE type = 'ddl.captured' "
        "AND data->>'role' <> 'postgres' ORDER BY id"
    )
    assert events[0] == (app, app) and events[4] == (deployer, deployer)
    status = db.rows(
        'SELECT object_key, change_type, actor FROM pggit.status() ORDER BY object_key COLLATE "C"'
    )
    assert status == [
        ("constraint:shop.orders.orders_pkey", "ADDED", "alice"),  # its table's last change
        # privileges are versioned: the superuser's GRANT CREATE on public, the app's on shop
        ("privileges:schema:public", "ADDED", "postgres"),
        ("privileges:schema:shop", "ADDED", app),
        ("schema:shop", "ADDED", app),
        ("table:public.notes", "ADDED", app),
        ("table:shop.items", "ADDED", deployer),
        ("table:shop.orders", "ADDED", "alice"),
    ]


def test_a_reader_reads_but_may_not_commit_and_an_operator_commits_and_checks_out(
    engine_db: EngineDB, make_role
):
    db = engine_db
    root = db.one("SELECT commit_hash FROM pggit.head()")
    reader = make_role("pggit_reader")
    operator = make_role("pggit_operator", create_on_db=True)
    with connect_as(db, operator) as op:
        op.execute("CREATE SCHEMA shop")
        op.execute(
            "CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric CHECK (total >= 0))"
        )
        op.execute("CREATE VIEW shop.big AS SELECT id FROM shop.orders WHERE total > 100")
    with connect_as(db, reader) as rd:
        assert sorted(r[0] for r in rd.execute("SELECT object_key FROM pggit.status()")) == [
            "constraint:shop.orders.orders_pkey",
            "constraint:shop.orders.orders_total_check",
            "schema:shop",
            "table:shop.orders",
            "view:shop.big",
        ]
        assert rd.execute("SELECT count(*) FROM pggit.log()").fetchone()[0] == 1
        assert rd.execute("SELECT hash FROM pggit.show()").fetchone()[0] == root
        with pytest.raises(errors.InsufficientPrivilege) as denied:
            rd.execute("SELECT pggit.commit('not allowed')")
        assert denied.value.sqlstate == "42501"
        assert "pggit.commit" in str(denied.value) or "function commit" in str(denied.value)
        for call in (
            "SELECT pggit.branch_create('x')",
            "SELECT * FROM pggit.checkout('main')",
            "SELECT pggit.config_set('auto_commit', 'true')",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                rd.execute(call)
        # nor write the engine's tables directly
        with pytest.raises(errors.InsufficientPrivilege):
            rd.execute("DELETE FROM pggit.working")
    with connect_as(db, operator) as op:
        commit = op.execute("SELECT pggit.commit('shop schema')").fetchone()[0]
        assert op.execute("SELECT author FROM pggit.show()").fetchone()[0] == operator
        op.execute("SELECT pggit.branch_create('empty', %s)", (root,))
        op.execute("SELECT * FROM pggit.checkout('empty')")
        assert op.execute("SELECT to_regclass('shop.orders')").fetchone()[0] is None
        op.execute("SELECT * FROM pggit.checkout('main')")
        assert op.execute("SELECT to_regclass('shop.orders')::text").fetchone()[0] == "shop.orders"
        with pytest.raises(errors.InsufficientPrivilege):
            op.execute("SELECT pggit.config_set('auto_commit', 'true')")
    with connect_as(db, reader) as rd:
        assert rd.execute("SELECT commit_hash, clean FROM pggit.head()").fetchone() == (
            commit,
            True,
        )
        diff = rd.execute(
            "SELECT object_key, change FROM pggit.diff('empty', 'main') ORDER BY 1"
        ).fetchall()
        assert ("table:shop.orders", "ADDED") in diff and len(diff) == 5
        assert (
            "CREATE TABLE shop.orders"
            in rd.execute("SELECT pggit.diff_script('empty', 'main')").fetchone()[0]
        )
    assert db.rows("SELECT sqlstate, message FROM pggit.capture_errors") == []


def test_merge_and_rollback_are_an_operators_and_run_as_one(engine_db: EngineDB, make_role):
    db = engine_db
    reader = make_role("pggit_reader")
    operator = make_role("pggit_operator", create_on_db=True)
    with connect_as(db, operator) as op:
        op.execute("CREATE SCHEMA shop")
        op.execute("CREATE TABLE shop.items (id int PRIMARY KEY)")
        base = op.execute("SELECT pggit.commit('items')").fetchone()[0]
        op.execute("SELECT pggit.branch_create('feature')")
        op.execute("SELECT * FROM pggit.checkout('feature')")
        op.execute("ALTER TABLE shop.items ADD COLUMN name text")
        op.execute("SELECT pggit.commit('items.name')")
        op.execute("SELECT * FROM pggit.checkout('main')")
    with connect_as(db, reader) as rd:
        for call in (
            "SELECT * FROM pggit.merge('feature', 'main')",
            f"SELECT * FROM pggit.revert('{base}')",
            f"SELECT * FROM pggit.reset('main', '{base}')",
            f"SELECT * FROM pggit.undo(ARRAY['table:shop.items'], '{base}')",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                rd.execute(call)
    with connect_as(db, operator) as op:
        merged = op.execute("SELECT status, result_commit FROM pggit.merge('feature', 'main')")
        assert merged.fetchone()[0] == "fast_forward"
        columns = (
            "SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute"
            " WHERE attrelid = 'shop.items'::regclass AND attnum > 0 AND NOT attisdropped"
        )
        assert op.execute(columns).fetchone()[0] == ["id", "name"]
        merge_head = op.execute("SELECT commit_hash FROM pggit.head()").fetchone()[0]
        status, commit, script, _ = op.execute(
            "SELECT * FROM pggit.revert(%s, p_dry_run => false)", (merge_head,)
        ).fetchone()
        assert status == "completed" and "DROP COLUMN name" in script
        assert op.execute(columns).fetchone()[0] == ["id"]
        assert op.execute("SELECT author FROM pggit.show()").fetchone()[0] == operator
        assert op.execute("SELECT commit_hash FROM pggit.head()").fetchone()[0] == commit
    assert db.rows("SELECT sqlstate, message FROM pggit.capture_errors") == []


def test_an_ordinary_roles_grants_are_captured_and_an_operator_checks_them_out(
    engine_db: EngineDB, make_role
):
    db = engine_db
    root = db.one("SELECT commit_hash FROM pggit.head()")
    viewer = make_role()
    operator = make_role("pggit_operator", create_on_db=True)
    with connect_as(db, operator) as conn:
        conn.execute("CREATE SCHEMA shop")
        conn.execute("CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric, note text)")
        conn.execute("SELECT pggit.commit('shop')")
        for grant in (
            sql.SQL("GRANT USAGE ON SCHEMA shop TO {}"),
            sql.SQL("GRANT SELECT ON shop.orders TO {} WITH GRANT OPTION"),
            sql.SQL("GRANT UPDATE (note) ON shop.orders TO {}"),
            sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA shop GRANT SELECT ON TABLES TO {}"),
        ):
            conn.execute(grant.format(sql.Identifier(viewer)))
    assert db.rows("SELECT sqlstate, message FROM pggit.capture_errors") == []
    status = db.rows(
        'SELECT object_key, change_type, actor FROM pggit.status() ORDER BY object_key COLLATE "C"'
    )
    assert status == [
        (f"default_privileges:shop.{operator}.TABLES", "ADDED", operator),
        ("privileges:schema:shop", "ADDED", operator),
        ("privileges:table:shop.orders", "ADDED", operator),
    ]
    assert db.one(
        "SELECT definition FROM pggit.live_objects() "
        "WHERE object_key = 'privileges:table:shop.orders'"
    ) == (
        f"GRANT SELECT ON TABLE shop.orders TO {viewer} WITH GRANT OPTION;\n"
        f"GRANT UPDATE (note) ON TABLE shop.orders TO {viewer};"
    )
    can_read = sql.SQL("SELECT has_table_privilege({}, 'shop.orders', 'SELECT WITH GRANT OPTION')")
    can_update = sql.SQL("SELECT has_column_privilege({}, 'shop.orders', 'note', 'UPDATE')")
    with connect_as(db, operator) as op:
        op.execute("SELECT pggit.commit('privileges')")
        op.execute("SELECT pggit.branch_create('empty', %s)", (root,))
        op.execute("SELECT * FROM pggit.checkout('empty')")
        assert op.execute("SELECT count(*) FROM pg_default_acl").fetchone()[0] == 0
        op.execute("SELECT * FROM pggit.checkout('main')")
        assert op.execute(can_read.format(sql.Literal(viewer))).fetchone()[0] is True
        assert op.execute(can_update.format(sql.Literal(viewer))).fetchone()[0] is True
        assert op.execute("SELECT clean FROM pggit.head()").fetchone()[0] is True
    assert db.one("SELECT count(*) FROM pg_default_acl") == 1


def test_an_operator_that_may_not_read_a_table_a_checkout_drops_is_told_what_to_grant(
    engine_db: EngineDB, make_role
):
    db = engine_db
    root = db.one("SELECT commit_hash FROM pggit.head()")
    keeper = make_role(create_on_db=True)  # owns schema vault; grants nothing to anyone
    operator = make_role("pggit_operator", create_on_db=True)
    with connect_as(db, keeper) as conn:
        conn.execute("CREATE SCHEMA vault")
        conn.execute("CREATE TABLE vault.secrets (id int PRIMARY KEY, token text)")
        conn.execute("INSERT INTO vault.secrets VALUES (1, 'kept')")
    db.run("SELECT pggit.commit('vault')")
    db.run(sql.SQL("SELECT pggit.branch_create('empty', {})").format(sql.Literal(root)))
    head = db.one("SELECT commit_hash FROM pggit.head()")

    def refused(call: str) -> errors.InsufficientPrivilege:
        with connect_as(db, operator) as op, pytest.raises(errors.InsufficientPrivilege) as denied:
            op.execute(call)
        # nothing changed: HEAD, the table and its row
        assert db.one("SELECT commit_hash FROM pggit.head()") == head
        assert db.one("SELECT count(*) FROM vault.secrets") == 1
        return denied.value

    for call in (
        "SELECT * FROM pggit.checkout('empty')",
        "SELECT * FROM pggit.checkout('empty', p_force => true)",
        f"SELECT * FROM pggit.revert('{head}', p_dry_run => false)",
    ):
        denied = refused(call)
        assert denied.diag.message_primary == (
            f"[PGGIT-PERMISSION_DENIED] role {operator} may not read vault.secrets, which this "
            f"operation would drop or change: it lacks USAGE on schema vault to check the data "
            f"that would be lost; nothing was changed"
        )
        assert denied.diag.message_hint == (
            f"GRANT USAGE ON SCHEMA vault TO {operator}; GRANT SELECT ON vault.secrets TO "
            f"{operator} (dropping or altering vault.secrets also needs its ownership: or run the "
            f"operation as its owner)"
        )
    with connect_as(db, keeper) as conn:
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA vault TO {}").format(sql.Identifier(operator)))
    denied = refused("SELECT * FROM pggit.checkout('empty')")
    assert "it lacks SELECT on vault.secrets" in denied.diag.message_primary
    assert denied.diag.message_hint.startswith(f"GRANT SELECT ON vault.secrets TO {operator} (")
    with connect_as(db, keeper) as conn:
        conn.execute(
            sql.SQL("GRANT SELECT ON vault.secrets TO {}").format(sql.Identifier(operator))
        )
    head = db.one("SELECT pggit.commit('the grants')")
    with connect_as(db, operator) as op:
        # readable now: the ordinary data-loss refusal, then PostgreSQL's own for the DROP
        with pytest.raises(errors.RaiseException, match=r"DATA_LOSS.*vault\.secrets holds rows"):
            op.execute("SELECT * FROM pggit.checkout('empty')")
        with pytest.raises(psycopg.Error, match="must be owner of table secrets"):
            op.execute("SELECT * FROM pggit.checkout('empty', p_force => true)")
    assert db.one("SELECT commit_hash FROM pggit.head()") == head
    # its owner checks it out
    db.run(sql.SQL("GRANT pggit_operator TO {}").format(sql.Identifier(keeper)))
    with connect_as(db, keeper) as conn:
        conn.execute("SELECT * FROM pggit.checkout('empty', p_force => true)")
        assert conn.execute("SELECT to_regclass('vault.secrets')").fetchone()[0] is None
