"""The catalog (sql/engine/catalog/catalog.sql): canonical definitions, keys, anchors and DDL
generation.

Every test runs against a real PostgreSQL in scratch databases (see conftest.py). The key property:
executing sql_create() of every object of a database, in dependency order, in an empty database
rebuilds exactly the same set of objects with the same definitions; and sql_alter(old, new)
applied to old yields exactly new.
"""

import json
import pathlib

import psycopg
import pytest
from psycopg import sql

from tests.engine.test_not_null_names import with_default_not_null_names

LIVE = (
    "SELECT object_key, kind, schema_name, object_name, parent_name, definition, meta "
    "FROM pggit.live_objects()"
)


def live(conn):
    return {row[0]: row for row in conn.execute(LIVE).fetchall()}


def topological(objects):
    """Keys ordered so that every object comes after the objects in its meta.deps."""
    order, state = [], {}

    def visit(key):
        if state.get(key) == "done":
            return
        assert state.get(key) != "visiting", f"dependency cycle through {key}"
        state[key] = "visiting"
        for dep in sorted(objects[key][6]["deps"]):
            if dep in objects:
                visit(dep)
        state[key] = "done"
        order.append(key)

    for key in sorted(objects):
        visit(key)
    return order


def create_all(conn, objects):
    for key in topological(objects):
        _, kind, *_rest, definition, meta = objects[key]
        for stmt in conn.execute(
            "SELECT unnest(pggit.sql_create(%s, %s, %s))", (kind, definition, json.dumps(meta))
        ).fetchall():
            conn.execute(stmt[0])


# ----------------------------------------------------------------------------------------------
# Round trip
# ----------------------------------------------------------------------------------------------


def test_every_kind_is_present(fixture_db):
    kinds = {row[1] for row in live(fixture_db).values()}
    assert kinds == {
        "schema",
        "extension",
        "table",
        "constraint",
        "index",
        "view",
        "materialized_view",
        "function",
        "procedure",
        "aggregate",
        "trigger",
        "sequence",
        "type",
        "domain",
        "policy",
        "comment",
    }


def test_round_trip_rebuilds_identical_objects(fixture_db, make_db):
    source = live(fixture_db)
    target = make_db()
    create_all(target, source)
    rebuilt = live(target)
    assert sorted(rebuilt) == sorted(source)
    for key, row in source.items():
        assert rebuilt[key] == row, key


def test_definitions_do_not_depend_on_search_path(fixture_db):
    expected = live(fixture_db)
    fixture_db.execute('SET search_path = app, public, "Mixed Case"')
    try:
        assert live(fixture_db) == expected
    finally:
        fixture_db.execute("RESET search_path")


def test_keys_are_unique_and_stable(fixture_db):
    rows = fixture_db.execute("SELECT object_key FROM pggit.live_objects()").fetchall()
    assert len(rows) == len({r[0] for r in rows})
    assert live(fixture_db) == live(fixture_db)


# ----------------------------------------------------------------------------------------------
# Definitions the catalog writes itself: plain btree indexes
# ----------------------------------------------------------------------------------------------

SHAPES_SQL = pathlib.Path(__file__).with_name("catalog_shapes.sql")

# the indexes of catalog_shapes.sql whose text the catalog writes without pg_get_indexdef: every
# other one of the file is left to it
FAST_INDEXES = {
    "index:Other Schema.Quoted Table.Quoted Idx",
    'index:Other Schema.Quoted Table.idx "with" quotes',
    "index:public.serials.serials_v",
    "index:shapes.mv.mv_v",
    "index:shapes.parted_1.parted_1_k",
    "index:shapes.t.T Mixed Idx",
    "index:shapes.t.select",
    "index:shapes.t.t_collate_same",
    "index:shapes.t.t_numeric",
    "index:shapes.t.t_replident",
    "index:shapes.t.t_unique",
    "index:shapes.t.t_unique_multi",
    "index:shapes.t.t_v",
}


def fast_paths_only(conn):
    """A copy (temporary view) of _o_index in which pg_get_indexdef gives NULL: what is left is the
    text the catalog writes itself."""
    conn.execute("SET search_path = pg_catalog, pggit")
    call = "pg_get_indexdef(ic.oid)"
    text = conn.execute("SELECT pg_get_viewdef('pggit._o_index'::regclass)").fetchone()[0]
    assert call in text, f"_o_index no longer calls {call}: update this test"
    conn.execute("CREATE TEMP VIEW fast_o_index AS " + text.replace(call, "NULL::text"))


def test_plain_btree_indexes_are_written_as_pg_get_indexdef_writes_them(make_db):
    conn = make_db()
    conn.execute(SHAPES_SQL.read_text())
    fast_paths_only(conn)
    rows = conn.execute(
        "SELECT f.object_key, f.definition, o.definition, pg_get_indexdef(f.objid) "
        "FROM fast_o_index f JOIN pggit._o_index o ON o.object_key = f.object_key "
        "WHERE f.schema_name IN ('shapes', 'Other Schema', 'public')"
    ).fetchall()
    assert len(rows) == 35
    for key, fast, definition, indexdef in rows:
        statement = indexdef
        if key.startswith("index:shapes.parted."):  # a partitioned table's: ON, not ON ONLY
            statement = indexdef.replace(" ON ONLY ", " ON ", 1)
        assert definition.startswith(statement + ";"), key  # the definition, fast or not
        if fast is not None:
            assert fast == definition, key
    assert {key for key, fast, *_ in rows if fast is not None} == FAST_INDEXES
    conn.execute("RESET search_path")


# ----------------------------------------------------------------------------------------------
# Exact definitions (a regression in normalisation fails here)
# ----------------------------------------------------------------------------------------------

EXPECTED_FILE = pathlib.Path(__file__).with_name("catalog_expected.sql")


