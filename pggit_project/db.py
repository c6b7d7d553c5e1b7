"""The console's own PostgreSQL schema (``pggit_console``), created before Django needs it.

Django's connection has ``search_path=pggit_console`` (see ``settings/backends.py``), so every table
Django creates (auth, admin, sessions, django_migrations, the console apps' managed models) lands
there and never in the schema that pgGit versions. ``migrate`` (including the test database's
creation) sends ``pre_migrate`` before it creates ``django_migrations``; the receiver below creates
the schema then.
"""

from __future__ import annotations

import functools
import logging

from django.db import connections
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg import adapters, sql
from psycopg.adapt import Loader
from psycopg.pq import Format

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


# psycopg's own timestamptz loader of the compiled implementation (psycopg_binary or psycopg_c),
# or its Python one when neither is installed.
_TIMESTAMPTZ_OID = adapters.types["timestamptz"].oid
_PSYCOPG_TIMESTAMPTZ = adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT)


class CompiledTimestamptzLoader(Loader):
    """Django's ``timestamptz`` loader (``psycopg_any.BaseTzLoader``: psycopg's value with the
    connection's Django time zone as its ``tzinfo``) parsing with psycopg's compiled loader.
    Django's subclasses psycopg's pure-Python loader (the compiled one cannot be subclassed), which
    parses every time value read with a regular expression: about four times the CPU
    (docs/benchmarks.md, "Issue 16: the uncached path, fourth round")."""

    timezone = None
    pggit_compiled = True

    def __init__(self, oid: int, context=None) -> None:
        super().__init__(oid, context)
        self._parse = _PSYCOPG_TIMESTAMPTZ(oid, context).load

    def load(self, data):
        value = self._parse(data)
        # The session's time zone is the connection's (Django sets it): under UTC psycopg's value
        # already has the very tzinfo Django would put in (``datetime.UTC``), and ``replace``
        # (keyword parsing, a new object) would give an equal value.
        if value.tzinfo is self.timezone:
            return value
        return value.replace(tzinfo=self.timezone)


@functools.lru_cache(maxsize=16)
def compiled_timestamptz_loader(zone) -> type[CompiledTimestamptzLoader]:
    return type(
        "CompiledTimestamptzLoader",
        (CompiledTimestamptzLoader,),
        {"timezone": zone, "__module__": __name__},
    )


def use_compiled_timestamptz_loader(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: a PostgreSQL connection of Django (a new one, or one
    checked out of the pool again) reads ``timestamptz`` with ``CompiledTimestamptzLoader`` for
    the time zone Django gave the connection (its own cursors still register Django's loader
    when the time zone in use differs)."""
    if connection.vendor != "postgresql":
        return
    mapping = connection.connection.adapters
    current = mapping.get_loader(_TIMESTAMPTZ_OID, Format.TEXT)
    if current is None or getattr(current, "pggit_compiled", False):
        return  # none to replace, or done already on this connection
    if not issubclass(current, BaseTzLoader):
        return  # not Django's loader: left as it is
    mapping.register_loader(_TIMESTAMPTZ_OID, compiled_timestamptz_loader(current.timezone))
