"""The order of migration plans (pggit.plan_order: a topological sort by levels, then phase, kind
and key) and the two ways apply_steps proves a checkout (docs/engine-internals.md, "Migration
plans and their apply"): deep chains of views, cycles broken by separate constraints, partitions
and inheritance, functions naming tables created after them, and a hand-made cycle."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.engine.enginedb import EngineDB, scratch_copy
from tests.engine.pgdump import schema_dump


def server_major(db: EngineDB) -> int:
    return int(db.one("SELECT current_setting('server_version_num')::int / 10000"))


def plan(db: EngineDB, from_ref: str, to_ref: str) -> list[tuple[str, str]]:
    return db.rows(
        "SELECT phase, object_key FROM pggit.migration_plan(pggit.ref_tree(%s), "
        "pggit.ref_tree(%s)) ORDER BY step",
        (from_ref, to_ref),
    )


def first_step(steps: list[tuple[str, str]]) -> dict[str, int]:
    """{object key: index of its first step}"""
    positions: dict[str, int] = {}
    for i, (_phase, key) in enumerate(steps):
        positions.setdefault(key, i)
    return positions


# 130 views, each reading the next one: the deepest view has the smallest name, so an order that
# fell back to names (the levels used to stop at 100) would create it before what it reads
DEPTH = 130
CHAIN = (
    "CREATE SCHEMA deep;"
    "CREATE TABLE deep.base (id integer PRIMARY KEY, v text);"
    f"CREATE VIEW deep.v{1000 + DEPTH} AS SELECT id, v FROM deep.base;"
    + "".join(
        f"CREATE VIEW deep.v{1000 + i} AS SELECT id, v FROM deep.v{1000 + i + 1};"
        for i in range(DEPTH - 1, -1, -1)
    )
)

# tables whose foreign keys reference each other (a cycle broken by the constraints being objects
# of their own, added after both tables), a partitioned table with partitions, a table inheriting
# from another, a view over a view, a LANGUAGE sql function naming a table created after it
MIXED = """
CREATE SCHEMA mix;
CREATE TABLE mix.a (id integer PRIMARY KEY, b_id integer);
CREATE TABLE mix.b (id integer PRIMARY KEY,
                    a_id integer REFERENCES mix.a (id) DEFERRABLE INITIALLY DEFERRED);
ALTER TABLE mix.a ADD CONSTRAINT a_b_fk FOREIGN KEY (b_id) REFERENCES mix.b (id)
    DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE mix.events (id bigint, at date NOT NULL, note text) PARTITION BY RANGE (at);
