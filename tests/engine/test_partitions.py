"""Partitions: what PostgreSQL does to a partition without naming it is captured at once (a
partition detached, a partition's index adopted by an index of its parent), a partition with a
foreign key to its own parent checks out both ways, a partition's own NOT NULL round-trips, and
so do a partition's or an INHERITS child's own defaults and an INHERITS child's own NOT NULL, also
when their parents' defaults change (docs/engine-catalog.md, `table`). Each by a superuser and
by an ordinary login role that owns the schema and commits and checks out as pggit_operator."""

from __future__ import annotations

import psycopg

from tests.engine.enginedb import EngineDB, scratch_copy
from tests.engine.pgdump import schema_dump
from tests.engine.test_corpus import same_dump


def rows(conn: psycopg.Connection, query: str, params: tuple | None = None) -> list[tuple]:
    return conn.execute(query, params).fetchall()


def one(conn: psycopg.Connection, query: str, params: tuple | None = None):
    return conn.execute(query, params).fetchone()[0]


def status(conn: psycopg.Connection) -> list[tuple]:
    return rows(
        conn, "SELECT object_key, change_type, statement FROM pggit.status() ORDER BY object_key"
    )


def assert_status_is_rescans(conn: psycopg.Connection, db: EngineDB) -> list[tuple]:
    """The status right after the statements, which must be the one rescan finds (rescan reads
    the whole schema again); returns it. Also: no capture failure."""
    captured = rows(conn, "SELECT object_key, change_type FROM pggit.status() ORDER BY 1")
    assert one(conn, "SELECT pggit.rescan()") == 0
    assert rows(conn, "SELECT object_key, change_type FROM pggit.status() ORDER BY 1") == captured
    assert db.rows("SELECT sqlstate, message FROM pggit.capture_errors") == []
    return captured


def committed_definition(conn: psycopg.Connection, key: str) -> str | None:
    return one(
        conn,
        "SELECT b.definition FROM pggit.blobs b "
        "WHERE b.hash = pggit.commit_tree(pggit.resolve_ref('HEAD'))->>%s",
        (key,),
    )


def server_major(db: EngineDB) -> int:
    return int(db.one("SELECT current_setting('server_version_num')::int / 10000"))


EVENTS = """
CREATE SCHEMA app;
CREATE TABLE app.events (id bigint NOT NULL, at date NOT NULL, note text, PRIMARY KEY (id, at))
    PARTITION BY RANGE (at);
CREATE TABLE app.events_2025 PARTITION OF app.events
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE app.events_2026 PARTITION OF app.events
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01') PARTITION BY RANGE (at);
CREATE TABLE app.events_2026h1 PARTITION OF app.events_2026
    FOR VALUES FROM ('2026-01-01') TO ('2026-07-01');
"""


def test_a_detached_partition_shows_in_status_at_once(client: psycopg.Connection, engine_db):
    """DETACH PARTITION names only the parent: the partition's change (it is a table of its own
    now, with its own copy of the primary key) is in status right after the statement, is what
    rescan finds, and is what a commit records; attached again, nothing is left changed."""
    client.execute(EVENTS)
    client.execute("SELECT pggit.commit('events')")
    detach = "ALTER TABLE app.events DETACH PARTITION app.events_2025"
    client.execute(detach)
    assert status(client) == [
        ("constraint:app.events_2025.events_2025_pkey", "ADDED", detach),
        ("table:app.events_2025", "MODIFIED", detach),
    ]
    assert_status_is_rescans(client, engine_db)
    client.execute("SELECT pggit.commit('2025 archived')")
    # (on PostgreSQL 18 it keeps its parent's NOT NULL constraint names, which it writes)
    named = server_major(engine_db) >= 18
    assert committed_definition(client, "table:app.events_2025") == (
        "CREATE TABLE app.events_2025 (\n"
        + (
            "    id bigint CONSTRAINT events_id_not_null NOT NULL,\n"
            if named
            else "    id bigint NOT NULL,\n"
        )
        + (
            "    at date CONSTRAINT events_at_not_null NOT NULL,\n"
            if named
            else "    at date NOT NULL,\n"
        )
        + "    note text\n"
        ");"
    )
    assert status(client) == []
    # a partitioned partition detached inside a transaction, with other DDL after it
    with client.transaction():
        client.execute("ALTER TABLE app.events DETACH PARTITION app.events_2026")
        client.execute("COMMENT ON TABLE app.events IS 'current'")
    assert [(k, c) for k, c, _ in status(client)] == [
        ("comment:table:app.events", "ADDED"),
        ("constraint:app.events_2026.events_2026_pkey", "ADDED"),
        ("table:app.events_2026", "MODIFIED"),
    ]
    assert_status_is_rescans(client, engine_db)
    # attached again: the primary keys become the parent's copies again, as committed
    client.execute(
        "ALTER TABLE app.events ATTACH PARTITION app.events_2026 "
        "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01'); COMMENT ON TABLE app.events IS NULL"
    )
    assert status(client) == []
    assert_status_is_rescans(client, engine_db)


