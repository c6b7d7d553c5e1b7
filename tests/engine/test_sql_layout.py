"""The layout of sql/ (docs/engine-internals.md, "Layout of sql/"): every SQL function, trigger
function included, is defined in exactly one file; every file is listed once in sql/install.sql;
schema files define no function; and the loader (pggit_project.engine_sql) applies a changed
engine file, leaves unchanged ones alone and refuses a schema file edited after it ran."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict

import psycopg
import pytest

from pggit_project import engine_sql
from pggit_project.engine_sql import SQL_DIR, EngineSQLError, manifest, sql_files, sync_connection
from tests.engine.catalogue import differences, snapshot
from tests.engine.enginedb import EngineDB, drop_database, server_url

# a definition starts a line: CREATE [OR REPLACE] FUNCTION|PROCEDURE name(
DEFINITION = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)\s+([\w.\"]+)\s*\(",
    re.IGNORECASE | re.MULTILINE,
)


def definitions() -> dict[str, list[str]]:
    """{function name: [file, ...]}, one entry per definition found."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(SQL_DIR.rglob("*.sql")):
        for name in DEFINITION.findall(path.read_text(encoding="utf-8")):
            found[name.lower().replace('"', "")].append(str(path.relative_to(SQL_DIR)))
    return found


def test_every_function_is_defined_in_exactly_one_file():
    found = definitions()
    assert len(found) > 150  # the pattern does find the engine's functions
    assert "pggit.commit" in found and "pggit.on_ddl_command_end" in found  # trigger functions too
    repeated = {name: files for name, files in found.items() if len(files) > 1}
    assert repeated == {}


def test_the_duplicate_check_sees_a_second_definition(tmp_path, monkeypatch):
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "a.sql").write_text("CREATE OR REPLACE FUNCTION pggit.f()\nRETURNS int")
    (tmp_path / "engine" / "b.sql").write_text("create function PGGIT.F() returns int")
    monkeypatch.setattr(f"{__name__}.SQL_DIR", tmp_path)
    assert definitions() == {"pggit.f": ["engine/a.sql", "engine/b.sql"]}


def test_every_file_is_listed_once_in_install_sql_and_nothing_else_is_in_sql():
    listed = [item.path for item in manifest()]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(str(p.relative_to(SQL_DIR)) for p in sql_files())
    assert sorted(p.name for p in SQL_DIR.glob("*.sql")) == ["install.sql"]
    assert all(path.startswith(("schema/", "engine/")) for path in listed)


def test_schema_files_define_no_function_and_engine_files_no_table():
    for item in manifest():
        text = item.text()
        if item.run_once:
            assert not DEFINITION.search(text), item.path
            # nothing is released: a schema file never alters or drops what another one made
            # (it is edited where the object is made; docs/engine-internals.md, "Making a change")
            assert not re.search(r"^\s*(ALTER|DROP)\b", text, re.I | re.M), item.path
        else:
            assert not re.search(r"^\s*CREATE\s+(TABLE|INDEX|TYPE)", text, re.I | re.M), item.path


@pytest.fixture
def scratch():
    """An empty database."""
    name = f"pggit_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db = EngineDB(name)
    try:
        yield db
    finally:
        db.close()
        drop_database(name)


def test_the_loader_applies_changed_engine_files_only(scratch, monkeypatch):
    applied = sync_connection(scratch.conn)
    assert applied == [item.path for item in manifest()]
    assert sync_connection(scratch.conn) == []
    before = snapshot(scratch.conn)

    # an engine file edited in place is applied again by the next sync; nothing else is
    target = "engine/cache/announce.sql"
    edited = (SQL_DIR / target).read_text() + "\n-- edited\n"
    monkeypatch.setattr(
        engine_sql.SQLFile,
        "text",
        lambda self: (
            edited if self.path == target else (SQL_DIR / self.path).read_text(encoding="utf-8")
        ),
    )
    assert sync_connection(scratch.conn) == [target]
    assert sync_connection(scratch.conn) == []
    assert differences(before, snapshot(scratch.conn)) == []


def test_every_engine_file_can_be_applied_again(scratch):
    sync_connection(scratch.conn)
    before = snapshot(scratch.conn)
    scratch.run("DELETE FROM pggit.sql_files WHERE path LIKE 'engine/%'")
    engine_files = [item.path for item in manifest() if not item.run_once]
    assert sync_connection(scratch.conn) == engine_files
    assert differences(before, snapshot(scratch.conn)) == []
    # the root commit is made once
    assert scratch.one("SELECT count(*) FROM pggit.commits") == 1


def test_a_schema_file_changed_after_it_ran_is_refused(scratch, monkeypatch):
    sync_connection(scratch.conn)
    target = "schema/007_webhooks.sql"
    edited = (SQL_DIR / target).read_text() + "\n-- edited\n"
    monkeypatch.setattr(
        engine_sql.SQLFile,
        "text",
        lambda self: (
            edited if self.path == target else (SQL_DIR / self.path).read_text(encoding="utf-8")
        ),
    )
    with pytest.raises(
        EngineSQLError, match=r"007_webhooks.sql was applied .* Re-create the database"
    ):
        sync_connection(scratch.conn)


def test_a_partial_load_stops_after_the_named_file(scratch):
    applied = sync_connection(scratch.conn, until="engine/catalog/catalog.sql")
    assert applied[-1] == "engine/catalog/catalog.sql"
    assert scratch.one("SELECT to_regproc('pggit.live_objects') IS NOT NULL") is True
    assert scratch.one("SELECT to_regproc('pggit.commit') IS NULL") is True
    assert scratch.one("SELECT count(*) FROM pg_event_trigger") == 0
    with pytest.raises(EngineSQLError, match="not listed"):
        manifest(until="engine/nowhere.sql")


def test_a_schema_file_applied_and_no_longer_listed_is_refused(scratch):
    # renamed, folded into another file or removed since it ran: what it made may linger here
    sync_connection(scratch.conn)
    scratch.run("INSERT INTO pggit.sql_files (path, checksum) VALUES ('schema/009_gone.sql', 'x')")
    with pytest.raises(
        EngineSQLError, match=r"schema/009_gone.sql was applied .* no longer in sql/install.sql"
    ):
        sync_connection(scratch.conn)
    # a partial load (the catalog's tests) does not judge the rest of the list
    assert sync_connection(scratch.conn, until="engine/catalog/catalog.sql") == []
