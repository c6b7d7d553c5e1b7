"""Fixtures of the WebSocket tests: users with the topics' permissions, tokens, forwarding."""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from pggit_project import realtime
from pggit_project.listener import EventListener

PASSWORD = "socket-tests-password-1"


@pytest.fixture(scope="session", autouse=True)
def stop_local_forwarder(django_db_setup):
    """The in-memory mode's forwarder thread holds a connection: close it before the test
    database is dropped."""
    yield
    realtime.local_forwarder.shutdown()


def make_user(username: str, *permissions: str, **fields):
    user = get_user_model().objects.create_user(username, password=PASSWORD, **fields)
    for dotted in permissions:
        app_label, codename = dotted.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return get_user_model().objects.get(pk=user.pk)  # fresh: no cached permissions


@pytest.fixture
def reader(transactional_db):
    """May read every topic (the outbox, alerts, webhooks)."""
    return make_user(
        "socket-reader",
        "vcs.view_event",
        "alerts.view_alert",
        "webhooks.view_webhookendpoint",
    )


@pytest.fixture
def alert_reader(transactional_db):
    """May read alert topics only."""
    return make_user("alert-reader", "alerts.view_alert")


@pytest.fixture
def nobody(transactional_db):
    """Authenticated, without any permission."""
    return make_user("no-permissions")


def token_for(user, lifetime: timedelta | None = None) -> str:
    token = AccessToken.for_user(user)
    if lifetime is not None:
        token.set_exp(lifetime=lifetime)
    return str(token)


def emit(event_type: str, data: str = "{}") -> int:
    """Commit an event from a connection of its own (as psql would) and return its id."""
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as conn:
        return conn.execute(
            "SELECT pggit.emit_event(%s, %s::jsonb)", [event_type, data]
        ).fetchone()[0]


@pytest.fixture
def forwarding(transactional_db):
    """Events reach the channel layer as in production: with Redis, a listener thread runs the
    handler ``pggit_listen`` runs (``LayerForwarder``); without, the sockets' own ``LocalForwarder``
    (started by the first socket: call ``wait_local()`` after connecting)."""
    stop = threading.Event()
    thread = None

    class Forwarding:
        def wait_local(self) -> None:
            if not settings.REDIS_URL:
                assert realtime.local_forwarder.connected is not None
                assert realtime.local_forwarder.connected.wait(15), "forwarder did not connect"

    if settings.REDIS_URL:
        forwarder = realtime.LayerForwarder()
        listener = EventListener(
            on_events=forwarder.handle,
            on_connected=lambda: None,
            leader=False,
            stop=stop,
            name="test forwarder",
        )
        thread = threading.Thread(target=listener.run, daemon=True)
        thread.start()
        assert listener.connected.wait(15), "the test forwarder did not connect"
    yield Forwarding()
    stop.set()
    if thread is not None:
        thread.join(timeout=10)
        assert not thread.is_alive(), "the test forwarder did not stop"
        forwarder.close()


@pytest.fixture(scope="session")
def socket_database(django_db_setup, django_db_blocker):
    """A migrated database of their own for the server processes of the socket tests."""
    import os

    from tests.cachemgmt.live import create_live_database, drop_live_database

    if not (os.environ.get("DATABASE_URL") and settings.REDIS_URL):
        pytest.skip("server-process tests need DATABASE_URL and REDIS_URL")
    database = create_live_database("sockets")
    yield database
    drop_live_database(database)


@pytest.fixture
def processes(socket_database, tmp_path):
    """Starts web servers and listeners on ``socket_database``; stops them afterwards."""
    from django.core.cache import cache

    from tests.cachemgmt import live as helpers

    # no forwarding position left by an earlier test (a new leader would resume from it)
    cache.delete(f"pggit:ws:forwarded:{socket_database.name}")
    started: list[helpers.Process] = []

    class Processes:
        database = socket_database

        def server(self, name: str, **env_overrides) -> helpers.Process:
            env = {**socket_database.env, **env_overrides}
            process = helpers.start_server(env, tmp_path / f"{name}.log")
            started.append(process)
            return process

        def listener(self, name: str = "listener") -> helpers.Process:
            process = helpers.start_listener(socket_database.env, tmp_path / f"{name}.log")
            started.append(process)
            return process

    yield Processes()
    for process in started:
        process.stop()
