"""Every object kind, driven from a plain connection as a DBA in psql would: capture (with role,
application_name and statement), commit, diff, checkout away and back (exact tree), the generated
migration script proven by applying it, and drop."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.engine.enginedb import EngineDB


@dataclass
class Kind:
    name: str
    create: str
    key: str
    alter: str | None = None
    drop: str | None = None
    setup: str = ""
    created: dict[str, str] = field(default_factory=dict)  # extra status rows expected on create
    extension: str | None = None


KINDS = [
    Kind("schema", "CREATE SCHEMA app", "schema:app", drop="DROP SCHEMA app"),
    Kind(
        "table",
        "CREATE TABLE public.t (id integer NOT NULL, name text COLLATE \"C\" DEFAULT 'x', "
        "n bigint GENERATED ALWAYS AS IDENTITY, g integer GENERATED ALWAYS AS (id * 2) STORED)",
        "table:public.t",
        alter="ALTER TABLE public.t ADD COLUMN age integer DEFAULT 3 NOT NULL, "
        "ALTER COLUMN name SET DEFAULT 'y'",
        drop="DROP TABLE public.t",
    ),
    Kind(
        "constraint",
        "ALTER TABLE public.t ADD CONSTRAINT t_name_check CHECK (name <> '')",
        "constraint:public.t.t_name_check",
        alter="ALTER TABLE public.t DROP CONSTRAINT t_name_check, "
        "ADD CONSTRAINT t_name_check CHECK (length(name) > 1)",
        drop="ALTER TABLE public.t DROP CONSTRAINT t_name_check",
        setup="CREATE TABLE public.t (id integer NOT NULL, name text)",
    ),
    Kind(
        "primary key and foreign key",
        "ALTER TABLE public.child ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) "
        "REFERENCES public.parent (id) ON DELETE CASCADE",
        "constraint:public.child.child_parent_fk",
        alter="ALTER TABLE public.child DROP CONSTRAINT child_parent_fk, "
        "ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES public.parent (id) "
        "ON DELETE SET NULL",
        drop="ALTER TABLE public.child DROP CONSTRAINT child_parent_fk",
        setup="CREATE TABLE public.parent (id integer PRIMARY KEY); "
        "CREATE TABLE public.child (id integer PRIMARY KEY, parent_id integer)",
    ),
    Kind(
        "exclusion constraint",
        "ALTER TABLE public.booking ADD CONSTRAINT booking_no_overlap "
        "EXCLUDE USING gist (during WITH &&)",
        "constraint:public.booking.booking_no_overlap",
        alter="ALTER TABLE public.booking DROP CONSTRAINT booking_no_overlap, "
        "ADD CONSTRAINT booking_no_overlap EXCLUDE USING gist (during WITH &&) WHERE (id > 0)",
        drop="ALTER TABLE public.booking DROP CONSTRAINT booking_no_overlap",
        setup="CREATE TABLE public.booking (id integer, during int4range)",
    ),
    Kind(
        "index",
        "CREATE INDEX t_lower_name_idx ON public.t (lower(name)) WHERE id > 0",
        "index:public.t.t_lower_name_idx",
        alter="DROP INDEX public.t_lower_name_idx; "
        "CREATE INDEX t_lower_name_idx ON public.t (upper(name))",
        drop="DROP INDEX public.t_lower_name_idx",
        setup="CREATE TABLE public.t (id integer NOT NULL, name text)",
    ),
    Kind(
        "view",
        "CREATE VIEW public.v AS SELECT id, name FROM public.t WHERE id > 0",
        "view:public.v",
        alter="CREATE OR REPLACE VIEW public.v AS "
        "SELECT id, name, id + 1 AS next_id FROM public.t WHERE id > 0",
        drop="DROP VIEW public.v",
        setup="CREATE TABLE public.t (id integer NOT NULL, name text)",
    ),
    Kind(
        "materialized view",
        "CREATE MATERIALIZED VIEW public.mv AS SELECT id FROM public.t",
        "materialized_view:public.mv",
        alter="DROP MATERIALIZED VIEW public.mv; "
        "CREATE MATERIALIZED VIEW public.mv AS SELECT id, name FROM public.t WHERE id > 0",
        drop="DROP MATERIALIZED VIEW public.mv",
        setup="CREATE TABLE public.t (id integer NOT NULL, name text)",
    ),
    Kind(
        "function",
        "CREATE FUNCTION public.add_one(a integer) RETURNS integer LANGUAGE sql IMMUTABLE "
        "AS 'SELECT a + 1'",
        "function:public.add_one(integer)",
        alter="CREATE OR REPLACE FUNCTION public.add_one(a integer) RETURNS integer LANGUAGE sql "
        "IMMUTABLE AS 'SELECT a + 2'",
        drop="DROP FUNCTION public.add_one(integer)",
    ),
    Kind(
        "procedure",
        "CREATE PROCEDURE public.touch(n integer) LANGUAGE plpgsql "
        "AS $$ BEGIN RAISE NOTICE '%', n; END $$",
        "function:public.touch(integer)",
        alter="CREATE OR REPLACE PROCEDURE public.touch(n integer) LANGUAGE plpgsql "
        "AS $$ BEGIN RAISE NOTICE 'n=%', n; END $$",
        drop="DROP PROCEDURE public.touch(integer)",
    ),
    Kind(
        "aggregate",
        "CREATE AGGREGATE public.total(integer) (SFUNC = int4pl, STYPE = integer, INITCOND = '0')",
        "function:public.total(integer)",
        alter="CREATE OR REPLACE AGGREGATE public.total(integer) "
        "(SFUNC = int4pl, STYPE = integer, INITCOND = '1')",
        drop="DROP AGGREGATE public.total(integer)",
    ),
    Kind(
        "trigger",
        "CREATE TRIGGER t_touch BEFORE INSERT OR UPDATE ON public.t FOR EACH ROW "
        "EXECUTE FUNCTION public.touch_row()",
        "trigger:public.t.t_touch",
        alter="DROP TRIGGER t_touch ON public.t; CREATE TRIGGER t_touch BEFORE INSERT ON public.t "
        "FOR EACH ROW EXECUTE FUNCTION public.touch_row()",
        drop="DROP TRIGGER t_touch ON public.t",
        setup="CREATE TABLE public.t (id integer NOT NULL, name text); "
        "CREATE FUNCTION public.touch_row() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN NEW.name := coalesce(NEW.name, 'n'); RETURN NEW; END $$",
    ),
    Kind(
        "sequence",
        "CREATE SEQUENCE public.ticket_seq AS integer START 10 INCREMENT 2",
        "sequence:public.ticket_seq",
        alter="ALTER SEQUENCE public.ticket_seq INCREMENT 5 MAXVALUE 100000",
        drop="DROP SEQUENCE public.ticket_seq",
    ),
    Kind(
        "enum type",
        "CREATE TYPE public.mood AS ENUM ('sad', 'ok')",
        "type:public.mood",
        alter="ALTER TYPE public.mood ADD VALUE 'happy'",
        drop="DROP TYPE public.mood",
    ),
    Kind(
        "composite type",
        "CREATE TYPE public.pair AS (a integer, b text)",
        "type:public.pair",
        alter="ALTER TYPE public.pair ADD ATTRIBUTE c date",
        drop="DROP TYPE public.pair",
    ),
    Kind(
        "range type",
        "CREATE TYPE public.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi)",
        "type:public.floatrange",
        drop="DROP TYPE public.floatrange",
    ),
    Kind(
        "domain",
        "CREATE DOMAIN public.email AS text CONSTRAINT email_at CHECK (VALUE ~ '@')",
        "domain:public.email",
        alter="ALTER DOMAIN public.email SET DEFAULT 'nobody@example.org'",
        drop="DROP DOMAIN public.email",
    ),
    Kind(
        "extension",
        "CREATE EXTENSION pg_trgm",
        "extension:pg_trgm",
        drop="DROP EXTENSION pg_trgm",
        extension="pg_trgm",
    ),
    Kind(
        "policy",
        "CREATE POLICY t_positive ON public.t USING (id > 0)",
        "policy:public.t.t_positive",
        alter="ALTER POLICY t_positive ON public.t USING (id > 10)",
        drop="DROP POLICY t_positive ON public.t",
        setup="CREATE TABLE public.t (id integer NOT NULL, name text); "
        "ALTER TABLE public.t ENABLE ROW LEVEL SECURITY",
    ),
    Kind(
        "comment",
        "COMMENT ON TABLE public.t IS 'people we know'",
        "comment:table:public.t",
        alter="COMMENT ON TABLE public.t IS 'people we knew'",
        drop="COMMENT ON TABLE public.t IS NULL",
        setup="CREATE TABLE public.t (id integer NOT NULL, name text)",
    ),
    Kind(
        "column comment",
        "COMMENT ON COLUMN public.t.name IS 'display name'",
        "comment:column:public.t.name",
        alter="COMMENT ON COLUMN public.t.name IS 'full name'",
        drop="COMMENT ON COLUMN public.t.name IS NULL",
        setup="CREATE TABLE public.t (id integer NOT NULL, name text)",
    ),
]


def status(db: EngineDB) -> dict[str, str]:
    return dict(db.rows("SELECT object_key, change_type FROM pggit.status()"))


def commit(db: EngineDB, message: str) -> str:
    return db.one("SELECT pggit.commit(%s)", (message,))


def assert_script_proven(db: EngineDB, from_ref: str, to_ref: str) -> None:
    """Applies diff_script(from, to) on a schema equal to `from` (the live one, after checking
    `from` out) inside a transaction, and compares the resulting live tree with `to`'s tree."""
    script = db.one("SELECT pggit.diff_script(%s, %s)", (from_ref, to_ref))
    expected = db.branch_tree(to_ref)
    assert db.live_tree_hash() == db.branch_tree(from_ref)
    with db.conn.transaction(force_rollback=True):
        db.run(script)
        assert db.live_tree_hash() == expected, script


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_kind_is_captured_committed_diffed_and_round_trips(engine_db: EngineDB, kind: Kind):
    db = engine_db
    if kind.extension and not db.one(
        "SELECT count(*) FROM pg_available_extensions WHERE name = %s", (kind.extension,)
    ):
        pytest.skip(f"extension {kind.extension} is not available on this server")
    if kind.setup:
        db.run(kind.setup)
        commit(db, "setup")
    base = db.one("SELECT commit_hash FROM pggit.head()")
    db.run("SELECT pggit.branch_create('before', %s)", (base,))

    # capture, from a plain connection with its own application_name
    client = db.connect(application_name="psql-dba")
    client.execute(kind.create)
    changes = status(db)
    assert changes.get(kind.key) == "ADDED", changes
    role, app, statement = db.one(
        "SELECT row(role_name, application_name, statement) FROM pggit.audit_log "
        "ORDER BY id DESC LIMIT 1"
    )
    assert (role, app) == ("postgres", "psql-dba")
    assert statement == kind.create

    # commit and diff
    created = commit(db, f"create {kind.name}")
    assert status(db) == {}
    diff = {
        r[0]: r[1:]
        for r in db.rows(
            "SELECT object_key, change, before, after FROM pggit.diff(%s, %s)", (base, created)
        )
    }
    assert diff[kind.key][0] == "ADDED" and diff[kind.key][1] is None and diff[kind.key][2]
    assert db.live_tree_hash() == db.head_tree()

    if kind.alter:
        client.execute(kind.alter)
        assert status(db).get(kind.key) == "MODIFIED"
        altered = commit(db, f"alter {kind.name}")
        changed = dict(
            db.rows("SELECT object_key, change FROM pggit.diff(%s, %s)", (created, altered))
        )
        assert changed.get(kind.key) == "MODIFIED"
        # the alteration's script, proven on a schema equal to the created state
        db.run("SELECT pggit.branch_create('created', %s)", (created,))
        db.run("SELECT * FROM pggit.checkout('created')")
        assert_script_proven(db, "created", "main")
        db.run("SELECT * FROM pggit.checkout('main')")
        assert db.live_tree_hash() == db.branch_tree("main")

    # checkout away (the object does not exist there) and back: exactly the same tree
    main_tree = db.head_tree()
    db.run("SELECT * FROM pggit.checkout('before')")
    assert db.live_tree_hash() == db.branch_tree("before")
    assert db.one("SELECT count(*) FROM pggit.status()") == 0
    assert_script_proven(db, "before", "main")
    db.run("SELECT * FROM pggit.checkout('main')")
    assert db.live_tree_hash() == main_tree
    assert db.head_tree() == main_tree

    # drop is captured as REMOVED
    if kind.drop:
        client.execute(kind.drop)
        assert status(db).get(kind.key) == "REMOVED"
        dropped = commit(db, f"drop {kind.name}")
        changed = dict(
            db.rows("SELECT object_key, change FROM pggit.diff('main~1', %s)", (dropped,))
        )
        assert changed.get(kind.key) == "REMOVED"
        assert db.live_tree_hash() == db.head_tree()
    client.close()
    # the history written along the way proves itself: hashes, recorded changes, definitions
    assert db.rows("SELECT ok, breaks FROM pggit.verify()") == [(True, [])]