def expected_definitions():
    """{key: {min_major: definition}} from catalog_expected.sql.

    A block starts with "-- key: <key>", or "-- key@<major>: <key>" for the text a server of that
    major version or later prints instead (pg_get_viewdef changed in PostgreSQL 16).
    """
    blocks = {}
    current = None
    for line in EXPECTED_FILE.read_text().splitlines():
        if line.startswith("-- key"):
            head, key = line[len("-- key") :].split(": ", 1)
            current = blocks.setdefault(key, {}).setdefault(int(head[1:]) if head else 0, [])
        elif current is not None:
            current.append(line)
    return {
        key: {major: "\n".join(lines).rstrip("\n") for major, lines in versions.items()}
        for key, versions in blocks.items()
    }


def expected_for(conn, key):
    major = conn.info.server_version // 10000
    versions = EXPECTED[key]
    return versions[max(v for v in versions if v <= major)]


EXPECTED = expected_definitions()


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_exact_definition(fixture_db, key):
    objects = live(fixture_db)
    assert key in objects
    assert objects[key][5] == expected_for(fixture_db, key)


def test_extension_definition(fixture_db):
    version = fixture_db.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'citext'"
    ).fetchone()[0]
    assert live(fixture_db)["extension:citext"][5] == (
        f"CREATE EXTENSION citext WITH SCHEMA public VERSION '{version}';"
    )


def test_view_check_option_is_kept(fixture_db):
    assert live(fixture_db)["view:app.adults"][5].startswith(
        "CREATE VIEW app.adults WITH (check_option=local) AS\n"
    )


def test_kinds_and_names(fixture_db):
    objects = live(fixture_db)
    assert objects["function:app.reset_counter(integer)"][1] == "procedure"
    assert objects["function:app.int_sum(integer)"][1] == "aggregate"
    assert objects["function:app.mood_of(app.mood)"][1] == "function"
    assert objects["constraint:app.customers.customers_pkey"][2:5] == (
        "app",
        "customers_pkey",
        "customers",
    )
    assert objects["comment:column:app.customers.email"][4] == "column:app.customers.email"
    assert objects["comment:table:app.customers"][4] == "table:app.customers"


def test_untracked_objects_are_left_out(fixture_db):
    keys = set(live(fixture_db))
    # extension members, implicit types and functions, backing indexes, identity sequences,
    # partition children's copies of indexes and constraints
    assert not [
        k for k in keys if "citext" in k and not k.startswith(("extension:", "comment:extension:"))
    ]
    assert not [
        k for k in keys if "floatmultirange" in k or k.startswith("function:app.floatrange(")
    ]
    assert "index:app.customers.customers_pkey" not in keys
    assert "sequence:app.orders_seq_no_seq" not in keys
    assert "sequence:app.customers_id_seq" not in keys
    assert not [
        k for k in keys if k.startswith(("constraint:app.events_2024", "index:app.events_2024"))
    ]
    assert not [
        k for k in keys if k.split(":")[1].startswith(("pggit", "pg_catalog", "information_schema"))
    ]
    assert "extension:plpgsql" not in keys  # installed in pg_catalog


# ----------------------------------------------------------------------------------------------
# meta
# ----------------------------------------------------------------------------------------------


def deps(objects, key):
    return objects[key][6]["deps"]


def test_dependencies(fixture_db):
    o = live(fixture_db)
    assert deps(o, "schema:app") == []
    assert deps(o, "table:app.customers") == [
        "domain:app.code",
        "domain:app.posint",
        "extension:citext",
        "function:app.add(integer,integer)",
        "schema:app",
        "type:app.mood",
    ]
    assert deps(o, "table:app.orders") == [
        "schema:app",
        "sequence:app.orders_id_seq",
        "type:app.pair",
    ]
    assert deps(o, "table:app.events_2024") == ["schema:app", "table:app.events"]
    assert deps(o, "table:app.child") == ["schema:app", "table:app.base"]
    assert deps(o, "constraint:app.orders.orders_customer_id_fkey") == [
        "constraint:app.customers.customers_pkey",
        "schema:app",
        "table:app.customers",
        "table:app.orders",
    ]
    assert deps(o, "constraint:app.orders.orders_no_overlap") == [
        "extension:btree_gist",
        "schema:app",
        "table:app.orders",
    ]
    assert deps(o, "view:app.big_orders") == [
        "function:app.add(integer,integer)",
        "schema:app",
        "table:app.customers",
        "table:app.orders",
    ]
    assert deps(o, "trigger:app.customers.customers_touch") == [
        "function:app.touch()",
        "schema:app",
        "table:app.customers",
    ]
    assert deps(o, "function:app.mood_of(app.mood)") == ["schema:app", "type:app.mood"]
    assert deps(o, "function:app.int_sum(integer)") == [
        "function:app.int_sum_sfunc(bigint,integer)",
        "schema:app",
    ]
    assert deps(o, "index:app.order_totals.order_totals_customer_idx") == [
        "materialized_view:app.order_totals",
        "schema:app",
    ]
    assert deps(o, "comment:column:app.customers.email") == ["table:app.customers"]
    assert deps(o, "comment:schema:app") == ["schema:app"]
    assert deps(o, "sequence:app.orders_id_seq") == ["schema:app"]
    assert deps(o, "extension:citext") == ["schema:public"]


