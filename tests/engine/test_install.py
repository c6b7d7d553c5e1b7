"""One engine, however it was installed: ``psql -f sql/install.sql`` on an empty database,
``manage.py migrate`` (the test database) and a database installed with the numbered-file layout
of before (sql/001..033, as the migrations of commit LEGACY loaded them) and then brought up to
date by the loader all have the same catalogue of pggit objects, compared function by function,
table by table, column, constraint, index, trigger, view and comment (tests/engine/catalogue.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from contextlib import contextmanager

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pggit_project.engine_sql import BASELINE_SCHEMA, SQL_DIR, sync_connection
from tests.engine.catalogue import differences, snapshot
from tests.engine.enginedb import db_url, drop_database, server_url

ROOT = SQL_DIR.parent
# main before this layout: its migrations loaded sql/001_foundation.sql .. sql/033_*.sql
LEGACY = "797182e4889c9f18e384b4315ebbceb8db49ecf9"


@contextmanager
def empty_database():
    name = f"pggit_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(db_url(name), autocommit=True) as conn:
            yield name, conn
    finally:
        drop_database(name)


def git(*args: str) -> str:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git history of the repository (the legacy layout is read from it)")
    result = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"git {' '.join(args)} failed: {result.stderr.strip()} (fetch the history)")
    return result.stdout


def legacy_files() -> list[tuple[str, str]]:
    """(name, text) of the legacy layout's engine files, in the order its migrations ran them."""
    names = sorted(git("ls-tree", "--name-only", LEGACY, "sql/").split())
    return [(name, git("show", f"{LEGACY}:{name}")) for name in names]


def psql_install(name: str) -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql is not installed (needed to run sql/install.sql as a DBA would)")
    params = conninfo_to_dict(db_url(name))
    result = subprocess.run(
        [
            psql,
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            make_conninfo(**params),
            "-f",
            str(SQL_DIR / "install.sql"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def migrated(django_db_blocker) -> dict:
    """The catalogue of the test database, which `manage.py migrate` built."""
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        name = cursor.fetchone()[0]
    assert name.startswith("test_")  # the test database, not the one of DATABASE_URL
    with psycopg.connect(db_url(name), autocommit=True) as conn:
        return snapshot(conn)


@pytest.mark.django_db
def test_install_sql_with_psql_and_migrate_give_the_same_catalogue(migrated):
    with empty_database() as (name, conn):
        psql_install(name)
        installed = snapshot(conn)
        assert conn.execute("SELECT count(*) FROM pggit.commits").fetchone()[0] == 1
    assert len(installed["function"]) > 150 and len(installed["table"]) > 30
    assert differences(installed, migrated) == []


@pytest.mark.django_db
def test_a_database_of_the_legacy_layout_upgrades_to_the_same_catalogue(migrated):
    with empty_database() as (_, conn):
        files = legacy_files()
        assert files[0][0] == "sql/001_foundation.sql" and len(files) == 23
        for _, text in files:
            conn.execute(text)
        applied = sync_connection(conn)
        # its schema was recorded, not run again; every engine file was applied, and the schema
        # files that came after the numbered layout
        assert applied and all(
            path.startswith("engine/") or path not in BASELINE_SCHEMA for path in applied
        )
        assert [path for path in applied if path.startswith("schema/")] == [
            "schema/008_state_version.sql",
            "schema/009_invoking_role.sql",
            "schema/010_merge_rollback.sql",
            "schema/011_capture_buffer.sql",
            "schema/012_drop_unused_capture.sql",
            "schema/013_drop_per_change_flush.sql",
            "schema/014_flush_without_row_checks.sql",
            "schema/015_capture_lookup.sql",
            "schema/016_plan_as_rows.sql",
            "schema/017_capture_write_json.sql",
            "schema/018_events_unused_index.sql",
            "schema/019_blobs_put_hashed.sql",
            "schema/020_owner_grants.sql",
        ]
        upgraded = snapshot(conn)
        # the legacy root commit is kept (no second one)
        assert conn.execute("SELECT count(*) FROM pggit.commits").fetchone()[0] == 1
    assert differences(upgraded, migrated) == []


# manage.py of the legacy tree, run without the editable-install finder of this project
LEGACY_MANAGE = [
    "-c",
    "import runpy, sys; "
    "sys.meta_path[:] = [f for f in sys.meta_path "
    "if 'Editable' not in getattr(f, '__name__', '')]; "
    "sys.argv = ['manage.py', *sys.argv[1:]]; "
    "runpy.run_path('manage.py', run_name='__main__')",
]


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL"), reason="runs manage.py on the server of DATABASE_URL"
)
@pytest.mark.django_db
def test_migrate_upgrades_a_database_migrated_by_the_legacy_migrations(migrated, tmp_path):
    """The Django path: the legacy tree's own `manage.py migrate`, then today's."""
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", LEGACY], capture_output=True, check=False
    )
    if archive.returncode != 0:
        git("cat-file", "-e", LEGACY)  # skips or fails with git's message
    subprocess.run(["tar", "-x", "-C", str(legacy)], input=archive.stdout, check=True)
    with empty_database() as (name, conn):
        url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_DEBUG": "1"}
        python = sys.executable
        for tree in (legacy, ROOT):
            # the venv's editable install of this tree must not lend the legacy tree its modules
            # (a package missing there, such as pggit_project.migrations, would be found here)
            runner = LEGACY_MANAGE if tree is legacy else ["manage.py"]
            result = subprocess.run(
                [python, *runner, "migrate", "--no-input", "-v", "0"],
                cwd=tree,
                env=env,
                capture_output=True,
                text=True,
            )
            assert result.returncode == 0, result.stderr[-3000:]
        upgraded = snapshot(conn)
    assert differences(upgraded, migrated) == []
