"""NOT NULL constraints' names (PostgreSQL 18, where a column's NOT NULL is a named constraint in
pg_constraint, contype 'n'): a table's definition writes the name of a column's own NOT NULL when
it is not <table>_<column>_not_null, an INHERITS child's own NOT NULL of a column it also inherits
is its own after a round trip, and a rename of the constraint alone is checked out in place. On
PostgreSQL 15 the definitions are those they always were."""

from __future__ import annotations

import re

import psycopg
import pytest

from tests.engine.enginedb import EngineDB, engine_error
from tests.engine.test_checkout_fidelity import round_trip, server_major


@pytest.fixture
def pg18(engine_db: EngineDB) -> EngineDB:
    if server_major(engine_db) < 18:
        pytest.skip("NOT NULL constraints are named catalog rows from PostgreSQL 18 on")
    return engine_db


def with_default_not_null_names(script: str) -> str:
    """script as sql_create writes it on PostgreSQL 18: each column line of a CREATE TABLE ending
    in a NOT NULL without a name given CONSTRAINT <table>_<column>_not_null."""
    lines = []
    table = None
    for line in script.split("\n"):
        start = re.match(r"CREATE TABLE [\w.]*?(\w+) \($", line)
        if start:
            table = start.group(1)
        elif line.startswith(")"):
            table = None
        elif table and "CONSTRAINT" not in line:
            column = re.match(r"^    (\w+) (.*) NOT NULL(,?)$", line)
            if column:
                line = (
                    f"    {column[1]} {column[2]} CONSTRAINT {table}_{column[1]}_not_null"
                    f" NOT NULL{column[3]}"
                )
        lines.append(line)
    return "\n".join(lines)


def not_null_constraints(db: EngineDB) -> list[tuple]:
    """(table, constraint, columns, own, inherited count, NO INHERIT) of every NOT NULL constraint
    in the schema app, what pg_dump 18 reads of them."""
    return db.rows(
        "SELECT conrelid::regclass::text, conname::text, conkey, conislocal, coninhcount, "
        "connoinherit FROM pg_constraint "
        "WHERE contype = 'n' AND connamespace = 'app'::regnamespace ORDER BY 1, 2"
    )


def table_definitions(db: EngineDB) -> dict[str, str]:
    return dict(
        db.rows(
            "SELECT object_key, definition FROM pggit.live_definitions() "
            "WHERE object_key LIKE 'table:app.%'"
        )
    )