def test_meta_formats(fixture_db):
    o = live(fixture_db)
    cols = {c["name"]: c for c in o["table:app.customers"][6]["columns"]}
    assert list(cols)[:3] == ["id", "email", "name"]
    assert cols["id"] | {"sql": None} == {
        "name": "id",
        "type": "integer",
        "collation": None,
        "not_null": True,
        "default": None,
        "identity": "ALWAYS",
        "generated": None,
        "generated_kind": None,
        "sql": None,
        "identity_options": {
            "increment": 1,
            "minvalue": 1,
            "maxvalue": 2147483647,
            "start": 1,
            "cache": 1,
            "cycle": False,
        },
        # the sequence's name when it is not <table>_<column>_seq (app.customers_id_seq here)
        "identity_sequence": None,
    }
    assert cols["name"]["collation"] == '"C"' and cols["name"]["default"] == "'anon'::text"
    assert (
        cols["name_len"]["generated"] == "length(name)"
        and cols["name_len"]["generated_kind"] == "STORED"
    )
    assert cols["email"]["sql"] == "email public.citext NOT NULL"
    meta = o["table:app.customers"][6]
    assert meta["rls"] is True and meta["rls_forced"] is True
    assert meta["options"] == ["autovacuum_enabled=false", "fillfactor=80"]
    assert meta["identity"] == "app.customers"
    assert o["table:app.orders"][6]["owned_sequences"] == [
        {"sequence": "app.orders_id_seq", "column": "id"}
    ]
    assert o["table:app.events_2024"][6]["partition_of"] == "table:app.events"
    assert o["type:app.mood"][6]["values"] == ["sad", "ok", "happy"]
    assert o["type:app.mood"][6]["type_kind"] == "enum"
    fn = o["function:app.add(integer,integer)"][6]
    assert (fn["kind"], fn["returns"], fn["identity"]) == (
        "function",
        "integer",
        "app.add(a integer, b integer)",
    )
    assert fn["signature"] == [
        {"mode": "i", "name": "a", "type": "integer"},
        {"mode": "i", "name": "b", "type": "integer"},
    ]
    seq = o["sequence:app.counter"][6]
    assert (
        seq["type"],
        seq["increment"],
        seq["minvalue"],
        seq["maxvalue"],
        seq["start"],
        seq["cache"],
        seq["cycle"],
    ) == ("integer", 5, 10, 1000, 20, 3, True)
    dom = o["domain:app.posint"][6]
    assert (dom["base_type"], dom["default"], dom["not_null"]) == ("integer", "1", True)
    assert dom["constraints"] == [{"name": "posint_check", "definition": "CHECK ((VALUE > 0))"}]
    pol = o["policy:app.customers.own_rows"][6]
    assert (pol["permissive"], pol["command"], pol["roles"]) == (
        "RESTRICTIVE",
        "SELECT",
        ["pggit_cat_reader"],
    )
    assert o["comment:column:app.customers.email"][6]["target"] == "COLUMN app.customers.email"


# ----------------------------------------------------------------------------------------------
# Keys and anchors
# ----------------------------------------------------------------------------------------------


def one(conn, query, *params):
    return conn.execute(query, params).fetchone()


def test_object_key(fixture_db):
    q = "SELECT pggit.object_key(%s::regclass, %s, %s)"
    rel = lambda name: one(fixture_db, "SELECT %s::regclass::oid", name)[0]  # noqa: E731
    assert one(fixture_db, q, "pg_class", rel("app.customers"), 0)[0] == "table:app.customers"
    assert one(fixture_db, q, "pg_class", rel("app.customers"), 2)[0] is None
    assert one(fixture_db, q, "pg_class", rel("app.customers_pkey"), 0)[0] is None
    assert (
        one(fixture_db, q, "pg_class", rel("app.customers_lower_name_idx"), 0)[0]
        == "index:app.customers.customers_lower_name_idx"
    )
    typ = one(fixture_db, "SELECT 'app.mood'::regtype::oid")[0]
    assert one(fixture_db, q, "pg_type", typ, 0)[0] == "type:app.mood"
    fn = one(fixture_db, "SELECT 'app.add(integer,integer)'::regprocedure::oid")[0]
    assert one(fixture_db, q, "pg_proc", fn, 0)[0] == "function:app.add(integer,integer)"


def anchor(conn, classname, oid):
    row = one(
        conn,
        "SELECT a.anchor_classid::regclass::text, a.anchor_objid FROM "
        "pggit.anchor_of(%s::regclass, %s) a",
        classname,
        oid,
    )
    return row if row[0] is not None else None


def test_anchor_of(fixture_db):
    c = fixture_db
    customers = one(c, "SELECT 'app.customers'::regclass::oid")[0]
    mood = one(c, "SELECT 'app.mood'::regtype::oid")[0]
    assert anchor(c, "pg_class", one(c, "SELECT 'app.customers_pkey'::regclass::oid")[0]) == (
        "pg_class",
        customers,
    )
    assert anchor(c, "pg_class", one(c, "SELECT 'app.customers_id_seq'::regclass::oid")[0]) == (
        "pg_class",
        customers,
    )
    seq = one(c, "SELECT 'app.orders_id_seq'::regclass::oid")[0]
    assert anchor(c, "pg_class", seq) == ("pg_class", seq)
    assert anchor(c, "pg_type", one(c, "SELECT 'app.mood[]'::regtype::oid")[0]) == ("pg_type", mood)
    assert anchor(c, "pg_type", one(c, "SELECT 'app.customers'::regtype::oid")[0]) == (
        "pg_class",
        customers,
    )
    rng = one(c, "SELECT 'app.floatrange'::regtype::oid")[0]
    assert anchor(c, "pg_type", one(c, "SELECT 'app.floatmultirange'::regtype::oid")[0]) == (
        "pg_type",
        rng,
    )
    ctor = one(c, "SELECT 'app.floatrange(float8,float8)'::regprocedure::oid")[0]
    assert anchor(c, "pg_proc", ctor) == ("pg_type", rng)
    for catalog, column in [
        ("pg_constraint", "conrelid"),
        ("pg_trigger", "tgrelid"),
        ("pg_policy", "polrelid"),
        ("pg_attrdef", "adrelid"),
    ]:
        query = sql.SQL("SELECT oid FROM {} WHERE {} = %s LIMIT 1").format(
            sql.Identifier(catalog), sql.Identifier(column)
        )
        oid = one(c, query, customers)[0]
        assert anchor(c, catalog, oid) == ("pg_class", customers), catalog
    dom_con = one(c, "SELECT oid FROM pg_constraint WHERE conname = 'posint_check'")[0]
    assert anchor(c, "pg_constraint", dom_con) == (
        "pg_type",
        one(c, "SELECT 'app.posint'::regtype::oid")[0],
    )
    assert anchor(c, "pg_class", one(c, "SELECT 'pggit.config'::regclass::oid")[0]) is None
    assert anchor(c, "pg_type", one(c, "SELECT 'public.citext'::regtype::oid")[0]) is None
    assert anchor(c, "pg_class", 4294967000) is None


