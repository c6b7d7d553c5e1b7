"""Checkout re-creates exactly what was committed (pg_dump --schema-only --no-owner of the schema is
the same after going to an empty branch and back), and a checkout that fails changes nothing."""

from __future__ import annotations

import psycopg
import pytest

from tests.engine.enginedb import EngineDB
from tests.engine.pgdump import schema_dump


def server_major(db: EngineDB) -> int:
    return int(db.one("SELECT current_setting('server_version_num')::int / 10000"))


def round_trip(db: EngineDB, ddl: str) -> tuple[str, str]:
    """Loads ddl, commits it on main, checks out a branch of the empty root and main again; returns
    the normalised schema dumps before and after."""
    root = db.one("SELECT commit_hash FROM pggit.head()")
    db.run(ddl)
    before = schema_dump(db.url, server_major(db))
    db.run("SELECT pggit.commit('schema')")
    main_tree = db.head_tree()
    db.run("SELECT pggit.branch_create('empty', %s)", (root,))
    db.run("SELECT * FROM pggit.checkout('empty')")
    assert db.live_tree_hash() == db.branch_tree("empty")
    db.run("SELECT * FROM pggit.checkout('main')")
    assert db.live_tree_hash() == main_tree
    assert db.one("SELECT clean FROM pggit.head()") is True
    return before, schema_dump(db.url, server_major(db))


def live_state(db: EngineDB) -> tuple:
    """Everything a failed checkout must leave as it was: the schema (pg_dump), HEAD, the live
    state capture knows, the working changes."""
    return (
        schema_dump(db.url, server_major(db)),
        db.rows("SELECT branch, commit_hash, tree_hash, clean FROM pggit.head()"),
        db.live_tree_hash(),
        db.rows("SELECT object_key, new_blob FROM pggit.working ORDER BY 1"),
    )


def test_a_sql_function_naming_a_table_created_after_it_checks_out(engine_db: EngineDB):
    # LANGUAGE sql bodies are checked at CREATE unless check_function_bodies is off; nothing in
    # pg_depend says the function needs the table, so it comes first in the script
    before, after = round_trip(
        engine_db,
        "CREATE SCHEMA app;"
        "CREATE TABLE app.orders (id int PRIMARY KEY, total numeric);"
        "CREATE FUNCTION app.order_total(p_id int) RETURNS numeric LANGUAGE sql STABLE "
        "AS $$ SELECT total FROM app.orders WHERE id = p_id $$;",
    )
    assert before == after
    assert engine_db.one("SELECT app.order_total(1)") is None


def test_a_function_with_a_standard_body_over_a_dropped_or_retyped_column_checks_out(
    engine_db: EngineDB,
):
    # a BEGIN ATOMIC / RETURN body depends on the columns it reads (pg_depend says so, as for a
    # view): PostgreSQL refuses to drop or retype such a column while the function exists, so a
    # plan that alters the table in place (the renamed column is the last one: dropped and added;
    # another is retyped) drops the function first and creates it again after the column
    db = engine_db
    db.run(
        "CREATE SCHEMA app;"
        'CREATE TABLE app.charges (site int, amount numeric, note text, "chargedAt" timestamptz);'
        "CREATE FUNCTION app.total(p_site int) RETURNS numeric LANGUAGE sql STABLE "
        "RETURN (SELECT sum(amount) FROM app.charges "
        "WHERE site = p_site AND \"chargedAt\" > '-infinity' AND note IS NOT NULL);"
        "CREATE PROCEDURE app.purge(p_site int) LANGUAGE sql "
        "BEGIN ATOMIC DELETE FROM app.charges WHERE site = p_site AND note <> ''; END;"
    )
    db.run("SELECT pggit.commit('charges')")
    first = db.one("SELECT commit_hash FROM pggit.head()")
    db.run('ALTER TABLE app.charges RENAME COLUMN "chargedAt" TO charged_at')
    # PostgreSQL makes the user take the function away to retype; it comes back unchanged
    total = db.one("SELECT pg_get_functiondef('app.total(int)'::regprocedure)")
    purge = db.one("SELECT pg_get_functiondef('app.purge(int)'::regprocedure)")
    db.run("DROP FUNCTION app.total(int); DROP PROCEDURE app.purge(int)")
    db.run("ALTER TABLE app.charges ALTER COLUMN note TYPE varchar(200)")
    db.run(total)
    db.run(purge)
    db.run("SELECT pggit.commit('renamed and retyped')")
    second = db.head_tree()
    db.run("SELECT pggit.branch_create('first', %s)", (first,))
    for _ in range(2):
        db.run("SELECT * FROM pggit.checkout('first')")
        assert db.live_tree_hash() == db.branch_tree("first")
        db.run("SELECT * FROM pggit.checkout('main')")
        assert db.live_tree_hash() == second
    assert db.one("SELECT app.total(1)") is None


def test_a_disabled_or_replica_trigger_keeps_its_state_through_checkout(engine_db: EngineDB):
    db = engine_db
    db.run(
        "CREATE SCHEMA app; CREATE TABLE app.items (id int, touched timestamptz);"
        "CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN NEW.touched := now(); RETURN NEW; END $$;"
        "CREATE TRIGGER items_touch BEFORE UPDATE ON app.items "
        "FOR EACH ROW EXECUTE FUNCTION app.touch();"
        "CREATE TRIGGER items_audit BEFORE INSERT ON app.items "
        "FOR EACH ROW EXECUTE FUNCTION app.touch()"
    )
    db.run("SELECT pggit.commit('triggers')")
    first = db.one("SELECT commit_hash FROM pggit.head()")
    db.run("ALTER TABLE app.items DISABLE TRIGGER items_touch")
    db.run("ALTER TABLE app.items ENABLE REPLICA TRIGGER items_audit")
    assert db.rows("SELECT object_key, change_type FROM pggit.status() ORDER BY 1") == [
        ("trigger:app.items.items_audit", "MODIFIED"),
        ("trigger:app.items.items_touch", "MODIFIED"),
    ]
    db.run("SELECT pggit.commit('switched off')")
    states = (
        "SELECT string_agg(tgname || '=' || tgenabled::text, ',' ORDER BY tgname) "
        "FROM pg_trigger WHERE tgrelid = 'app.items'::regclass"
    )
    assert db.one(states) == "items_audit=R,items_touch=D"
    db.run("SELECT pggit.branch_create('first', %s)", (first,))
    db.run("SELECT * FROM pggit.checkout('first')")
    assert db.one(states) == "items_audit=O,items_touch=O"
    db.run("SELECT * FROM pggit.checkout('main')")
    assert db.one(states) == "items_audit=R,items_touch=D"
    script = db.one("SELECT pggit.diff_script('first', 'main')")
    assert "ALTER TABLE app.items DISABLE TRIGGER items_touch;" in script


def test_a_failed_checkout_leaves_schema_and_head_as_they_were_and_can_be_retried(
    engine_db: EngineDB,
):
    db = engine_db
    root = db.one("SELECT commit_hash FROM pggit.head()")
    db.run("DROP ROLE IF EXISTS pggit_t_auditors")
    db.run("CREATE ROLE pggit_t_auditors")
    try:
        db.run(
            "CREATE SCHEMA app; CREATE TABLE app.ledger (id int PRIMARY KEY, amount numeric);"
            "ALTER TABLE app.ledger ENABLE ROW LEVEL SECURITY;"
            "CREATE POLICY ledger_audit ON app.ledger FOR SELECT TO pggit_t_auditors USING (true);"
        )
        db.run("SELECT pggit.commit('ledger')")
        db.run("SELECT pggit.branch_create('empty', %s)", (root,))
        db.run("SELECT * FROM pggit.checkout('empty')")
        db.run("CREATE TABLE public.scratch (id int)")  # a working change, kept through failure
        db.run("DROP ROLE pggit_t_auditors")  # main's policy names it: main cannot be applied
        state = live_state(db)
        with pytest.raises(psycopg.errors.RaiseException) as failed:
            db.run("SELECT * FROM pggit.checkout('main', p_force => true)")
        assert str(failed.value).startswith("[PGGIT-APPLY_FAILED] checkout failed at step")
        assert 'role "pggit_t_auditors" does not exist' in str(failed.value)
        assert live_state(db) == state
        db.run("CREATE ROLE pggit_t_auditors")
        db.run("SELECT * FROM pggit.checkout('main', p_force => true)")
        assert db.live_tree_hash() == db.branch_tree("main")
        assert db.one("SELECT branch FROM pggit.head()") == "main"
    finally:
        db.run("DROP SCHEMA IF EXISTS app CASCADE")
        db.run("DROP ROLE IF EXISTS pggit_t_auditors")


