"""The set-based reads and writes behind diff WORKING and migration scripts give what the engine
gave one object at a time: the definitions read without meta (pggit.live_definitions) are those
of the full read (pggit.live_objects), the live tree stores the definitions it lacks with the
meta of the full read (pggit.blobs_put), the objects of a set of anchors are read alike by
anchor and in one pass (pggit.live_objects_of), the dependency keys read per row of pg_attrdef,
pg_rewrite and domain constraints are those of the objects, the keys of relations looked up inside
pggit._depkeys' query are those of a join of the catalogs, and the statements a plan generates
inside its one query (sql_create/sql_drop inlined) are those of the generators called for each
object."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from psycopg.types.json import Jsonb

from tests.engine.enginedb import EngineDB, engine_error, ensure_roles
from tests.engine.test_not_null_names import with_default_not_null_names

CORPUS = sorted(Path(__file__).with_name("corpus").glob("*.sql"))
ROLES = ("pggit_test_app_reader", "pggit_test_app_writer")

# one object of each shape whose dependencies are read from pg_attrdef (column defaults of a
# table and of a view), pg_rewrite (a view's query) and pg_constraint (a domain's check)
SMALL = """
CREATE SCHEMA zstore;
CREATE SEQUENCE zstore.counter;
CREATE TABLE zstore.items (id integer DEFAULT nextval('zstore.counter') PRIMARY KEY,
                           label text NOT NULL);
CREATE TABLE zstore.tags (id serial PRIMARY KEY, item_id integer REFERENCES zstore.items (id),
                          name text);