def test_anchor_objects(fixture_db):
    c = fixture_db

    def keys(name):
        return sorted(
            r[0]
            for r in c.execute(
                "SELECT object_key FROM pggit.anchor_objects('pg_class'::regclass, %s::regclass)",
                (name,),
            )
        )

    expected = sorted(
        k
        for k, row in live(c).items()
        if k.endswith(("app.customers", "app.customers.email")) or ".customers." in k
    )
    assert keys("app.customers") == expected
    # any row of the anchor works, e.g. an index
    assert keys("app.customers_lower_name_idx") == expected
    # an owned sequence brings the owning table (its definition names the sequence)
    owned = keys("app.orders_id_seq")
    assert "sequence:app.orders_id_seq" in owned and "table:app.orders" in owned
    # same rows as live_objects()
    all_rows = live(c)
    for row in c.execute(
        "SELECT object_key, kind, schema_name, object_name, parent_name, definition, meta "
        "FROM pggit.anchor_objects('pg_class'::regclass, 'app.customers'::regclass)"
    ):
        assert all_rows[row[0]] == row


def test_anchor_dependents(fixture_db):
    c = fixture_db

    def dependents(classname, oid):
        return sorted(
            pggit_key
            for (pggit_key,) in c.execute(
                "SELECT coalesce(pggit.object_key(d.classid, d.objid, 0), "
                "d.classid::regclass::text) "
                "FROM pggit.anchor_dependents(%s::regclass, %s) d",
                (classname, oid),
            )
        )

    customers = one(c, "SELECT 'app.customers'::regclass::oid")[0]
    assert dependents("pg_class", customers) == [
        "table:app.orders",
        "view:app.adults",
        "view:app.big_orders",
    ]
    mood = one(c, "SELECT 'app.mood'::regtype::oid")[0]
    assert dependents("pg_type", mood) == ["function:app.mood_of(app.mood)", "table:app.customers"]
    touch = one(c, "SELECT 'app.touch()'::regprocedure::oid")[0]
    assert dependents("pg_proc", touch) == ["table:app.customers"]


def test_is_tracked_schema(fixture_db):
    c = fixture_db
    check = lambda name: one(c, "SELECT pggit.is_tracked_schema(%s)", name)[0]  # noqa: E731
    assert check("app") and check("public") and check("not_created_yet")
    for name in [
        "pggit",
        "pggit_console",
        "pg_catalog",
        "information_schema",
        "pg_toast",
        "pg_temp_3",
        "pg_toast_temp_3",
    ]:
        assert not check(name), name


def test_excluded_schemas_configuration(make_db):
    c = make_db()
    c.execute("CREATE SCHEMA hidden; CREATE TABLE hidden.t (a int); CREATE SCHEMA shown")
    assert {"schema:hidden", "table:hidden.t", "schema:shown"} <= set(live(c))
    c.execute("""SELECT pggit.config_set('excluded_schemas', '["pggit_console", "hidden"]')""")
    keys = set(live(c))
    assert "schema:hidden" not in keys and "table:hidden.t" not in keys and "schema:shown" in keys
    assert one(c, "SELECT pggit.is_tracked_schema('hidden')")[0] is False


# ----------------------------------------------------------------------------------------------
# DDL generation: drop, alter, data loss
# ----------------------------------------------------------------------------------------------


def test_sql_drop_everything_in_reverse_order(make_db):
    c = make_db(load_fixture=True)
    objects = live(c)
    for key in reversed(topological(objects)):
        _, kind, *_rest, meta = objects[key]
        for (stmt,) in c.execute(
            "SELECT unnest(pggit.sql_drop(%s, %s, %s))", (kind, key, json.dumps(meta))
        ).fetchall():
            assert "CASCADE" not in stmt
            c.execute(stmt)
    assert live(c) == {}


def test_sql_drop_statements(fixture_db):
    o = live(fixture_db)

    def drop(key):
        return one(
            fixture_db,
            "SELECT pggit.sql_drop(%s, %s, %s)",
            o[key][1],
            key,
            json.dumps(o[key][6]),
        )[0]

    assert drop("table:app.customers") == ["DROP TABLE IF EXISTS app.customers;"]
    assert drop("constraint:app.customers.customers_pkey") == [
        "ALTER TABLE IF EXISTS app.customers DROP CONSTRAINT IF EXISTS customers_pkey;"
    ]
    assert drop("function:app.int_sum(integer)") == [
        "DROP AGGREGATE IF EXISTS app.int_sum(integer);"
    ]
    assert drop("function:app.reset_counter(integer)") == [
        "DROP PROCEDURE IF EXISTS app.reset_counter(IN v integer);"
    ]
    assert drop("trigger:app.customers.customers_touch") == [
        "DROP TRIGGER IF EXISTS customers_touch ON app.customers;"
    ]
    assert drop("materialized_view:app.order_totals") == [
        "DROP MATERIALIZED VIEW IF EXISTS app.order_totals;"
    ]
    assert drop("comment:column:app.customers.email") == [
        "COMMENT ON COLUMN app.customers.email IS NULL;"
    ]
    assert drop("extension:citext") == ["DROP EXTENSION IF EXISTS citext;"]


