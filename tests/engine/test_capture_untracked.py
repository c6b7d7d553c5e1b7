"""Sub-objects with no schema of their own (triggers, policies, rules, column defaults) belong to
their table's schema: on a table of an untracked schema they are neither audited nor announced,
created or dropped; on a tracked table they are captured."""

from __future__ import annotations

import pytest

from tests.engine.enginedb import EngineDB

SETUP = [
    "SELECT pggit.config_set('excluded_schemas', '[\"pggit_console\", \"quiet\"]')",
    "CREATE SCHEMA quiet",
    "CREATE SCHEMA pggit_reports",
    "CREATE FUNCTION public.noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$",
]


def counts(db: EngineDB) -> tuple[int, int]:
    return (
        db.one("SELECT count(*) FROM pggit.ddl_log"),
        db.one("SELECT count(*) FROM pggit.events WHERE type = 'ddl.captured'"),
    )


@pytest.mark.parametrize("schema", ["quiet", "pggit_reports", "pggit"])
def test_sub_objects_of_an_untracked_table_are_not_captured(engine_db: EngineDB, schema: str):
    for statement in SETUP:
        engine_db.run(statement)
    engine_db.run("SELECT pggit.commit('noop')")
    table = f"{schema}.t_untracked"
    engine_db.run(f"CREATE TABLE {table} (id integer, v integer)")
    before = counts(engine_db)
    for statement in [
        f"CREATE TRIGGER untracked_tr AFTER INSERT ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION public.noop()",
        f"CREATE POLICY untracked_p ON {table} USING (true)",
        f"CREATE RULE untracked_r AS ON DELETE TO {table} DO INSTEAD NOTHING",
        f"ALTER TABLE {table} ALTER COLUMN v SET DEFAULT 1",
        f"ALTER TABLE {table} ADD CONSTRAINT untracked_c CHECK (id > 0)",
        f"ALTER TABLE {table} DROP CONSTRAINT untracked_c",
        f"DROP TRIGGER untracked_tr ON {table}",
        f"DROP POLICY untracked_p ON {table}",
        f"DROP RULE untracked_r ON {table}",
        f"ALTER TABLE {table} ALTER COLUMN v DROP DEFAULT",
    ]:
        engine_db.run(statement)
    assert counts(engine_db) == before
    assert engine_db.rows("SELECT * FROM pggit.status()") == []
    engine_db.run(f"DROP TABLE {table}")


def test_sub_objects_of_a_tracked_table_are_captured_with_their_table(engine_db: EngineDB):
    for statement in SETUP:
        engine_db.run(statement)
    engine_db.run("CREATE TABLE public.orders (id integer)")
    engine_db.run("SELECT pggit.commit('orders and noop')")
    before = counts(engine_db)
    engine_db.run(
        "CREATE TRIGGER orders_tr AFTER INSERT ON public.orders"
        " FOR EACH STATEMENT EXECUTE FUNCTION public.noop()"
    )
    engine_db.run("CREATE POLICY orders_p ON public.orders USING (true)")
    engine_db.run("DROP POLICY orders_p ON public.orders")
    assert counts(engine_db) == (before[0] + 3, before[1] + 3)
    targets = [
        row[0]
        for row in engine_db.rows(
            "SELECT targets FROM pggit.ddl_log WHERE id > (SELECT max(id) - 3 FROM pggit.ddl_log)"
            " ORDER BY id"
        )
    ]
    assert targets == [
        [{"type": "trigger", "identity": "orders_tr on public.orders", "change": "create"}],
        [{"type": "policy", "identity": "orders_p on public.orders", "change": "create"}],
        [{"type": "policy", "identity": "orders_p on public.orders", "change": "dropped"}],
    ]
    assert sorted(
        engine_db.rows("SELECT object_type, object_name, change_type FROM pggit.status()")
    ) == [
        ("trigger", "orders_tr", "ADDED"),
    ]
