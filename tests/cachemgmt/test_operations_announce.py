"""The change announcement for pggit.operations (pggit.record_operation in
sql/engine/core/foundation.sql, the triggers of sql/engine/cache/announce.sql): every committed
write of a recorded run tells the listener to bump the performance and dashboard namespaces, once
per transaction, whether pggit.record_operation or a plain statement wrote it."""

from __future__ import annotations

import time

import pytest

from tests.engine.enginedb import EngineDB, engine_db, engine_template  # noqa: F401

PAYLOAD = '{"changed": "pggit.operations"}'


@pytest.fixture
def announcements(engine_db):  # noqa: F811
    """A function returning the pggit_cache notifications delivered since its last call."""
    listener = engine_db.connect(application_name="cache-listener-test")
    listener.execute("LISTEN pggit_cache")

    def delivered() -> list[str]:
        time.sleep(0.05)  # NOTIFY is delivered at commit; give the server a moment
        return [n.payload for n in listener.notifies(timeout=0.3)]

    yield delivered
    listener.close()


def test_a_recording_is_announced_once(engine_db, announcements):  # noqa: F811
    db: EngineDB = engine_db
    db.run("SELECT pggit.record_operation('diff', now())")
    assert announcements() == [PAYLOAD]


def test_a_row_inserted_by_hand_is_announced(engine_db, announcements):  # noqa: F811
    engine_db.run(
        "INSERT INTO pggit.operations (operation, started_at, duration_ms)"
        " VALUES ('diff', now(), 1)"
    )
    assert announcements() == [PAYLOAD]


def test_a_recording_and_a_row_by_hand_in_one_transaction_are_one_announcement(
    engine_db,  # noqa: F811
    announcements,
):
    with engine_db.conn.transaction():
        engine_db.run("SELECT pggit.record_operation('diff', now())")
        engine_db.run(
            "INSERT INTO pggit.operations (operation, started_at, duration_ms)"
            " VALUES ('diff', now(), 1)"
        )
    assert announcements() == [PAYLOAD]


def test_updates_and_deletes_are_announced(engine_db, announcements):  # noqa: F811
    engine_db.run("SELECT pggit.record_operation('diff', now())")
    assert announcements() == [PAYLOAD]
    engine_db.run("UPDATE pggit.operations SET duration_ms = 2")
    assert announcements() == [PAYLOAD]
    engine_db.run("DELETE FROM pggit.operations")
    assert announcements() == [PAYLOAD]


def test_a_commit_is_announced_once_and_a_rolled_back_recording_not_at_all(
    engine_db,  # noqa: F811
    announcements,
):
    engine_db.run("CREATE TABLE public.orders (id integer)")
    engine_db.run("SELECT pggit.commit('orders')")
    assert announcements() == [PAYLOAD]  # capture flush and commit: two runs, one announcement
    with pytest.raises(RuntimeError), engine_db.conn.transaction():
        engine_db.run("SELECT pggit.record_operation('diff', now())")
        raise RuntimeError("roll back")
    assert announcements() == []