# (setup, key, change): the object `key` built by `setup`, then changed by `change`.
ALTERATIONS = [
    (
        "CREATE TABLE t (a int, b text)",
        "table:public.t",
        "ALTER TABLE t ADD COLUMN c int DEFAULT 3 NOT NULL",
    ),
    ("CREATE TABLE t (a int, b text, c int)", "table:public.t", "ALTER TABLE t DROP COLUMN b"),
    (
        "CREATE TABLE t (a int DEFAULT 1, b text)",
        "table:public.t",
        "ALTER TABLE t ALTER a TYPE bigint",
    ),
    (
        "CREATE TABLE t (a int, b text DEFAULT '1')",
        "table:public.t",
        "ALTER TABLE t ALTER b DROP DEFAULT, ALTER b TYPE integer USING b::integer, ALTER b "
        "SET DEFAULT 2",
    ),
    (
        "CREATE TABLE t (a int, b text)",
        "table:public.t",
        'ALTER TABLE t ALTER b TYPE text COLLATE "C"',
    ),
    (
        "CREATE TABLE t (a int DEFAULT 1, b text DEFAULT 'y')",
        "table:public.t",
        "ALTER TABLE t ALTER a SET DEFAULT 5, ALTER b SET DEFAULT 'x', ALTER b SET NOT NULL",
    ),
    (
        "CREATE TABLE t (a int DEFAULT 1 NOT NULL, b text)",
        "table:public.t",
        "ALTER TABLE t ALTER a DROP DEFAULT, ALTER a DROP NOT NULL",
    ),
    (
        "CREATE TABLE t (a int NOT NULL DEFAULT 0, b text)",
        "table:public.t",
        "ALTER TABLE t ALTER a DROP DEFAULT, ALTER a ADD GENERATED ALWAYS AS IDENTITY",
    ),
    (
        "CREATE TABLE t (a int GENERATED ALWAYS AS IDENTITY, b text)",
        "table:public.t",
        "ALTER TABLE t ALTER a DROP IDENTITY",
    ),
    (
        "CREATE TABLE t (a int GENERATED ALWAYS AS IDENTITY, b text)",
        "table:public.t",
        "ALTER TABLE t ALTER a SET GENERATED BY DEFAULT, ALTER a SET INCREMENT BY 4 SET CACHE 10",
    ),
    (
        "CREATE TABLE t (a int GENERATED ALWAYS AS IDENTITY (START WITH 7 CYCLE), b text)",
        "table:public.t",
        "ALTER TABLE t ALTER a SET START WITH 1 SET NO CYCLE",
    ),
    # the identity sequence's name: renamed in place (ALTER SEQUENCE ... RENAME TO), to and from
    # the default one; added with a name of its own (ADD GENERATED ... (SEQUENCE NAME ...))
    (
        "CREATE TABLE t (a int GENERATED ALWAYS AS IDENTITY, b text)",
        "table:public.t",
        "ALTER SEQUENCE t_a_seq RENAME TO t_ids",
    ),
    (
        "CREATE TABLE t (a int GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME t_ids INCREMENT BY 2), "
        "b text)",
        "table:public.t",
        "ALTER SEQUENCE t_ids RENAME TO t_a_seq",
    ),
    (
        "CREATE TABLE t (a int NOT NULL DEFAULT 0, b text)",
        "table:public.t",
        "ALTER TABLE t ALTER a DROP DEFAULT, "
        "ALTER a ADD GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME t_ids START WITH 3)",
    ),
    (
        "CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 2) STORED)",
        "table:public.t",
        "ALTER TABLE t DROP COLUMN b; ALTER TABLE t ADD COLUMN b int GENERATED ALWAYS AS (a * "
        "3) STORED",
    ),
    (
        "CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 2) STORED)",
        "table:public.t",
        "ALTER TABLE t ALTER b DROP EXPRESSION",
    ),
    (
        "CREATE TABLE t (a int, b text)",
        "table:public.t",
        "ALTER TABLE t SET (fillfactor = 50), ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY",
    ),
    (
        "CREATE TABLE t (a int) WITH (fillfactor = 50, autovacuum_enabled = false); "
        "ALTER TABLE t ENABLE ROW LEVEL SECURITY",
        "table:public.t",
        "ALTER TABLE t RESET (fillfactor), SET (autovacuum_enabled = true), DISABLE ROW LEVEL "
        "SECURITY, SET UNLOGGED",
    ),
    (
        "CREATE SEQUENCE s; CREATE TABLE t (a int)",
        "table:public.t",
        "ALTER TABLE t ALTER a SET DEFAULT nextval('s'); ALTER SEQUENCE s OWNED BY t.a",
    ),
    (
        "CREATE SEQUENCE s",
        "sequence:public.s",
        "ALTER SEQUENCE s AS integer INCREMENT BY 3 MAXVALUE 500 CYCLE CACHE 2",
    ),
    ("CREATE SEQUENCE s", "sequence:public.s", "ALTER SEQUENCE s SET UNLOGGED"),
    (
        "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS 'SELECT a'",
        "function:public.f(integer)",
        "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql STABLE AS 'SELECT a + 1'",
    ),
    (
        "CREATE PROCEDURE p(a int) LANGUAGE sql AS 'SELECT 1'",
        "function:public.p(integer)",
        "CREATE OR REPLACE PROCEDURE p(a int) LANGUAGE sql AS 'SELECT 2'",
    ),
    (
        "CREATE TYPE e AS ENUM ('b', 'd')",
        "type:public.e",
        "ALTER TYPE e ADD VALUE 'a' BEFORE 'b'; ALTER TYPE e ADD VALUE 'c' AFTER 'b'; ALTER "
        "TYPE e ADD VALUE 'z'",
    ),
    (
        "CREATE TYPE c AS (x int, y text)",
        "type:public.c",
        "ALTER TYPE c DROP ATTRIBUTE y, ALTER ATTRIBUTE x TYPE bigint, ADD ATTRIBUTE z text "
        'COLLATE "C"',
    ),
    (
        "CREATE DOMAIN d AS int CONSTRAINT d_pos CHECK (VALUE > 0)",
        "domain:public.d",
        "ALTER DOMAIN d SET DEFAULT 4; ALTER DOMAIN d SET NOT NULL; ALTER DOMAIN d DROP "
        "CONSTRAINT d_pos; "
        "ALTER DOMAIN d ADD CONSTRAINT d_small CHECK (VALUE < 100)",
    ),
    (
        "CREATE TABLE t (a int, b int, c int); ALTER TABLE t ALTER COLUMN a SET (n_distinct = 5), "
        "ALTER COLUMN c SET (n_distinct = 2)",
        "table:public.t",
        "ALTER TABLE t ALTER COLUMN a RESET (n_distinct), "
        "ALTER COLUMN a SET (n_distinct_inherited = 3), "
        "ALTER COLUMN b SET (n_distinct = -0.5), ALTER COLUMN c RESET (n_distinct)",
    ),
    (
        # validated in place, not dropped and added again; another added NOT VALID
        "CREATE DOMAIN d AS int; ALTER DOMAIN d ADD CONSTRAINT d_pos CHECK (VALUE > 0) NOT VALID",
        "domain:public.d",
        "ALTER DOMAIN d VALIDATE CONSTRAINT d_pos; "
        "ALTER DOMAIN d ADD CONSTRAINT d_small CHECK (VALUE < 100) NOT VALID",
    ),
    (
        "CREATE DOMAIN d AS int CONSTRAINT d_pos CHECK (VALUE > 0)",
        "domain:public.d",
        "ALTER DOMAIN d DROP CONSTRAINT d_pos; "
        "ALTER DOMAIN d ADD CONSTRAINT d_pos CHECK (VALUE > 0) NOT VALID",
    ),
    (
        "CREATE DOMAIN d AS int DEFAULT 4 NOT NULL",
        "domain:public.d",
        "ALTER DOMAIN d DROP DEFAULT; ALTER DOMAIN d DROP NOT NULL",
    ),
    (
        "CREATE TABLE t (a int); COMMENT ON TABLE t IS 'one'",
        "comment:table:public.t",
        "COMMENT ON TABLE t IS 'two'",
    ),
    (
        "CREATE TABLE t (a int, owner text); CREATE POLICY p ON t USING (owner = current_user)",
        "policy:public.t.p",
        "ALTER POLICY p ON t TO pggit_cat_reader USING (owner = 'x') WITH CHECK (a > 0)",
    ),
    (
        "CREATE TABLE t (a int); CREATE FUNCTION tf() RETURNS trigger LANGUAGE plpgsql AS "
        "'BEGIN RETURN NEW; END'; "
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION tf()",
        "trigger:public.t.tr",
        "CREATE OR REPLACE TRIGGER tr AFTER INSERT OR UPDATE ON t FOR EACH ROW EXECUTE "
        "FUNCTION tf()",
    ),
    (
        "CREATE TABLE t (a int, b int); CREATE VIEW v AS SELECT a FROM t",
        "view:public.v",
        "CREATE OR REPLACE VIEW v WITH (security_barrier) AS SELECT a, b FROM t WHERE a > 1",
    ),
    (
        "CREATE EXTENSION citext VERSION '1.5'",
        "extension:citext",
        "ALTER EXTENSION citext UPDATE TO '1.6'",
    ),
    # the index CLUSTER uses, gained by an index or a constraint's index: in place
    (
        "CREATE TABLE t (a int, b int); CREATE INDEX i ON t (a)",
        "index:public.t.i",
        "ALTER TABLE t CLUSTER ON i",
    ),
    (
        "CREATE TABLE t (a int PRIMARY KEY, b int)",
        "constraint:public.t.t_pkey",
        "ALTER TABLE t CLUSTER ON t_pkey",
    ),
    # and lost: SET WITHOUT CLUSTER (ordered by plan_order before the table's other indexes)
    (
        "CREATE TABLE t (a int); CREATE INDEX i ON t (a); ALTER TABLE t CLUSTER ON i",
        "index:public.t.i",
        "ALTER TABLE t SET WITHOUT CLUSTER",
    ),
    (
        "CREATE TABLE t (a int PRIMARY KEY, b int); ALTER TABLE t CLUSTER ON t_pkey",
        "constraint:public.t.t_pkey",
        "ALTER TABLE t SET WITHOUT CLUSTER",
    ),
    (
        "CREATE TABLE t (a int); CREATE MATERIALIZED VIEW m AS SELECT a FROM t;"
        " CREATE INDEX i ON m (a); ALTER MATERIALIZED VIEW m CLUSTER ON i",
        "index:public.m.i",
        "ALTER MATERIALIZED VIEW m SET WITHOUT CLUSTER",
    ),
]


