"""What pg_dump writes for a schema is either tracked (captured as an object of its kind, diffed,
re-created) or refused at capture (docs/engine-catalog.md)."""

from __future__ import annotations

import psycopg
import pytest

from tests.engine.enginedb import EngineDB, engine_error


def test_the_added_kinds_are_captured_as_objects_and_dropped_again(engine_db: EngineDB):
    db = engine_db
    db.run(
        "CREATE SCHEMA app;"
        "CREATE COLLATION app.bytes (provider = libc, locale = 'C');"
        "CREATE TEXT SEARCH DICTIONARY app.simple_en "
        "(TEMPLATE = pg_catalog.simple, stopwords = 'english');"
        "CREATE TEXT SEARCH CONFIGURATION app.docs (PARSER = pg_catalog.default);"
        "ALTER TEXT SEARCH CONFIGURATION app.docs "
        "ADD MAPPING FOR asciiword WITH app.simple_en;"
        "CREATE TABLE app.t (a int, b int, c text COLLATE app.bytes);"
        "CREATE STATISTICS app.t_ab ON a, b FROM app.t;"
        "CREATE FUNCTION app.eq(a app.t, b app.t) RETURNS boolean LANGUAGE sql IMMUTABLE "
        "AS $$ SELECT a.a = b.a $$;"
        "CREATE OPERATOR app.=== (LEFTARG = app.t, RIGHTARG = app.t, FUNCTION = app.eq);"
        "CREATE FUNCTION app.t_text(x app.t) RETURNS text LANGUAGE sql IMMUTABLE "
        "AS $$ SELECT x.c $$;"
        "CREATE CAST (app.t AS text) WITH FUNCTION app.t_text(app.t);"
        "CREATE RULE t_keep AS ON DELETE TO app.t DO INSTEAD NOTHING;"
    )
    status = dict(db.rows("SELECT object_key, object_type FROM pggit.status()"))
    assert {
        key: kind for key, kind in status.items() if kind not in ("schema", "table", "function")
    } == {
        "collation:app.bytes": "collation",
        "text_search_dictionary:app.simple_en": "text_search_dictionary",
        "text_search_configuration:app.docs": "text_search_configuration",
        "statistics:app.t_ab": "statistics",
        "operator:app.===(app.t,app.t)": "operator",
        "cast:app.t,text": "cast",
        "rule:app.t.t_keep": "rule",
    }
    config = db.one(
        "SELECT after FROM pggit.diff('HEAD', 'WORKING') "
        "WHERE object_key = 'text_search_configuration:app.docs'"
    )
    assert config == (
        'CREATE TEXT SEARCH CONFIGURATION app.docs (PARSER = pg_catalog."default");\n'
        "ALTER TEXT SEARCH CONFIGURATION app.docs "
        "ADD MAPPING FOR asciiword WITH app.simple_en;"
    )
    table_deps = db.one(
        "SELECT b.meta->'deps' FROM pggit.live_state l JOIN pggit.blobs b ON b.hash = l.blob_hash "
        "WHERE l.object_key = 'table:app.t'"
    )
    assert "collation:app.bytes" in table_deps
    db.run("SELECT pggit.commit('kinds')")
    db.run(
        "DROP CAST (app.t AS text); DROP OPERATOR app.=== (app.t, app.t); DROP STATISTICS app.t_ab;"
        "DROP RULE t_keep ON app.t; DROP TEXT SEARCH CONFIGURATION app.docs;"
        "DROP TEXT SEARCH DICTIONARY app.simple_en"
    )
    removed = sorted(db.rows("SELECT object_key, change_type FROM pggit.status()"))
    assert removed == [
        ("cast:app.t,text", "REMOVED"),
        ("operator:app.===(app.t,app.t)", "REMOVED"),
        ("rule:app.t.t_keep", "REMOVED"),
        ("statistics:app.t_ab", "REMOVED"),
        ("text_search_configuration:app.docs", "REMOVED"),
        ("text_search_dictionary:app.simple_en", "REMOVED"),
    ]
    # and checked out back
    db.run("SELECT pggit.branch_create('without')")
    db.run("SELECT pggit.commit('dropped')")
    db.run("SELECT * FROM pggit.checkout('without')")
    assert db.live_tree_hash() == db.branch_tree("without")
    assert db.one("SELECT count(*) FROM pg_operator WHERE oprname = '==='") == 1


@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE OPERATOR FAMILY app.fam USING btree",
        "CREATE OPERATOR CLASS app.int_ops FOR TYPE int USING hash AS OPERATOR 1 =",
        "CREATE FOREIGN DATA WRAPPER pggit_t_fdw",
    ],
)
def test_kinds_that_cannot_be_versioned_are_refused_at_capture(engine_db: EngineDB, ddl):
    db = engine_db
    db.run("CREATE SCHEMA app; CREATE SCHEMA scratch")
    with pytest.raises(psycopg.errors.RaiseException) as refused:
        db.run(ddl)
    assert engine_error(refused) == "UNTRACKED_KIND"
    assert "excluded_schemas" in refused.value.diag.message_hint
    # allowed with capture off for the transaction, or in an excluded schema
    with db.conn.transaction(force_rollback=True):
        db.run("SELECT pggit.set_capture(false)")
        db.run(ddl)
    if "app." in ddl:
        db.run("""SELECT pggit.config_set('excluded_schemas', '["pggit_console", "scratch"]')""")
        db.run(ddl.replace("app.", "scratch."))
        assert db.rows("SELECT object_key FROM pggit.status() WHERE schema_name = 'scratch'") == []
