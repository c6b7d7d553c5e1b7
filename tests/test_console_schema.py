"""Django's own tables live in the pggit_console schema, out of the versioned schema."""

import pytest
from django.db import connection

from pggit_project.constants import CONSOLE_SCHEMA
from pggit_project.db import ensure_console_schema

pytestmark = pytest.mark.django_db


def schemas_of(*tables):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT table_schema FROM information_schema.tables "
            "WHERE table_name = ANY(%s)",
            [list(tables)],
        )
        return sorted(row[0] for row in cursor.fetchall())


def test_django_tables_are_in_the_console_schema():
    assert schemas_of("auth_user", "django_migrations", "django_session") == [CONSOLE_SCHEMA]


def test_connection_search_path_is_the_console_schema_only():
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        assert cursor.fetchone()[0] == CONSOLE_SCHEMA


def test_ensure_console_schema_is_idempotent():
    assert ensure_console_schema() is False