def sql_alter(conn, old, new):
    """pggit.sql_alter from the old to the new state of one object (rows of live())."""
    return one(
        conn,
        "SELECT pggit.sql_alter(%s, %s, %s, %s, %s)",
        old[1],
        old[5],
        json.dumps(old[6]),
        new[5],
        json.dumps(new[6]),
    )[0]


def test_options_are_sorted_byte_wise_whatever_the_database_collation(make_db):
    # ICU's 'en' sorts '_' before '.' and '=': in a database of that collation, a sort by the
    # database's collation puts toast_tuple_target before toast.vacuum_index_cleanup and
    # n_distinct_inherited before n_distinct, so definitions and scripts would differ from a
    # database of another collation (the catalog's own text columns sort byte-wise, the meta's
    # do not)
    try:
        conn = make_db(icu_locale="en")
    except psycopg.errors.FeatureNotSupported:
        pytest.skip("a server built without ICU")
    conn.execute(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.t (id int, body text) WITH (toast_tuple_target = 128);"
        "CREATE MATERIALIZED VIEW app.m WITH (toast_tuple_target = 128,"
        " toast.vacuum_index_cleanup = off) AS SELECT id, body FROM app.t;"
        "ALTER MATERIALIZED VIEW app.m ALTER COLUMN id"
        " SET (n_distinct_inherited = 3, n_distinct = 5)"
    )
    old = state_of(conn, "table:app.t")
    conn.execute(
        "ALTER TABLE app.t SET (toast.vacuum_index_cleanup = off, toast_tuple_target = 256,"
        " fillfactor = 70), ALTER COLUMN id SET (n_distinct_inherited = 3, n_distinct = 5)"
    )
    new = state_of(conn, "table:app.t")
    assert new[5] == (
        "CREATE TABLE app.t (\n    id integer,\n    body text\n)\n"
        "WITH (fillfactor=70, toast.vacuum_index_cleanup=off, toast_tuple_target=256);\n"
        "ALTER TABLE ONLY app.t ALTER COLUMN id SET (n_distinct=5, n_distinct_inherited=3);"
    )
    assert sql_alter(conn, old, new) == [
        "ALTER TABLE app.t SET"
        " (fillfactor=70, toast.vacuum_index_cleanup=off, toast_tuple_target=256);",
        "ALTER TABLE ONLY app.t ALTER COLUMN id SET (n_distinct=5, n_distinct_inherited=3);",
    ]
    assert sql_alter(conn, new, old) == [
        "ALTER TABLE app.t RESET (fillfactor, toast.vacuum_index_cleanup);",
        "ALTER TABLE app.t SET (toast_tuple_target=128);",
        "ALTER TABLE ONLY app.t ALTER COLUMN id RESET (n_distinct, n_distinct_inherited);",
    ]
    # (the query as pg_get_viewdef writes it, which differs between versions)
    view = state_of(conn, "materialized_view:app.m")[5]
    assert view.startswith(
        "CREATE MATERIALIZED VIEW app.m"
        " WITH (toast.vacuum_index_cleanup=off, toast_tuple_target=128) AS\n SELECT "
    )
    assert view.endswith(
        "FROM app.t;\n"
        "ALTER TABLE ONLY app.m ALTER COLUMN id SET (n_distinct=5, n_distinct_inherited=3);"
    )