def test_a_domain_constraint_not_yet_validated_checks_out_not_validated(engine_db: EngineDB):
    # CREATE DOMAIN cannot say NOT VALID: such a constraint is written as the ALTER DOMAIN that
    # added it, after the domain, and stays not validated (data a constraint added NOT VALID
    # forbids may be in columns of the domain)
    db = engine_db
    before, after = round_trip(
        db,
        "CREATE SCHEMA app;"
        "CREATE DOMAIN app.code AS text CONSTRAINT code_known CHECK (VALUE <> '');"
        "CREATE TABLE app.items (code app.code);"
        "ALTER DOMAIN app.code ADD CONSTRAINT code_no_space CHECK (VALUE !~ ' ') NOT VALID;"
        "ALTER DOMAIN app.code ADD CONSTRAINT code_short CHECK (length(VALUE) < 20) NOT VALID;",
    )
    assert before == after
    assert db.rows(
        "SELECT conname, convalidated FROM pg_constraint "
        "WHERE contypid = 'app.code'::regtype ORDER BY conname"
    ) == [("code_known", True), ("code_no_space", False), ("code_short", False)]
    assert db.one(
        "SELECT definition FROM pggit.live_definitions() WHERE object_key = %s",
        ("domain:app.code",),
    ) == (
        "CREATE DOMAIN app.code AS text\n"
        "    CONSTRAINT code_known CHECK ((VALUE <> ''::text));\n"
        "ALTER DOMAIN app.code ADD CONSTRAINT code_no_space CHECK ((VALUE !~ ' '::text))"
        " NOT VALID;\n"
        "ALTER DOMAIN app.code ADD CONSTRAINT code_short CHECK ((length(VALUE) < 20)) NOT VALID;"
    )


def test_a_typed_table_checks_out_typed(engine_db: EngineDB):
    # CREATE TABLE ... OF: the columns are the type's (only their options are the table's);
    # re-created as a plain table it would no longer follow the type
    db = engine_db
    before, after = round_trip(
        db,
        "CREATE SCHEMA app;"
        "CREATE TYPE app.price AS (amount numeric(12,2), currency char(3), note text);"
        "CREATE TABLE app.prices OF app.price "
        "(amount WITH OPTIONS NOT NULL DEFAULT 0, PRIMARY KEY (currency));"
        "CREATE TABLE app.plain_prices OF app.price;"
        "CREATE TYPE app.item AS (id bigint, name text);"
        "CREATE TABLE app.items OF app.item (PRIMARY KEY (id));"
        "ALTER TABLE app.items ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (START WITH 10);",
    )
    assert before == after
    assert db.rows(
        "SELECT relname, reloftype::regtype::text FROM pg_class "
        "WHERE relnamespace = 'app'::regnamespace AND relkind = 'r' ORDER BY 1"
    ) == [("items", "app.item"), ("plain_prices", "app.price"), ("prices", "app.price")]
    assert db.rows(
        "SELECT attname, attidentity FROM pg_attribute WHERE attrelid = 'app.items'::regclass "
        "AND attnum > 0 ORDER BY attnum"
    ) == [("id", "a"), ("name", "")]
    assert db.one("INSERT INTO app.items (name) VALUES ('x') RETURNING id") == 10
    # an identity given to or taken from a typed table is a change of its definition
    db.run("ALTER TABLE app.items ALTER COLUMN id DROP IDENTITY")
    assert db.rows("SELECT object_key, change_type FROM pggit.status()") == [
        ("table:app.items", "MODIFIED")
    ]
    db.run("SELECT pggit.rescan()")
    assert db.rows("SELECT object_key, change_type FROM pggit.status()") == [
        ("table:app.items", "MODIFIED")
    ]
    db.run("ALTER TABLE app.items ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (START WITH 10)")
    definitions = dict(
        db.rows(
            "SELECT object_key, definition FROM pggit.live_definitions() "
            "WHERE object_key IN ('table:app.prices', 'table:app.plain_prices', 'table:app.items')"
        )
    )
    assert definitions == {
        "table:app.prices": "CREATE TABLE app.prices OF app.price (\n"
        "    amount WITH OPTIONS DEFAULT 0 NOT NULL /* numeric(12,2) */,\n"
        "    currency WITH OPTIONS NOT NULL /* character(3) */,\n"
        "    note WITH OPTIONS /* text */\n);",
        "table:app.items": "CREATE TABLE app.items OF app.item (\n"
        "    id WITH OPTIONS NOT NULL /* bigint */,\n"
        "    name WITH OPTIONS /* text */\n);\n"
        "ALTER TABLE app.items ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (START WITH 10);",
        "table:app.plain_prices": "CREATE TABLE app.plain_prices OF app.price (\n"
        "    amount WITH OPTIONS /* numeric(12,2) */,\n"
        "    currency WITH OPTIONS /* character(3) */,\n"
        "    note WITH OPTIONS /* text */\n);",
    }


def test_a_typed_tables_type_changes_on_a_branch_and_checks_out_both_ways(engine_db: EngineDB):
    # the type's attributes change with CASCADE (its typed tables follow); the typed table's own
    # column options change in place; a table made plain (NOT OF), and typed again on the way
    # back (OF, once its columns are the type's), keeps its rows both ways
    db = engine_db
    db.run(
        "CREATE SCHEMA app;"
        "CREATE TYPE app.price AS (amount numeric(12,2), currency char(3), note text);"
        "CREATE TABLE app.prices OF app.price (amount WITH OPTIONS NOT NULL);"
        "CREATE TABLE app.archive OF app.price;"
    )
    db.run("SELECT pggit.commit('typed')")
    base_dump = schema_dump(db.url, server_major(db))
    db.run("SELECT pggit.branch_create('feature')")
    db.run("SELECT * FROM pggit.checkout('feature')")
    db.run(
        "ALTER TYPE app.price ADD ATTRIBUTE valid_from date CASCADE;"
        "ALTER TYPE app.price DROP ATTRIBUTE note CASCADE;"
        "ALTER TYPE app.price ALTER ATTRIBUTE amount TYPE numeric(14,2) CASCADE;"
        "ALTER TABLE app.prices ALTER COLUMN valid_from SET DEFAULT '2020-01-01',"
        " ALTER COLUMN valid_from SET NOT NULL, ALTER COLUMN amount DROP NOT NULL,"
        " ALTER COLUMN currency SET DEFAULT 'EUR';"
        "ALTER TABLE app.archive NOT OF;"
    )
    # (status brings what capture recorded into pggit.working: called first, then read)
    db.rows("SELECT * FROM pggit.status()")
    captured = db.rows(
        "SELECT s.object_key, s.change_type, w.new_blob FROM pggit.status() s "
        "JOIN pggit.working w USING (object_key) ORDER BY 1"
    )
    db.run("SELECT pggit.rescan()")
    assert (
        db.rows(
            "SELECT s.object_key, s.change_type, w.new_blob FROM pggit.status() s "
            "JOIN pggit.working w USING (object_key) ORDER BY 1"
        )
        == captured
    )
    assert [key for key, _, _ in captured] == [
        "table:app.archive",
        "table:app.prices",
        "type:app.price",
    ]
    db.run("SELECT pggit.commit('feature')")
    feature_dump = schema_dump(db.url, server_major(db))
    feature_tree = db.head_tree()
    # (amount is retyped both ways: a row without one loses nothing)
    db.run("INSERT INTO app.archive (currency) VALUES ('EUR')")
    db.run("SELECT * FROM pggit.checkout('main')")
    assert schema_dump(db.url, server_major(db)) == base_dump
    assert db.one("SELECT count(*) FROM app.archive") == 1
    db.run("SELECT * FROM pggit.checkout('feature')")
    assert schema_dump(db.url, server_major(db)) == feature_dump
    assert db.live_tree_hash() == feature_tree
    assert db.one("SELECT count(*) FROM app.archive") == 1
    assert db.rows("SELECT ok, breaks FROM pggit.verify()") == [(True, [])]


