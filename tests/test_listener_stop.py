"""An event listener that is told to stop says nothing when its connection then goes away (the
embedded server stopping at interpreter exit, after the cache follower was told to stop), and a
listener that was not told to stop reports the lost connection and reconnects."""

from __future__ import annotations

import logging
import threading

import pytest
from django.db import connection

from pggit_project.listener import EventListener

LOST = "lost its database connection"


def client_backends() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return {row[0] for row in cursor.fetchall()}


def terminate(pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0] is True


def started_listener(stop: threading.Event) -> tuple[EventListener, threading.Thread, int]:
    before = client_backends()
    listener = EventListener(
        on_events=lambda events: None,
        on_connected=lambda: None,
        leader=False,
        stop=stop,
        name="stop test listener",
    )
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    assert listener.connected.wait(15), "the listener did not connect"
    (pid,) = client_backends() - before
    return listener, thread, pid


@pytest.mark.django_db(transaction=True)
def test_a_stopped_listener_leaves_quietly_when_its_connection_goes(caplog):
    stop = threading.Event()
    _listener, thread, pid = started_listener(stop)
    stop.set()
    with caplog.at_level(logging.WARNING, logger="pggit_project.listener"):
        terminate(pid)
        thread.join(timeout=15)
    assert not thread.is_alive()
    assert [r.getMessage() for r in caplog.records if LOST in r.getMessage()] == []


@pytest.mark.django_db(transaction=True)
def test_a_running_listener_reports_the_lost_connection_and_reconnects(caplog):
    stop = threading.Event()
    listener, thread, pid = started_listener(stop)
    others = client_backends() - {pid}
    try:
        with caplog.at_level(logging.WARNING, logger="pggit_project.listener"):
            terminate(pid)
            for _ in range(150):
                if any(LOST in r.getMessage() for r in caplog.records):
                    break
                stop.wait(0.1)
        assert [r.getMessage() for r in caplog.records if LOST in r.getMessage()] == [
            "stop test listener lost its database connection (OperationalError); retrying in 0.5s"
        ]
        for _ in range(150):  # a new connection of its own, the old one gone
            new = client_backends() - others
            if new and pid not in new and listener.connected.is_set():
                break
            stop.wait(0.1)
        assert len(new) == 1 and pid not in new, "the listener did not reconnect"
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