def test_an_index_of_a_partitioned_table_adopting_partition_indexes_leaves_no_stale_entry(
    client: psycopg.Connection, engine_db
):
    """An index created on a partitioned table takes over a matching index of a partition or
    sub-partition (which PostgreSQL does not name): that index stops being versioned at once,
    exactly as rescan sees it; so does one attached by ALTER INDEX ... ATTACH PARTITION."""
    client.execute(EVENTS)
    client.execute(
        "CREATE INDEX events_2025_note ON app.events_2025 (note);"
        "CREATE INDEX events_2026h1_note ON app.events_2026h1 (note);"
        "CREATE INDEX events_2026h1_at ON app.events_2026h1 (at);"
        "CREATE INDEX events_2025_at ON app.events_2025 (at)"
    )
    client.execute("SELECT pggit.commit('partition indexes')")
    create = "CREATE INDEX events_note ON app.events (note)"
    client.execute(create)
    assert status(client) == [
        ("index:app.events.events_note", "ADDED", create),
        ("index:app.events_2025.events_2025_note", "REMOVED", create),
        ("index:app.events_2026h1.events_2026h1_note", "REMOVED", create),
    ]
    assert_status_is_rescans(client, engine_db)
    client.execute("SELECT pggit.commit('one note index')")
    # a parent index ON ONLY, then a partition's index attached to it by hand
    client.execute("CREATE INDEX events_at ON ONLY app.events (at)")
    attach = "ALTER INDEX app.events_at ATTACH PARTITION app.events_2025_at"
    client.execute(attach)
    assert [(k, c) for k, c, _ in status(client)] == [
        ("index:app.events.events_at", "ADDED"),
        ("index:app.events_2025.events_2025_at", "REMOVED"),
    ]
    assert_status_is_rescans(client, engine_db)
    # a sub-partitioned partition's index attached: its sub-partition's index is adopted too
    client.execute("CREATE INDEX events_2026_at ON ONLY app.events_2026 (at)")
    client.execute("ALTER INDEX app.events_2026_at ATTACH PARTITION app.events_2026h1_at")
    client.execute("ALTER INDEX app.events_at ATTACH PARTITION app.events_2026_at")
    assert [(k, c) for k, c, _ in status(client)] == [
        ("index:app.events.events_at", "ADDED"),
        ("index:app.events_2025.events_2025_at", "REMOVED"),
        ("index:app.events_2026h1.events_2026h1_at", "REMOVED"),
    ]
    assert_status_is_rescans(client, engine_db)


def checkout(client: psycopg.Connection, db: EngineDB, branch: str) -> str:
    """Checks out branch; the live schema is then exactly its tree; returns the pg_dump."""
    client.execute("SELECT * FROM pggit.checkout(%s)", (branch,))
    assert db.live_tree_hash() == db.branch_tree(branch)
    assert one(client, "SELECT clean FROM pggit.head()") is True
    return schema_dump(db.url, server_major(db))