def test_a_typed_table_losing_a_column_to_its_type_is_refused_without_force(engine_db: EngineDB):
    # the type's DROP ATTRIBUTE ... CASCADE drops the typed table's column: the table is a change
    # of its own (its definition names its columns), whose data loss is checked
    db = engine_db
    db.run(
        "CREATE SCHEMA app;"
        "CREATE TYPE app.price AS (amount numeric(12,2), note text);"
        "CREATE TABLE app.prices OF app.price;"
    )
    db.run("SELECT pggit.commit('typed')")
    db.run("SELECT pggit.branch_create('feature')")
    db.run("SELECT * FROM pggit.checkout('feature')")
    db.run("ALTER TYPE app.price DROP ATTRIBUTE note CASCADE")
    assert dict(db.rows("SELECT object_key, change_type FROM pggit.status()")) == {
        "type:app.price": "MODIFIED",
        "table:app.prices": "MODIFIED",
    }
    db.run("SELECT pggit.commit('no note')")
    db.run("SELECT * FROM pggit.checkout('main')")
    db.run("INSERT INTO app.prices VALUES (1, 'keep me')")
    with pytest.raises(psycopg.errors.RaiseException) as raised:
        db.run("SELECT * FROM pggit.checkout('feature')")
    assert "column_dropped: column note of app.prices holds data that would be lost" in str(
        raised.value
    )
    assert db.rows("SELECT amount, note FROM app.prices") == [(1, "keep me")]


def test_a_sequence_owned_by_one_table_and_used_by_another_checks_out(engine_db: EngineDB):
    # DROP TABLE of the owner drops the sequence, which the other table's default needs: the other
    # table goes first (the plan dropped the owner first and failed)
    db = engine_db
    before, after = round_trip(
        db,
        "CREATE SCHEMA app;"
        "CREATE SEQUENCE app.ids;"
        "CREATE TABLE app.orders (id bigint DEFAULT nextval('app.ids'));"
        "CREATE TABLE app.refunds (id bigint DEFAULT nextval('app.ids'));"
        "ALTER SEQUENCE app.ids OWNED BY app.orders.id;",
    )
    assert before == after
    script = db.one("SELECT pggit.diff_script('main', 'empty')")
    assert script.index("DROP TABLE IF EXISTS app.refunds;") < script.index(
        "DROP TABLE IF EXISTS app.orders;"
    )


def test_a_check_declared_on_a_parent_and_its_inheriting_children_checks_out(engine_db: EngineDB):
    # the children's constraints are also inherited: PostgreSQL drops them only once their
    # parent's is gone, so the plan drops the parent's first (it dropped the child's first and
    # failed); three levels, so no two of them wait on each other
    db = engine_db
    before, after = round_trip(
        db,
        "CREATE SCHEMA app;"
        "CREATE TABLE app.p (a int, CONSTRAINT positive CHECK (a > 0));"
        "CREATE TABLE app.kid (a int, CONSTRAINT positive CHECK (a > 0)) INHERITS (app.p);"
        "CREATE TABLE app.grandkid (a int, CONSTRAINT positive CHECK (a > 0)) INHERITS (app.kid);",
    )
    assert before == after
    assert db.rows(
        "SELECT conrelid::regclass::text, conislocal, coninhcount FROM pg_constraint "
        "WHERE conname = 'positive' ORDER BY 1"
    ) == [("app.grandkid", True, 1), ("app.kid", True, 1), ("app.p", True, 0)]
    script = db.one("SELECT pggit.diff_script('main', 'empty')")
    drops = [
        script.index(f"ALTER TABLE IF EXISTS app.{table} DROP CONSTRAINT IF EXISTS positive;")
        for table in ("p", "kid", "grandkid")
    ]
    assert drops == sorted(drops)


def test_column_attribute_options_survive_re_creation(engine_db: EngineDB):
    # ALTER TABLE ... ALTER COLUMN ... SET (n_distinct ...): the planner's estimates set by hand
    db = engine_db
    before, after = round_trip(
        db,
        "CREATE SCHEMA app;"
        "CREATE TABLE app.events (kind text, account bigint, at date);"
        "ALTER TABLE app.events ALTER COLUMN kind SET (n_distinct = 12),"
        " ALTER COLUMN account SET (n_distinct = -0.2, n_distinct_inherited = -0.1);",
    )
    assert before == after
    # (some server builds add an option of their own, pg_attver: not the user's, not compared)
    assert db.rows(
        "SELECT attname, (SELECT array_agg(o ORDER BY o) FROM unnest(attoptions) o "
        "WHERE o NOT LIKE 'pg\\_%') FROM pg_attribute WHERE attrelid = 'app.events'::regclass "
        "AND attnum > 0 ORDER BY attnum"
    ) == [
        ("kind", ["n_distinct=12"]),
        ("account", ["n_distinct=-0.2", "n_distinct_inherited=-0.1"]),
        ("at", None),
    ]


def test_operators_and_casts_on_tracked_functions_check_out(engine_db: EngineDB):
    before, after = round_trip(
        engine_db,
        "CREATE SCHEMA geo;"
        "CREATE TYPE geo.point2 AS (x float8, y float8);"
        "CREATE FUNCTION geo.near(a geo.point2, b geo.point2) RETURNS boolean LANGUAGE sql "
        "IMMUTABLE AS $$ SELECT abs(a.x - b.x) + abs(a.y - b.y) < 1 $$;"
        "CREATE OPERATOR geo.~~~ (LEFTARG = geo.point2, RIGHTARG = geo.point2, "
        "FUNCTION = geo.near, COMMUTATOR = OPERATOR(geo.~~~));"
        "CREATE FUNCTION geo.to_text(p geo.point2) RETURNS text LANGUAGE sql IMMUTABLE "
        "AS $$ SELECT p.x || ',' || p.y $$;"
        "CREATE CAST (geo.point2 AS text) WITH FUNCTION geo.to_text(geo.point2) AS ASSIGNMENT;"
        "COMMENT ON OPERATOR geo.~~~ (geo.point2, geo.point2) IS 'near';"
        "CREATE VIEW geo.near_origin AS SELECT ROW(0.2, 0.2)::geo.point2 OPERATOR(geo.~~~) "
        "ROW(0, 0)::geo.point2 AS near;",
    )
    assert before == after
    assert "CREATE OPERATOR geo.~~~" in after and "CREATE CAST (geo.point2 AS text)" in after
    assert engine_db.one("SELECT near FROM geo.near_origin") is True


def test_a_view_that_refers_to_itself_is_re_created(engine_db: EngineDB):
    # accepted by PostgreSQL through CREATE OR REPLACE VIEW (querying it recurses, but pg_dump
    # and restores must keep it)
    before, after = round_trip(
        engine_db,
        "CREATE SCHEMA app;"
        "CREATE VIEW app.loop AS SELECT 1 AS n;"
        "CREATE OR REPLACE VIEW app.loop AS SELECT n FROM app.loop;",
    )
    assert before == after


def test_view_column_defaults_are_captured_diffed_and_restored(engine_db: EngineDB):
    db = engine_db
    root = db.one("SELECT commit_hash FROM pggit.head()")
    db.run(
        "CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY, qty int);"
        "CREATE VIEW app.items_v AS SELECT id, qty FROM app.items;"
    )
    db.run("SELECT pggit.commit('items')")
    db.run("ALTER VIEW app.items_v ALTER COLUMN qty SET DEFAULT 1")
    assert db.rows("SELECT object_key, change_type FROM pggit.status()") == [
        ("view:app.items_v", "MODIFIED")
    ]
    diff = db.one(
        "SELECT after FROM pggit.diff('HEAD', 'WORKING') WHERE object_key = 'view:app.items_v'"
    )
    assert "ALTER VIEW app.items_v ALTER COLUMN qty SET DEFAULT 1;" in diff
    db.run("SELECT pggit.commit('default qty')")
    db.run("INSERT INTO app.items_v (id) VALUES (1)")
    assert db.one("SELECT qty FROM app.items WHERE id = 1") == 1
    # dropped and set back by checkout, in place
    db.run("SELECT pggit.branch_create('plain', 'HEAD~1')")
    db.run("SELECT * FROM pggit.checkout('plain')")
    assert db.one("SELECT count(*) FROM pg_attrdef WHERE adrelid = 'app.items_v'::regclass") == 0
    db.run("SELECT * FROM pggit.checkout('main')")
    db.run("INSERT INTO app.items_v (id) VALUES (2)")
    assert db.one("SELECT qty FROM app.items WHERE id = 2") == 1
    db.run("DELETE FROM app.items")
    before = schema_dump(db.url, server_major(db))
    db.run("SELECT pggit.branch_create('empty', %s)", (root,))
    db.run("SELECT * FROM pggit.checkout('empty')")
    db.run("SELECT * FROM pggit.checkout('main')")
    after = schema_dump(db.url, server_major(db))
    assert before == after and "SET DEFAULT 1" in after