def test_named_not_null_constraints_round_trip(pg18: EngineDB):
    db = pg18
    root = db.one("SELECT commit_hash FROM pggit.head()")
    before, after = round_trip(
        db,
        "CREATE SCHEMA app;"
        "CREATE TABLE app.t (a int NOT NULL, b int CONSTRAINT my_nn NOT NULL, c int);"
        # a renamed table keeps the name its constraint had
        "CREATE TABLE app.old (x int NOT NULL);"
        "ALTER TABLE app.old RENAME TO r;"
        "CREATE TYPE app.item AS (id bigint, name text);"
        "CREATE TABLE app.items OF app.item (id WITH OPTIONS CONSTRAINT item_id_nn NOT NULL);"
        "CREATE TABLE app.p (e int NOT NULL, f int NOT NULL, g int);"
        # its own NOT NULL of a column NOT NULL in its parent (own and inherited), its own of a
        # column nullable in its parent
        "CREATE TABLE app.c1 () INHERITS (app.p);"
        "ALTER TABLE ONLY app.c1 ALTER COLUMN e SET NOT NULL;"
        "ALTER TABLE app.c1 ALTER COLUMN g SET NOT NULL;"
        # a column it declares itself, merged with its parent's, under a name of its own
        "CREATE TABLE app.c2 (f int CONSTRAINT c2_f_named NOT NULL) INHERITS (app.p);",
    )
    assert before == after
    assert not_null_constraints(db) == [
        ("app.c1", "c1_g_not_null", [3], True, 0, False),
        ("app.c1", "p_e_not_null", [1], True, 1, False),
        ("app.c1", "p_f_not_null", [2], False, 1, False),
        ("app.c2", "c2_f_named", [2], True, 1, False),
        ("app.c2", "p_e_not_null", [1], False, 1, False),
        ("app.items", "item_id_nn", [1], True, 0, False),
        ("app.p", "p_e_not_null", [1], True, 0, False),
        ("app.p", "p_f_not_null", [2], True, 0, False),
        ("app.r", "old_x_not_null", [1], True, 0, False),
        ("app.t", "my_nn", [2], True, 0, False),
        ("app.t", "t_a_not_null", [1], True, 0, False),
    ]
    definitions = table_definitions(db)
    assert definitions["table:app.t"] == (
        "CREATE TABLE app.t (\n"
        "    a integer NOT NULL,\n"
        "    b integer CONSTRAINT my_nn NOT NULL,\n"
        "    c integer\n);"
    )
    assert definitions["table:app.r"] == (
        "CREATE TABLE app.r (\n    x integer CONSTRAINT old_x_not_null NOT NULL\n);"
    )
    assert definitions["table:app.items"] == (
        "CREATE TABLE app.items OF app.item (\n"
        "    id WITH OPTIONS CONSTRAINT item_id_nn NOT NULL /* bigint */,\n"
        "    name WITH OPTIONS /* text */\n);"
    )
    assert definitions["table:app.c1"] == (
        "CREATE TABLE app.c1 (\n\n)\nINHERITS (app.p);\n"
        "ALTER TABLE ONLY app.c1 ALTER COLUMN e SET NOT NULL;\n"
        "ALTER TABLE ONLY app.c1 ALTER COLUMN g SET NOT NULL;"
    )
    assert definitions["table:app.c2"] == (
        "CREATE TABLE app.c2 (\n    f integer CONSTRAINT c2_f_named NOT NULL\n)\nINHERITS (app.p);"
    )
    meta = db.one("SELECT meta FROM pggit.live_objects() WHERE object_key = 'table:app.t'")
    assert meta["not_null_names"] == {"b": "my_nn"}
    assert "not_null_names" not in db.one(
        "SELECT meta FROM pggit.live_objects() WHERE object_key = 'table:app.p'"
    )
    # the script's CREATE TABLE names the constraints the definition leaves to the default too
    # (CREATE TABLE would number the default name while another table of the schema holds it)
    script = db.one("SELECT pggit.diff_script(%s, 'HEAD')", (root,))
    assert (
        "CREATE TABLE app.t (\n"
        "    a integer CONSTRAINT t_a_not_null NOT NULL,\n"
        "    b integer CONSTRAINT my_nn NOT NULL,\n"
        "    c integer\n);"
    ) in script
    assert "x integer CONSTRAINT old_x_not_null NOT NULL" in script
    assert "id WITH OPTIONS CONSTRAINT item_id_nn NOT NULL /* bigint */" in script


def test_a_table_created_while_another_holds_its_default_names_gets_them(
    pg18: EngineDB, client: psycopg.Connection
):
    # a table renamed keeps its constraint's name t_id_not_null, which its definition writes; going
    # back, t is created again while u still holds that name (CREATE TABLE alone would give
    # t_id_not_null1), and going forward u is created while t still holds it
    db = pg18
    client.execute("CREATE SCHEMA app; CREATE TABLE app.t (id int NOT NULL, v text)")
    client.execute("SELECT pggit.commit('t')")
    client.execute("ALTER TABLE app.t RENAME TO u; CREATE TABLE app.t (id int NOT NULL)")
    client.execute("SELECT pggit.commit('u and a new t')")
    two = not_null_constraints(db)
    assert two == [
        ("app.t", "t_id_not_null1", [1], True, 0, False),
        ("app.u", "t_id_not_null", [1], True, 0, False),
    ]
    client.execute("SELECT pggit.branch_create('one', 'HEAD~1')")
    client.execute("SELECT * FROM pggit.checkout('one')")
    assert not_null_constraints(db) == [("app.t", "t_id_not_null", [1], True, 0, False)]
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []
    client.execute("SELECT * FROM pggit.checkout('main')")
    assert not_null_constraints(db) == two
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []


def test_definitions_name_no_not_null_constraint_on_postgresql_15(engine_db: EngineDB):
    # the same DDL on PostgreSQL 15 (a column constraint's name is accepted there and kept nowhere)
    if server_major(engine_db) >= 18:
        pytest.skip("on PostgreSQL 18 the names are written: test_named_not_null_constraints")
    engine_db.run(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.t (a int NOT NULL, b int CONSTRAINT my_nn NOT NULL);"
        "CREATE TABLE app.old (x int NOT NULL);"
        "ALTER TABLE app.old RENAME TO r;"
    )
    assert table_definitions(engine_db) == {
        "table:app.t": "CREATE TABLE app.t (\n    a integer NOT NULL,\n    b integer NOT NULL\n);",
        "table:app.r": "CREATE TABLE app.r (\n    x integer NOT NULL\n);",
    }


def test_a_renamed_not_null_constraint_is_renamed_in_place(
    pg18: EngineDB, client: psycopg.Connection
):
    # a rename of the constraint alone is captured (the event trigger names the constraint: its
    # table is re-read) and checked out with RENAME CONSTRAINT, the table and its rows kept; a
    # NOT NULL added under a name is added with it
    db = pg18
    client.execute(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.t (id int NOT NULL, v text, w text CONSTRAINT w_set NOT NULL);"
        "INSERT INTO app.t VALUES (1, 'one', 'x');"
    )
    client.execute("SELECT pggit.commit('one')")
    client.execute(
        "ALTER TABLE app.t RENAME CONSTRAINT t_id_not_null TO t_id_required;"
        "ALTER TABLE app.t RENAME CONSTRAINT w_set TO t_w_not_null;"
    )
    assert client.execute(
        "SELECT object_key, change_type FROM pggit.status() ORDER BY 1"
    ).fetchall() == [("table:app.t", "MODIFIED")]
    client.execute("ALTER TABLE app.t ADD CONSTRAINT v_given NOT NULL v")
    client.execute("SELECT pggit.commit('two')")
    two = not_null_constraints(db)
    assert two == [
        ("app.t", "t_id_required", [1], True, 0, False),
        ("app.t", "t_w_not_null", [3], True, 0, False),
        ("app.t", "v_given", [2], True, 0, False),
    ]
    client.execute("SELECT pggit.branch_create('one', 'HEAD~1')")
    oid = db.one("SELECT 'app.t'::regclass::oid")
    assert client.execute("SELECT statements FROM pggit.checkout('one')").fetchone()[0] == [
        "ALTER TABLE app.t ALTER COLUMN v DROP NOT NULL;",
        "ALTER TABLE app.t RENAME CONSTRAINT t_id_required TO t_id_not_null;",
        "ALTER TABLE app.t RENAME CONSTRAINT t_w_not_null TO w_set;",
    ]
    assert not_null_constraints(db) == [
        ("app.t", "t_id_not_null", [1], True, 0, False),
        ("app.t", "w_set", [3], True, 0, False),
    ]
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []
    assert client.execute("SELECT statements FROM pggit.checkout('main')").fetchone()[0] == [
        "ALTER TABLE app.t RENAME CONSTRAINT t_id_not_null TO t_id_required;",
        "ALTER TABLE app.t RENAME CONSTRAINT w_set TO t_w_not_null;",
        "ALTER TABLE app.t ADD CONSTRAINT v_given NOT NULL v;",
    ]
    assert not_null_constraints(db) == two
    assert db.one("SELECT 'app.t'::regclass::oid") == oid
    assert db.rows("SELECT * FROM app.t") == [(1, "one", "x")]
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []
    assert db.one("SELECT clean FROM pggit.head()") is True


def test_a_column_line_is_named_where_a_default_before_it_holds_its_text(
    pg18: EngineDB, client: psycopg.Connection
):
    # the text of b's line (and of the line after it) inside the string default of the column
    # before it: the default is kept as it is, b's line gets the name
    db = pg18
    client.execute(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.q (note text DEFAULT E'hi\\n    b integer NOT NULL,\\n', b int NOT NULL);"
    )
    client.execute("SELECT pggit.commit('q')")
    assert db.one(
        "SELECT pggit.sql_create('table', definition, meta) FROM pggit.live_objects()"
        " WHERE object_key = 'table:app.q'"
    ) == [
        "CREATE TABLE app.q (\n"
        "    note text DEFAULT 'hi\n    b integer NOT NULL,\n'::text,\n"
        "    b integer CONSTRAINT q_b_not_null NOT NULL\n);"
    ]
    client.execute("ALTER TABLE app.q RENAME TO r")
    client.execute("SELECT pggit.commit('r')")
    client.execute("SELECT pggit.branch_create('one', 'HEAD~1')")
    client.execute("SELECT * FROM pggit.checkout('one')")
    assert not_null_constraints(db) == [("app.q", "q_b_not_null", [2], True, 0, False)]
    db.run("INSERT INTO app.q (b) VALUES (1)")
    assert db.one("SELECT note FROM app.q") == "hi\n    b integer NOT NULL,\n"
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []


