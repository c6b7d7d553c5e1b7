"""Loading the engine's SQL files (``sql/NNN_name.sql``) from Django migrations.

One migration per file::

    from django.db import migrations
    from pggit_project.sqlfiles import run_sql_file

    class Migration(migrations.Migration):
        dependencies = [("vcs", "0001_foundation")]
        operations = [
            run_sql_file("002_catalog.sql", reverse_sql="DROP FUNCTION ...;"),
        ]

The file is read when the migration runs (not when it is imported) and sent to PostgreSQL as one
string: the server parses it, so ``$$``-quoted PL/pgSQL bodies need no client-side splitting.
``reverse_sql=None`` makes the migration irreversible; say why in a comment next to it.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import migrations, router


def sql_directory() -> Path:
    return Path(settings.BASE_DIR) / "sql"


def read_sql_file(name: str) -> str:
    """The text of ``sql/<name>``; ``name`` is a bare file name (no directories)."""
    if not name or Path(name).name != name or not name.endswith(".sql"):
        raise ValueError(f"expected the bare name of a .sql file in sql/, got {name!r}")
    path = sql_directory() / name
    if not path.is_file():
        raise FileNotFoundError(f"SQL file {path} does not exist")
    return path.read_text(encoding="utf-8")


class RunSQLFile(migrations.RunSQL):
    """``RunSQL`` whose forward SQL is the file ``sql/<file_name>``, read at migration time."""

    def __init__(self, file_name: str, *, reverse_sql=None, **kwargs) -> None:
        self.file_name = file_name
        super().__init__(sql=f"-- sql/{file_name}", reverse_sql=reverse_sql, **kwargs)

    def deconstruct(self):
        kwargs = {"reverse_sql": self.reverse_sql}
        if self.hints:
            kwargs["hints"] = self.hints
        return (f"{__name__}.{type(self).__name__}", [self.file_name], kwargs)

    def describe(self) -> str:
        return f"Run sql/{self.file_name}"

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if router.allow_migrate(schema_editor.connection.alias, app_label, **self.hints):
            # A one-element list: executed as a single statement string, never split.
            self._run_sql(schema_editor, [read_sql_file(self.file_name)])


def run_sql_file(file_name: str, *, reverse_sql: str | list | None) -> RunSQLFile:
    """The migration operation loading ``sql/<file_name>`` (see the module docstring)."""
    return RunSQLFile(file_name, reverse_sql=reverse_sql)