def test_statistics_targets_survive_re_creation(engine_db: EngineDB):
    db = engine_db
    before, after = round_trip(
        db,
        "CREATE SCHEMA app; CREATE TABLE app.events (id int, kind text, payload jsonb);"
        "ALTER TABLE app.events ALTER COLUMN kind SET STATISTICS 500;"
        "CREATE INDEX events_kind_lower ON app.events (lower(kind));"
        "ALTER INDEX app.events_kind_lower ALTER COLUMN 1 SET STATISTICS 300;",
    )
    assert before == after
    assert "SET STATISTICS 500" in after and "SET STATISTICS 300" in after
    # changed in place, captured as a change of the table / the index
    db.run("ALTER TABLE app.events ALTER COLUMN kind SET STATISTICS 100")
    db.run("ALTER INDEX app.events_kind_lower ALTER COLUMN 1 SET STATISTICS 200")
    assert sorted(db.rows("SELECT object_key, change_type FROM pggit.status()")) == [
        ("index:app.events.events_kind_lower", "MODIFIED"),
        ("table:app.events", "MODIFIED"),
    ]
    db.run("SELECT pggit.commit('statistics')")
    db.run("SELECT * FROM pggit.checkout('empty')")
    db.run("SELECT * FROM pggit.checkout('main')")
    assert (
        db.one(
            "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'app.events'::regclass "
            "AND attname = 'kind'"
        )
        == 100
    )


def identity_sequences(db: EngineDB) -> list[tuple]:
    """(table, column, sequence) of every identity column of schema app."""
    return db.rows(
        "SELECT d.refobjid::regclass::text, a.attname, d.objid::regclass::text FROM pg_depend d "
        "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
        "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
        "AND d.deptype = 'i' AND d.objid::regclass::text LIKE 'app.%' ORDER BY 1, 2"
    )


def test_identity_sequence_names_survive_checkout_and_diff_script(engine_db: EngineDB):
    # a name given by SEQUENCE NAME (pg_dump always writes one; a typed table's identity is its
    # trailing ADD GENERATED), one a renamed table kept, and the default name, which the
    # definition leaves out
    db = engine_db
    root = db.one("SELECT commit_hash FROM pggit.head()")
    # (a renamed table keeps the name of its NOT NULL constraint too, on PostgreSQL 18, which its
    # definition then writes: renamed to the default one here, so that the definitions below are
    # those of both versions; tests/engine/test_not_null_names.py has the names)
    not_null_name = (
        "ALTER TABLE app.moved RENAME CONSTRAINT old_id_not_null TO moved_id_not_null;"
        if server_major(db) >= 18
        else ""
    )
    before, after = round_trip(
        db,
        "CREATE SCHEMA app;"
        "CREATE TABLE app.renamed (id int GENERATED BY DEFAULT AS IDENTITY"
        " (SEQUENCE NAME app.custom_seq_name) PRIMARY KEY);"
        "CREATE TABLE app.old (id bigint GENERATED ALWAYS AS IDENTITY (START WITH 5), v text);"
        "ALTER TABLE app.old RENAME TO moved;"
        "CREATE TYPE app.item AS (id bigint, name text);"
        "CREATE TABLE app.items OF app.item (PRIMARY KEY (id));"
        "ALTER TABLE app.items ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY"
        " (SEQUENCE NAME app.item_ids);"
        "CREATE TABLE app.plain (id int GENERATED ALWAYS AS IDENTITY"
        " (SEQUENCE NAME app.plain_id_seq));" + not_null_name,
    )
    assert before == after
    assert identity_sequences(db) == [
        ("app.items", "id", "app.item_ids"),
        ("app.moved", "id", "app.old_id_seq"),
        ("app.plain", "id", "app.plain_id_seq"),
        ("app.renamed", "id", "app.custom_seq_name"),
    ]
    definitions = dict(
        db.rows(
            "SELECT object_key, definition FROM pggit.live_definitions() "
            "WHERE object_key LIKE 'table:app.%'"
        )
    )
    assert definitions == {
        "table:app.renamed": "CREATE TABLE app.renamed (\n"
        "    id integer GENERATED BY DEFAULT AS IDENTITY"
        " (SEQUENCE NAME app.custom_seq_name) NOT NULL\n"
        ");",
        "table:app.moved": "CREATE TABLE app.moved (\n"
        "    id bigint GENERATED ALWAYS AS IDENTITY"
        " (SEQUENCE NAME app.old_id_seq START WITH 5) NOT NULL,\n"
        "    v text\n);",
        "table:app.items": "CREATE TABLE app.items OF app.item (\n"
        "    id WITH OPTIONS NOT NULL /* bigint */,\n"
        "    name WITH OPTIONS /* text */\n);\n"
        "ALTER TABLE app.items ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY"
        " (SEQUENCE NAME app.item_ids);",
        "table:app.plain": "CREATE TABLE app.plain (\n"
        "    id integer GENERATED ALWAYS AS IDENTITY NOT NULL\n);",
    }
    script = db.one("SELECT pggit.diff_script(%s, 'HEAD')", (root,))
    assert "(SEQUENCE NAME app.custom_seq_name)" in script
    assert "(SEQUENCE NAME app.old_id_seq START WITH 5)" in script
    assert "(SEQUENCE NAME app.item_ids)" in script
    assert "plain_id_seq" not in script


def test_a_renamed_identity_sequence_is_renamed_in_place_keeping_its_counter(
    engine_db: EngineDB, make_role
):
    db = engine_db
    reader = make_role()
    db.run(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.orders (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text);"
        f"GRANT USAGE ON SEQUENCE app.orders_id_seq TO {reader};"
    )
    db.run("SELECT pggit.commit('orders')")
    db.run("INSERT INTO app.orders (note) VALUES ('a'), ('b'), ('c')")
    db.run("ALTER SEQUENCE app.orders_id_seq RENAME TO order_numbers")
    # the table's definition names the sequence now; its privileges entry is keyed by the name
    assert sorted(db.rows("SELECT object_key, change_type FROM pggit.status()")) == [
        ("privileges:sequence:app.order_numbers", "ADDED"),
        ("privileges:sequence:app.orders_id_seq", "REMOVED"),
        ("table:app.orders", "MODIFIED"),
    ]
    db.run("SELECT pggit.commit('renamed')")
    identity = "/* identity of app.orders.id */"
    assert db.one("SELECT pggit.diff_script('HEAD~1', 'HEAD')").split("\n\n")[1:] == [
        f"REVOKE ALL ON SEQUENCE app.orders_id_seq {identity} FROM {reader} CASCADE;",
        "ALTER SEQUENCE app.orders_id_seq RENAME TO order_numbers;",
        f"GRANT USAGE ON SEQUENCE app.order_numbers {identity} TO {reader};\n",
    ]
    # checked out both ways: renamed, never re-created (the counter goes on)
    db.run("SELECT pggit.branch_create('before', 'HEAD~1')")
    assert db.one("SELECT statements FROM pggit.checkout('before')") == [
        f"REVOKE ALL ON SEQUENCE app.order_numbers {identity} FROM {reader} CASCADE;",
        "ALTER SEQUENCE app.order_numbers RENAME TO orders_id_seq;",
        f"GRANT USAGE ON SEQUENCE app.orders_id_seq {identity} TO {reader};",
    ]
    assert identity_sequences(db) == [("app.orders", "id", "app.orders_id_seq")]
    assert db.one("INSERT INTO app.orders (note) VALUES ('d') RETURNING id") == 4
    db.run("SELECT * FROM pggit.checkout('main')")
    assert identity_sequences(db) == [("app.orders", "id", "app.order_numbers")]
    assert db.one("INSERT INTO app.orders (note) VALUES ('e') RETURNING id") == 5
    assert db.one("SELECT has_sequence_privilege(%s, 'app.order_numbers', 'USAGE')", (reader,))
    assert db.rows("SELECT object_key FROM pggit.status()") == []
    assert db.one("SELECT clean FROM pggit.head()") is True


def clustered(db: EngineDB) -> list[tuple]:
    return db.rows(
        "SELECT indrelid::regclass::text, indexrelid::regclass::text FROM pg_index "
        "WHERE indisclustered AND indrelid::regclass::text LIKE 'app.%' ORDER BY 1"
    )