CREATE TABLE mix.events_2025 PARTITION OF mix.events
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE mix.events_2026 PARTITION OF mix.events
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX events_at_idx ON mix.events (at);
CREATE TABLE mix.parent (id integer, name text);
CREATE TABLE mix.child (extra text) INHERITS (mix.parent);
CREATE VIEW mix.v1 AS SELECT id, name FROM mix.child;
CREATE VIEW mix.v2 AS SELECT count(*) AS n FROM mix.v1;
COMMENT ON VIEW mix.v2 IS 'a view over a view';
CREATE FUNCTION mix.b_count() RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT count(*) FROM mix.b $$;
"""


def round_trip(db: EngineDB, ddl: str, proof: str) -> None:
    """Loads ddl, commits it, checks out the empty root and main again with the apply proof forced
    to one way; the schema must come back identical (pg_dump) and the live state be exact."""
    major = server_major(db)
    root = db.one("SELECT commit_hash FROM pggit.head()")
    db.run(ddl)
    before = schema_dump(db.url, major)
    db.run("SELECT pggit.commit('schema')")
    main_tree = db.head_tree()
    db.run("SELECT pggit.branch_create('empty', %s)", (root,))
    for branch in ("empty", "main"):
        with db.conn.transaction():
            db.run("SELECT set_config('pggit.apply_proof', %s, true)", (proof,))
            db.run("SELECT * FROM pggit.checkout(%s)", (branch,))
        assert db.live_tree_hash() == db.branch_tree(branch)
        assert db.one("SELECT pggit.tree_hash_of(pggit.live_state_tree())") == db.branch_tree(
            branch
        )
    assert db.head_tree() == main_tree
    assert db.one("SELECT clean FROM pggit.head()") is True
    assert schema_dump(db.url, major) == before


@pytest.mark.parametrize("proof", ["full", "touched"])
def test_a_chain_of_views_deeper_than_100_checks_out_both_ways(engine_db: EngineDB, proof):
    round_trip(engine_db, CHAIN, proof)
    steps = plan(engine_db, "empty", "main")
    at = first_step(steps)
    for i in range(DEPTH):
        assert at[f"view:deep.v{1000 + i + 1}"] < at[f"view:deep.v{1000 + i}"]
    drops = first_step(plan(engine_db, "main", "empty"))
    for i in range(DEPTH):
        assert drops[f"view:deep.v{1000 + i}"] < drops[f"view:deep.v{1000 + i + 1}"]
    assert drops[f"view:deep.v{1000 + DEPTH}"] < drops["table:deep.base"]


@pytest.mark.parametrize("proof", ["full", "touched"])
def test_cycles_partitions_inheritance_and_function_bodies_check_out(engine_db: EngineDB, proof):
    round_trip(engine_db, MIXED, proof)
    at = first_step(plan(engine_db, "empty", "main"))
    # both tables before either foreign key
    for fk in ("constraint:mix.a.a_b_fk", "constraint:mix.b.b_a_id_fkey"):
        assert at["table:mix.a"] < at[fk] and at["table:mix.b"] < at[fk]
    assert at["table:mix.events"] < at["table:mix.events_2025"]
    assert at["table:mix.parent"] < at["table:mix.child"] < at["view:mix.v1"] < at["view:mix.v2"]
    # nothing in pg_depend says the function needs the table: it comes first, its body unchecked
    assert at["function:mix.b_count()"] < at["table:mix.b"]


def test_the_script_of_mixed_objects_applies_to_an_empty_copy(
    engine_db: EngineDB, engine_template: str
):
    major = server_major(engine_db)
    root = engine_db.one("SELECT commit_hash FROM pggit.head()")
    engine_db.run(CHAIN + MIXED)
    before = schema_dump(engine_db.url, major)
    engine_db.run("SELECT pggit.commit('schema')")
    engine_db.run("SELECT pggit.branch_create('empty', %s)", (root,))
    script = engine_db.one("SELECT pggit.diff_script('empty', 'main')")
    with scratch_copy(engine_template) as copy:
        copy.run(script)
        assert schema_dump(copy.url, major) == before
        copy.run("SELECT pggit.commit('applied')")
        assert copy.head_tree() == engine_db.head_tree()


def fake_blob(db: EngineDB, key: str, deps: list[str]) -> str:
    """A stored definition of a view with the given dependencies (never executed)."""
    name = key.split(".", 1)[1]
    definition = f"CREATE VIEW public.{name} AS SELECT 1 AS x;"
    digest = hashlib.sha256(definition.encode()).hexdigest()
    db.run(
        "INSERT INTO pggit.blobs (hash, kind, object_key, schema_name, object_name, definition, "
        "meta) VALUES (%s, 'view', %s, 'public', %s, %s, %s) ON CONFLICT (hash) DO NOTHING",
        (digest, key, name, definition, json.dumps({"deps": deps, "identity": f"public.{name}"})),
    )
    return digest


def test_a_dependency_cycle_in_a_tree_is_broken_at_its_first_key(engine_db: EngineDB):
    # pg_depend gives no cycle between tracked objects, but a hand-made tree can hold one: every
    # object is still planned exactly once, the cycle released at its first key, then what
    # depends on it
    tree = {
        "view:public.cyc_b": fake_blob(engine_db, "view:public.cyc_b", ["view:public.cyc_c"]),
        "view:public.cyc_c": fake_blob(engine_db, "view:public.cyc_c", ["view:public.cyc_b"]),
        "view:public.cyc_d": fake_blob(engine_db, "view:public.cyc_d", ["view:public.cyc_c"]),
        "view:public.cyc_a": fake_blob(engine_db, "view:public.cyc_a", []),
    }
    rows = engine_db.rows(
        "SELECT phase, object_key FROM pggit.migration_plan('{}'::jsonb, %s::jsonb) ORDER BY step",
        (json.dumps(tree),),
    )
    assert rows == [
        ("create", "view:public.cyc_a"),
        ("create", "view:public.cyc_b"),
        ("create", "view:public.cyc_c"),
        ("create", "view:public.cyc_d"),
    ]
    drops = engine_db.rows(
        "SELECT phase, object_key FROM pggit.migration_plan(%s::jsonb, '{}'::jsonb) ORDER BY step",
        (json.dumps(tree),),
    )
    assert sorted(drops) == sorted(("drop", key) for key in tree)
    assert [key for _phase, key in drops].index("view:public.cyc_d") < [
        key for _phase, key in drops
    ].index("view:public.cyc_c")


def test_the_engine_audits_the_statements_of_a_full_proof_apply(engine_db: EngineDB):
    root = engine_db.one("SELECT commit_hash FROM pggit.head()")
    engine_db.run(
        "CREATE TABLE public.t (id integer PRIMARY KEY); CREATE INDEX t_idx ON public.t (id)"
    )
    engine_db.run("SELECT pggit.commit('t')")
    engine_db.run("SELECT pggit.branch_create('empty', %s)", (root,))
    with engine_db.conn.transaction():
        engine_db.run("SELECT set_config('pggit.apply_proof', 'full', true)")
        statements = engine_db.one("SELECT statements FROM pggit.checkout('empty')")
    audit = engine_db.rows(
        "SELECT statement, command_tag, objects->0->>'key', objects->0->>'change', "
        "flushed_at IS NOT NULL FROM pggit.ddl_log WHERE engine_operation = 'checkout' ORDER BY id"
    )
    assert [row[0] for row in audit] == statements
    assert [row[1:] for row in audit] == [
        ("DROP INDEX", "index:public.t.t_idx", "REMOVED", True),
        ("ALTER TABLE", "constraint:public.t.t_pkey", "REMOVED", True),
        ("DROP TABLE", "table:public.t", "REMOVED", True),
    ]
    assert engine_db.rows("SELECT * FROM pggit.working") == []


@pytest.mark.parametrize(
    ("statement", "tag"),
    [
        ("CREATE TABLE public.t (a int);", "CREATE TABLE"),
        ("CREATE UNIQUE INDEX i ON public.t (a);", "CREATE INDEX"),
        ("CREATE OR REPLACE VIEW public.v AS SELECT 1;", "CREATE VIEW"),
        ("CREATE OR REPLACE RECURSIVE VIEW public.v (n) AS SELECT 1;", "CREATE VIEW"),
        ("CREATE MATERIALIZED VIEW public.m AS SELECT 1;", "CREATE MATERIALIZED VIEW"),
        ("CREATE CONSTRAINT TRIGGER tr AFTER INSERT ON public.t", "CREATE TRIGGER"),
        ("ALTER TABLE ONLY public.t ADD CONSTRAINT c CHECK (a > 0);", "ALTER TABLE"),
        (
            "ALTER TEXT SEARCH CONFIGURATION public.c ALTER MAPPING",
            "ALTER TEXT SEARCH CONFIGURATION",
        ),
        ("COMMENT ON TABLE public.t IS 'x';", "COMMENT"),
        ("DROP TABLE IF EXISTS public.t;", "DROP TABLE"),
        ("CREATE UNLOGGED TABLE public.u (a int);", "CREATE TABLE"),
        ("GRANT SELECT ON public.t TO PUBLIC;", "GRANT"),
    ],
)
def test_statement_tags_read_from_plan_statements(engine_db: EngineDB, statement, tag):
    assert engine_db.one("SELECT pggit.statement_tag(%s)", (statement,)) == tag
