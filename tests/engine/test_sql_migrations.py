"""Every engine SQL file is loaded by exactly one Django migration, and files that replace the same
function load in their numbered order (the engine tests load sql/ in that order)."""

from __future__ import annotations

import itertools
import re

from django.db.migrations.loader import MigrationLoader

from pggit_project.sqlfiles import RunSQLFile
from tests.engine.enginedb import engine_files

FUNCTION = re.compile(r"CREATE OR REPLACE FUNCTION (pggit\.\w+)\(", re.IGNORECASE)


def sql_file_migrations() -> dict[str, list[tuple[str, str]]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    found: dict[str, list[tuple[str, str]]] = {}
    for key, migration in loader.disk_migrations.items():
        for operation in migration.operations:
            if isinstance(operation, RunSQLFile):
                found.setdefault(operation.file_name, []).append(key)
    return found


def test_every_sql_file_is_loaded_by_exactly_one_migration():
    found = sql_file_migrations()
    assert {name: len(keys) for name, keys in found.items()} == {
        path.name: 1 for path in engine_files()
    }


def test_a_function_replaced_by_a_later_file_is_loaded_after_the_earlier_one():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    found = sql_file_migrations()
    defined: dict[str, list[str]] = {}
    for path in engine_files():
        for name in set(FUNCTION.findall(path.read_text())):
            defined.setdefault(name.lower(), []).append(path.name)
    for function, files in defined.items():
        for earlier, later in itertools.pairwise(files):
            later_key = found[later][0]
            earlier_key = found[earlier][0]
            ancestors = loader.graph.forwards_plan(later_key)
            assert earlier_key in ancestors, (
                f"{function}: {later} ({later_key}) must depend on {earlier} ({earlier_key})"
            )