def test_cluster_on_survives_checkout_and_its_changes_are_captured(engine_db: EngineDB):
    # the index CLUSTER uses, a plain index or a primary key's: part of its definition
    db = engine_db
    before, after = round_trip(
        db,
        "CREATE SCHEMA app;"
        "CREATE TABLE app.jobs (id int PRIMARY KEY, payload text);"
        "CREATE INDEX jobs_payload ON app.jobs (payload);"
        "ALTER TABLE app.jobs CLUSTER ON jobs_payload;"
        "CREATE TABLE app.runs (id int PRIMARY KEY, job int REFERENCES app.jobs);"
        "ALTER TABLE app.runs CLUSTER ON runs_pkey;",
    )
    assert before == after
    assert clustered(db) == [("app.jobs", "app.jobs_payload"), ("app.runs", "app.runs_pkey")]
    assert db.rows(
        "SELECT object_key, definition FROM pggit.live_definitions() "
        "WHERE object_key IN ('index:app.jobs.jobs_payload', 'constraint:app.runs.runs_pkey') "
        "ORDER BY 1"
    ) == [
        (
            "constraint:app.runs.runs_pkey",
            "ALTER TABLE app.runs ADD CONSTRAINT runs_pkey PRIMARY KEY (id);\n"
            "ALTER TABLE app.runs CLUSTER ON runs_pkey;",
        ),
        (
            "index:app.jobs.jobs_payload",
            "CREATE INDEX jobs_payload ON app.jobs USING btree (payload);\n"
            "ALTER TABLE app.jobs CLUSTER ON jobs_payload;",
        ),
    ]
    # SET WITHOUT CLUSTER and CLUSTER ON another index are captured
    db.run("ALTER TABLE app.jobs SET WITHOUT CLUSTER")
    db.run("ALTER TABLE app.runs CLUSTER ON runs_pkey")  # no change
    assert db.rows("SELECT object_key, change_type FROM pggit.status()") == [
        ("index:app.jobs.jobs_payload", "MODIFIED")
    ]
    db.run("SELECT pggit.commit('jobs unclustered')")
    db.run("ALTER TABLE app.jobs CLUSTER ON jobs_pkey")
    assert db.rows("SELECT object_key, change_type FROM pggit.status()") == [
        ("constraint:app.jobs.jobs_pkey", "MODIFIED")
    ]
    db.run("SELECT pggit.commit('jobs clustered on its key')")
    # gaining the mark is altered in place (CLUSTER ON, which takes it from any other index), and
    # so is losing it (SET WITHOUT CLUSTER, which takes it from whichever index has it: always
    # before the CLUSTER ON of an index of the table gaining it, whatever their keys)
    db.run("SELECT pggit.branch_create('unclustered', 'HEAD~1')")
    db.run("SELECT pggit.branch_create('on_payload', 'HEAD~2')")
    assert db.one("SELECT statements FROM pggit.checkout('on_payload')") == [
        "ALTER TABLE app.jobs SET WITHOUT CLUSTER;",
        "ALTER TABLE app.jobs CLUSTER ON jobs_payload;",
    ]
    assert clustered(db) == [("app.jobs", "app.jobs_payload"), ("app.runs", "app.runs_pkey")]
    # (the key gaining it sorts first: constraint before index)
    assert db.one("SELECT statements FROM pggit.checkout('main')") == [
        "ALTER TABLE app.jobs SET WITHOUT CLUSTER;",
        "ALTER TABLE app.jobs CLUSTER ON jobs_pkey;",
    ]
    assert clustered(db) == [("app.jobs", "app.jobs_pkey"), ("app.runs", "app.runs_pkey")]
    assert db.one("SELECT statements FROM pggit.checkout('unclustered')") == [
        "ALTER TABLE app.jobs SET WITHOUT CLUSTER;"
    ]
    assert clustered(db) == [("app.runs", "app.runs_pkey")]
    assert db.one("SELECT statements FROM pggit.checkout('main')") == [
        "ALTER TABLE app.jobs CLUSTER ON jobs_pkey;"
    ]
    assert clustered(db) == [("app.jobs", "app.jobs_pkey"), ("app.runs", "app.runs_pkey")]
    assert db.rows("SELECT object_key FROM pggit.status()") == []


def test_a_renamed_table_with_an_identity_checks_out_both_ways_and_its_scripts_apply(
    engine_db: EngineDB, make_db
):
    # y keeps the sequence x_id_seq, which x, created again, needs as its default name: the table
    # holding the name is dropped first, whatever the primary key and the view push later
    db = engine_db
    major = server_major(db)
    ddl = (
        "CREATE SCHEMA app;"
        "CREATE TABLE app.x (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);"
        "CREATE VIEW app.xv AS SELECT id, v FROM app.x;"
    )
    db.run(ddl)
    db.run("SELECT pggit.commit('x')")
    one = schema_dump(db.url, major, ["app"])
    db.run("ALTER TABLE app.x RENAME TO y")
    if major >= 18:  # (the default name, which the definition leaves out: see above)
        db.run("ALTER TABLE app.y RENAME CONSTRAINT x_id_not_null TO y_id_not_null")
    db.run("SELECT pggit.commit('y')")
    two = schema_dump(db.url, major, ["app"])
    forward = db.one("SELECT pggit.diff_script('HEAD~1', 'HEAD')")
    backward = db.one("SELECT pggit.diff_script('HEAD', 'HEAD~1')")
    steps = forward.split("\n\n")[1:]
    assert (
        steps[:-1]
        == [
            "DROP VIEW IF EXISTS app.xv;",
            "ALTER TABLE IF EXISTS app.x DROP CONSTRAINT IF EXISTS x_pkey;",
            "DROP TABLE IF EXISTS app.x;",
            "CREATE TABLE app.y (\n"
            "    id integer GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME app.x_id_seq)"
            # (on PostgreSQL 18 a CREATE TABLE names the NOT NULL constraints left to the default)
            + (" CONSTRAINT y_id_not_null" if major >= 18 else "")
            + " NOT NULL,\n"
            "    v text\n);",
            "ALTER TABLE app.y ADD CONSTRAINT x_pkey PRIMARY KEY (id);",
        ]
    )
    assert steps[-1].startswith("CREATE VIEW app.xv AS\n")  # (deparsed as each version does)
    db.run("SELECT pggit.branch_create('one', 'HEAD~1')")
    db.run("SELECT * FROM pggit.checkout('one')")
    assert identity_sequences(db) == [("app.x", "id", "app.x_id_seq")]
    assert schema_dump(db.url, major, ["app"]) == one
    assert db.rows("SELECT object_key FROM pggit.status()") == []
    db.run("SELECT * FROM pggit.checkout('main')")
    assert identity_sequences(db) == [("app.y", "id", "app.x_id_seq")]
    assert schema_dump(db.url, major, ["app"]) == two
    assert db.one("SELECT clean FROM pggit.head()") is True
    # the scripts, applied to a copy of the first commit's schema
    copy = make_db()
    copy_url = psycopg.conninfo.make_conninfo(db.url, dbname=copy.info.dbname)
    copy.execute(ddl)
    copy.execute(forward)
    assert schema_dump(copy_url, major, ["app"]) == two
    copy.execute(backward)
    assert schema_dump(copy_url, major, ["app"]) == one


def test_identity_sequence_names_passed_between_tables_check_out_both_ways(engine_db: EngineDB):
    # a rename to a name runs after the rename away from it, and an identity added with a name
    # after the identity holding it is dropped, whatever the tables' key order
    db = engine_db
    db.run(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.t1 (id int GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME app.q));"
        "CREATE TABLE app.t2 (id int GENERATED ALWAYS AS IDENTITY);"
        "CREATE TABLE app.t3 (id int GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME app.r));"
        "CREATE TABLE app.t4 (id int NOT NULL);"
    )
    db.run("SELECT pggit.commit('one')")
    db.run(
        "ALTER SEQUENCE app.q RENAME TO q_old;"
        "ALTER SEQUENCE app.t2_id_seq RENAME TO q;"
        "ALTER TABLE app.t3 ALTER COLUMN id DROP IDENTITY;"
        "ALTER TABLE app.t4 ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY"
        " (SEQUENCE NAME app.r);"
    )
    db.run("SELECT pggit.commit('two')")
    two = identity_sequences(db)
    assert two == [
        ("app.t1", "id", "app.q_old"),
        ("app.t2", "id", "app.q"),
        ("app.t4", "id", "app.r"),
    ]
    db.run("SELECT pggit.branch_create('one', 'HEAD~1')")
    assert db.one("SELECT statements FROM pggit.checkout('one')") == [
        "ALTER SEQUENCE app.q RENAME TO t2_id_seq;",
        "ALTER TABLE app.t4 ALTER COLUMN id DROP IDENTITY;",
        "ALTER SEQUENCE app.q_old RENAME TO q;",
        "ALTER TABLE app.t3 ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY"
        " (SEQUENCE NAME app.r);",
    ]
    assert identity_sequences(db) == [
        ("app.t1", "id", "app.q"),
        ("app.t2", "id", "app.t2_id_seq"),
        ("app.t3", "id", "app.r"),
    ]
    db.run("SELECT * FROM pggit.checkout('main')")
    assert identity_sequences(db) == two
    assert db.rows("SELECT object_key FROM pggit.status()") == []
    assert db.one("SELECT clean FROM pggit.head()") is True


