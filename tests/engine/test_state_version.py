"""The engine-state version (sql/engine/cache/state_version.sql): one bump per transaction that
appends to the outbox, at its commit, whatever the number of events or of statements that wrote
them; none for a transaction rolled back or one that wrote no event. The bump is queued by the
outbox's statement trigger (one row in pggit.state_version_queue, whose deferred trigger bumps and
removes it), so a migration's hundreds of ddl.captured events queue one call, not one each.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from tests.engine.enginedb import EngineDB, connect_as


def version(db: EngineDB) -> int:
    return db.one("SELECT pggit.state_version()")


def queued(db: EngineDB) -> int:
    return db.one("SELECT count(*) FROM pggit.state_version_queue")


def events(db: EngineDB) -> int:
    return db.one("SELECT count(*) FROM pggit.events")


def tables(conn: psycopg.Connection, prefix: str, count: int) -> None:
    conn.execute("\n".join(f"CREATE TABLE public.{prefix}_{i} (id integer);" for i in range(count)))


def test_a_transaction_of_many_events_bumps_the_version_once_at_commit(engine_db: EngineDB):
    before, events_before = version(engine_db), events(engine_db)
    with engine_db.connect() as conn, conn.transaction():
        tables(conn, "many", 40)
        # queued once, by the first statement that appended to the outbox (the read announces the
        # first 40 events); nothing bumped before the commit
        conn.execute("SELECT pggit.status()")
        assert conn.execute("SELECT count(*) FROM pggit.state_version_queue").fetchone()[0] == 1
        tables(conn, "more", 5)
        conn.execute("SELECT pggit.status()")  # a second statement appending events
        assert conn.execute("SELECT count(*) FROM pggit.state_version_queue").fetchone()[0] == 1
        assert conn.execute("SELECT pggit.state_version()").fetchone()[0] == before
    assert events(engine_db) == events_before + 45
    assert version(engine_db) == before + 1
    assert queued(engine_db) == 0
    engine_db.run("SELECT pggit.commit('many tables')")
    assert version(engine_db) == before + 2


def test_a_rolled_back_transaction_does_not_bump(engine_db: EngineDB):
    before = version(engine_db)
    with engine_db.connect() as conn:
        conn.execute("BEGIN")
        tables(conn, "gone", 3)
        conn.execute("SELECT pggit.status()")  # events written, bump queued
        conn.execute("ROLLBACK")
    assert version(engine_db) == before
    assert queued(engine_db) == 0


def test_a_savepoint_rolled_back_takes_its_queued_bump_back_and_a_later_event_queues_again(
    engine_db: EngineDB,
):
    before = version(engine_db)
    with engine_db.connect() as conn, conn.transaction():
        conn.execute("SAVEPOINT s")
        tables(conn, "undone", 2)
        conn.execute("SELECT pggit.status()")
        conn.execute("ROLLBACK TO SAVEPOINT s")
        assert conn.execute("SELECT count(*) FROM pggit.state_version_queue").fetchone()[0] == 0
        tables(conn, "kept", 1)
    assert version(engine_db) == before + 1
    assert queued(engine_db) == 0
    assert (
        engine_db.one(
            "SELECT count(*) FROM pggit.events WHERE type = 'ddl.captured' "
            "AND data->'objects'->0->>'identity' LIKE 'public.undone%'"
        )
        == 0
    )


def test_reset_all_mid_transaction_still_bumps_and_leaves_no_queued_row(engine_db: EngineDB):
    before = version(engine_db)
    with engine_db.connect() as conn, conn.transaction():
        tables(conn, "first", 1)
        conn.execute("SELECT pggit.status()")
        conn.execute("RESET ALL")  # the marks are gone: the next event queues a second row
        tables(conn, "second", 1)
        conn.execute("SELECT pggit.status()")
    # two rows queued; the first one's trigger bumps and removes both, the second finds the
    # transaction's bump done
    assert version(engine_db) == before + 1
    assert queued(engine_db) == 0


def test_a_transaction_without_events_does_not_bump(engine_db: EngineDB):
    before = version(engine_db)
    with engine_db.connect() as conn, conn.transaction():
        conn.execute("SELECT pggit.status()")
        # an INSERT of no row fires the statement trigger with an empty transition table
        conn.execute("INSERT INTO pggit.events (type, data) SELECT 'x.y', '{}' WHERE false")
    assert version(engine_db) == before
    assert queued(engine_db) == 0


def test_the_bump_is_taken_at_commit_so_versions_follow_the_commit_order(engine_db: EngineDB):
    before = version(engine_db)
    with engine_db.connect() as first, engine_db.connect() as second:
        first.execute("BEGIN")
        tables(first, "early", 1)
        first.execute("SELECT pggit.status()")
        # the first transaction holds no lock on the version: the second one commits past it
        second.execute("SET lock_timeout = '2s'")
        with second.transaction():
            tables(second, "late", 1)
            second.execute("SELECT pggit.status()")
        assert version(engine_db) == before + 1
        first.execute("COMMIT")
    assert version(engine_db) == before + 2
    assert queued(engine_db) == 0


@pytest.fixture
def ordinary_role(engine_db: EngineDB, make_role) -> str:
    role = make_role()
    engine_db.run(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(role)))
    return role


def test_an_ordinary_roles_ddl_bumps_the_version(engine_db: EngineDB, ordinary_role: str):
    before = version(engine_db)
    with connect_as(engine_db, ordinary_role) as conn, conn.transaction():
        tables(conn, "mine", 3)
    assert version(engine_db) == before + 1
    assert queued(engine_db) == 0
    assert (
        engine_db.one(
            "SELECT count(*) FROM pggit.events WHERE type = 'ddl.captured' AND data->>'role' = %s",
            (ordinary_role,),
        )
        == 3
    )


def test_a_role_that_may_only_insert_events_queues_the_bump(engine_db: EngineDB, make_role):
    """The queue is written by the statement trigger as the engine's owner: a role with no right
    on it (here: INSERT on the outbox and what the webhook fan-out reads) still bumps."""
    role = make_role()
    engine_db.run(
        sql.SQL(
            "GRANT USAGE ON SCHEMA pggit TO {0}; GRANT INSERT ON pggit.events TO {0}; "
            "GRANT SELECT ON pggit.webhook_endpoints TO {0}"
        ).format(sql.Identifier(role))
    )
    assert not engine_db.one(
        "SELECT has_table_privilege(%s, 'pggit.state_version_queue', 'INSERT')", (role,)
    )
    before = version(engine_db)
    with connect_as(engine_db, role) as conn, conn.transaction():
        conn.execute("INSERT INTO pggit.events (type, data) VALUES ('test.event', '{}')")
        conn.execute("INSERT INTO pggit.events (type, data) VALUES ('test.event', '{}')")
    assert version(engine_db) == before + 1
    assert queued(engine_db) == 0
