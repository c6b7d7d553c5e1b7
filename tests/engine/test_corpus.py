"""The corpus (tests/engine/corpus/*.sql: realistic application schemas of several hundred objects
each, with their privileges) round-trips exactly: load → commit → check out a branch whose tree
is empty → check out main → `pg_dump --schema-only --no-owner` identical to before; and the
script `diff_script` writes, applied to a copy of the empty database, gives the same dump. Runs on
whichever server the engine tests use (PostgreSQL 15 with DATABASE_URL, the embedded 18 without),
with that server's pg_dump."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.engine.enginedb import EngineDB, ensure_roles, scratch_copy
from tests.engine.pgdump import schema_dump

CORPUS = sorted(Path(__file__).with_name("corpus").glob("*.sql"))
MIN_OBJECTS = 300
# the roles the corpus grants privileges to
ROLES = ("pggit_test_app_reader", "pggit_test_app_writer")


def server_major(db: EngineDB) -> int:
    return int(db.one("SELECT current_setting('server_version_num')::int / 10000"))


def same_dump(expected: str, actual: str, what: str) -> None:
    if expected != actual:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), actual.splitlines(True), "before", what, n=2
            )
        )
        pytest.fail(f"pg_dump differs after {what}:\n{diff[:6000]}")


def test_the_corpus_has_realistic_schemas():
    assert len(CORPUS) >= 3


@pytest.mark.parametrize("schema_file", CORPUS, ids=[path.stem for path in CORPUS])
def test_a_corpus_schema_round_trips_exactly(
    engine_db: EngineDB, engine_template: str, schema_file
):
    db = engine_db
    ensure_roles(*ROLES)
    major = server_major(db)
    root = db.one("SELECT commit_hash FROM pggit.head()")
    db.run(schema_file.read_text())
    before = schema_dump(db.url, major)
    db.run("SELECT pggit.commit(%s)", (f"corpus {schema_file.stem}",))
    objects = db.one("SELECT object_count FROM pggit.head()")
    assert objects >= MIN_OBJECTS, f"{schema_file.name} has only {objects} objects"
    # its privileges are versioned (object and column grants, revoked defaults, default privileges)
    kinds = dict(
        db.rows(
            "SELECT b.kind, count(*) FROM jsonb_each_text(pggit.tree_entries("
            "(SELECT tree_hash FROM pggit.head()))) e JOIN pggit.blobs b ON b.hash = e.value "
            "GROUP BY b.kind"
        )
    )
    assert kinds.get("privileges", 0) >= 8 and kinds.get("default_privileges", 0) >= 2
    assert "GRANT" in before and "ALTER DEFAULT PRIVILEGES" in before
    assert db.rows("SELECT sqlstate, message FROM pggit.capture_errors") == []
    main_tree = db.head_tree()

    db.run("SELECT pggit.branch_create('empty', %s)", (root,))
    db.run("SELECT * FROM pggit.checkout('empty')")
    assert db.live_tree_hash() == db.branch_tree("empty")
    empty = schema_dump(db.url, major)
    db.run("SELECT * FROM pggit.checkout('main')")
    assert db.live_tree_hash() == main_tree
    same_dump(before, schema_dump(db.url, major), "checkout of empty and main again")
    assert db.rows("SELECT ok, breaks FROM pggit.verify()") == [(True, [])]

    # the migration script, applied to a copy of the empty database, yields the same schema
    script = db.one("SELECT pggit.diff_script('empty', 'main')")
    with scratch_copy(engine_template) as copy:
        assert schema_dump(copy.url, major) == empty
        copy.run(script)
        same_dump(before, schema_dump(copy.url, major), "diff_script applied to a copy")
        copy.run("SELECT pggit.commit('applied')")
        assert copy.head_tree() == main_tree