def test_identity_sequence_names_exchanged_between_tables_are_refused(engine_db: EngineDB):
    # no order of in-place renames applies a swap: refused before anything runs
    db = engine_db
    db.run(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.t1 (id int GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME app.q));"
        "CREATE TABLE app.t2 (id int GENERATED ALWAYS AS IDENTITY);"
    )
    db.run("SELECT pggit.commit('one')")
    db.run(
        "ALTER SEQUENCE app.q RENAME TO tmp;"
        "ALTER SEQUENCE app.t2_id_seq RENAME TO q;"
        "ALTER SEQUENCE app.tmp RENAME TO t2_id_seq;"
    )
    db.run("SELECT pggit.commit('swapped')")
    db.run("SELECT pggit.branch_create('one', 'HEAD~1')")
    for query in (
        "SELECT pggit.diff_script('HEAD', 'HEAD~1')",
        "SELECT * FROM pggit.checkout('one')",
    ):
        with pytest.raises(psycopg.errors.RaiseException) as raised:
            db.run(query)
        assert str(raised.value).splitlines()[0] == (
            "[PGGIT-INVALID_ARGUMENT] identity sequence names exchanged between table:app.t1 and"
            " table:app.t2: renaming either sequence first finds its name taken, so this change"
            " cannot be applied"
        )
    assert identity_sequences(db) == [("app.t1", "id", "app.t2_id_seq"), ("app.t2", "id", "app.q")]
    assert db.one("SELECT branch FROM pggit.head()") == "main"


def test_cluster_on_a_matviews_index_a_unique_and_an_exclusion_constraint_survives_checkout(
    engine_db: EngineDB,
):
    db = engine_db
    before, after = round_trip(
        db,
        "CREATE SCHEMA app;"
        "CREATE TABLE app.slots (id int, during int4range,"
        " CONSTRAINT slots_id_key UNIQUE (id), CONSTRAINT slots_no_overlap EXCLUDE USING gist"
        " (during WITH &&));"
        "ALTER TABLE app.slots CLUSTER ON slots_no_overlap;"
        "CREATE TABLE app.codes (code text, CONSTRAINT codes_code_key UNIQUE (code));"
        "ALTER TABLE app.codes CLUSTER ON codes_code_key;"
        "CREATE MATERIALIZED VIEW app.slot_ids AS SELECT id FROM app.slots;"
        "CREATE INDEX slot_ids_id ON app.slot_ids (id);"
        "ALTER MATERIALIZED VIEW app.slot_ids CLUSTER ON slot_ids_id;",
    )
    assert before == after
    assert clustered(db) == [
        ("app.codes", "app.codes_code_key"),
        ("app.slot_ids", "app.slot_ids_id"),
        ("app.slots", "app.slots_no_overlap"),
    ]
    assert db.rows(
        "SELECT object_key, definition FROM pggit.live_definitions() "
        "WHERE definition LIKE '%CLUSTER%' ORDER BY 1"
    ) == [
        (
            "constraint:app.codes.codes_code_key",
            "ALTER TABLE app.codes ADD CONSTRAINT codes_code_key UNIQUE (code);\n"
            "ALTER TABLE app.codes CLUSTER ON codes_code_key;",
        ),
        (
            "constraint:app.slots.slots_no_overlap",
            "ALTER TABLE app.slots ADD CONSTRAINT slots_no_overlap EXCLUDE USING gist"
            " (during WITH &&);\nALTER TABLE app.slots CLUSTER ON slots_no_overlap;",
        ),
        (
            "index:app.slot_ids.slot_ids_id",
            "CREATE INDEX slot_ids_id ON app.slot_ids USING btree (id);\n"
            "ALTER MATERIALIZED VIEW app.slot_ids CLUSTER ON slot_ids_id;",
        ),
    ]


def test_identity_names_and_cluster_on_check_out_for_the_superuser_and_an_ordinary_role(
    client: psycopg.Connection, engine_db: EngineDB
):
    # the same by whoever owns the schema: a table renamed with its identity kept, a sequence
    # renamed alone, and the CLUSTER mark moved from an index to the primary key
    db = engine_db
    client.execute(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.x (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);"
        "CREATE TABLE app.z (id int GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME app.zq));"
        "CREATE INDEX x_v ON app.x (v);"
        "ALTER TABLE app.x CLUSTER ON x_v;"
    )
    client.execute("SELECT pggit.commit('one')")
    first = (
        [("app.x", "id", "app.x_id_seq"), ("app.z", "id", "app.zq")],
        [("app.x", "app.x_v")],
    )
    assert (identity_sequences(db), clustered(db)) == first
    client.execute(
        "ALTER TABLE app.x RENAME TO y;"
        "ALTER SEQUENCE app.zq RENAME TO zq2;"
        "ALTER TABLE app.y CLUSTER ON x_pkey;"
    )
    client.execute("SELECT pggit.commit('two')")
    second = (
        [("app.y", "id", "app.x_id_seq"), ("app.z", "id", "app.zq2")],
        [("app.y", "app.x_pkey")],
    )
    assert (identity_sequences(db), clustered(db)) == second
    client.execute("SELECT pggit.branch_create('one', 'HEAD~1')")
    for branch, expected in (("one", first), ("main", second), ("one", first)):
        client.execute("SELECT * FROM pggit.checkout(%s)", (branch,))
        assert (identity_sequences(db), clustered(db)) == expected
        assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []


def toast_options(db: EngineDB) -> list[tuple]:
    """(relation, its own storage parameters, its TOAST table's) of schema app, sorted."""
    return db.rows(
        "SELECT c.oid::regclass::text, "
        "(SELECT array_agg(o ORDER BY o) FROM unnest(c.reloptions) o), "
        "(SELECT array_agg(o ORDER BY o) FROM unnest(t.reloptions) o) FROM pg_class c "
        "JOIN pg_class t ON t.oid = c.reltoastrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'app' ORDER BY 1"
    )