def test_a_partition_with_a_foreign_key_to_its_parent_checks_out_both_ways(
    client: psycopg.Connection, engine_db
):
    """A partitioned table whose foreign key references itself holds, on the parent, a row for
    each partition it references: a partition added on a branch (with a foreign key of its own to
    the parent) cannot simply be dropped going back, it is detached first."""
    db = engine_db
    client.execute(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.nodes (id int, at date NOT NULL, parent_id int, PRIMARY KEY (id, at),"
        "    CONSTRAINT nodes_parent_fk FOREIGN KEY (parent_id, at) REFERENCES app.nodes (id, at))"
        "    PARTITION BY RANGE (at);"
        "CREATE TABLE app.nodes_2025 PARTITION OF app.nodes"
        "    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"
    )
    client.execute("SELECT pggit.commit('nodes')")
    base = schema_dump(db.url, server_major(db))
    client.execute("SELECT pggit.branch_create('feature')")
    client.execute("SELECT * FROM pggit.checkout('feature')")
    client.execute(
        "CREATE TABLE app.nodes_2026 PARTITION OF app.nodes"
        "    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');"
        "ALTER TABLE app.nodes_2026 ADD CONSTRAINT nodes_2026_up_fk"
        "    FOREIGN KEY (parent_id, at) REFERENCES app.nodes (id, at)"
    )
    assert [(k, c) for k, c, _ in status(client)] == [
        ("constraint:app.nodes_2026.nodes_2026_up_fk", "ADDED"),
        ("table:app.nodes_2026", "ADDED"),
    ]
    client.execute("SELECT pggit.commit('2026')")
    feature = schema_dump(db.url, server_major(db))
    for _ in range(2):
        same_dump(base, checkout(client, db, "main"), "checkout of main")
        same_dump(feature, checkout(client, db, "feature"), "checkout of feature")
    assert one(client, "SELECT pggit.diff_script('feature', 'main')").split("\n\n")[1:] == [
        "ALTER TABLE IF EXISTS app.nodes_2026 DROP CONSTRAINT IF EXISTS nodes_2026_up_fk;",
        "ALTER TABLE IF EXISTS app.nodes DETACH PARTITION app.nodes_2026;",
        "DROP TABLE IF EXISTS app.nodes_2026;\n",
    ]
    # rows in both partitions, each referencing a node of its own partition
    client.execute(
        "INSERT INTO app.nodes VALUES (1, '2025-03-01', NULL), (2, '2025-03-01', 1),"
        " (3, '2026-03-01', NULL), (4, '2026-03-01', 3)"
    )
    assert one(client, "SELECT count(*) FROM app.nodes_2026") == 2


def test_a_partitions_own_not_null_round_trips(client: psycopg.Connection, engine_db):
    """A column NOT NULL in a partition and nullable in its parent keeps its NOT NULL through a
    checkout to an empty branch and back; on PostgreSQL 18 the NOT NULL constraints of partitions
    keep their names too (a table attached keeps its own, not its parent's). A change of a
    partition's own NOT NULL alone is altered in place."""
    db = engine_db
    major = server_major(db)
    root = one(client, "SELECT commit_hash FROM pggit.head()")
    client.execute(EVENTS)
    client.execute("ALTER TABLE app.events_2025 ALTER COLUMN note SET NOT NULL")
    # in a sub-partition, and in a partitioned partition (its sub-partitions get it too)
    client.execute(
        "CREATE TABLE app.events_2026h2 PARTITION OF app.events_2026 "
        "    (note WITH OPTIONS NOT NULL) FOR VALUES FROM ('2026-07-01') TO ('2027-01-01')"
    )
    # a table with NOT NULL constraints of its own names, attached
    client.execute(
        "CREATE TABLE app.events_2024 (id bigint CONSTRAINT events_2024_id_required NOT NULL,"
        "    at date NOT NULL, note text CONSTRAINT events_2024_note_required NOT NULL);"
        "ALTER TABLE app.events ATTACH PARTITION app.events_2024"
        "    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"
    )
    not_null = (
        "SELECT c.relname, a.attnotnull FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = 'app'::regnamespace AND c.relkind IN ('r', 'p') "
        "AND a.attname = 'note' ORDER BY 1"
    )
    expected = [
        ("events", False),
        ("events_2024", True),
        ("events_2025", True),
        ("events_2026", False),
        ("events_2026h1", False),
        ("events_2026h2", True),
    ]
    names = (
        "SELECT conrelid::regclass::text, conname FROM pg_constraint "
        "WHERE contype = 'n' AND connamespace = 'app'::regnamespace ORDER BY 1, 2"
    )
    named = rows(client, names)
    if major >= 18:
        assert [n for n in named if n[0] in ("app.events_2024", "app.events_2025")] == [
            ("app.events_2024", "events_2024_at_not_null"),
            ("app.events_2024", "events_2024_id_required"),
            ("app.events_2024", "events_2024_note_required"),
            ("app.events_2025", "events_2025_note_not_null"),
            ("app.events_2025", "events_at_not_null"),
            ("app.events_2025", "events_id_not_null"),
        ]
    assert rows(client, not_null) == expected
    before = schema_dump(db.url, major)
    client.execute("SELECT pggit.commit('events')")
    client.execute("SELECT pggit.branch_create('empty', %s)", (root,))
    checkout(client, db, "empty")
    same_dump(before, checkout(client, db, "main"), "checkout of empty and main")
    assert rows(client, not_null) == expected
    assert rows(client, names) == named
    assert committed_definition(client, "table:app.events_2025") == (
        "CREATE TABLE app.events_2025 PARTITION OF app.events (\n"
        "    note WITH OPTIONS NOT NULL\n"
        ")\n"
        "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"
    )
    assert committed_definition(client, "table:app.events_2024") == (
        "CREATE TABLE app.events_2024 PARTITION OF app.events (\n"
        + (
            "    id WITH OPTIONS CONSTRAINT events_2024_id_required NOT NULL,\n"
            "    at WITH OPTIONS CONSTRAINT events_2024_at_not_null NOT NULL,\n"
            "    note WITH OPTIONS CONSTRAINT events_2024_note_required NOT NULL\n"
            if major >= 18
            else "    note WITH OPTIONS NOT NULL\n"
        )
        + ")\nFOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
    )
    # the partition's NOT NULL dropped, and another's set: altered in place
    client.execute("ALTER TABLE app.events_2025 ALTER COLUMN note DROP NOT NULL")
    client.execute("ALTER TABLE app.events_2026h1 ALTER COLUMN note SET NOT NULL")
    assert [(k, c) for k, c, _ in status(client)] == [
        ("table:app.events_2025", "MODIFIED"),
        ("table:app.events_2026h1", "MODIFIED"),
    ]
    changed = schema_dump(db.url, major)
    client.execute("SELECT pggit.commit('note nullable in 2025, not in 2026h1')")
    assert one(client, "SELECT pggit.diff_script('main~1', 'main')").split("\n\n")[1:] == [
        "ALTER TABLE app.events_2025 ALTER COLUMN note DROP NOT NULL;",
        "ALTER TABLE app.events_2026h1 ALTER COLUMN note SET NOT NULL;\n",
    ]
    client.execute("SELECT pggit.branch_create('before', 'main~1')")
    for _ in range(2):
        same_dump(before, checkout(client, db, "before"), "checkout of the NOT NULL commit")
        assert rows(client, not_null) == expected
        assert rows(client, names) == named
        same_dump(changed, checkout(client, db, "main"), "checkout of its change")
    # the parent makes the column NOT NULL: the partitions' own NOT NULL becomes their parent's
    # (checked out back and forth: a partition does not drop a NOT NULL its parent gives it)
    client.execute("ALTER TABLE app.events ALTER COLUMN note SET NOT NULL")
    modified = [(k, c) for k, c, _ in status(client)]
    assert modified == [
        ("table:app.events", "MODIFIED"),
        *([] if major >= 18 else [("table:app.events_2024", "MODIFIED")]),
        ("table:app.events_2026h1", "MODIFIED"),
        ("table:app.events_2026h2", "MODIFIED"),
    ]
    assert_status_is_rescans(client, engine_db)
    everywhere = schema_dump(db.url, major)
    named_everywhere = rows(client, names)
    client.execute("SELECT pggit.commit('note required everywhere')")
    # (on PostgreSQL 18 under its name: SET NOT NULL would number it while another table held it)
    assert one(client, "SELECT pggit.diff_script('main~1', 'main')").split("\n\n")[1:] == [
        "ALTER TABLE app.events ADD CONSTRAINT events_note_not_null NOT NULL note;\n"
        if major >= 18
        else "ALTER TABLE app.events ALTER COLUMN note SET NOT NULL;\n"
    ]
    client.execute("SELECT pggit.branch_create('optional', 'main~1')")
    client.execute("INSERT INTO app.events VALUES (1, '2024-05-01', 'a'), (2, '2026-08-01', 'b')")
    for _ in range(2):
        same_dump(changed, checkout(client, db, "optional"), "checkout of the parent's nullable")
        same_dump(everywhere, checkout(client, db, "main"), "checkout of the parent's NOT NULL")
        assert rows(client, names) == named_everywhere
    assert one(client, "SELECT count(*) FROM app.events") == 2


CHILDREN = """
CREATE SCHEMA s3;
CREATE TABLE s3.pp (id int, v int DEFAULT 3) PARTITION BY LIST (id);
CREATE TABLE s3.pp1 PARTITION OF s3.pp FOR VALUES IN (1);
ALTER TABLE ONLY s3.pp1 ALTER COLUMN v SET DEFAULT 9;
CREATE TABLE s3.pp2 PARTITION OF s3.pp FOR VALUES IN (2);
ALTER TABLE ONLY s3.pp2 ALTER COLUMN v DROP DEFAULT;
CREATE TABLE s3.pp3 PARTITION OF s3.pp FOR VALUES IN (3);
CREATE TABLE s3.ip (id int, v int DEFAULT 3, w int);
CREATE TABLE s3.ic () INHERITS (s3.ip);
ALTER TABLE ONLY s3.ic ALTER COLUMN v DROP DEFAULT;
ALTER TABLE ONLY s3.ic ALTER COLUMN w SET DEFAULT 5;
ALTER TABLE ONLY s3.ic ALTER COLUMN w SET NOT NULL;
CREATE TABLE s3.ig () INHERITS (s3.ic);
ALTER TABLE ONLY s3.ig ALTER COLUMN v SET DEFAULT 8;
"""
# the keys of CHILDREN's tables
CHILDREN_TABLES = [
    "table:s3.ic",
    "table:s3.ig",
    "table:s3.ip",
    "table:s3.pp",
    "table:s3.pp1",
    "table:s3.pp2",
    "table:s3.pp3",
]

# every column of s3's tables: its default as the catalog holds it (no pg_attrdef row: None) and
# its NOT NULL (pg_dump writes a child's missing default as DEFAULT NULL, which says neither)
COLUMNS = (
    "SELECT c.relname::text, a.attname::text, pg_get_expr(d.adbin, d.adrelid), a.attnotnull"
    "  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
    "  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
    " WHERE c.relnamespace = 's3'::regnamespace AND c.relkind IN ('r', 'p')"
    "   AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2"
)


def diff_working(conn: psycopg.Connection) -> list[tuple]:
    return rows(
        conn,
        "SELECT object_key, change, before, after FROM pggit.diff('HEAD', 'WORKING') ORDER BY 1",
    )


def assert_diff_is_rescans(conn: psycopg.Connection, db: EngineDB) -> list[tuple]:
    """Status and diff('HEAD', 'WORKING') right after the statements are those a fresh read of
    the whole schema (rescan) gives; returns the status."""
    diff = diff_working(conn)
    captured = assert_status_is_rescans(conn, db)
    assert diff_working(conn) == diff
    assert [(k, c) for k, c, _, _ in diff] == captured
    return captured


def test_a_childs_own_defaults_and_not_null_round_trip(
    client: psycopg.Connection, engine_db, engine_template
):
    """A partition's or an INHERITS child's own default of an inherited column (another than its
    parent's, or none where its parent has one), and an INHERITS child's own NOT NULL, are part of
    its definition: they survive a checkout to an empty branch and back and diff_script from
    empty. A parent's default changed (recursing to its children, or ONLY) changes its children's
    definitions as a fresh read gives them, and checkouts between such states leave exactly the
    target's defaults."""
    db = engine_db
    major = server_major(db)
    root = one(client, "SELECT commit_hash FROM pggit.head()")
    client.execute(CHILDREN)
    found = assert_status_is_rescans(client, db)
    assert [k for k, _ in found if k.startswith("table:")] == CHILDREN_TABLES
    columns = rows(client, COLUMNS)
    assert [c for c in columns if c[1] != "id"] == [
        ("ic", "v", None, False),
        ("ic", "w", "5", True),
        ("ig", "v", "8", False),
        ("ig", "w", "5", True),
        ("ip", "v", "3", False),
        ("ip", "w", None, False),
        ("pp", "v", "3", False),
        ("pp1", "v", "9", False),
        ("pp2", "v", None, False),
        ("pp3", "v", "3", False),
    ]
    before = schema_dump(db.url, major)
    client.execute("SELECT pggit.commit('children')")
    assert committed_definition(client, "table:s3.pp1") == (
        "CREATE TABLE s3.pp1 PARTITION OF s3.pp\n"
        "FOR VALUES IN (1);\n"
        "ALTER TABLE ONLY s3.pp1 ALTER COLUMN v SET DEFAULT 9;"
    )
    assert committed_definition(client, "table:s3.pp2") == (
        "CREATE TABLE s3.pp2 PARTITION OF s3.pp\n"
        "FOR VALUES IN (2);\n"
        "ALTER TABLE ONLY s3.pp2 ALTER COLUMN v DROP DEFAULT;"
    )
    assert committed_definition(client, "table:s3.ic") == (
        "CREATE TABLE s3.ic (\n\n)\n"
        "INHERITS (s3.ip);\n"
        "ALTER TABLE ONLY s3.ic ALTER COLUMN v DROP DEFAULT;\n"
        "ALTER TABLE ONLY s3.ic ALTER COLUMN w SET DEFAULT 5;\n"
        "ALTER TABLE ONLY s3.ic ALTER COLUMN w SET NOT NULL;"
    )
    # the grandchild's default of v is its own, w's default and NOT NULL are its parent's
    assert committed_definition(client, "table:s3.ig") == (
        "CREATE TABLE s3.ig (\n\n)\nINHERITS (s3.ic);\n"
        "ALTER TABLE ONLY s3.ig ALTER COLUMN v SET DEFAULT 8;"
    )
    client.execute("SELECT pggit.branch_create('empty', %s)", (root,))
    empty = checkout(client, db, "empty")
    same_dump(before, checkout(client, db, "main"), "checkout of empty and main")
    assert rows(client, COLUMNS) == columns
    # diff_script from empty, applied to a copy of the empty database
    script = one(client, "SELECT pggit.diff_script('empty', 'main')")
    with scratch_copy(engine_template) as copy:
        assert schema_dump(copy.url, major) == empty
        copy.run(script)
        same_dump(before, schema_dump(copy.url, major), "diff_script applied to a copy")
        assert copy.rows(COLUMNS) == columns
        copy.run("SELECT pggit.commit('applied')")
        assert copy.head_tree() == db.head_tree()

    # the parents' defaults changed, recursing: the children's own defaults are gone (pp1, pp2,
    # ic's v and the grandchild ig's, which PostgreSQL does not name: they have their parent's
    # now); ONLY: the children keep theirs (ic's w, whose definition does not name its parent's
    # default), or theirs become their own (pp3)
    client.execute("ALTER TABLE s3.pp ALTER COLUMN v SET DEFAULT 5")
    client.execute("ALTER TABLE s3.ip ALTER COLUMN v SET DEFAULT 4")
    client.execute("ALTER TABLE ONLY s3.ip ALTER COLUMN w SET DEFAULT 7")
    assert [k for k, _ in assert_diff_is_rescans(client, db)] == [
        key for key in CHILDREN_TABLES if key != "table:s3.pp3"
    ]
    client.execute("ALTER TABLE ONLY s3.pp ALTER COLUMN v SET DEFAULT 6")
    assert [k for k, _ in assert_diff_is_rescans(client, db)] == CHILDREN_TABLES
    assert one(
        client,
        "SELECT definition FROM pggit.live_objects() WHERE object_key = 'table:s3.pp3'",
    ) == (
        "CREATE TABLE s3.pp3 PARTITION OF s3.pp\n"
        "FOR VALUES IN (3);\n"
        "ALTER TABLE ONLY s3.pp3 ALTER COLUMN v SET DEFAULT 5;"
    )
    changed = schema_dump(db.url, major)
    changed_columns = rows(client, COLUMNS)
    client.execute("SELECT pggit.commit('parents')")
    # the children's own defaults kept while their parents' change (a recursing ALTER of the
    # parent must not take them): pp1 9 and pp2 none under pp's 5, their definitions unchanged;
    # pp3's default, 3, is its own now
    client.execute("SELECT pggit.branch_create('kept', 'main~1')")
    client.execute("SELECT * FROM pggit.checkout('kept')")
    client.execute("ALTER TABLE ONLY s3.pp ALTER COLUMN v SET DEFAULT 5")
    assert [k for k, _ in assert_diff_is_rescans(client, db)] == ["table:s3.pp", "table:s3.pp3"]
    kept = schema_dump(db.url, major)
    kept_columns = rows(client, COLUMNS)
    client.execute("SELECT pggit.commit('parent only')")
    client.execute("SELECT pggit.branch_create('own', 'main~1')")
    for _ in range(2):
        same_dump(before, checkout(client, db, "own"), "checkout of the children's own")
        assert rows(client, COLUMNS) == columns
        same_dump(changed, checkout(client, db, "main"), "checkout of the parents' change")
        assert rows(client, COLUMNS) == changed_columns
        same_dump(kept, checkout(client, db, "kept"), "checkout of the parent's ONLY change")
        assert rows(client, COLUMNS) == kept_columns
    same_dump(changed, checkout(client, db, "main"), "checkout of the parents' change")
    assert rows(client, COLUMNS) == changed_columns


def columns(conn: psycopg.Connection, schema: str) -> list[tuple]:
    """COLUMNS of another schema."""
    return rows(conn, COLUMNS.replace("'s3'", f"'{schema}'"))


def statements(script: str) -> list[str]:
    """A diff_script's statements (its header and SET lines left out)."""
    return [
        s
        for s in script.strip().split("\n\n")
        if not s.startswith("-- pgGit") and not s.startswith("SET check_function_bodies")
    ]


def between_two_states(
    client: psycopg.Connection, db: EngineDB, setup: str, change: str, schema: str = "s"
) -> tuple[list[str], list[str]]:
    """setup committed (branch 'a'), then change committed on main, with the status a rescan
    gives; checkouts between the two, twice, leave exactly each one's columns. Returns the
    statements of diff_script a -> main and main -> a."""
    client.execute(setup)
    client.execute("SELECT pggit.commit('a')")
    client.execute("SELECT pggit.branch_create('a', 'HEAD')")
    a_columns = columns(client, schema)
    client.execute(change)
    assert_status_is_rescans(client, db)
    b_columns = columns(client, schema)
    client.execute("SELECT pggit.commit('b')")
    forth = statements(one(client, "SELECT pggit.diff_script('a', 'main')"))
    back = statements(one(client, "SELECT pggit.diff_script('main', 'a')"))
    for _ in range(2):
        checkout(client, db, "a")
        assert columns(client, schema) == a_columns
        checkout(client, db, "main")
        assert columns(client, schema) == b_columns
    return forth, back


def test_an_inherits_childs_own_not_null_without_own_default_round_trips(
    client: psycopg.Connection, engine_db
):
    """An INHERITS child's own NOT NULL is written when the child has no own default too."""
    db = engine_db
    root = one(client, "SELECT commit_hash FROM pggit.head()")
    client.execute(
        "CREATE SCHEMA s; CREATE TABLE s.p (a int, b int DEFAULT 1);"
        " CREATE TABLE s.c () INHERITS (s.p); ALTER TABLE ONLY s.c ALTER a SET NOT NULL;"
    )
    client.execute("SELECT pggit.commit('c')")
    assert committed_definition(client, "table:s.c") == (
        "CREATE TABLE s.c (\n\n)\nINHERITS (s.p);\n"
        "ALTER TABLE ONLY s.c ALTER COLUMN a SET NOT NULL;"
    )
    cols = columns(client, "s")
    assert ("c", "a", None, True) in cols
    client.execute("SELECT pggit.branch_create('empty', %s)", (root,))
    checkout(client, db, "empty")
    checkout(client, db, "main")
    assert columns(client, "s") == cols


def test_a_childs_own_default_gone_where_its_parent_drops_its_default(
    client: psycopg.Connection, engine_db
):
    """A child's own default that stops being its own when its parent's DROP DEFAULT (recursing)
    takes it: the child then has no default, not its parent's old one."""
    forth, back = between_two_states(
        client,
        engine_db,
        "CREATE SCHEMA s;"
        " CREATE TABLE s.p (a int, v int DEFAULT 3) PARTITION BY LIST (a);"
        " CREATE TABLE s.p1 PARTITION OF s.p FOR VALUES IN (1);"
        " ALTER TABLE ONLY s.p1 ALTER v SET DEFAULT 9;"
        " CREATE TABLE s.ip (a int, v int DEFAULT 3);"
        " CREATE TABLE s.ic () INHERITS (s.ip);"
        " ALTER TABLE ONLY s.ic ALTER v SET DEFAULT 9;",
        "ALTER TABLE s.p ALTER v DROP DEFAULT; ALTER TABLE s.ip ALTER v DROP DEFAULT;",
    )
    assert forth == [
        "ALTER TABLE s.ip ALTER COLUMN v DROP DEFAULT;",
        "ALTER TABLE s.p ALTER COLUMN v DROP DEFAULT;",
        "ALTER TABLE s.ic ALTER COLUMN v DROP DEFAULT;",
        "ALTER TABLE s.p1 ALTER COLUMN v DROP DEFAULT;",
    ]
    # the parent's default set again (recursing) takes the children's: theirs set again after
    assert back == [
        "ALTER TABLE s.ip ALTER COLUMN v SET DEFAULT 3;",
        "ALTER TABLE s.p ALTER COLUMN v SET DEFAULT 3;",
        "ALTER TABLE s.ic ALTER COLUMN v SET DEFAULT 9;",
        "ALTER TABLE s.p1 ALTER COLUMN v SET DEFAULT 9;",
    ]


def test_a_descendants_own_default_is_set_again_after_its_ancestors_change(
    client: psycopg.Connection, engine_db
):
    """A parent's default changed (ONLY: its children's definitions do not change) is set
    recursing, which takes every descendant's own default: each is set again after it, parents
    before children (a grandchild with its own under a child with its own; a grandchild without,
    which has its parent's)."""
    forth, back = between_two_states(
        client,
        engine_db,
        "CREATE SCHEMA s;"
        " CREATE TABLE s.z (a int, v int DEFAULT 3);"
        " CREATE TABLE s.m () INHERITS (s.z); ALTER TABLE ONLY s.m ALTER v SET DEFAULT 9;"
        " CREATE TABLE s.b () INHERITS (s.m); ALTER TABLE ONLY s.b ALTER v SET DEFAULT 8;"
        " CREATE TABLE s.b2 () INHERITS (s.m);"
        " CREATE TABLE s.q (a int, v int DEFAULT 3) PARTITION BY LIST (a);"
        " CREATE TABLE s.q1 PARTITION OF s.q FOR VALUES IN (1) PARTITION BY LIST (v);"
        " ALTER TABLE ONLY s.q1 ALTER v SET DEFAULT 9;"
        " CREATE TABLE s.q11 PARTITION OF s.q1 FOR VALUES IN (1);"
        " ALTER TABLE ONLY s.q11 ALTER v SET DEFAULT 8;"
        " CREATE TABLE s.q12 PARTITION OF s.q1 FOR VALUES IN (2);",
        "ALTER TABLE ONLY s.z ALTER v SET DEFAULT 4; ALTER TABLE ONLY s.q ALTER v SET DEFAULT 4;",
    )
    assert forth == [
        "ALTER TABLE s.q ALTER COLUMN v DROP DEFAULT;",
        "ALTER TABLE s.q ALTER COLUMN v SET DEFAULT 4;",
        "ALTER TABLE s.q1 ALTER COLUMN v SET DEFAULT 9;",
        "ALTER TABLE s.q11 ALTER COLUMN v SET DEFAULT 8;",
        "ALTER TABLE s.z ALTER COLUMN v DROP DEFAULT;",
        "ALTER TABLE s.z ALTER COLUMN v SET DEFAULT 4;",
        "ALTER TABLE s.m ALTER COLUMN v SET DEFAULT 9;",
        "ALTER TABLE s.b ALTER COLUMN v SET DEFAULT 8;",
    ]
    assert back == [
        "ALTER TABLE s.q ALTER COLUMN v DROP DEFAULT;",
        "ALTER TABLE s.q ALTER COLUMN v SET DEFAULT 3;",
        "ALTER TABLE s.q1 ALTER COLUMN v SET DEFAULT 9;",
        "ALTER TABLE s.q11 ALTER COLUMN v SET DEFAULT 8;",
        "ALTER TABLE s.z ALTER COLUMN v DROP DEFAULT;",
        "ALTER TABLE s.z ALTER COLUMN v SET DEFAULT 3;",
        "ALTER TABLE s.m ALTER COLUMN v SET DEFAULT 9;",
        "ALTER TABLE s.b ALTER COLUMN v SET DEFAULT 8;",
    ]
    assert [c for c in columns(client, "s") if c[1] == "v"] == [
        ("b", "v", "8", False),
        ("b2", "v", "9", False),
        ("m", "v", "9", False),
        ("q", "v", "4", False),
        ("q1", "v", "9", False),
        ("q11", "v", "8", False),
        ("q12", "v", "9", False),
        ("z", "v", "4", False),
    ]


def test_a_childs_own_default_is_set_again_after_its_parents_type_change(
    client: psycopg.Connection, engine_db
):
    """A parent's column type changed (its default dropped and set again around the TYPE,
    recursing): the children's own defaults, their definitions unchanged, are set again after."""
    forth, back = between_two_states(
        client,
        engine_db,
        "CREATE SCHEMA s;"
        " CREATE TABLE s.p (a int, v text DEFAULT 'x');"
        " CREATE TABLE s.c () INHERITS (s.p); ALTER TABLE ONLY s.c ALTER v SET DEFAULT 'y';"
        " CREATE TABLE s.q (a int, v text DEFAULT 'x') PARTITION BY LIST (a);"
        " CREATE TABLE s.q1 PARTITION OF s.q FOR VALUES IN (1);"
        " ALTER TABLE ONLY s.q1 ALTER v SET DEFAULT 'y';",
        "ALTER TABLE s.p ALTER v TYPE varchar(10); ALTER TABLE s.q ALTER v TYPE varchar(10);",
    )
    for script, type_ in ((forth, "character varying(10)"), (back, "text")):
        using = f"v::{type_}"
        assert script == [
            "ALTER TABLE s.p ALTER COLUMN v DROP DEFAULT;",
            f"ALTER TABLE s.p ALTER COLUMN v TYPE {type_} USING {using};",
            "ALTER TABLE s.p ALTER COLUMN v SET DEFAULT 'x'::text;",
            "ALTER TABLE s.c ALTER COLUMN v SET DEFAULT 'y'::text;",
            "ALTER TABLE s.q ALTER COLUMN v DROP DEFAULT;",
            f"ALTER TABLE s.q ALTER COLUMN v TYPE {type_} USING {using};",
            "ALTER TABLE s.q ALTER COLUMN v SET DEFAULT 'x'::text;",
            "ALTER TABLE s.q1 ALTER COLUMN v SET DEFAULT 'y'::text;",
        ]


def test_a_childs_own_default_of_a_column_its_parent_no_longer_has(
    client: psycopg.Connection, engine_db
):
    """A child's own default of a column its parent drops (or renames) in the other tree: no
    statement for it there."""
    forth, back = between_two_states(
        client,
        engine_db,
        "CREATE SCHEMA s; CREATE TABLE s.p (a int, v int DEFAULT 1);"
        " CREATE TABLE s.c () INHERITS (s.p); ALTER TABLE ONLY s.c ALTER v SET DEFAULT 2;",
        "ALTER TABLE s.p ADD COLUMN x int DEFAULT 1; ALTER TABLE ONLY s.c ALTER x SET DEFAULT 2;"
        " ALTER TABLE s.p RENAME COLUMN v TO w;",
    )
    assert forth == [
        "ALTER TABLE s.p DROP COLUMN v;",
        "ALTER TABLE s.p ADD COLUMN w integer DEFAULT 1;",
        "ALTER TABLE s.p ADD COLUMN x integer DEFAULT 1;",
        "ALTER TABLE s.c ALTER COLUMN w SET DEFAULT 2;",
        "ALTER TABLE s.c ALTER COLUMN x SET DEFAULT 2;",
    ]
    assert back == [
        "ALTER TABLE s.p DROP COLUMN w;",
        "ALTER TABLE s.p DROP COLUMN x;",
        "ALTER TABLE s.p ADD COLUMN v integer DEFAULT 1;",
        "ALTER TABLE s.c ALTER COLUMN v SET DEFAULT 2;",
    ]


def test_a_parents_default_renamed_without_alter_table_changes_no_child(
    client: psycopg.Connection, engine_db
):
    """A parent's default whose text changes by another statement than ALTER TABLE (its sequence
    or function renamed): the children with their own defaults do not change (their definitions
    do not name their parent's default), as a fresh read gives them."""
    db = engine_db
    client.execute(
        "CREATE SCHEMA s; CREATE FUNCTION s.f() RETURNS int LANGUAGE sql AS 'SELECT 1';"
        " CREATE TABLE s.p (id serial, v int DEFAULT s.f());"
        " CREATE TABLE s.c () INHERITS (s.p);"
        " ALTER TABLE ONLY s.c ALTER id SET DEFAULT 0; ALTER TABLE ONLY s.c ALTER v SET DEFAULT 0;"
        " CREATE TABLE s.q (id serial, v int DEFAULT s.f()) PARTITION BY LIST (id);"
        " CREATE TABLE s.q1 PARTITION OF s.q FOR VALUES IN (1);"
        " ALTER TABLE ONLY s.q1 ALTER id SET DEFAULT 0;"
        " ALTER TABLE ONLY s.q1 ALTER v SET DEFAULT 0;"
    )
    client.execute("SELECT pggit.commit('children')")
    client.execute("ALTER SEQUENCE s.p_id_seq RENAME TO p_seq2")
    client.execute("ALTER SEQUENCE s.q_id_seq RENAME TO q_seq2")
    assert assert_status_is_rescans(client, db) == [
        ("sequence:s.p_id_seq", "REMOVED"),
        ("sequence:s.p_seq2", "ADDED"),
        ("sequence:s.q_id_seq", "REMOVED"),
        ("sequence:s.q_seq2", "ADDED"),
        ("table:s.p", "MODIFIED"),
        ("table:s.q", "MODIFIED"),
    ]
    client.execute("SELECT pggit.commit('sequences')")
    client.execute("ALTER FUNCTION s.f() RENAME TO g")
    assert assert_status_is_rescans(client, db) == [
        ("function:s.f()", "REMOVED"),
        ("function:s.g()", "ADDED"),
        ("table:s.p", "MODIFIED"),
        ("table:s.q", "MODIFIED"),
    ]
    assert committed_definition(client, "table:s.c") == (
        "CREATE TABLE s.c (\n\n)\nINHERITS (s.p);\n"
        "ALTER TABLE ONLY s.c ALTER COLUMN id SET DEFAULT 0;\n"
        "ALTER TABLE ONLY s.c ALTER COLUMN v SET DEFAULT 0;"
    )


def test_an_inherits_childs_declared_column_without_default_round_trips(
    client: psycopg.Connection, engine_db
):
    """An INHERITS child that declares an inherited column itself, without the default its
    parent's has (CREATE TABLE ... INHERITS would give it the parent's): DROP DEFAULT after it."""
    db = engine_db
    root = one(client, "SELECT commit_hash FROM pggit.head()")
    client.execute(
        "CREATE SCHEMA s; CREATE TABLE s.p (a int, v int DEFAULT 3);"
        " CREATE TABLE s.c (a int, v int); ALTER TABLE s.c INHERIT s.p;"
    )
    assert_status_is_rescans(client, db)
    client.execute("SELECT pggit.commit('c')")
    assert committed_definition(client, "table:s.c") == (
        "CREATE TABLE s.c (\n    a integer,\n    v integer\n)\nINHERITS (s.p);\n"
        "ALTER TABLE ONLY s.c ALTER COLUMN v DROP DEFAULT;"
    )
    cols = columns(client, "s")
    assert cols == [
        ("c", "a", None, False),
        ("c", "v", None, False),
        ("p", "a", None, False),
        ("p", "v", "3", False),
    ]
    client.execute("SELECT pggit.branch_create('empty', %s)", (root,))
    checkout(client, db, "empty")
    checkout(client, db, "main")
    assert columns(client, "s") == cols