def state_of(conn, key):
    row = live(conn).get(key)
    assert row is not None, key
    return row


@pytest.mark.parametrize(
    "setup,key,change", ALTERATIONS, ids=[f"{a[1]}:{a[2][:60]}" for a in ALTERATIONS]
)
def test_sql_alter_turns_old_into_new(make_db, setup, key, change):
    c = make_db()
    with c.transaction(force_rollback=True):
        c.execute(setup)
        old = state_of(c, key)
        c.execute(change)
        new = state_of(c, key)
    assert old[5] != new[5], "the change must change the definition"
    with c.transaction(force_rollback=True):
        c.execute(setup)
        if key.startswith("table:"):
            c.execute(f"INSERT INTO {old[6]['identity']} DEFAULT VALUES")
        statements = sql_alter(c, old, new)
        assert statements is not None, "expected an in-place alteration"
        for stmt in statements:
            c.execute(stmt)
        result = state_of(c, key)
        assert result[5] == new[5]
        assert result[6] == new[6]
        if key.startswith("table:"):
            count = c.execute("SELECT count(*) FROM " + old[6]["identity"]).fetchone()[0]
            assert count == 1, "data must survive"


RECREATIONS = [
    (
        "CREATE TABLE t (a int, b text)",
        "table:public.t",
        "ALTER TABLE t DROP COLUMN a; ALTER TABLE t ADD COLUMN a int",
    ),
    (
        "CREATE TYPE e AS ENUM ('a', 'b')",
        "type:public.e",
        "DROP TYPE e; CREATE TYPE e AS ENUM ('b', 'a')",
    ),
    (
        "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS 'SELECT a'",
        "function:public.f(integer)",
        "DROP FUNCTION f(int); CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql AS 'SELECT x'",
    ),
    (
        "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS 'SELECT a'",
        "function:public.f(integer)",
        "DROP FUNCTION f(int); CREATE FUNCTION f(a int) RETURNS bigint LANGUAGE sql AS 'SELECT "
        "a::bigint'",
    ),
    (
        "CREATE TABLE t (a int, b int); CREATE VIEW v AS SELECT a, b FROM t",
        "view:public.v",
        "DROP VIEW v; CREATE VIEW v AS SELECT b, a FROM t",
    ),
    (
        "CREATE TABLE t (a int); CREATE POLICY p ON t FOR SELECT USING (a > 0)",
        "policy:public.t.p",
        "DROP POLICY p ON t; CREATE POLICY p ON t FOR UPDATE USING (a > 0)",
    ),
    (
        "CREATE TABLE t (a int); CREATE INDEX i ON t (a)",
        "index:public.t.i",
        "DROP INDEX i; CREATE INDEX i ON t (a DESC)",
    ),
]


@pytest.mark.parametrize(
    "setup,key,change", RECREATIONS, ids=[f"{a[1]}:{a[2][:60]}" for a in RECREATIONS]
)
def test_sql_alter_refuses_what_needs_recreation(make_db, setup, key, change):
    c = make_db()
    with c.transaction(force_rollback=True):
        c.execute(setup)
        old = state_of(c, key)
        c.execute(change)
        new = state_of(c, key)
    assert old[5] != new[5]
    assert sql_alter(c, old, new) is None


def test_generated_expression_of_a_middle_column(make_db):
    """In place (SET EXPRESSION) from PostgreSQL 17 on; before that only drop and re-create."""
    c = make_db()
    setup = "CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 2) STORED, c int)"
    with c.transaction(force_rollback=True):
        c.execute(setup)
        old = state_of(c, "table:public.t")
        c.execute(
            "ALTER TABLE t DROP COLUMN b, DROP COLUMN c;"
            "ALTER TABLE t ADD COLUMN b int GENERATED ALWAYS AS (a * 3) STORED, ADD COLUMN c int"
        )
        new = state_of(c, "table:public.t")
    with c.transaction(force_rollback=True):
        c.execute(setup)
        statements = one(
            c,
            "SELECT pggit.sql_alter('table', %s, %s, %s, %s)",
            old[5],
            json.dumps(old[6]),
            new[5],
            json.dumps(new[6]),
        )[0]
        if c.info.server_version < 170000:
            assert statements is None
            return
        assert statements == ["ALTER TABLE public.t ALTER COLUMN b SET EXPRESSION AS ((a * 3));"]
        for stmt in statements:
            c.execute(stmt)
        assert state_of(c, "table:public.t")[5] == new[5]


