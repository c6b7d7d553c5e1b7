"""The console's own PostgreSQL schema (``pggit_console``), created before Django needs it.

Django's connection has ``search_path=pggit_console`` (see ``settings/backends.py``), so every table
Django creates (auth, admin, sessions, django_migrations, the console apps' managed models) lands
there and never in the schema that pgGit versions. ``migrate`` (including the test database's
creation) sends ``pre_migrate`` before it creates ``django_migrations``; the receiver below creates
the schema then.
"""

from __future__ import annotations

import logging

from django.db import connections
from psycopg import sql

from pggit_project.constants import CONSOLE_SCHEMA

logger = logging.getLogger(__name__)


def ensure_console_schema(using: str = "default") -> bool:
    """Create the console schema when it is missing; True when it was created."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [CONSOLE_SCHEMA])
        if cursor.fetchone():
            return False
        cursor.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(CONSOLE_SCHEMA))
        )
    logger.info("created schema %s for the console's own tables", CONSOLE_SCHEMA)
    return True


def create_console_schema_before_migrate(sender, using="default", **kwargs) -> None:
    """``pre_migrate`` receiver (connected in ``PggitProjectConfig.ready``)."""
    ensure_console_schema(using)