CREATE INDEX tags_name_idx ON zstore.tags (name);
COMMENT ON TABLE zstore.tags IS 'tags of items';
COMMENT ON COLUMN zstore.tags.name IS 'shown';
CREATE FUNCTION zstore.positive(integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 > 0';
CREATE DOMAIN zstore.qty AS integer CONSTRAINT qty_positive CHECK (zstore.positive(VALUE));
CREATE VIEW zstore.item_tags AS
    SELECT i.id, i.label, t.name FROM zstore.items i JOIN zstore.tags t ON t.item_id = i.id;
CREATE VIEW zstore.numbered AS SELECT 1 AS n;
ALTER VIEW zstore.numbered ALTER COLUMN n SET DEFAULT nextval('zstore.counter');
CREATE FUNCTION zstore.touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER tags_touch BEFORE UPDATE ON zstore.tags FOR EACH ROW EXECUTE FUNCTION zstore.touch();
ALTER TABLE zstore.items ENABLE ROW LEVEL SECURITY;
CREATE POLICY items_all ON zstore.items USING (true);
GRANT SELECT ON zstore.items TO PUBLIC;
"""

# the scripts of SMALL (create everything, drop everything), as the engine wrote them with one
# sql_create/sql_drop call per object; <key> stands for the definition of that object as this
# server prints it (a view's query, a function's text), the rest is the engine's own text
SMALL_CREATE = """-- pgGit migration: empty -> small
SET check_function_bodies = false;

CREATE SCHEMA IF NOT EXISTS zstore;

<sequence zstore.counter AS bigint MAXVALUE 9223372036854775807>

<sequence zstore.tags_id_seq AS integer MAXVALUE 2147483647>

<function:zstore.positive(integer)>

<function:zstore.touch()>

CREATE DOMAIN zstore.qty AS integer
    CONSTRAINT qty_positive CHECK (zstore.positive(VALUE));

CREATE TABLE zstore.items (
    id integer DEFAULT nextval('zstore.counter'::regclass) NOT NULL,
    label text NOT NULL
);

ALTER TABLE zstore.items ENABLE ROW LEVEL SECURITY;

CREATE TABLE zstore.tags (
    id integer DEFAULT nextval('zstore.tags_id_seq'::regclass) NOT NULL,
    item_id integer,
    name text
);

ALTER SEQUENCE zstore.tags_id_seq OWNED BY zstore.tags.id;

CREATE VIEW zstore.numbered AS
 SELECT 1 AS n;
ALTER VIEW zstore.numbered ALTER COLUMN n SET DEFAULT nextval('zstore.counter'::regclass);

ALTER TABLE zstore.items ADD CONSTRAINT items_pkey PRIMARY KEY (id);

ALTER TABLE zstore.tags ADD CONSTRAINT tags_pkey PRIMARY KEY (id);

CREATE INDEX tags_name_idx ON zstore.tags USING btree (name);

<view:zstore.item_tags>

CREATE TRIGGER tags_touch BEFORE UPDATE ON zstore.tags FOR EACH ROW EXECUTE FUNCTION zstore.touch();

CREATE POLICY items_all ON zstore.items AS PERMISSIVE FOR ALL TO PUBLIC USING (true);

COMMENT ON COLUMN zstore.tags.name IS 'shown';

COMMENT ON TABLE zstore.tags IS 'tags of items';

GRANT SELECT ON TABLE zstore.items TO PUBLIC;

ALTER TABLE zstore.tags ADD CONSTRAINT tags_item_id_fkey FOREIGN KEY (item_id) \
REFERENCES zstore.items(id);
"""

SMALL_DROP = """-- pgGit migration: small -> empty
SET check_function_bodies = false;

REVOKE ALL ON TABLE zstore.items FROM PUBLIC CASCADE;

COMMENT ON COLUMN zstore.tags.name IS NULL;

COMMENT ON TABLE zstore.tags IS NULL;

DROP POLICY IF EXISTS items_all ON zstore.items;

DROP TRIGGER IF EXISTS tags_touch ON zstore.tags;

DROP VIEW IF EXISTS zstore.item_tags;

DROP VIEW IF EXISTS zstore.numbered;

DROP INDEX IF EXISTS zstore.tags_name_idx;

ALTER TABLE IF EXISTS zstore.tags DROP CONSTRAINT IF EXISTS tags_item_id_fkey;

ALTER TABLE IF EXISTS zstore.tags DROP CONSTRAINT IF EXISTS tags_pkey;

DROP DOMAIN IF EXISTS zstore.qty;

ALTER TABLE IF EXISTS zstore.items DROP CONSTRAINT IF EXISTS items_pkey;

DROP TABLE IF EXISTS zstore.tags;

DROP FUNCTION IF EXISTS zstore.positive(integer);

DROP FUNCTION IF EXISTS zstore.touch();

DROP TABLE IF EXISTS zstore.items;

DROP SEQUENCE IF EXISTS zstore.tags_id_seq;

DROP SEQUENCE IF EXISTS zstore.counter;

DROP SCHEMA IF EXISTS zstore;
"""

ROW = (
    "object_key, kind, schema_name, object_name, parent_name, definition, anchor_classid, "
    "anchor_objid"
)


def load_corpus(db: EngineDB) -> None:
    ensure_roles(*ROLES)
    for path in CORPUS:
        db.run(path.read_text())


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def full_read(db: EngineDB) -> dict[str, tuple]:
    return {r[0]: r for r in db.rows(f"SELECT {ROW}, meta FROM pggit.live_objects()")}


def test_definitions_read_without_meta_are_those_of_the_full_read(engine_db: EngineDB):
    db = engine_db
    load_corpus(db)
    db.run(SMALL)
    full = full_read(db)
    defs = db.rows(f"SELECT {ROW}, meta FROM pggit.live_definitions()")
    assert len(full) > 1500 and len(defs) == len(full)
    for row in defs:
        assert row[:-1] == full[row[0]][:-1], row[0]
        assert row[-1] is None
    # the tree of WORKING: every key with the hash of its definition; the commit of everything
    # (capture stored each definition as it came) has the same tree
    tree = db.one("SELECT pggit.live_tree()")
    assert tree == {key: sha256(row[5]) for key, row in full.items()}
    db.run("SELECT pggit.commit('corpus')")
    assert db.one("SELECT pggit.tree_hash_of(pggit.live_tree())") == db.head_tree()
    assert db.rows("SELECT count(*) FROM pggit.diff('HEAD', 'WORKING')") == [(0,)]


def test_dependency_keys_read_per_default_rule_and_domain_constraint(engine_db: EngineDB):
    db = engine_db
    db.run(SMALL)
    deps = dict(
        db.rows(
            "SELECT object_key, meta->'deps' FROM pggit.live_objects() "
            "WHERE schema_name = 'zstore' AND kind IN ('table', 'view', 'domain')"
        )
    )
    assert deps == {
        "domain:zstore.qty": ["function:zstore.positive(integer)", "schema:zstore"],
        "table:zstore.items": ["schema:zstore", "sequence:zstore.counter"],
        "table:zstore.tags": ["schema:zstore", "sequence:zstore.tags_id_seq"],
        "view:zstore.item_tags": ["schema:zstore", "table:zstore.items", "table:zstore.tags"],
        "view:zstore.numbered": ["schema:zstore", "sequence:zstore.counter"],
    }
    # and one anchor's read gives the same
    assert db.one(
        "SELECT meta->'deps' FROM pggit.anchor_objects('pg_class'::regclass, "
        "'zstore.items'::regclass) WHERE object_key = 'table:zstore.items'"
    ) == ["schema:zstore", "sequence:zstore.counter"]


# every kind of relation a dependency can point at: a partitioned table and its partition, a unique
# constraint a foreign key references (through its index), a unique index without a constraint a
# foreign key references, a composite type whose field a view selects (and a function taking it),
# a materialized view, and a table in a schema left out by configuration
RELATIONS = """
CREATE SCHEMA zrel;
CREATE SCHEMA zquiet;
CREATE TABLE zquiet.hidden (id integer PRIMARY KEY);
CREATE TABLE zrel.parts (id integer, at date, code text, UNIQUE (code, at)) PARTITION BY RANGE (at);
CREATE TABLE zrel.parts_2024 PARTITION OF zrel.parts
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX parts_at_idx ON zrel.parts (at);
CREATE TABLE zrel.refs (code text, at date,
                        FOREIGN KEY (code, at) REFERENCES zrel.parts (code, at));
CREATE TABLE zrel.codes (code text NOT NULL);
CREATE UNIQUE INDEX codes_code_idx ON zrel.codes (code);
CREATE TABLE zrel.uses (code text REFERENCES zrel.codes (code));
CREATE TYPE zrel.pair AS (a integer, b integer);
CREATE FUNCTION zrel.first(zrel.pair) RETURNS integer LANGUAGE sql AS 'SELECT $1.a';
CREATE TABLE zrel.holders (p zrel.pair);
CREATE VIEW zrel.firsts AS SELECT (h.p).a FROM zrel.holders h;
CREATE MATERIALIZED VIEW zrel.counts AS SELECT count(*) AS n FROM zrel.parts;
CREATE VIEW zrel.both AS SELECT c.n, h.id FROM zrel.counts c, zquiet.hidden h;
"""

# the key of every relation and index, spelled as joins of the catalogs (the form pggit._key_class
# had when it was read one row per PL/pgSQL call), schemas checked by is_tracked_schema()
JOINED_RELATION_KEYS = """
WITH ext AS (
    SELECT d.objid, e.extname::text AS extname
      FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
     WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass
       AND d.deptype = 'e'),
keys AS (
    SELECT c.oid, coalesce('extension:' || x.extname,
                           CASE c.relkind WHEN 'v' THEN 'view:' WHEN 'm' THEN 'materialized_view:'
                                          WHEN 'S' THEN 'sequence:' WHEN 'c' THEN 'type:'
                                          ELSE 'table:' END
                           || n.nspname || '.' || c.relname) AS key
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN ext x ON x.objid = c.oid
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'c') AND pggit.is_tracked_schema(n.nspname)
    UNION ALL
    SELECT i.indexrelid, coalesce('extension:' || x.extname,
                                  CASE WHEN con.oid IS NULL THEN 'index:' ELSE 'constraint:' END
                                  || n.nspname || '.' || t.relname || '.'
                                  || coalesce(con.conname, ic.relname))
      FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
      JOIN pg_class t ON t.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      LEFT JOIN pg_constraint con ON con.conrelid = i.indrelid AND con.conindid = i.indexrelid
                                 AND con.contype IN ('p', 'u', 'x')
      LEFT JOIN ext x ON x.objid = t.oid
     WHERE pggit.is_tracked_schema(n.nspname))