def test_sql_alter_validates_a_domain_constraint_in_place(make_db):
    # a constraint that only lost its NOT VALID is validated, not dropped and added again (which
    # would check every column of the domain twice and leave it unprotected in between)
    c = make_db()
    with c.transaction(force_rollback=True):
        c.execute(
            "CREATE DOMAIN d AS int CONSTRAINT d_keep CHECK (VALUE <> 7); "
            "ALTER DOMAIN d ADD CONSTRAINT d_pos CHECK (VALUE > 0) NOT VALID; "
            "ALTER DOMAIN d ADD CONSTRAINT d_odd CHECK (VALUE % 2 = 1) NOT VALID"
        )
        old = state_of(c, "domain:public.d")
        c.execute(
            "ALTER DOMAIN d VALIDATE CONSTRAINT d_pos; ALTER DOMAIN d DROP CONSTRAINT d_keep; "
            "ALTER DOMAIN d ADD CONSTRAINT d_keep CHECK (VALUE <> 7) NOT VALID"
        )
        new = state_of(c, "domain:public.d")
        statements = sql_alter(c, old, new)
    assert statements == [
        "ALTER DOMAIN public.d DROP CONSTRAINT d_keep;",
        "ALTER DOMAIN public.d VALIDATE CONSTRAINT d_pos;",
        "ALTER DOMAIN public.d ADD CONSTRAINT d_keep CHECK ((VALUE <> 7)) NOT VALID;",
    ]


def test_sql_alter_of_equal_definitions_is_empty(fixture_db):
    row = live(fixture_db)["table:app.customers"]
    assert (
        one(
            fixture_db,
            "SELECT pggit.sql_alter(%s, %s, %s, %s, %s)",
            row[1],
            row[5],
            json.dumps(row[6]),
            row[5],
            json.dumps(row[6]),
        )[0]
        == []
    )


def test_sql_create_splits_table_statements(fixture_db):
    row = live(fixture_db)["table:app.orders"]
    stmts = one(
        fixture_db, "SELECT pggit.sql_create(%s, %s, %s)", row[1], row[5], json.dumps(row[6])
    )[0]
    assert (
        len(stmts) == 2 and stmts[1] == "ALTER SEQUENCE app.orders_id_seq OWNED BY app.orders.id;"
    )
    # (on PostgreSQL 18 the CREATE TABLE names the NOT NULL constraints left to the default)
    assert "\n".join(stmts) == (
        with_default_not_null_names(row[5]) if fixture_db.info.server_version >= 180000 else row[5]
    )
    assert one(fixture_db, "SELECT pggit.sql_create('schema', 'CREATE SCHEMA app;', '{}')")[0] == [
        "CREATE SCHEMA IF NOT EXISTS app;"
    ]


def test_sql_data_loss(make_db):
    c = make_db()
    with c.transaction(force_rollback=True):
        c.execute("CREATE TABLE t (a int, b text, c int, d text)")
        old = state_of(c, "table:public.t")
        c.execute("ALTER TABLE t DROP COLUMN b, ALTER c TYPE bigint, ALTER d TYPE int USING d::int")
        new = state_of(c, "table:public.t")

    def loss(o, n):
        return sorted(
            c.execute(
                "SELECT \"check\", relation, column_name FROM pggit.sql_data_loss('table', "
                "'table:public.t', %s, %s)",
                (json.dumps(o), json.dumps(n) if n is not None else None),
            ).fetchall()
        )

    assert loss(old[6], new[6]) == [
        ("column_dropped", "public.t", "b"),
        ("column_type_changed", "public.t", "d"),
    ]
    assert loss(old[6], None) == [("table_dropped", "public.t", None)]
    assert loss(old[6], old[6]) == []
    assert (
        c.execute(
            "SELECT count(*) FROM pggit.sql_data_loss('index', 'index:public.t.i', '{}', NULL)"
        ).fetchone()[0]
        == 0
    )


# ----------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query,code",
    [
        ("SELECT pggit.sql_create('bogus', 'CREATE TABLE x ()', '{}')", "[PGGIT-UNKNOWN_KIND]"),
        ("SELECT pggit.sql_create('table', NULL, '{}')", "[PGGIT-INVALID_ARGUMENT]"),
        (
            "SELECT pggit.sql_drop('table', 'view:public.v', '{\"identity\": \"public.v\"}')",
            "[PGGIT-INVALID_ARGUMENT]",
        ),
        ("SELECT pggit.sql_drop('table', 'table:public.t', '{}')", "[PGGIT-INVALID_ARGUMENT]"),
        ("SELECT pggit.sql_alter('table', NULL, '{}', 'x', '{}')", "[PGGIT-INVALID_ARGUMENT]"),
        ("SELECT * FROM pggit.sql_data_loss('nope', 'x:y', '{}', NULL)", "[PGGIT-UNKNOWN_KIND]"),
        ("SELECT * FROM pggit.anchor_of(NULL, 1)", "[PGGIT-INVALID_ARGUMENT]"),
        (
            "SELECT * FROM pggit.anchor_objects('pg_class'::regclass, NULL)",
            "[PGGIT-INVALID_ARGUMENT]",
        ),
        ("SELECT * FROM pggit.anchor_dependents(NULL, NULL)", "[PGGIT-INVALID_ARGUMENT]"),
        ("SELECT pggit.object_key(NULL, 1, 0)", "[PGGIT-INVALID_ARGUMENT]"),
        ("SELECT pggit.is_tracked_schema(NULL)", "[PGGIT-INVALID_ARGUMENT]"),
    ],
)
def test_errors_have_stable_codes(fixture_db, query, code):
    with pytest.raises(psycopg.errors.RaiseException) as err:
        fixture_db.execute(query)
    assert str(err.value).startswith(code)