def test_a_typed_tables_renamed_not_null_is_dropped_and_added(
    pg18: EngineDB, client: psycopg.Connection
):
    # PostgreSQL refuses RENAME CONSTRAINT on a typed table
    db = pg18
    client.execute(
        "CREATE SCHEMA app; CREATE TYPE app.item AS (id bigint, name text);"
        "CREATE TABLE app.items OF app.item (id WITH OPTIONS NOT NULL);"
        "INSERT INTO app.items VALUES (1, 'one');"
    )
    client.execute("SELECT pggit.commit('one')")
    client.execute(
        "ALTER TABLE app.items ALTER COLUMN id DROP NOT NULL;"
        "ALTER TABLE app.items ADD CONSTRAINT item_id_nn NOT NULL id;"
    )
    client.execute("SELECT pggit.commit('two')")
    client.execute("SELECT pggit.branch_create('one', 'HEAD~1')")
    assert client.execute("SELECT statements FROM pggit.checkout('one')").fetchone()[0] == [
        "ALTER TABLE app.items ALTER COLUMN id DROP NOT NULL;",
        "ALTER TABLE app.items ADD CONSTRAINT items_id_not_null NOT NULL id;",
    ]
    assert not_null_constraints(db) == [("app.items", "items_id_not_null", [1], True, 0, False)]
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []
    assert client.execute("SELECT statements FROM pggit.checkout('main')").fetchone()[0] == [
        "ALTER TABLE app.items ALTER COLUMN id DROP NOT NULL;",
        "ALTER TABLE app.items ADD CONSTRAINT item_id_nn NOT NULL id;",
    ]
    assert not_null_constraints(db) == [("app.items", "item_id_nn", [1], True, 0, False)]
    assert db.rows("SELECT * FROM app.items") == [(1, "one")]
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []


def test_a_name_freed_or_swapped_in_the_same_checkout(pg18: EngineDB, client: psycopg.Connection):
    # one: a named x, b named y. two: b nullable, a named y (the name b's constraint freed).
    # three: a named y, b named x (two names swapped)
    db = pg18
    client.execute(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.t (a int CONSTRAINT x NOT NULL, b int CONSTRAINT y NOT NULL, c int);"
        "INSERT INTO app.t VALUES (1, 2, 3);"
    )
    client.execute("SELECT pggit.commit('one')")
    client.execute(
        "ALTER TABLE app.t ALTER COLUMN b DROP NOT NULL; ALTER TABLE app.t RENAME CONSTRAINT x TO y"
    )
    client.execute("SELECT pggit.commit('two')")
    client.execute("ALTER TABLE app.t ADD CONSTRAINT x NOT NULL b, ADD CONSTRAINT c_set NOT NULL c")
    client.execute("SELECT pggit.commit('three')")
    three = not_null_constraints(db)
    assert three == [
        ("app.t", "c_set", [3], True, 0, False),
        ("app.t", "x", [2], True, 0, False),
        ("app.t", "y", [1], True, 0, False),
    ]
    client.execute("SELECT pggit.branch_create('one', 'HEAD~2')")
    client.execute("SELECT pggit.branch_create('two', 'HEAD~1')")
    assert client.execute("SELECT statements FROM pggit.checkout('one')").fetchone()[0] == [
        "ALTER TABLE app.t ALTER COLUMN c DROP NOT NULL;",
        "ALTER TABLE app.t RENAME CONSTRAINT y TO pggit_nn_1;",
        "ALTER TABLE app.t RENAME CONSTRAINT x TO pggit_nn_2;",
        "ALTER TABLE app.t RENAME CONSTRAINT pggit_nn_1 TO x;",
        "ALTER TABLE app.t RENAME CONSTRAINT pggit_nn_2 TO y;",
    ]
    assert not_null_constraints(db) == [
        ("app.t", "x", [1], True, 0, False),
        ("app.t", "y", [2], True, 0, False),
    ]
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []
    assert client.execute("SELECT statements FROM pggit.checkout('two')").fetchone()[0] == [
        "ALTER TABLE app.t ALTER COLUMN b DROP NOT NULL;",
        "ALTER TABLE app.t RENAME CONSTRAINT x TO y;",
    ]
    assert not_null_constraints(db) == [("app.t", "y", [1], True, 0, False)]
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []
    assert client.execute("SELECT statements FROM pggit.checkout('main')").fetchone()[0] == [
        "ALTER TABLE app.t ADD CONSTRAINT x NOT NULL b;",
        "ALTER TABLE app.t ADD CONSTRAINT c_set NOT NULL c;",
    ]
    assert not_null_constraints(db) == three
    assert db.rows("SELECT * FROM app.t") == [(1, 2, 3)]
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []


def test_set_not_null_checked_out_takes_the_default_name_another_table_holds(
    pg18: EngineDB, client: psycopg.Connection
):
    # u holds t_v_not_null and t_w_not_null (names given): t's v made NOT NULL in place and its
    # column w added NOT NULL get exactly their default names (SET NOT NULL and a bare ADD COLUMN
    # would number them)
    db = pg18
    client.execute(
        "CREATE SCHEMA app; CREATE TABLE app.t (v int);"
        "CREATE TABLE app.u (x int CONSTRAINT t_v_not_null NOT NULL,"
        " y int CONSTRAINT t_w_not_null NOT NULL);"
    )
    client.execute("SELECT pggit.commit('one')")
    client.execute(
        "ALTER TABLE app.t ADD CONSTRAINT t_v_not_null NOT NULL v;"
        "ALTER TABLE app.t ADD COLUMN w int CONSTRAINT t_w_not_null NOT NULL"
    )
    client.execute("SELECT pggit.commit('two')")
    two = not_null_constraints(db)
    assert two == [
        ("app.t", "t_v_not_null", [1], True, 0, False),
        ("app.t", "t_w_not_null", [2], True, 0, False),
        ("app.u", "t_v_not_null", [1], True, 0, False),
        ("app.u", "t_w_not_null", [2], True, 0, False),
    ]
    client.execute("SELECT pggit.branch_create('one', 'HEAD~1')")
    client.execute("SELECT * FROM pggit.checkout('one')")
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []
    assert client.execute("SELECT statements FROM pggit.checkout('main')").fetchone()[0] == [
        "ALTER TABLE app.t ADD CONSTRAINT t_v_not_null NOT NULL v;",
        "ALTER TABLE app.t ADD COLUMN w integer CONSTRAINT t_w_not_null NOT NULL;",
    ]
    # (w is the table's third column now: the second, dropped by the checkout of one, is gone)
    assert not_null_constraints(db) == [
        ("app.t", "t_v_not_null", [1], True, 0, False),
        ("app.t", "t_w_not_null", [3], True, 0, False),
        ("app.u", "t_v_not_null", [1], True, 0, False),
        ("app.u", "t_w_not_null", [2], True, 0, False),
    ]
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []


def test_undoing_a_childs_own_not_null_of_an_inherited_one_is_a_re_creation(
    pg18: EngineDB, client: psycopg.Connection
):
    # the child's SET NOT NULL of a column NOT NULL in its parent makes the inherited constraint
    # its own too; DROP NOT NULL refuses an inherited constraint, so going back re-creates the
    # child: refused while it has rows (DATA_LOSS), done when forced (its rows lost)
    db = pg18
    client.execute(
        "CREATE SCHEMA app; CREATE TABLE app.p (e int NOT NULL);"
        "CREATE TABLE app.c () INHERITS (app.p); INSERT INTO app.c VALUES (1);"
    )
    client.execute("SELECT pggit.commit('one')")
    client.execute("ALTER TABLE app.c ALTER COLUMN e SET NOT NULL")
    client.execute("SELECT pggit.commit('two')")
    assert not_null_constraints(db) == [
        ("app.c", "p_e_not_null", [1], True, 1, False),
        ("app.p", "p_e_not_null", [1], True, 0, False),
    ]
    client.execute("SELECT pggit.branch_create('one', 'HEAD~1')")
    with pytest.raises(psycopg.Error) as excinfo:
        client.execute("SELECT * FROM pggit.checkout('one')")
    assert engine_error(excinfo) == "DATA_LOSS"
    client.rollback()
    assert db.rows("SELECT * FROM app.c") == [(1,)]
    client.execute("SELECT * FROM pggit.checkout('one', true)")
    assert not_null_constraints(db) == [
        ("app.c", "p_e_not_null", [1], False, 1, False),
        ("app.p", "p_e_not_null", [1], True, 0, False),
    ]
    assert db.rows("SELECT * FROM app.c") == []
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []


