"""The one loader of the engine's SQL (``sql/``): used by ``manage.py migrate``, the tests and the
benchmarks alike.

``sql/install.sql`` lists the files in load order (its ``\\ir`` lines; a DBA runs it with psql on
a database without Django). The loader applies the same files in the same order:

* ``sql/schema/*.sql`` (tables, indexes, types) run once in a database. Nothing is released, so
  they are edited in place: a schema file whose text changed after it was applied is an error that
  tells to re-create the database (there is no installed base to upgrade);
* ``sql/engine/**/*.sql`` (functions, triggers, views; all re-runnable) are applied whenever their
  text differs from the text last applied;
* then ``pggit.install()`` records the root commit of main, once.

What was applied is kept in ``pggit.sql_files`` (path, checksum). A database whose engine was
installed without the loader (``psql -f sql/install.sql``) has no row there: its schema files are
recorded as applied (psql ran them all, from this tree: a psql install of another tree is
re-created) and every engine file is applied again.
See docs/engine-internals.md ("Layout of sql/").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
MANIFEST = SQL_DIR / "install.sql"
INCLUDE = re.compile(r"^\\ir\s+(\S+)\s*$", re.MULTILINE)
# one loader at a time per database (two `migrate` runs at once wait for each other)
LOCK_KEY = 0x70676769745F73  # "pggit_s"


# what a database whose schema files changed since they ran must do (schema files run once; nothing
# is released, so they are edited in place and there is no upgrade step)
_STALE = (
    ": the tables of this database may not be those of sql/ any more, and schema files run once "
    "(nothing is released: they are edited in place, with no upgrade step). Re-create the "
    "database (dropdb, createdb, manage.py migrate), or install into a new one."
)


class EngineSQLError(Exception):
    """The files of sql/ cannot be applied as they are (the message says what to do)."""


@dataclass(frozen=True)
class SQLFile:
    path: str  # relative to sql/, e.g. "engine/core/objects.sql"

    @property
    def run_once(self) -> bool:
        return self.path.startswith("schema/")

    def text(self) -> str:
        return (SQL_DIR / self.path).read_text(encoding="utf-8")

    def checksum(self) -> str:
        return hashlib.sha256(self.text().encode()).hexdigest()


def manifest(until: str | None = None) -> list[SQLFile]:
    """The files of sql/install.sql in load order; with ``until``, up to and including that one."""
    paths = INCLUDE.findall(MANIFEST.read_text(encoding="utf-8"))
    for path in paths:
        if not (SQL_DIR / path).is_file():
            raise EngineSQLError(f"sql/install.sql includes {path}, which does not exist in sql/")
    if until is not None:
        if until not in paths:
            raise EngineSQLError(f"{until} is not listed in sql/install.sql")
        paths = paths[: paths.index(until) + 1]
    return [SQLFile(path) for path in paths]


def sql_files() -> list[Path]:
    """Every .sql file under sql/schema and sql/engine (each must be listed in install.sql)."""
    return sorted(path for area in ("schema", "engine") for path in (SQL_DIR / area).rglob("*.sql"))


def _applied(cursor) -> dict[str, str] | None:
    """{path: checksum} of the files applied; None when the engine was installed without the
    loader; {} when there is no engine at all."""
    cursor.execute(
        "SELECT to_regnamespace('pggit') IS NOT NULL, to_regclass('pggit.sql_files') IS NOT NULL"
    )
    has_schema, has_table = cursor.fetchone()
    if not has_schema:
        return {}
    if not has_table:
        return None
    cursor.execute("SELECT path, checksum FROM pggit.sql_files")
    rows = dict(cursor.fetchall())
    return rows or None


def _record(cursor, item: SQLFile, checksum: str) -> None:
    cursor.execute(
        "INSERT INTO pggit.sql_files (path, checksum) VALUES (%s, %s) ON CONFLICT (path) DO "
        "UPDATE SET checksum = excluded.checksum, applied_at = clock_timestamp()",
        [item.path, checksum],
    )


def sync(
    cursor, *, until: str | None = None, report: Callable[[str], None] = lambda line: None
) -> list[str]:
    """Bring the engine of the cursor's database up to sql/: apply the schema files not applied
    yet and the engine files whose text changed, in the order of sql/install.sql, then
    ``pggit.install()`` (skipped with ``until``: a partial engine, for the catalog's tests).
    Runs in the caller's transaction. Returns the paths applied; ``report`` gets one line each."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
    files = manifest(until)
    applied = _applied(cursor)
    done: list[str] = []
    if applied is None:
        # installed without the loader: the schema is there; record it, re-apply the engine
        report("pggit engine installed without the loader: recording its schema files")
        cursor.execute((SQL_DIR / "schema/001_schema.sql").read_text(encoding="utf-8"))
        applied = {}
        for item in files:
            if item.run_once:
                applied[item.path] = item.checksum()
                _record(cursor, item, applied[item.path])
    if until is None:
        # a schema file applied here and since renamed, folded into another or removed: what it
        # made may be in this database and no longer in sql/ (or made again under a new name)
        listed = {item.path for item in files}
        gone = sorted(p for p in applied if p.startswith("schema/") and p not in listed)
        if gone:
            raise EngineSQLError(
                f"sql/{gone[0]} was applied to this database and is no longer in sql/install.sql"
                f"{_STALE}"
            )
    for item in files:
        text = item.text()
        checksum = hashlib.sha256(text.encode()).hexdigest()
        previous = applied.get(item.path)
        if previous == checksum:
            continue
        if item.run_once and previous is not None:
            raise EngineSQLError(
                f"sql/{item.path} was applied to this database and its text changed since{_STALE}"
            )
        report(f"applying sql/{item.path}")
        cursor.execute(text)
        _record(cursor, item, checksum)
        done.append(item.path)
    if until is None:
        cursor.execute("SELECT pggit.install()")
    return done


def sync_connection(conn, **kwargs) -> list[str]:
    """``sync`` on a psycopg connection, in a transaction of its own."""
    with conn.transaction(), conn.cursor() as cursor:
        return sync(cursor, **kwargs)
