"""One engine, however it was installed: ``psql -f sql/install.sql`` on an empty database,
``manage.py migrate`` (the test database) and a database installed with psql and then taken over
by the loader all have the same catalogue of pggit objects, compared function by function, table
by table, column, constraint, index, trigger, view and comment (tests/engine/catalogue.py).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from contextlib import contextmanager

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pggit_project.engine_sql import SQL_DIR, manifest, sync_connection
from tests.engine.catalogue import differences, snapshot
from tests.engine.enginedb import db_url, drop_database, server_url


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
def test_a_database_installed_with_psql_is_taken_over_by_the_loader(migrated):
    """The loader (what `migrate` runs) on a database whose engine psql installed: its schema
    files are recorded, not run again, every engine file is applied again, the root commit is
    kept, and the catalogue is the one `migrate` builds."""
    with empty_database() as (name, conn):
        psql_install(name)
        assert conn.execute("SELECT count(*) FROM pggit.sql_files").fetchone()[0] == 0
        applied = sync_connection(conn)
        engine_files = [item.path for item in manifest() if not item.run_once]
        assert applied == engine_files
        recorded = [
            path
            for (path,) in conn.execute(
                "SELECT path FROM pggit.sql_files WHERE path LIKE 'schema/%' ORDER BY path"
            )
        ]
        assert recorded == sorted(item.path for item in manifest() if item.run_once)
        assert sync_connection(conn) == []
        assert conn.execute("SELECT count(*) FROM pggit.commits").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM pggit.state_version").fetchone()[0] == 1
        taken_over = snapshot(conn)
    assert differences(taken_over, migrated) == []


@pytest.mark.django_db
def test_a_schema_file_new_to_a_database_is_applied_with_the_engine_files(migrated):
    """A database the loader installed before a schema file was added (here: loaded up to
    schema/007) gets the new file and then every engine file, and ends with the catalogue of a
    fresh install."""
    listed = [item.path for item in manifest()]
    with empty_database() as (_, conn):
        sync_connection(conn, until="schema/007_webhooks.sql")
        # (the files up to it include engine/core/actor.sql, loaded before the tables)
        assert sync_connection(conn) == listed[listed.index("schema/007_webhooks.sql") + 1 :]
        assert listed[listed.index("schema/007_webhooks.sql") + 1] == (
            "schema/008_merge_rollback.sql"
        )
        assert conn.execute("SELECT count(*) FROM pggit.commits").fetchone()[0] == 1
        grown = snapshot(conn)
    assert differences(grown, migrated) == []