def test_a_nullable_column_that_becomes_an_identity_gets_its_not_null_first(
    engine_db: EngineDB, client: psycopg.Connection
):
    # PostgreSQL adds an identity only to a NOT NULL column: on PostgreSQL 18 the named NOT NULL
    # constraint is added before the identity (on 15 SET NOT NULL comes before it)
    db = engine_db
    pg18 = server_major(db) >= 18
    client.execute("CREATE SCHEMA app; CREATE TABLE app.a (id int, v text);")
    client.execute("INSERT INTO app.a VALUES (1, 'one')")
    client.execute("SELECT pggit.commit('one')")
    client.execute("DELETE FROM app.a")
    client.execute(
        "ALTER TABLE app.a ALTER COLUMN id SET NOT NULL;"
        "ALTER TABLE app.a ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY;"
    )
    client.execute("SELECT pggit.commit('two')")
    client.execute("SELECT pggit.branch_create('one', 'HEAD~1')")
    assert client.execute("SELECT statements FROM pggit.checkout('one')").fetchone()[0] == [
        "ALTER TABLE app.a ALTER COLUMN id DROP IDENTITY;",
        "ALTER TABLE app.a ALTER COLUMN id DROP NOT NULL;",
    ]
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []
    add_not_null = (
        "ALTER TABLE app.a ADD CONSTRAINT a_id_not_null NOT NULL id;"
        if pg18
        else "ALTER TABLE app.a ALTER COLUMN id SET NOT NULL;"
    )
    assert client.execute("SELECT statements FROM pggit.checkout('main')").fetchone()[0] == [
        add_not_null,
        "ALTER TABLE app.a ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY;",
    ]
    assert (
        db.one(
            "SELECT attidentity::text || attnotnull::text FROM pg_attribute"
            " WHERE attrelid = 'app.a'::regclass AND attname = 'id'"
        )
        == "atrue"
    )
    if pg18:
        assert not_null_constraints(db) == [("app.a", "a_id_not_null", [1], True, 0, False)]
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []


def test_a_column_dropped_and_added_again_names_its_not_null(
    pg18: EngineDB, client: psycopg.Connection
):
    # a virtual generated last column's expression changed: the column is dropped and added
    # again, its ADD COLUMN naming its default NOT NULL as every ADD COLUMN does
    db = pg18
    client.execute(
        "CREATE SCHEMA app;"
        "CREATE TABLE app.g (a int, b int GENERATED ALWAYS AS (a + 1) VIRTUAL NOT NULL);"
        "INSERT INTO app.g VALUES (1);"
    )
    client.execute("SELECT pggit.commit('one')")
    client.execute(
        "ALTER TABLE app.g DROP COLUMN b;"
        "ALTER TABLE app.g ADD COLUMN b int GENERATED ALWAYS AS (a + 2) VIRTUAL NOT NULL;"
    )
    client.execute("SELECT pggit.commit('two')")
    client.execute("SELECT pggit.branch_create('one', 'HEAD~1')")
    assert client.execute("SELECT statements FROM pggit.checkout('one')").fetchone()[0] == [
        "ALTER TABLE app.g DROP COLUMN b;",
        "ALTER TABLE app.g ADD COLUMN b integer GENERATED ALWAYS AS ((a + 1)) VIRTUAL"
        " CONSTRAINT g_b_not_null NOT NULL;",
    ]
    assert not_null_constraints(db) == [("app.g", "g_b_not_null", [4], True, 0, False)]
    assert db.rows("SELECT * FROM app.g") == [(1, 2)]
    assert client.execute("SELECT object_key FROM pggit.status()").fetchall() == []