def test_toast_storage_parameters_check_out_and_change_in_place(
    client: psycopg.Connection, engine_db: EngineDB
):
    # WITH (toast.autovacuum_enabled = false, ...): the parameters of a table's (or materialized
    # view's) TOAST table, which pg_dump writes in its WITH; by the superuser and an ordinary role
    db = engine_db
    root = db.one("SELECT commit_hash FROM pggit.head()")
    client.execute(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.docs (id int, body text) WITH (fillfactor = 80,"
        " toast.autovacuum_enabled = false, toast.vacuum_truncate = false);"
        "CREATE MATERIALIZED VIEW app.bodies WITH (toast.autovacuum_enabled = false)"
        " AS SELECT id, body FROM app.docs;"
    )
    client.execute("SELECT pggit.commit('one')")
    first = [
        ("app.bodies", None, ["autovacuum_enabled=false"]),
        ("app.docs", ["fillfactor=80"], ["autovacuum_enabled=false", "vacuum_truncate=false"]),
    ]
    assert toast_options(db) == first
    before = schema_dump(db.url, server_major(db))
    # a change of them is captured as a change of the table, and altered in place
    client.execute(
        "ALTER TABLE app.docs SET (toast.autovacuum_enabled = true), RESET (toast.vacuum_truncate)"
    )
    assert client.execute("SELECT object_key, change_type FROM pggit.status()").fetchall() == [
        ("table:app.docs", "MODIFIED")
    ]
    client.execute("SELECT pggit.commit('two')")
    second = [first[0], ("app.docs", ["fillfactor=80"], ["autovacuum_enabled=true"])]
    assert toast_options(db) == second
    docs = db.one("SELECT 'app.docs'::regclass::oid")
    client.execute("SELECT pggit.branch_create('one', 'HEAD~1')")
    client.execute("SELECT pggit.branch_create('empty', %s)", (root,))
    for branch, expected in (("one", first), ("main", second), ("empty", []), ("one", first)):
        client.execute("SELECT * FROM pggit.checkout(%s)", (branch,))
        assert toast_options(db) == expected
        assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []
        if branch == "main":
            assert db.one("SELECT 'app.docs'::regclass::oid") == docs
    assert schema_dump(db.url, server_major(db)) == before
    script = db.one("SELECT pggit.diff_script('one', 'main')")
    assert [line for line in script.splitlines() if not line.startswith(("--", "SET "))] == [
        "",
        "ALTER TABLE app.docs RESET (toast.vacuum_truncate);",
        "",
        "ALTER TABLE app.docs SET (toast.autovacuum_enabled=true);",
    ]


def test_toast_parameters_of_a_table_whose_toastable_columns_were_dropped_are_not_written(
    client: psycopg.Connection, engine_db: EngineDB
):
    # a table keeps its TOAST table, and that table's parameters, when its last column of variable
    # length is dropped; a table created with its remaining columns gets none (CREATE TABLE drops
    # the toast.* options): its definition does not write them, so a checkout re-creating it is
    # clean; the new column's TOAST table that ADD COLUMN makes has them back in the definition
    db = engine_db
    root = db.one("SELECT commit_hash FROM pggit.head()")
    client.execute(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.t (id int, body text) WITH (toast.autovacuum_enabled = false);"
        "ALTER TABLE app.t DROP COLUMN body;"
    )
    assert toast_options(db) == [("app.t", None, ["autovacuum_enabled=false"])]
    definition = "SELECT definition FROM pggit.live_definitions() WHERE object_key = 'table:app.t'"
    assert db.one(definition) == "CREATE TABLE app.t (\n    id integer\n);"
    client.execute("SELECT pggit.commit('one')")
    client.execute("SELECT pggit.branch_create('empty', %s)", (root,))
    client.execute("SELECT * FROM pggit.checkout('empty')")
    client.execute("SELECT * FROM pggit.checkout('main')")
    assert toast_options(db) == []
    assert db.one("SELECT reltoastrelid FROM pg_class WHERE oid = 'app.t'::regclass") == 0
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []
    client.execute(
        "ALTER TABLE app.t ADD COLUMN note text;"
        "ALTER TABLE app.t SET (toast.autovacuum_enabled = false);"
    )
    assert db.one(definition) == (
        "CREATE TABLE app.t (\n    id integer,\n    note text\n)\n"
        "WITH (toast.autovacuum_enabled=false);"
    )


def test_a_sort_operator_and_operators_of_a_schema_that_needs_quotes_check_out(
    client: psycopg.Connection, engine_db: EngineDB
):
    # CREATE AGGREGATE ... SORTOP = OPERATOR(schema.op) (a bare name, no argument types), and the
    # COMMUTATOR and NEGATOR of an operator in a schema whose name needs quotes
    db = engine_db
    root = db.one("SELECT commit_hash FROM pggit.head()")
    client.execute(
        'CREATE SCHEMA "Geo";'
        'CREATE FUNCTION "Geo".near(a int, b int) RETURNS boolean LANGUAGE sql IMMUTABLE'
        " AS $$ SELECT abs(a - b) < 2 $$;"
        'CREATE FUNCTION "Geo".far(a int, b int) RETURNS boolean LANGUAGE sql IMMUTABLE'
        " AS $$ SELECT abs(a - b) >= 2 $$;"
        'CREATE OPERATOR "Geo".~~~ (LEFTARG = int, RIGHTARG = int, FUNCTION = "Geo".near,'
        ' COMMUTATOR = OPERATOR("Geo".~~~), NEGATOR = OPERATOR("Geo".!~~));'
        'CREATE OPERATOR "Geo".!~~ (LEFTARG = int, RIGHTARG = int, FUNCTION = "Geo".far,'
        ' COMMUTATOR = OPERATOR("Geo".!~~), NEGATOR = OPERATOR("Geo".~~~));'
        'CREATE AGGREGATE "Geo".biggest(integer) (SFUNC = int4larger, STYPE = integer,'
        " SORTOP = >);"
        'CREATE AGGREGATE "Geo".smallest(integer) (SFUNC = int4smaller, STYPE = integer,'
        " SORTOP = OPERATOR(pg_catalog.<));"
    )
    client.execute("SELECT pggit.commit('operators')")
    before = schema_dump(db.url, server_major(db))
    facts = (
        "SELECT (SELECT string_agg(oid::regoperator::text || ' ' || oprcom::regoperator::text"
        " || ' ' || oprnegate::regoperator::text, ', ' ORDER BY oprname) FROM pg_operator"
        " WHERE oprnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'Geo')),"
        " (SELECT string_agg(aggfnoid::text || ' ' || aggsortop::regoperator::text, ', '"
        " ORDER BY aggfnoid::text) FROM pg_aggregate"
        " WHERE aggfnoid::regproc::text LIKE '\"Geo\".%')"
    )
    expected = (
        '"Geo".!~~(integer,integer) "Geo".!~~(integer,integer) "Geo".~~~(integer,integer), '
        '"Geo".~~~(integer,integer) "Geo".~~~(integer,integer) "Geo".!~~(integer,integer)',
        '"Geo".biggest >(integer,integer), "Geo".smallest <(integer,integer)',
    )
    assert db.rows(facts) == [expected]
    client.execute("SELECT pggit.branch_create('empty', %s)", (root,))
    client.execute("SELECT * FROM pggit.checkout('empty')")
    assert db.rows(facts) == [(None, None)]
    client.execute("SELECT * FROM pggit.checkout('main')")
    assert db.rows(facts) == [expected]
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []
    assert schema_dump(db.url, server_major(db)) == before
    assert db.one('SELECT "Geo".biggest(x) FROM generate_series(1, 5) x') == 5


def test_a_materialized_views_column_settings_check_out(
    client: psycopg.Connection, engine_db: EngineDB
):
    # ALTER MATERIALIZED VIEW ... ALTER COLUMN ... SET STATISTICS / SET STORAGE / SET (...): a
    # materialized view's columns take the settings a table's do, and pg_dump writes them
    db = engine_db
    root = db.one("SELECT commit_hash FROM pggit.head()")
    client.execute(
        "CREATE SCHEMA app; CREATE TABLE app.events (kind text, payload jsonb);"
        "CREATE MATERIALIZED VIEW app.kinds AS SELECT kind, payload, count(*) AS n"
        " FROM app.events GROUP BY kind, payload;"
        "ALTER MATERIALIZED VIEW app.kinds ALTER COLUMN kind SET STATISTICS 400,"
        " ALTER COLUMN payload SET STORAGE EXTERNAL, ALTER COLUMN kind SET (n_distinct = 7);"
    )
    settings = (
        "SELECT attname, attstattarget, attstorage, (SELECT array_agg(o ORDER BY o) "
        "FROM unnest(attoptions) o WHERE o NOT LIKE 'pg\\_%') FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid AND c.relname = 'kinds' "
        "WHERE a.attnum > 0 ORDER BY a.attnum"
    )
    default_target = db.one(
        "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'app.events'::regclass "
        "AND attname = 'kind'"
    )
    expected = [
        ("kind", 400, "x", ["n_distinct=7"]),
        ("payload", default_target, "e", None),
        ("n", default_target, "p", None),
    ]
    assert db.rows(settings) == expected
    client.execute("SELECT pggit.commit('kinds')")
    before = schema_dump(db.url, server_major(db))
    assert "ALTER TABLE ONLY app.kinds ALTER COLUMN kind SET STATISTICS 400;" in before
    # a change is captured as a change of the materialized view
    client.execute("ALTER MATERIALIZED VIEW app.kinds ALTER COLUMN kind SET STATISTICS 300")
    assert client.execute("SELECT object_key, change_type FROM pggit.status()").fetchall() == [
        ("materialized_view:app.kinds", "MODIFIED")
    ]
    client.execute("SELECT pggit.commit('300')")
    client.execute("SELECT pggit.branch_create('kinds', 'HEAD~1')")
    client.execute("SELECT pggit.branch_create('empty', %s)", (root,))
    for branch in ("empty", "kinds"):
        client.execute("SELECT * FROM pggit.checkout(%s)", (branch,))
        assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []
    assert db.rows(settings) == expected
    assert schema_dump(db.url, server_major(db)) == before
    client.execute("SELECT * FROM pggit.checkout('main')")
    assert db.rows(settings)[0] == ("kind", 300, "x", ["n_distinct=7"])


# An identity sequence's privileges and a comment on an index name, in a comment, the table (and
# column) their statements do not (docs/engine-catalog.md, "Dependencies named in comments"): a
# blob, with the dependencies in its meta, is stored once per text, and an object whose
# dependencies changed while its text did not kept those of the tree that stored it first, which
# the plan then used. Each case commits, renames what the object depends on, commits, then checks
# out the first commit and back, twice.


def live_definition(conn: psycopg.Connection, key: str) -> str | None:
    row = conn.execute(
        "SELECT definition FROM pggit.live_objects() WHERE object_key = %s", (key,)
    ).fetchone()
    return None if row is None else row[0]


def changes(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        'SELECT object_key, change_type FROM pggit.status() ORDER BY object_key COLLATE "C"'
    ).fetchall()


def there_and_back(conn: psycopg.Connection, check) -> None:
    """Branch one at HEAD~1; checks out one, main, one, main, calling check(branch) after each."""
    conn.execute("SELECT pggit.branch_create('one', 'HEAD~1')")
    for branch in ("one", "main", "one", "main"):
        conn.execute("SELECT * FROM pggit.checkout(%s)", (branch,))
        check(branch)
        assert changes(conn) == []
        assert conn.execute("SELECT clean FROM pggit.head()").fetchone()[0] is True


def test_grants_on_an_identity_sequence_check_out_across_a_rename_of_its_table(
    client: psycopg.Connection, engine_db: EngineDB, make_role
):
    # the sequence keeps its name when its table is renamed: the entry's statements name the
    # table, so the rename changes the entry, which is taken back before the table is dropped and
    # granted again after it is created (the grants went with the dropped sequence)
    db = engine_db
    reader = make_role()
    key = "privileges:sequence:app.t_id_seq"
    client.execute(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.t (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);"
        f"GRANT SELECT, USAGE ON SEQUENCE app.t_id_seq TO {reader};"
    )
    client.execute("SELECT pggit.commit('t')")
    granted_t = (
        f"GRANT SELECT, USAGE ON SEQUENCE app.t_id_seq /* identity of app.t.id */ TO {reader};"
    )
    granted_u = (
        f"GRANT SELECT, USAGE ON SEQUENCE app.t_id_seq /* identity of app.u.id */ TO {reader};"
    )
    assert live_definition(client, key) == granted_t
    client.execute("ALTER TABLE app.t RENAME TO u")
    assert changes(client) == [
        ("constraint:app.t.t_pkey", "REMOVED"),
        ("constraint:app.u.t_pkey", "ADDED"),
        (key, "MODIFIED"),
        ("table:app.t", "REMOVED"),
        ("table:app.u", "ADDED"),
    ]
    assert live_definition(client, key) == granted_u
    client.execute("SELECT pggit.commit('u')")
    back = client.execute("SELECT pggit.diff_script('HEAD', 'HEAD~1')").fetchone()[0]
    assert (
        back.split("\n\n")[1:]
        == [
            "REVOKE ALL ON SEQUENCE app.t_id_seq /* identity of app.u.id */ "
            f"FROM {reader} CASCADE;",
            "ALTER TABLE IF EXISTS app.u DROP CONSTRAINT IF EXISTS t_pkey;",
            "DROP TABLE IF EXISTS app.u;",
            "CREATE TABLE app.t (\n"
            "    id integer GENERATED ALWAYS AS IDENTITY"
            # (PostgreSQL 18: a checkout's CREATE TABLE names its NOT NULL, test_not_null_names.py)
            + (" CONSTRAINT t_id_not_null" if server_major(db) >= 18 else "")
            + " NOT NULL,\n"
            "    v text\n);",
            "ALTER TABLE app.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);",
            granted_t + "\n",
        ]
    )

    def check(branch: str) -> None:
        table = "app.t" if branch == "one" else "app.u"
        assert identity_sequences(db) == [(table, "id", "app.t_id_seq")]
        assert live_definition(client, key) == (granted_t if branch == "one" else granted_u)
        assert db.one(
            "SELECT has_sequence_privilege(%s, 'app.t_id_seq', 'USAGE')"
            " AND has_sequence_privilege(%s, 'app.t_id_seq', 'SELECT')",
            (reader, reader),
        )

    there_and_back(client, check)


def test_grants_on_an_identity_sequence_follow_its_column_renamed_or_given_up(
    engine_db: EngineDB, make_role
):
    # a renamed identity column changes the entry too (its table, whose first column it is, is
    # created again: the grants are taken back before and made again after)
    db = engine_db
    reader = make_role()
    key = "privileges:sequence:app.t_id_seq"
    db.run(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.t (id int GENERATED BY DEFAULT AS IDENTITY, v text);"
        f"GRANT USAGE ON SEQUENCE app.t_id_seq TO {reader};"
    )
    db.run("SELECT pggit.commit('t')")
    db.run("ALTER TABLE app.t RENAME COLUMN id TO key")
    assert changes(db.conn) == [(key, "MODIFIED"), ("table:app.t", "MODIFIED")]
    db.run("SELECT pggit.commit('key')")
    assert db.one("SELECT pggit.diff_script('HEAD~1', 'HEAD')").split("\n\n")[1:] == [
        f"REVOKE ALL ON SEQUENCE app.t_id_seq /* identity of app.t.id */ FROM {reader} CASCADE;",
        "DROP TABLE IF EXISTS app.t;",
        "CREATE TABLE app.t (\n"
        "    key integer GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME app.t_id_seq)"
        + (" CONSTRAINT t_id_not_null" if server_major(db) >= 18 else "")
        + " NOT NULL,\n"
        "    v text\n);",
        f"GRANT USAGE ON SEQUENCE app.t_id_seq /* identity of app.t.key */ TO {reader};\n",
    ]

    def check(branch: str) -> None:
        column = "id" if branch == "one" else "key"
        assert identity_sequences(db) == [("app.t", column, "app.t_id_seq")]
        assert live_definition(db.conn, key) == (
            f"GRANT USAGE ON SEQUENCE app.t_id_seq /* identity of app.t.{column} */ TO {reader};"
        )
        assert db.one("SELECT has_sequence_privilege(%s, 'app.t_id_seq', 'USAGE')", (reader,))

    there_and_back(db.conn, check)


def test_a_comment_on_an_index_checks_out_across_a_rename_of_its_table(engine_db: EngineDB):
    # COMMENT ON INDEX names the index alone: its table (in the comment's key) is named in a comment
    db = engine_db
    db.run(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.t (id int);"
        "CREATE INDEX t_id ON app.t (id);"
        "COMMENT ON INDEX app.t_id IS 'lookups';"
    )
    db.run("SELECT pggit.commit('t')")
    db.run("ALTER TABLE app.t RENAME TO u")
    assert changes(db.conn) == [
        ("comment:index:app.t.t_id", "REMOVED"),
        ("comment:index:app.u.t_id", "ADDED"),
        ("index:app.t.t_id", "REMOVED"),
        ("index:app.u.t_id", "ADDED"),
        ("table:app.t", "REMOVED"),
        ("table:app.u", "ADDED"),
    ]
    db.run("SELECT pggit.commit('u')")

    def check(branch: str) -> None:
        table = "t" if branch == "one" else "u"
        assert live_definition(db.conn, f"comment:index:app.{table}.t_id") == (
            f"COMMENT ON INDEX app.t_id /* on app.{table} */ IS 'lookups';"
        )
        assert db.one("SELECT obj_description('app.t_id'::regclass, 'pg_class')") == "lookups"

    there_and_back(db.conn, check)


def test_names_in_a_definitions_comment_neither_open_nor_close_it_and_stay_distinct(
    engine_db: EngineDB,
):
    db = engine_db
    assert db.rows(
        "SELECT pggit._comment_text(x) FROM unnest(%s::text[]) WITH ORDINALITY u(x, o) ORDER BY o",
        (["a*/b", "a* /b", "a/*b", "a\\*/b", "*/*", "plain"],),
    ) == [("a*\\/b",), ("a* /b",), ("a/\\*b",), ("a\\\\*\\/b",), ("*\\/\\*",), ("plain",)]
    db.run(
        'CREATE SCHEMA app; CREATE TABLE app."t*/u" (id int); CREATE TABLE app."t* /u" (id int);'
        'CREATE INDEX i1 ON app."t*/u" (id); CREATE INDEX i2 ON app."t* /u" (id);'
        "COMMENT ON INDEX app.i1 IS 'one'; COMMENT ON INDEX app.i2 IS 'two';"
    )
    assert db.rows(
        "SELECT definition FROM pggit.live_objects()"
        " WHERE object_key LIKE 'comment:index:%' ORDER BY 1"
    ) == [
        ("COMMENT ON INDEX app.i1 /* on app.\"t*\\/u\" */ IS 'one';",),
        ("COMMENT ON INDEX app.i2 /* on app.\"t* /u\" */ IS 'two';",),
    ]
    db.run("SELECT pggit.commit('t')")
    db.run("SELECT pggit.branch_create('empty', 'HEAD')")
    db.run("SELECT * FROM pggit.checkout('empty')")
    db.run("DROP SCHEMA app CASCADE")
    db.run("SELECT pggit.commit('none')")
    db.run("SELECT * FROM pggit.checkout('main')")
    assert db.rows(
        "SELECT obj_description('app.i1'::regclass), obj_description('app.i2'::regclass)"
    ) == [("one", "two")]
    assert db.rows("SELECT object_key FROM pggit.status()") == []