SELECT d.classid::int, d.objid::int, d.objsubid, d.refobjid::int, k.key
  FROM pg_depend d LEFT JOIN keys k ON k.oid = d.refobjid
 WHERE d.refclassid = 'pg_class'::regclass AND d.deptype IN ('n', 'a')
 ORDER BY 1, 2, 3, 4, 5
"""


def test_relation_dependency_keys_are_those_of_the_joined_catalogs(engine_db: EngineDB):
    db = engine_db
    load_corpus(db)
    db.run(SMALL)
    db.run("SELECT pggit.config_set('excluded_schemas', '[\"zquiet\"]')")
    db.run(RELATIONS)
    read = db.rows(
        "SELECT classid::int, objid::int, objsubid, refobjid::int, key FROM pggit._depkeys "
        "WHERE refclassid = 'pg_class'::regclass ORDER BY 1, 2, 3, 4, 5"
    )
    assert read == db.rows(JOINED_RELATION_KEYS)
    keys = {row[4] for row in read}
    # every branch was taken: relations of each kind, indexes alone and backing a constraint, and
    # relations that are not tracked (system catalogs, the excluded schema)
    for key in (
        "table:zrel.parts",
        "table:zrel.parts_2024",
        "constraint:zrel.parts.parts_code_at_key",
        "index:zrel.codes.codes_code_idx",
        "type:zrel.pair",
        "materialized_view:zrel.counts",
        "sequence:zstore.counter",
    ):
        assert key in keys, key
    assert None in keys
    hidden = db.one("SELECT 'zquiet.hidden'::regclass::int")
    assert {row[4] for row in read if row[3] == hidden} == {None}
    # and they are what the objects' meta carries
    deps = dict(
        db.rows(
            "SELECT object_key, meta->'deps' FROM pggit.live_objects() "
            "WHERE object_key IN ('constraint:zrel.refs.refs_code_at_fkey', 'view:zrel.both', "
            "'constraint:zrel.uses.uses_code_fkey', 'view:zrel.firsts', "
            "'function:zrel.first(zrel.pair)')"
        )
    )
    assert deps == {
        "constraint:zrel.refs.refs_code_at_fkey": [
            "constraint:zrel.parts.parts_code_at_key",
            "schema:zrel",
            "table:zrel.parts",
            "table:zrel.refs",
        ],
        "constraint:zrel.uses.uses_code_fkey": [
            "index:zrel.codes.codes_code_idx",
            "schema:zrel",
            "table:zrel.codes",
            "table:zrel.uses",
        ],
        "view:zrel.both": ["materialized_view:zrel.counts", "schema:zrel"],
        "view:zrel.firsts": ["schema:zrel", "table:zrel.holders", "type:zrel.pair"],
        "function:zrel.first(zrel.pair)": ["schema:zrel", "type:zrel.pair"],
    }


def created_with_capture_off(db: EngineDB) -> tuple[dict, list[str]]:
    """SMALL created with capture off (nothing stored its definitions): the full read, and the
    keys of the 19 new objects."""
    with db.connect() as conn, conn.transaction():
        conn.execute("SELECT pggit.set_capture(false)")
        conn.execute(SMALL)
    full = full_read(db)
    new_keys = sorted(k for k in full if "zstore" in k)
    assert len(new_keys) == 19
    return full, new_keys


def test_live_tree_stores_what_it_lacks_as_the_full_read_gives_it(engine_db: EngineDB):
    db = engine_db
    full, new_keys = created_with_capture_off(db)
    hashes = [sha256(full[k][5]) for k in new_keys]
    assert db.one("SELECT count(*) FROM pggit.blobs WHERE hash = ANY(%s)", (hashes,)) == 0

    tree = db.one("SELECT pggit.live_tree()")
    assert tree == {key: sha256(row[5]) for key, row in full.items()}
    stored = {
        r[0]: r[1:]
        for r in db.rows(
            "SELECT object_key, kind, schema_name, object_name, parent_name, definition, meta "
            "FROM pggit.blobs WHERE hash = ANY(%s)",
            (hashes,),
        )
    }
    for key in new_keys:
        row = full[key]
        assert stored[key] == (row[1], row[2], row[3], row[4], row[5], row[8]), key
    # a tree whose definitions are all stored writes nothing
    count = db.one("SELECT count(*) FROM pggit.blobs")
    assert db.one("SELECT pggit.live_tree()") == tree
    assert db.one("SELECT count(*) FROM pggit.blobs") == count


def test_diff_of_working_shows_definitions_it_stores_itself(engine_db: EngineDB):
    db = engine_db
    # created with capture off: the diff's live tree stores their definitions, and the diff (its
    # first call) shows each one as the full read gives it
    full, new_keys = created_with_capture_off(db)
    diff = db.rows(
        "SELECT object_key, change, object_type, schema_name, object_name, before, after "
        "FROM pggit.diff('HEAD', 'WORKING')"
    )
    assert sorted(diff) == [
        (k, "ADDED", full[k][1], full[k][2], full[k][3], None, full[k][5]) for k in new_keys
    ]
    # given a stored tree, the live tree is the same (its entries equal to the stored tree's are
    # not looked up)
    head = "pggit.commit_tree((SELECT commit_hash FROM pggit.head()))"
    assert db.one(f"SELECT pggit.live_tree_known({head}) = pggit.live_tree()") is True


def test_blobs_put_stores_each_definition_once(engine_db: EngineDB):
    db = engine_db
    with db.connect() as conn, conn.transaction():
        conn.execute("SELECT pggit.set_capture(false)")
        conn.execute("CREATE TABLE public.once (id integer)")
    rows = "ARRAY(SELECT o FROM pggit.live_objects() o WHERE o.object_key = 'table:public.once')"
    # given twice, stored once; then stored already
    assert db.one(f"SELECT pggit.blobs_put({rows} || {rows})") == 1
    assert db.one(f"SELECT pggit.blobs_put({rows})") == 0
    assert db.rows(
        "SELECT hash = encode(sha256(convert_to(definition, 'UTF8')), 'hex'), meta = "
        "(SELECT meta FROM pggit.live_objects() WHERE object_key = 'table:public.once') "
        "FROM pggit.blobs WHERE object_key = 'table:public.once'"
    ) == [(True, True)]


def test_objects_of_anchors_by_anchor_and_in_one_pass_are_alike(engine_db: EngineDB):
    db = engine_db
    load_corpus(db)
    db.run("SELECT pggit.commit('corpus')")
    full = {r[0]: r for r in db.rows(f"SELECT {ROW}, meta FROM pggit.live_objects()")}
    every = db.one(
        "SELECT jsonb_agg(DISTINCT jsonb_build_array(anchor_classid, anchor_objid)) "
        "FROM pggit.live_objects()"
    )
    # all anchors: one pass
    one_pass = db.rows(f"SELECT {ROW}, meta FROM pggit.live_objects_of(%s)", (Jsonb(every),))
    assert sorted(one_pass) == sorted(full.values())
    # half of them: each per-kind view filtered on the anchors
    half = every[::2]
    assert len(half) >= 100
    wanted = {(int(classid), int(objid)) for classid, objid in half}
    one_pass = db.rows(f"SELECT {ROW}, meta FROM pggit.live_objects_of(%s)", (Jsonb(half),))
    assert sorted(one_pass) == sorted(r for r in full.values() if (r[6], r[7]) in wanted)
    # nearly all (every relation read, unfiltered): the anchors not asked for are left out
    table = db.one("SELECT 'shop.products'::regclass::oid")
    nearly = [a for a in every if (int(a[0]), int(a[1])) != (1259, table)]
    assert len(nearly) == len(every) - 1
    one_pass = db.rows(f"SELECT {ROW}, meta FROM pggit.live_objects_of(%s)", (Jsonb(nearly),))
    assert sorted(one_pass) == sorted(r for r in full.values() if (r[6], r[7]) != (1259, table))
    assert any((r[6], r[7]) == (1259, table) for r in full.values())
    # a few: each by itself
    few = db.one(
        "SELECT jsonb_agg(DISTINCT jsonb_build_array(anchor_classid, anchor_objid)) "
        "FROM pggit.live_objects() WHERE object_key LIKE 'table:%' AND object_key < 'table:h'"
    )
    assert 0 < len(few) < 100
    wanted = {(int(classid), int(objid)) for classid, objid in few}
    by_anchor = db.rows(f"SELECT {ROW}, meta FROM pggit.live_objects_of(%s)", (Jsonb(few),))
    assert sorted(by_anchor) == sorted(r for r in full.values() if (r[6], r[7]) in wanted)
    assert db.rows("SELECT * FROM pggit.live_objects_of('[]')") == []


def small_trees(db: EngineDB) -> tuple[str, str]:
    root = db.one("SELECT commit_hash FROM pggit.head()")
    db.run(SMALL)
    db.run("SELECT pggit.commit('small')")
    db.run("SELECT pggit.branch_create('empty', %s)", (root,))
    return "empty", "main"


def test_scripts_are_those_written_one_object_at_a_time(engine_db: EngineDB):
    db = engine_db
    empty, main = small_trees(db)
    create = db.one(
        "SELECT pggit.script_text('empty', 'small', pggit.ref_tree(%s), pggit.ref_tree(%s))",
        (empty, main),
    )
    drop = db.one(
        "SELECT pggit.script_text('small', 'empty', pggit.ref_tree(%s), pggit.ref_tree(%s))",
        (main, empty),
    )
    expected = SMALL_CREATE
    for name, options in (
        ("counter", "bigint MAXVALUE 9223372036854775807"),
        ("tags_id_seq", "integer MAXVALUE 2147483647"),
    ):
        expected = expected.replace(
            f"<sequence zstore.{name} AS {options}>",
            f"CREATE SEQUENCE zstore.{name} AS {options.split()[0]} INCREMENT BY 1 MINVALUE 1 "
            f"MAXVALUE {options.split()[2]} START WITH 1 CACHE 1 NO CYCLE;",
        )
    for key in (
        "view:zstore.item_tags",
        "function:zstore.positive(integer)",
        "function:zstore.touch()",
    ):
        definition = db.one(
            "SELECT definition FROM pggit.live_objects() WHERE object_key = %s", (key,)
        )
        expected = expected.replace(f"<{key}>", definition)
    if db.conn.info.server_version >= 180000:
        # (the CREATE TABLE names the NOT NULL constraints left to the default)
        expected = with_default_not_null_names(expected)
    assert create == expected
    assert drop == SMALL_DROP


@pytest.mark.parametrize("direction", ["create", "drop"])
def test_plan_statements_are_the_generators_of_each_object(engine_db: EngineDB, direction):
    """Every object's statements in a whole-schema plan of the corpus are what sql_create or
    sql_drop gives for that object alone, in that order."""
    db = engine_db
    load_corpus(db)
    db.run("SELECT pggit.commit('corpus')")
    tree = db.one("SELECT pggit.ref_tree('HEAD')")
    args = ("{}", tree) if direction == "create" else (tree, "{}")
    plan: dict[str, list[str]] = {}
    for key, statement in db.rows(
        "SELECT object_key, statement FROM pggit.migration_plan(%s::jsonb, %s::jsonb) "
        "ORDER BY step",
        tuple(map(_json, args)),
    ):
        plan.setdefault(key, []).append(statement)
    assert len(plan) == len(tree)
    for key, blob in tree.items():
        kind, definition, meta = db.rows(
            "SELECT kind, definition, meta FROM pggit.blobs WHERE hash = %s", (blob,)
        )[0]
        if direction == "create":
            expected = db.one(
                "SELECT pggit.sql_create(%s, %s, %s::jsonb)", (kind, definition, _json(meta))
            )
        else:
            expected = db.one("SELECT pggit.sql_drop(%s, %s, %s::jsonb)", (kind, key, _json(meta)))
        assert plan[key] == expected, key


def test_generators_refuse_what_they_refused(engine_db: EngineDB):
    db = engine_db
    cases = [
        ("SELECT pggit.sql_create('bogus', 'CREATE TABLE x ()', '{}')", "UNKNOWN_KIND"),
        ("SELECT pggit.sql_create(NULL, 'CREATE TABLE x ()', '{}')", "UNKNOWN_KIND"),
        ("SELECT pggit.sql_create('table', ' ', '{}')", "INVALID_ARGUMENT"),
        ("SELECT pggit.sql_drop('bogus', 'bogus:x', '{}')", "UNKNOWN_KIND"),
        ("SELECT pggit.sql_drop('bogus', NULL, '{}')", "INVALID_ARGUMENT"),
        ("SELECT pggit.sql_drop('comment', 'comment:x', '{}')", "INVALID_ARGUMENT"),
        (
            "SELECT pggit.sql_drop('trigger', 'trigger:a.t.x', '{\"identity\": \"x\"}')",
            "INVALID_ARGUMENT",
        ),
        ("SELECT pggit.sql_drop('privileges', 'privileges:table:a.t', '{}')", "INVALID_ARGUMENT"),
    ]
    for query, code in cases:
        with pytest.raises(Exception) as excinfo:
            db.run(query)
        assert engine_error(excinfo) == code, query
    # the same, the arguments given as parameters (generic plans of the inlined expressions)
    with pytest.raises(Exception) as excinfo:
        db.run(
            "SELECT pggit.sql_drop(%s, %s, %s::jsonb)",
            ("table", "view:public.v", '{"identity": "v"}'),
        )
    assert engine_error(excinfo) == "INVALID_ARGUMENT"
    assert "is not a key of kind" in str(excinfo.value)
    assert db.one(
        "SELECT pggit.sql_drop('procedure', 'function:a.p()', '{\"identity\": \"a.p()\"}')"
    ) == ["DROP PROCEDURE IF EXISTS a.p();"]


def _json(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def test_live_tree_against_a_stored_tree(engine_db: EngineDB):
    """live_tree_against(keys, blobs) is NULL exactly when the live tree is the given one (the
    same keys, each with the same blob), else the live tree; diff(ref, 'WORKING') gives no row
    then, and every change otherwise."""
    db = engine_db
    db.run(SMALL)
    db.run("SELECT pggit.commit('small')")
    live = db.one("SELECT pggit.live_tree()")
    keys, blobs = list(live), list(live.values())
    against = "SELECT pggit.live_tree_against(%s::text[], %s::text[])"
    assert db.one(against, (keys, blobs)) is None
    assert db.one(f"SELECT ({against}) IS NULL", (keys[::-1], blobs[::-1])) is True
    # a live key missing from the given tree, a given key not live, a blob that differs
    assert db.one(against, (keys[1:], blobs[1:])) == live
    assert db.one(against, ([*keys, "table:zstore.gone"], [*blobs, blobs[0]])) == live
    assert db.one(against, (keys, [blobs[1], *blobs[1:]])) == live
    # no stored tree: the live tree
    assert db.one(against, (None, None)) == live
    assert db.one("SELECT pggit.live_tree_known(NULL)") == live
    head = "pggit.commit_tree((SELECT commit_hash FROM pggit.head()))"
    assert db.one(f"SELECT pggit.live_tree_known({head})") == live
    assert db.rows("SELECT * FROM pggit.diff('HEAD', 'WORKING')") == []

    db.run("ALTER TABLE zstore.items ADD COLUMN note text; CREATE TABLE zstore.more (id integer)")
    changes = db.rows("SELECT object_key, change FROM pggit.diff('HEAD', 'WORKING')")
    assert sorted(changes) == [("table:zstore.items", "MODIFIED"), ("table:zstore.more", "ADDED")]
    assert db.one(f"SELECT pggit.live_tree_known({head})") == db.one("SELECT pggit.live_tree()")


def test_the_tree_of_objects_sharing_a_key_is_the_live_tree_whatever_the_plan(engine_db: EngineDB):
    """Two live objects can have one key (keys do not quote names: table t of schema "s2.x" and
    table "x.t" of schema s2 are both table:s2.x.t). The tree diff(ref, 'WORKING') builds keeps
    the one live_tree() keeps — the last read — even when the planner joins the live rows with a
    large stored tree by hashing the live side, which reorders them."""
    db = engine_db
    db.run('CREATE SCHEMA "s2.x"; CREATE TABLE "s2.x".t (id integer)')
    db.run('CREATE SCHEMA s2; CREATE TABLE s2."x.t" (id bigint)')
    db.run("COMMENT ON COLUMN \"s2.x\".t.id IS 'one'")
    db.run('CREATE TABLE s2.x (id integer, "t.id" integer)')
    db.run("COMMENT ON COLUMN s2.x.\"t.id\" IS 'two'")
    db.run(
        "CREATE SCHEMA s1; "
        + "".join(f"CREATE TABLE s1.t{i} (id integer PRIMARY KEY);" for i in range(700))
    )
    db.run("SELECT pggit.commit('many')")
    head = "pggit.commit_tree((SELECT commit_hash FROM pggit.head()))"
    for change in ("CREATE TABLE s1.extra (id integer)", "DROP TABLE s1.extra"):
        db.run(change)
        live = db.one("SELECT pggit.live_tree()")
        assert db.one(f"SELECT pggit.live_tree_known({head})") == live
