"""Scratch databases with the whole engine installed, for tests that drive it as psql would.

A template database gets the engine installed once per test session (by the loader
migrate uses, pggit_project.engine_sql); each test then gets a
copy of it (CREATE DATABASE ... TEMPLATE), so tests are isolated and can open as many plain
connections as they like (concurrency tests), without Django in the way.
"""

from __future__ import annotations

import os
import secrets
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pggit_project.engine_sql import sync_connection


def server_url() -> str:
    """The maintenance URL of the server the engine tests use."""
    url = os.environ.get("PGGIT_TEST_PG_URL")
    if url:
        return url
    if os.environ.get("DATABASE_URL"):
        return make_conninfo(os.environ["DATABASE_URL"], dbname="postgres")
    # embedded defaults: the same server Django uses
    from django.conf import settings

    from pggit_project.embedded_pg import ensure_server

    server = ensure_server(Path(settings.DATABASES["default"]["PGDATA"]))
    return make_conninfo(
        host=server.socket_dir, port=server.port, user="postgres", dbname="postgres"
    )


def db_url(name: str) -> str:
    return make_conninfo(server_url(), dbname=name)


def install_engine(url: str, **kwargs) -> None:
    """Install the engine into the database at ``url`` (see engine_sql.sync for ``kwargs``)."""
    with psycopg.connect(url, autocommit=True) as conn:
        sync_connection(conn, **kwargs)


def create_template(name: str) -> None:
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    install_engine(db_url(name))


def drop_database(name: str) -> None:
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


class _BackgroundDrops:
    """Drops scratch databases off the tests' path.

    DROP DATABASE waits for a checkpoint (every dirty buffer of the server written and synced):
    most of an engine test's time when done in its teardown. Here a few threads drop them while
    the next tests run (concurrent drops share one checkpoint). At most ``MAX_PENDING`` wait at
    once, so a slow disk bounds the scratch databases on it instead of letting them pile up;
    ``wait_all`` (at the end of the session) waits for the rest and raises the first failure.
    """

    MAX_PENDING = 6

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._slots = threading.BoundedSemaphore(self.MAX_PENDING)
        self._pending: list[Future] = []
        self._lock = threading.Lock()

    def submit(self, name: str) -> None:
        self._slots.acquire()
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(3, thread_name_prefix="drop-scratch-db")
            future = self._executor.submit(drop_database, name)
            self._pending.append(future)
        future.add_done_callback(lambda _: self._slots.release())

    def wait_all(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            future.result()


background_drops = _BackgroundDrops()


def drop_database_later(name: str) -> None:
    """Drop a scratch database nobody is connected to any more, in the background."""
    background_drops.submit(name)


def clone_database(template: str, name: str) -> None:
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )


class EngineDB:
    """One scratch database: its name, URL and helpers to run SQL as a plain client."""

    def __init__(self, name: str):
        self.name = name
        self.url = db_url(name)
        self.conn = self.connect()

    def connect(self, application_name: str = "pggit-tests", **kwargs) -> psycopg.Connection:
        params = conninfo_to_dict(self.url)
        params["application_name"] = application_name
        return psycopg.connect(make_conninfo(**params), autocommit=True, **kwargs)

    def run(self, query: str, params: tuple | dict | None = None) -> None:
        self.conn.execute(query, params)

    def rows(self, query: str, params: tuple | dict | None = None) -> list[tuple]:
        return self.conn.execute(query, params).fetchall()

    def one(self, query: str, params: tuple | dict | None = None):
        row = self.conn.execute(query, params).fetchone()
        return None if row is None else row[0]

    def head_tree(self) -> str:
        return self.one("SELECT tree_hash FROM pggit.head()")

    def live_tree_hash(self) -> str:
        return self.one("SELECT pggit.tree_hash_of(pggit.live_tree())")

    def branch_tree(self, branch: str) -> str:
        return self.one(
            "SELECT c.tree_hash FROM pggit.commits c WHERE c.hash = pggit.resolve_ref(%s)",
            (branch,),
        )

    def close(self) -> None:
        self.conn.close()


@contextmanager
def scratch_copy(template: str) -> Iterator[EngineDB]:
    name = f"pggit_t_{uuid.uuid4().hex[:12]}"
    clone_database(template, name)
    db = EngineDB(name)
    try:
        yield db
    finally:
        db.close()
        drop_database_later(name)


@pytest.fixture(scope="session")
def engine_template() -> Iterator[str]:
    name = f"pggit_tpl_{os.getpid()}"
    create_template(name)
    yield name
    drop_database(name)


@pytest.fixture
def engine_db(engine_template: str) -> Iterator[EngineDB]:
    with scratch_copy(engine_template) as db:
        yield db


def engine_error(excinfo) -> str:
    """The engine's stable error code from a psycopg error, e.g. 'DATA_LOSS'."""
    message = str(excinfo.value)
    assert message.startswith("[PGGIT-"), message
    return message[len("[PGGIT-") : message.index("]")]


def ensure_roles(*names: str) -> None:
    """Create NOLOGIN roles if they do not exist (roles are cluster-wide: tests name theirs
    pggit_test_*, and leave them for the next run; a concurrent creation is not an error)."""
    with psycopg.connect(server_url(), autocommit=True) as admin:
        for name in names:
            with suppress(psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                admin.execute(
                    sql.SQL(
                        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {}) "
                        "THEN CREATE ROLE {} NOLOGIN; END IF; END $$"
                    ).format(sql.Literal(name), sql.Identifier(name))
                )


@pytest.fixture
def make_role(engine_db: EngineDB) -> Iterator:
    """Factory: a new LOGIN role (no superuser, no CREATEROLE), member of ``memberships``, allowed
    to create schemas in the scratch database with ``create_on_db``; dropped after the test (its
    objects in the scratch database first)."""
    created: list[str] = []

    def factory(*memberships: str, create_on_db: bool = False) -> str:
        name = f"pggit_t_role_{secrets.token_hex(4)}"
        engine_db.run(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        created.append(name)
        for role in memberships:
            engine_db.run(
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(name))
            )
        if create_on_db:
            engine_db.run(
                sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
                    sql.Identifier(engine_db.name), sql.Identifier(name)
                )
            )
        return name

    yield factory
    with psycopg.connect(server_url(), autocommit=True) as admin:
        for name in created:
            with psycopg.connect(engine_db.url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("REASSIGN OWNED BY {} TO postgres; DROP OWNED BY {}").format(
                        sql.Identifier(name), sql.Identifier(name)
                    )
                )
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def connect_as(db: EngineDB, role: str, application_name: str | None = None) -> psycopg.Connection:
    """An autocommit connection to ``db`` as ``role`` (and ``application_name``)."""
    params = conninfo_to_dict(db.url)
    params["user"] = role
    if application_name is not None:
        params["application_name"] = application_name
    return psycopg.connect(make_conninfo(**params), autocommit=True)
