"""The SQL-file migration helper, run for real on a throwaway database."""

from contextlib import contextmanager

import pytest
from django.db import connection, connections
from django.db.migrations.state import ProjectState
from psycopg import sql

from pggit_project.sqlfiles import RunSQLFile, read_sql_file, run_sql_file


@contextmanager
def extra_connection(alias, name):
    """A registered connection to database ``name`` on the test server, without a pool."""
    options = {k: v for k, v in connection.settings_dict["OPTIONS"].items() if k != "pool"}
    connections[alias] = connections["default"].__class__(
        {**connection.settings_dict, "NAME": name, "OPTIONS": options}, alias
    )
    try:
        yield connections[alias]
    finally:
        connections[alias].close()
        del connections[alias]


@pytest.fixture
def throwaway_connection(django_db_blocker):
    """A connection to a new, empty database (dropped afterwards)."""
    name = f"{connection.settings_dict['NAME']}_sqlfiles"
    drop = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
    with django_db_blocker.unblock(), extra_connection("sqlfiles_admin", "postgres") as admin:
        with admin.cursor() as cursor:
            cursor.execute(drop)
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            with extra_connection("sqlfiles", name) as throwaway:
                yield throwaway
        finally:
            with admin.cursor() as cursor:
                cursor.execute(drop)


def functions_in_pggit(conn):
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'pggit' AND p.proname IN ('emit_event', 'raise_error')"
        )
        return cursor.fetchone()[0]


def test_sql_file_with_dollar_quoted_plpgsql_runs_forwards_and_backwards(throwaway_connection):
    operation = run_sql_file("001_foundation.sql", reverse_sql="DROP SCHEMA pggit CASCADE")
    state = ProjectState()
    with throwaway_connection.schema_editor() as editor:
        operation.database_forwards("vcs", editor, state, state)
    assert functions_in_pggit(throwaway_connection) == 2
    with throwaway_connection.schema_editor() as editor:
        operation.database_backwards("vcs", editor, state, state)
    assert functions_in_pggit(throwaway_connection) == 0


def test_sql_file_is_read_when_the_migration_runs_not_when_built():
    operation = run_sql_file("no_such_file.sql", reverse_sql=None)
    assert operation.describe() == "Run sql/no_such_file.sql"
    assert operation.reversible is False
    with pytest.raises(FileNotFoundError, match=r"no_such_file\.sql does not exist"):
        read_sql_file(operation.file_name)


@pytest.mark.parametrize("name", ["../pyproject.toml", "sub/dir.sql", "001_foundation", ""])
def test_only_bare_sql_file_names_are_accepted(name):
    with pytest.raises(ValueError, match="bare name"):
        read_sql_file(name)


def test_operation_deconstructs_to_its_file_name():
    operation = run_sql_file("001_foundation.sql", reverse_sql="SELECT 1")
    path, args, kwargs = operation.deconstruct()
    assert (path, args, kwargs) == (
        "pggit_project.sqlfiles.RunSQLFile",
        ["001_foundation.sql"],
        {"reverse_sql": "SELECT 1"},
    )
    assert isinstance(operation, RunSQLFile)
    assert connections["default"].vendor == "postgresql"
